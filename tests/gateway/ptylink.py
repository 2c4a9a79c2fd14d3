"""Two pseudo-terminals joined like a null-modem cable (what ``socat pty pty`` does).

Each end is a real tty device path that pyserial opens; bytes written to one come out
of the other. A thread relays between the two masters until ``close()``.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import tty
from types import TracebackType


class PtyLink:
    def __init__(self) -> None:
        self._m1, self._s1 = pty.openpty()
        self._m2, self._s2 = pty.openpty()
        for fd in (self._s1, self._s2):
            tty.setraw(fd)
        self.a = os.ttyname(self._s1)
        self.b = os.ttyname(self._s2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="ptylink", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        peer = {self._m1: self._m2, self._m2: self._m1}
        while not self._stop.is_set():
            ready, _, _ = select.select(list(peer), [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                    os.write(peer[fd], data)
                except OSError:
                    continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._m1, self._s1, self._m2, self._s2):
            os.close(fd)

    def __enter__(self) -> PtyLink:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
