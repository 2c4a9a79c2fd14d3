"""Exact 15-minute rollups per meter, kept in the store and read by every KPI reader.

* :mod:`.rows`: :class:`~analytics.windows.meter_windows.MeterWindows` <-> the store's rollup rows;
* :mod:`.fingerprint`: what of the registry a rollup depends on;
* :mod:`.build`: (re)build a range day by day, and re-roll what late readings touched
  (:mod:`analytics.days.maintain` runs both each cycle);
* :mod:`.source`: the windows of a range, from rollups where they are current and from
  raw readings for the rest.

docs/kpis.md ("Rollups") and docs/store.md describe the schema and the guarantees.
"""
