"""Scopes: ``zone:ID``, ``park:ID`` or ``enterprise:ID``, and the registry ids each covers.

A scope limits what someone may see: an API token (``smartpark tokens``), a web login, a
recipient of scheduled deliveries (``smartpark schedule``). A zone covers its parks, a
park its enterprises and gateways, an enterprise its meters; a park scope does not see
its zone's totals (they include other parks), an enterprise scope sees only the
gateways that feed nothing but its own meters. Asking for an id outside the scope and
asking for an id that does not exist look the same (no existence oracle):
:meth:`Visible.allows` answers both with ``False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from smartpark.core.errors import OptionError
from smartpark.core.ids import ID_PATTERN, is_valid_id
from smartpark.core.registry import Registry

SCOPE_KINDS: Final = ("zone", "park", "enterprise")
SUBJECT_KINDS: Final = ("zone", "park", "enterprise", "gateway", "meter")


def parse_scope(text: str) -> tuple[str, str]:
    """``"park:petrochem"`` → ``("park", "petrochem")``; ``ValueError`` saying what to give."""
    kind, _, ident = text.partition(":")
    if kind not in SCOPE_KINDS or not is_valid_id(ident):
        raise ValueError(
            f"expected zone:ID, park:ID or enterprise:ID (ID matching {ID_PATTERN}), got {text!r}"
        )
    return kind, ident


@dataclass(frozen=True, slots=True)
class Visible:
    """The registry ids of each subject kind one scope covers."""

    ids: dict[str, frozenset[str]]  # subject kind -> ids

    def allows(self, kind: str, ident: str) -> bool:
        return ident in self.ids.get(kind, frozenset())


def covered(reg: Registry, scope: str | None) -> Visible:
    """The ids ``scope`` (``kind:id``; ``None``: everything) covers in ``reg`` (nothing
    when its id is not there)."""
    if scope is None:
        return Visible(
            {
                "zone": frozenset(reg.zones),
                "park": frozenset(reg.parks),
                "enterprise": frozenset(reg.enterprises),
                "gateway": frozenset(reg.gateways),
                "meter": frozenset(reg.meters),
            }
        )
    kind, _, ident = scope.partition(":")
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
            if not m.manual:  # a meter read by hand feeds no gateway
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


def option_scope(reg: Registry, scope: str | None) -> Visible | None:
    """What ``--scope`` (``enterprise:ID``, ``park:ID``, ``zone:ID``) lets a command such
    as ``smartpark import`` write; None: everything. :class:`OptionError` for a malformed
    scope or an id the registry does not have (a usage error, not an empty scope)."""
    if scope is None:
        return None
    try:
        kind, ident = parse_scope(scope)
    except ValueError as exc:
        raise OptionError(f"--scope: {exc}") from None
    known = {"zone": reg.zones, "park": reg.parks, "enterprise": reg.enterprises}
    if ident not in known[kind]:
        raise OptionError(f"--scope: no {kind} {ident!r} in the registry {reg.source}")
    return covered(reg, f"{kind}:{ident}")


def may_report(reg: Registry, vis: Visible, scope: str, ident: str) -> bool:
    """Whether the monthly report of ``scope:ident`` is for ``vis`` to read: a zone or park
    it sees, or a region every counted park of which it sees (a region's figures include
    its parks' and enclave shares: a caller seeing only some of them may not have it).
    ``False`` both outside the scope and for an id that does not exist."""
    if scope in ("zone", "park"):
        return vis.allows(scope, ident)
    if scope != "region" or ident not in reg.regions:
        return False
    parks = {p for p in reg.parks if ident in reg.regions_of_park(p)}
    return bool(parks) and parks <= vis.ids.get("park", frozenset())
