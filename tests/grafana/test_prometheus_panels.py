"""The operations dashboard's PromQL names metrics and labels that ingest really exports.

No Prometheus runs here, so the expressions are not evaluated; what is checked is that
every metric name and every ``by (...)`` label in them exists in the exposition of the
real :class:`ingest.metrics.IngestMetrics`, so a rename in ingest breaks this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from smartpark.core import registry
from smartpark.grafana import dashboards
from smartpark.grafana.datasource import PROMETHEUS_UID
from smartpark.ingest.metrics import IngestMetrics

METRIC = re.compile(r"\bsmartpark_[a-z0-9_]+")
BY = re.compile(r"\bby \(([^)]*)\)")


def _exported() -> dict[str, set[str]]:
    """Sample name -> label names, from a real IngestMetrics with one labelled sample each."""
    metrics = IngestMetrics()
    metrics.readings_rejected.labels(gateway="gw-chem-a", reason="bad_unit").inc()
    metrics.payloads_rejected.labels(gateway="gw-chem-a", reason="not_json").inc()
    metrics.readings_accepted.labels(gateway="gw-chem-a").inc()
    metrics.gateway_online.labels(gateway="gw-chem-a").set(1)
    metrics.gateway_last_seen.labels(gateway="gw-chem-a").set(1.7e9)
    metrics.messages.labels(channel="telemetry").inc()
    metrics.write_seconds.observe(0.01)
    out: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            out.setdefault(sample.name, set()).update(sample.labels)
    return out


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.toml"
EXPORTED = _exported()
TARGETS = [
    (panel["title"], t)
    for panel in dashboards.operations(registry.load(EXAMPLE))["panels"]
    for t in panel.get("targets", [])
    if t["datasource"]["type"] == "prometheus"
]


def test_services_row_covers_what_operators_watch():
    titles = {title for title, _ in TARGETS}
    for expected in ("Gateways online", "Ingest rate", "Rejections", "last heard", "latency"):
        assert any(expected in t for t in titles), expected
    assert all(t["datasource"]["uid"] == PROMETHEUS_UID for _, t in TARGETS)


@pytest.mark.parametrize(
    ("title", "target"), TARGETS, ids=[f"{t}:{q['refId']}" for t, q in TARGETS]
)
def test_promql_names_exported_metrics_and_labels(title, target):
    expr = target["expr"]
    names = METRIC.findall(expr)
    assert names, expr
    for name in names:
        assert name in EXPORTED, f"{title}: {name} is not exported by ingest"
    labels = {label.strip() for group in BY.findall(expr) for label in group.split(",")}
    for label in labels:
        assert any(label in EXPORTED[n] for n in names), f"{title}: no label {label!r}"
    assert expr.count("(") == expr.count(")")
