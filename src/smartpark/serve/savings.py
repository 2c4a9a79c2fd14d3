"""``GET /api/v1/savings``: a project's measured savings per month (docs/savings.md,
docs/api.md).

A project is the caller's when its enterprise is; an unknown project and one outside
the scope are the same 403. Dates are local dates of the project's park, ``to``
exclusive (default: go-live to today). A project whose inputs are missing (no
temperature, too short a baseline, no readings since go-live) answers 404 with the
message saying what is missing and what supplies it; without the ``savings`` extra,
503.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from smartpark.analytics.savings import render
from smartpark.analytics.savings.job import of_projects
from smartpark.core.errors import AnalyticsError, MissingExtraError, OptionError
from smartpark.core.timestamps import now_ms
from smartpark.serve import data
from smartpark.serve.api import FORBIDDEN, SLUG, Caller_, answer, scoped, strict

router = APIRouter(prefix="/api/v1")


@router.get("/savings", dependencies=[strict("project", "from", "to")])
def savings(
    request: Request,
    caller: Caller_,
    project: Annotated[str, Query(pattern=SLUG, max_length=64)],
    from_: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    to: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """Avoided energy, CO2 and cost per local month since go-live, with the 90 %
    uncertainty of the CalTRACK baseline."""
    src: data.Sources = request.app.state.sources
    known = src.registry.projects.get(project)
    if known is None or not scoped(request, caller).allows("enterprise", known.enterprise):
        raise HTTPException(403, FORBIDDEN)
    first, end = _day(from_, "from"), _day(to, "to")
    try:
        [result] = of_projects(src.store, src.registry, project, first, end, now_ms())
    except MissingExtraError as exc:
        raise HTTPException(503, str(exc)) from None
    except OptionError as exc:
        raise HTTPException(400, str(exc).removeprefix("--")) from None
    except AnalyticsError as exc:
        raise HTTPException(404, str(exc)) from None
    rows = render.rows([result])
    return answer(request, render.record(result), rows, "readings in the store", caller)


def _day(text: str | None, name: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{name}: a date YYYY-MM-DD, got {text!r}") from None


__all__ = ["router"]
