"""The day level: every meter's 15-minute windows summed into local days.

* :mod:`.cells`: the cells of a range (its local days, split at every registry time
  zone's midnight);
* :mod:`.day_windows`: :class:`~.day_windows.DayWindows`, what the KPI engine reads per
  cell, from 15-minute windows (:func:`~.day_windows.of_windows`) or from the store;
* :mod:`.rows`: day windows <-> the store's day rows (store/days.py);
* :mod:`.fingerprint`: what of the registry the day rows depend on;
* :mod:`.build`: (re)build the day rows of a range from the 15-minute level;
* :mod:`.source`: the day windows of a range, from day rows where they are current and
  from the 15-minute level for the rest.

docs/kpis.md ("Day level") and docs/store.md ("Day level") describe the guarantees.
"""
