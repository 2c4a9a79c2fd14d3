"""What a caller may see: a role and a scope turned into the registry ids it covers.

A scope is ``zone:ID``, ``park:ID`` or ``enterprise:ID`` (read-only callers); the
``admin`` role sees everything and manages tokens. A zone covers its parks, a park its
enterprises and gateways, an enterprise its meters; a park caller does not see its
zone's totals (they include other parks), an enterprise caller sees only the gateways
that feed nothing but its own meters. Asking for an id outside the scope and asking for
an id that does not exist must look the same to the caller (no existence oracle):
:meth:`Visible.allows` answers both with ``False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from smartpark.core.errors import OptionError
from smartpark.core.ids import ID_PATTERN, is_valid_id
from smartpark.core.registry import Registry

Role = Literal["read", "admin"]
ROLES: Final = ("read", "admin")
SCOPE_KINDS: Final = ("zone", "park", "enterprise")
SUBJECT_KINDS: Final = ("zone", "park", "enterprise", "gateway", "meter")


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
        kind, _, ident = scope.partition(":")
        if kind not in SCOPE_KINDS or not is_valid_id(ident):
            raise OptionError(
                f"--scope: expected zone:ID, park:ID or enterprise:ID (ID matching "
                f"{ID_PATTERN}), got {scope!r}"
            )
        return cls("read", f"{kind}:{ident}")


@dataclass(frozen=True, slots=True)
class Visible:
    """The registry ids of each subject kind one grant covers."""

    ids: dict[str, frozenset[str]]  # subject kind -> ids

    def allows(self, kind: str, ident: str) -> bool:
        return ident in self.ids.get(kind, frozenset())


def visible(reg: Registry, grant: Grant) -> Visible:
    """The ids ``grant`` covers in ``reg`` (nothing when its scope id is not there)."""
    if grant.role == "admin" or grant.scope is None:
        return Visible(
            {
                "zone": frozenset(reg.zones),
                "park": frozenset(reg.parks),
                "enterprise": frozenset(reg.enterprises),
                "gateway": frozenset(reg.gateways),
                "meter": frozenset(reg.meters),
            }
        )
    kind, _, ident = grant.scope.partition(":")
    zones: frozenset[str] = frozenset()
    if kind == "zone":
        zones = frozenset({ident} & set(reg.zones))
        parks = frozenset(p.id for p in reg.parks.values() if p.zone in zones)
    elif kind == "park":
        parks = frozenset({ident} & set(reg.parks))
    else:
        parks = frozenset()
    if kind == "enterprise":
        enterprises = frozenset({ident} & set(reg.enterprises))
    else:
        enterprises = frozenset(e.id for e in reg.enterprises.values() if e.park in parks)
    meters = frozenset(m.id for m in reg.meters.values() if m.enterprise in enterprises)
    if kind == "enterprise":
        feeding: dict[str, set[str]] = {}
        for m in reg.meters.values():
            feeding.setdefault(m.gateway, set()).add(m.enterprise)
        gateways = frozenset(g for g, owners in feeding.items() if owners <= enterprises)
        gateways = gateways if enterprises else frozenset()
    else:
        gateways = frozenset(g.id for g in reg.gateways.values() if g.park in parks)
    return Visible(
        {
            "zone": zones,
            "park": parks,
            "enterprise": enterprises,
            "gateway": gateways,
            "meter": meters,
        }
    )


def may_report(reg: Registry, vis: Visible, scope: str, ident: str) -> bool:
    """Whether the monthly report of ``scope:ident`` is the caller's to read: a zone or park
    it sees, or a region every counted park of which it sees (a region's figures include
    its parks' and enclave shares: a caller seeing only some of them may not have it).
    ``False`` both outside the scope and for an id that does not exist."""
    if scope in ("zone", "park"):
        return vis.allows(scope, ident)
    if scope != "region" or ident not in reg.regions:
        return False
    parks = {p for p in reg.parks if ident in reg.regions_of_park(p)}
    return bool(parks) and parks <= vis.ids.get("park", frozenset())
