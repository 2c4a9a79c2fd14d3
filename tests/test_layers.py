"""The layers of ``src/smartpark`` import downward only (docs/architecture.md).

Every ``import`` of every module counts: at the top, inside a function (lazy), or under
``TYPE_CHECKING``. A part never imports a sibling part; ingest and analytics meet only
in the store.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "smartpark"

# layer -> the layers its modules may import (besides its own).
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "store": frozenset({"core"}),
    "gateway": frozenset({"core"}),
    "ingest": frozenset({"core", "store"}),
    "analytics": frozenset({"core", "store"}),
    "deploy": frozenset({"core"}),
    "testing": frozenset({"core", "store"}),
    "grafana": frozenset({"core", "store", "analytics"}),
    "serve": frozenset({"core", "store", "analytics"}),
    "demo": frozenset({"core", "store", "gateway", "ingest", "analytics", "testing"}),
    "cli": frozenset(
        {"core", "store", "gateway", "ingest", "analytics", "deploy", "grafana", "demo", "serve"}
    ),
}
# Modules directly in src/smartpark: the package root and ``python -m smartpark``.
ROOT_MODULES: dict[str, frozenset[str]] = {
    "__init__": frozenset(),
    "__main__": frozenset({"cli"}),
}


def imported_layers(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, layer) of every ``smartpark.<layer>`` a module imports, relative ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names = [module]
            if module == "smartpark":
                # the package root's own names (``__version__``) are anyone's to import
                names = [f"smartpark.{a.name}" for a in node.names if not a.name.startswith("__")]
        for name in names:
            parts = name.split(".")
            if parts[0] == "smartpark" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def violations(src: Path) -> list[str]:
    """Every import in ``src`` that goes up or sideways, as ``file:line: a -> b``."""
    out: list[str] = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        if len(rel.parts) == 1:
            layer, allowed = rel.stem, ROOT_MODULES.get(rel.stem)
        else:
            layer, allowed = rel.parts[0], ALLOWED.get(rel.parts[0])
        if allowed is None:
            out.append(f"{rel}: folder {layer!r} is in no layer (add it to ALLOWED)")
            continue
        package = ".".join(("smartpark", *rel.parts[:-1]))
        for line, target in imported_layers(path, package):
            if target != layer and target not in allowed:
                out.append(f"{rel}:{line}: {layer} imports {target}")
    return out


def test_every_import_goes_downward() -> None:
    assert violations(SRC) == []


def test_every_folder_of_the_package_has_a_layer() -> None:
    folders = {p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders - {"examples"} == set(ALLOWED)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "core/x.py",
            "from smartpark.analytics import kpis\n",
            "core/x.py:1: core imports analytics",
        ),
        (
            "ingest/x.py",
            "def f():\n    import smartpark.analytics.kpis.compute\n",
            "ingest/x.py:2: ingest imports analytics",
        ),
        ("gateway/x.py", "from smartpark import store\n", "gateway/x.py:1: gateway imports store"),
        ("store/sub/x.py", "from ... import cli\n", "store/sub/x.py:1: store imports cli"),
        ("analytics/x.py", "from .. import demo\n", "analytics/x.py:1: analytics imports demo"),
        ("shiny/x.py", "", "shiny/x.py: folder 'shiny' is in no layer (add it to ALLOWED)"),
    ],
)
def test_the_check_catches_an_upward_import(
    tmp_path: Path, module: str, source: str, expected: str
) -> None:
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert violations(tmp_path) == [expected]


def test_downward_and_own_imports_pass(tmp_path: Path) -> None:
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "x.py").write_text(
        "from smartpark.demo import runner\nfrom smartpark.cli import common\n"
    )
    (tmp_path / "analytics").mkdir()
    (tmp_path / "analytics" / "x.py").write_text("from smartpark.core import registry\n")
    assert violations(tmp_path) == []
