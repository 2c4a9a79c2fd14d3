"""Where a page sits in the hierarchy: breadcrumb, side list and search, within a scope.

The registry reads zone → regions → parks → enterprises → meters. Every page of the web
view has a breadcrumb (its visible ancestors) and a side list: the caller's whole
visible tree from the top of their scope, its regions open (they group the parks),
each park and enterprise opened only along the current page's path (a zone of a
thousand meters lists its parks, not its meters). :func:`find` searches
the visible subjects by id and by name in either language. A region is a page for a
caller who sees every park it counts (:func:`~smartpark.core.scopes.may_report`), as
its report is; nothing outside the caller's scope is ever named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from smartpark.core.registry import Registry
from smartpark.core.scopes import Visible, may_report

PAGE_KINDS: Final = ("zone", "region", "park", "enterprise", "meter")
MAX_FOUND: Final = 50


@dataclass(frozen=True, slots=True)
class Link:
    """One subject as a link: its kind, id, display name in the page's language."""

    kind: str
    id: str
    name: str
    href: str
    depth: int = 0  # indentation in the side list
    current: bool = False


def allows(reg: Registry, vis: Visible, kind: str, ident: str) -> bool:
    """Whether ``kind:ident`` is a page the caller may open (False for an unknown id)."""
    if kind == "region":
        return may_report(reg, vis, "region", ident)
    return kind in PAGE_KINDS and vis.allows(kind, ident)


def display_name(reg: Registry, kind: str, ident: str, lang: str) -> str:
    """The subject's name in ``lang`` (the Chinese name where the registry has one), its
    id where it has none (a meter without a name)."""
    thing = {
        "zone": reg.zones,
        "region": reg.regions,
        "park": reg.parks,
        "enterprise": reg.enterprises,
        "meter": reg.meters,
    }[kind][ident]
    name_zh = getattr(thing, "name_zh", "")
    if lang == "zh" and name_zh:
        return str(name_zh)
    return str(getattr(thing, "name", "")) or ident


def href(kind: str, ident: str, lang: str, query: str = "") -> str:
    """The page of ``kind:ident``, keeping the language and the period (``query``)."""
    extra = f"&{query}" if query else ""
    return f"/view/{kind}/{quote(ident)}?lang={lang}{extra}"


class Navigator:
    """The hierarchy one caller sees, in one language; ``query`` keeps the period."""

    def __init__(self, reg: Registry, vis: Visible, lang: str, query: str = "") -> None:
        self.reg, self.vis, self.lang, self.query = reg, vis, lang, query

    def link(self, kind: str, ident: str, depth: int = 0, current: bool = False) -> Link:
        name = display_name(self.reg, kind, ident, self.lang)
        return Link(kind, ident, name, href(kind, ident, self.lang, self.query), depth, current)

    def path(self, kind: str, ident: str) -> list[tuple[str, str]]:
        """``kind:ident`` and its ancestors, from the top: zone, host region, park,
        enterprise, meter (a region: its zone, parent regions, itself)."""
        reg = self.reg
        if kind == "meter":
            return [*self.path("enterprise", reg.meters[ident].enterprise), ("meter", ident)]
        if kind == "enterprise":
            return [*self.path("park", reg.enterprises[ident].park), ("enterprise", ident)]
        if kind == "park":
            park = reg.parks[ident]
            regions = [("region", r) for r in reg.region_chain(park.region)] if park.region else []
            return [("zone", park.zone), *regions[::-1], ("park", ident)]
        if kind == "region":
            zone = self._zone_of_region(ident)
            chain = [("region", r) for r in reg.region_chain(ident)][::-1]
            return [*([("zone", zone)] if zone else []), *chain]
        return [("zone", ident)]

    def breadcrumb(self, kind: str, ident: str) -> list[Link]:
        """The visible ancestors of the page and the page itself (marked current)."""
        steps = [(k, i) for k, i in self.path(kind, ident) if allows(self.reg, self.vis, k, i)]
        return [self.link(k, i, current=(k, i) == (kind, ident)) for k, i in steps]

    def side(self, kind: str, ident: str) -> list[Link]:
        """The caller's visible tree, opened along the path of ``kind:ident``."""
        on_path = set(self.path(kind, ident))
        out: list[Link] = []

        def add(k: str, i: str, depth: int) -> None:
            out.append(self.link(k, i, depth, (k, i) == (kind, ident)))
            if (k, i) not in on_path and depth > 0 and k != "region":
                return  # regions stay open: they only group the parks
            for ck, ci in self.children(k, i):
                add(ck, ci, depth + 1)

        for k, i in self.roots():
            add(k, i, 0)
        return out

    def roots(self) -> list[tuple[str, str]]:
        """The top of what the caller sees: their zones, else parks, else enterprises."""
        for kind in ("zone", "park", "enterprise"):
            ids = sorted(self.vis.ids.get(kind, frozenset()))
            if ids:
                return [(kind, i) for i in ids]
        return []

    def children(self, kind: str, ident: str) -> list[tuple[str, str]]:
        """The visible subjects one level down: a zone's top regions (and parks owned by
        none), a region's sub-regions and the parks it hosts (an enclave under its host;
        the partner's page shows its share), a park's enterprises, an enterprise's
        meters."""
        reg, vis = self.reg, self.vis
        if kind == "zone":
            tops = sorted({reg.region_chain(r)[-1] for r in self._regions_in_zone(ident)})
            regions = [("region", r) for r in tops if allows(reg, vis, "region", r)]
            parks = sorted(p.id for p in reg.parks.values() if p.zone == ident and not p.region)
            return regions + [("park", p) for p in parks if vis.allows("park", p)]
        if kind == "region":
            subs = sorted(r.id for r in reg.regions.values() if r.parent == ident)
            parks = sorted(p.id for p in reg.parks.values() if p.region == ident)
            return [("region", r) for r in subs if allows(reg, vis, "region", r)] + [
                ("park", p) for p in parks if vis.allows("park", p)
            ]
        if kind == "park":
            ents = sorted(e.id for e in reg.enterprises.values() if e.park == ident)
            return [("enterprise", e) for e in ents if vis.allows("enterprise", e)]
        if kind == "enterprise":
            ms = sorted(m.id for m in reg.meters.values() if m.enterprise == ident)
            return [("meter", m) for m in ms if vis.allows("meter", m)]
        return []

    def find(self, text: str) -> list[Link]:
        """Visible subjects whose id or name (either language) contains ``text``,
        case-insensitively, at most :data:`MAX_FOUND`, by kind from the top down."""
        needle = text.strip().casefold()
        if not needle:
            return []
        out: list[Link] = []
        for kind in PAGE_KINDS:
            for ident in sorted(self._ids(kind)):
                names = (
                    ident,
                    display_name(self.reg, kind, ident, "en"),
                    display_name(self.reg, kind, ident, "zh"),
                )
                if any(needle in n.casefold() for n in names):
                    out.append(self.link(kind, ident))
                    if len(out) >= MAX_FOUND:
                        return out
        return out

    def _ids(self, kind: str) -> list[str]:
        if kind == "region":
            return [r for r in self.reg.regions if allows(self.reg, self.vis, "region", r)]
        return list(self.vis.ids.get(kind, frozenset()))

    def _regions_in_zone(self, zone: str) -> set[str]:
        return {
            r
            for p in self.reg.parks.values()
            if p.zone == zone
            for r in self.reg.regions_of_park(p.id)
        }

    def _zone_of_region(self, region: str) -> str | None:
        zones = sorted(
            p.zone for p in self.reg.parks.values() if region in self.reg.regions_of_park(p.id)
        )
        return zones[0] if zones else None


__all__ = ["MAX_FOUND", "PAGE_KINDS", "Link", "Navigator", "allows", "display_name", "href"]
