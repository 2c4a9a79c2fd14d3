"""Reports: self-contained HTML (inline SVG charts, no scripts, no network), the monthly
report (monthly.py, docs/report.md) and its PDF (pdf.py)."""

from smartpark.analytics.report.html import Chart, Section, Series, Table, render

__all__ = ["Chart", "Section", "Series", "Table", "render"]
