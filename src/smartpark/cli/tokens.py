"""``smartpark tokens``: API tokens and web users of ``smartpark serve`` (docs/api.md).

::

    smartpark tokens create --role read --scope park:petrochem --name ops --days 90
    smartpark tokens list
    smartpark tokens revoke 3
    smartpark tokens user alice --scope park:petrochem --password-file pw.txt
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartpark.cli.common import RegistryOption, report_errors
from smartpark.cli.serve import TokensOption

tokens_app = typer.Typer(help="API tokens and web users (only hashes are stored).")

RoleOption = Annotated[str, typer.Option(help="read (one scope) or admin.")]
ScopeOption = Annotated[
    str | None,
    typer.Option(help="zone:ID, park:ID or enterprise:ID (read role).", show_default=False),
]


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")


def _registry(registry: Path | None) -> Path:
    return registry or Path("registry.toml")


@tokens_app.command("create")
@report_errors
def create(
    role: RoleOption = "read",
    scope: ScopeOption = None,
    name: Annotated[str, typer.Option(help="A label for the listing.")] = "",
    days: Annotated[
        float | None,
        typer.Option(min=0.001, help="Expire after this many days.", show_default=False),
    ] = 365.0,
    registry: RegistryOption = None,
    tokens: TokensOption = None,
) -> None:
    """Create a token and print it once (it is stored only as a hash)."""
    from smartpark.serve import manage

    info, token = manage.create(_registry(registry), tokens, role, scope, name, days)
    typer.echo(f"token {info.id} ({info.role} {info.scope or 'all'}); shown once:", err=True)
    typer.echo(token)


@tokens_app.command("list")
@report_errors
def list_(registry: RegistryOption = None, tokens: TokensOption = None) -> None:
    """List tokens (id, name, role, scope, state); never their values."""
    from smartpark.core.timestamps import format_rfc3339
    from smartpark.serve import manage

    for t in manage.listing(_registry(registry), tokens):
        state = "revoked" if t.revoked_ms else "active"
        expires = format_rfc3339(t.expires_ms) if t.expires_ms else "never"
        typer.echo(
            f"{t.id}\t{t.name or '-'}\t{t.role}\t{t.scope or '*'}\t{state}\texpires {expires}"
        )


@tokens_app.command("revoke")
@report_errors
def revoke(
    ident: Annotated[int, typer.Argument(metavar="ID", help="Token id (see list).")],
    registry: RegistryOption = None,
    tokens: TokensOption = None,
) -> None:
    """Revoke a token at once."""
    from smartpark.serve import manage

    manage.revoke(_registry(registry), tokens, ident)
    typer.echo(f"revoked token {ident}")


@tokens_app.command("user")
@report_errors
def user(
    name: Annotated[str, typer.Argument(help="User name (a slug).")],
    role: RoleOption = "read",
    scope: ScopeOption = None,
    password_file: Annotated[
        Path | None,
        typer.Option(
            help="Read the password from this file (default: prompt).", show_default=False
        ),
    ] = None,
    registry: RegistryOption = None,
    tokens: TokensOption = None,
) -> None:
    """Add or replace a web-view user (password hashed with argon2id)."""
    from smartpark.serve import manage

    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").strip()
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    manage.add_user(_registry(registry), tokens, name, password, role, scope)
    typer.echo(f"saved user {name}")
