"""The web view: server-rendered pages per scope (docs/api.md)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def mount(app: FastAPI) -> None:
    """Add the web routes to ``app`` (none yet)."""


def wants_page(request: Request) -> bool:
    return False


def error_page(request: Request, status: int) -> JSONResponse:
    return JSONResponse({"error": "forbidden"}, status)
