"""Readings as columns, the unit of work between drivers, the scheduler and the outbox.

A :class:`ReadingBatch` holds one poll's readings as parallel arrays (string columns as
object arrays, timestamps int64 epoch ms, values float64), so drivers that produce many
readings (the simulator, CSV replay) stay vectorized and the outbox inserts a whole batch
with one ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

StrArray = npt.NDArray[np.object_]


def str_array(values: Sequence[str]) -> StrArray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


@dataclass(frozen=True, slots=True)
class ReadingBatch:
    """Parallel columns of readings: ``meter``, ``quantity``, ``unit``, ``ts`` (ms), ``value``."""

    meter: StrArray
    quantity: StrArray
    unit: StrArray
    ts: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        n = self.ts.shape[0]
        if not (
            self.meter.shape[0] == self.quantity.shape[0] == self.unit.shape[0] == n
            and self.value.shape[0] == n
        ):
            raise ValueError("reading columns must have the same length")

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def empty(cls) -> ReadingBatch:
        return cls(
            str_array([]),
            str_array([]),
            str_array([]),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.float64),
        )

    @classmethod
    def of(
        cls,
        meter: Sequence[str],
        quantity: Sequence[str],
        unit: Sequence[str],
        ts: npt.ArrayLike,
        value: npt.ArrayLike,
    ) -> ReadingBatch:
        return cls(
            str_array(meter),
            str_array(quantity),
            str_array(unit),
            np.asarray(ts, dtype=np.int64).reshape(-1),
            np.asarray(value, dtype=np.float64).reshape(-1),
        )

    def select(self, mask: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> ReadingBatch:
        return ReadingBatch(
            self.meter[mask], self.quantity[mask], self.unit[mask], self.ts[mask], self.value[mask]
        )

    @staticmethod
    def concat(batches: Sequence[ReadingBatch]) -> ReadingBatch:
        batches = [b for b in batches if len(b)]
        if not batches:
            return ReadingBatch.empty()
        if len(batches) == 1:
            return batches[0]
        return ReadingBatch(
            np.concatenate([b.meter for b in batches]),
            np.concatenate([b.quantity for b in batches]),
            np.concatenate([b.unit for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.value for b in batches]),
        )
