"""The ``smartpark tokens`` commands as one call each (docs/api.md).

The access file defaults to ``smartpark-access.db`` beside the registry; a scope is
checked against the registry so a typo does not make a token that sees nothing.
"""

from __future__ import annotations

from pathlib import Path

from smartpark.core import registry as registry_mod
from smartpark.core.errors import OptionError
from smartpark.serve.access import AccessStore, TokenInfo, default_path
from smartpark.serve.scopes import Grant

DAY_S = 86_400.0


def _grant(registry: Path, role: str, scope: str | None) -> Grant:
    grant = Grant.parse(role, scope)
    if grant.scope is not None:
        reg = registry_mod.load(registry)
        kind, _, ident = grant.scope.partition(":")
        known = {"zone": reg.zones, "park": reg.parks, "enterprise": reg.enterprises}[kind]
        if ident not in known:
            raise OptionError(f"--scope: no {kind} {ident!r} in {registry}")
    return grant


def _open(registry: Path, path: Path | None) -> AccessStore:
    return AccessStore(path or default_path(registry))


def create(
    registry: Path,
    path: Path | None,
    role: str,
    scope: str | None,
    name: str,
    days: float | None,
) -> tuple[TokenInfo, str]:
    """A new token: its listing and the clear token, to be shown once."""
    grant = _grant(registry, role, scope)
    store = _open(registry, path)
    try:
        return store.create_token(grant, name, None if days is None else days * DAY_S)
    finally:
        store.close()


def listing(registry: Path, path: Path | None) -> list[TokenInfo]:
    store = _open(registry, path)
    try:
        return store.tokens()
    finally:
        store.close()


def revoke(registry: Path, path: Path | None, ident: int) -> None:
    store = _open(registry, path)
    try:
        if not store.revoke(ident):
            raise OptionError(f"ID: no unrevoked token {ident} (see `smartpark tokens list`)")
    finally:
        store.close()


def add_user(
    registry: Path, path: Path | None, name: str, password: str, role: str, scope: str | None
) -> None:
    """Add or replace a web user (argon2id password hash)."""
    grant = _grant(registry, role, scope)
    store = _open(registry, path)
    try:
        store.add_user(name, password, grant)
    finally:
        store.close()
