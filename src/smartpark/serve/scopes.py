"""What a caller may see: a role and a scope turned into the registry ids it covers.

The ``admin`` role sees everything and manages tokens; a ``read`` caller has one scope,
``zone:ID``, ``park:ID`` or ``enterprise:ID``. The scope grammar and what each scope
covers live in :mod:`smartpark.core.scopes` (scheduled deliveries limit their
recipients the same way); this module adds the roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from smartpark.core.errors import OptionError
from smartpark.core.registry import Registry
from smartpark.core.scopes import (
    SCOPE_KINDS,
    SUBJECT_KINDS,
    Visible,
    covered,
    may_report,
    parse_scope,
)

Role = Literal["read", "admin"]
ROLES: Final = ("read", "admin")


@dataclass(frozen=True, slots=True)
class Grant:
    """Who a token or user is: a role and (for ``read``) one ``kind:id`` scope."""

    role: Role
    scope: str | None  # "park:petrochem"; None for admin

    @classmethod
    def parse(cls, role: str, scope: str | None) -> Grant:
        """Check ``role`` and ``scope``; an :class:`OptionError` names what to give."""
        if role not in ROLES:
            raise OptionError(f"--role: expected one of {', '.join(ROLES)}, got {role!r}")
        if role == "admin":
            if scope is not None:
                raise OptionError("--scope: an admin sees every scope; give no --scope")
            return cls("admin", None)
        if scope is None:
            raise OptionError("--scope: a read token needs zone:ID, park:ID or enterprise:ID")
        try:
            kind, ident = parse_scope(scope)
        except ValueError as exc:
            raise OptionError(f"--scope: {exc}") from None
        return cls("read", f"{kind}:{ident}")


def visible(reg: Registry, grant: Grant) -> Visible:
    """The ids ``grant`` covers in ``reg`` (nothing when its scope id is not there)."""
    return covered(reg, None if grant.role == "admin" else grant.scope)


__all__ = [
    "ROLES",
    "SCOPE_KINDS",
    "SUBJECT_KINDS",
    "Grant",
    "Role",
    "Visible",
    "may_report",
    "visible",
]
