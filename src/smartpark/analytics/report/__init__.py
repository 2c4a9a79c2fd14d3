"""Reports: self-contained HTML (inline SVG charts, no scripts, no network)."""

from smartpark.analytics.report.html import Chart, Section, Series, Table, render

__all__ = ["Chart", "Section", "Series", "Table", "render"]
