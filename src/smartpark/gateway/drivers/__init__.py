"""Meter drivers: one module per way of reading meters, all behind :class:`MeterDriver`."""

from smartpark.gateway.drivers.base import MeterDriver, MeterError, PollResult

__all__ = ["MeterDriver", "MeterError", "PollResult"]
