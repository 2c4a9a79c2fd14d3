"""The outbox keeps every reading until its PUBACK, oldest first, bounded, across SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartpark.gateway.outbox import Outbox, read_status
from smartpark.gateway.readings import ReadingBatch

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def batch(n: int, start: int = 0, meter: str = "m-1") -> ReadingBatch:
    i = np.arange(start, start + n)
    return ReadingBatch.of(
        [meter] * n, ["electricity_import"] * n, ["kWh"] * n, T0 + i * 1000, i * 0.5
    )


def test_readings_come_back_oldest_first_with_their_series(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        box.add(batch(3, meter="a"))
        box.add(ReadingBatch.of(["b", "a"], ["so2", "so2"], ["mg/m3", "ug/m3"], [T0, T0], [1, 2]))
        got = box.fetch(0, limit=10)
        assert got is not None
        assert [(r.meter, r.quantity, r.unit, r.ts, r.value) for r in got.readings] == [
            ("a", "electricity_import", "kWh", T0, 0.0),
            ("a", "electricity_import", "kWh", T0 + 1000, 0.5),
            ("a", "electricity_import", "kWh", T0 + 2000, 1.0),
            ("b", "so2", "mg/m3", T0, 1.0),
            ("a", "so2", "ug/m3", T0, 2.0),
        ]
        assert (got.first_id, got.last_id) == (1, 5)
        assert box.count == 5
        part = box.fetch(2, limit=2, upto_id=3)
        assert part is not None
        assert (part.first_id, part.last_id, len(part)) == (3, 3, 1)


def test_delete_only_removes_acknowledged_ranges_and_ids_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path) as box:
        box.add(batch(10))
        assert box.delete_ranges([(1, 3), (5, 5)], seq=7) == 4
        assert box.count == 6
        assert box.get_meta("seq") == 7
        assert box.delete_ranges([(1, 10)]) == 6
        assert box.count == 0
        assert box.oldest_ts() is None
        box.add(batch(2, start=10))
        got = box.fetch(0, limit=10)
        assert got is not None
        assert (got.first_id, got.last_id) == (11, 12)
    with Outbox(path) as box:  # reopened: count and ids persist
        assert box.count == 2
        assert box.id_bounds() == (10, 12)
        assert box.oldest_ts() == T0 + 10_000


def test_full_outbox_drops_oldest_counted_and_persisted(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path, max_bytes=256 * 1024) as box:
        dropped = sum(box.add(batch(1000, start=k * 1000)) for k in range(60))
        assert dropped > 0
        assert box.dropped == dropped
        assert box.count == 60_000 - dropped
        # The newest readings are the ones kept, still in order.
        got = box.fetch(0, limit=100_000)
        assert got is not None
        assert got.readings[-1].value == 59_999 * 0.5
        assert got.readings[0].ts == T0 + dropped * 1000
        assert len(got) == box.count
    status = read_status(path)
    assert status.dropped == dropped
    assert status.queued == 60_000 - dropped
    assert status.used_bytes <= 256 * 1024 + 64 * 1024  # one batch may overshoot by a little


def test_rejects_a_bound_too_small(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        Outbox(tmp_path / "o.db", max_bytes=1000)


_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from smartpark.gateway.outbox import Outbox
    from smartpark.gateway.readings import ReadingBatch
    box = Outbox(sys.argv[1])
    k = 0
    while True:
        i = np.arange(k * 50, k * 50 + 50)
        box.add(ReadingBatch.of(["m"] * 50, ["steam"] * 50, ["t"] * 50, 10**12 + i, i * 1.0))
        print(int(i[-1]), flush=True)  # acknowledged by the outbox: must survive
        k += 1
    """
)


def test_reading_committed_by_outbox_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None
        acked = -1
        deadline = time.monotonic() + 60
        while acked < 5_000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "writer died"
            acked = int(line)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    assert acked >= 5_000
    with Outbox(path) as box:
        got = box.fetch(0, limit=10**7)
        assert got is not None
        values = np.array([r.value for r in got.readings])
        # Every acknowledged reading is there, in order, with no gap.
        assert len(values) >= acked + 1
        assert np.array_equal(values, np.arange(len(values), dtype=float))
        assert box.count == len(values)


def test_a_second_process_cannot_open_an_outbox_in_use(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path):
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from smartpark.gateway.outbox import Outbox; Outbox({str(path)!r})",
            ],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parents[2],
        )
        assert other.returncode != 0
        assert "is in use by another process" in other.stderr
    with Outbox(path) as box:  # free again once closed
        assert box.count == 0


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 40)),
        st.tuples(st.just("ack"), st.integers(0, 60), st.integers(0, 60)),
        st.tuples(st.just("reopen")),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_OPS)
def test_outbox_behaves_like_an_ordered_queue(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple]
) -> None:  # type: ignore[type-arg]
    """Oracle: a dict id -> value; adds append, acks delete id ranges, reopening changes nothing."""
    path = tmp_path_factory.mktemp("prop") / "o.db"
    model: dict[int, float] = {}
    next_id, serial = 1, 0
    box = Outbox(path)
    try:
        for op in ops:
            if op[0] == "add":
                n = op[1]
                box.add(batch(n, start=serial))
                for k in range(n):
                    model[next_id + k] = (serial + k) * 0.5
                next_id += n
                serial += n
            elif op[0] == "ack":
                lo, hi = sorted((op[1], op[2]))
                deleted = box.delete_ranges([(lo, hi)])
                gone = [i for i in model if lo <= i <= hi]
                assert deleted == len(gone)
                for i in gone:
                    del model[i]
            else:
                box.close()
                box = Outbox(path)
            assert box.count == len(model)
            got = box.fetch(0, limit=10_000)
            assert [r.value for r in got.readings] if got else list(model.values()) == []
            if got:
                assert (got.first_id, got.last_id) == (min(model), max(model))
    finally:
        box.close()
