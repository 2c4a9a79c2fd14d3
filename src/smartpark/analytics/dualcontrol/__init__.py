"""Dual control (双控): energy and carbon budgets per scope and year, plan against actual
with a year-end projection (docs/dualcontrol.md).

One idea per module: the targets file (:mod:`.targets`), value added (:mod:`.valueadded`),
the monthly plan (:mod:`.plan`), the projection (:mod:`.projection`), plan against actual
(:mod:`.progress`), what ``smartpark targets`` prints (:mod:`.render`), the sheet import
(:mod:`.targets_import`) and the days of months (:mod:`.yeardays`).
"""
