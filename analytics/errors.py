"""The errors analytics raises: one subclass of the kernel's root error."""

from __future__ import annotations

from smartpark.errors import SmartparkError


class AnalyticsError(SmartparkError):
    """A KPI computation was asked something it cannot answer (bad range, period, zone)."""
