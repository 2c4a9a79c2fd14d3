"""Measured savings (节能量) of energy-saving projects: a CalTRACK daily baseline fitted
with OpenEEmeter's eemeter on the project's baseline period, against what its meters
measure after go-live (docs/savings.md).

:mod:`.inputs` reads the daily energy and temperature, :mod:`.caltrack` fits and
predicts with eemeter, :mod:`.savings` forms the months, :mod:`.render` prints them.
"""
