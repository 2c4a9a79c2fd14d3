"""DL/T 645-2007 frames, data identifiers and BCD values: pure bytes, no I/O.

A frame on the wire::

    [FE × 0..4] 68 A0..A5 68 C L DATA(L bytes, each +33h) CS 16

``A0..A5`` is the 12-digit BCD address, low byte first; ``CS`` is the sum mod 256 of
every byte from the first 68 through the data. The control code's top bits say who
sent it and how: D7 = 1 a reply, D6 = 1 an error reply, D5 = 1 more frames follow.
Data identifiers (DI3 DI2 DI1 DI0, written that way in the standard) travel low byte
first, as do the BCD values, whose top bit of the highest byte is the sign where the
item is signed.

:class:`StreamDecoder` cuts frames out of a byte stream: it skips the preamble, drops
garbage, rejects a frame with a wrong header, length or checksum, and resynchronises on
the next 68; every rejection is counted by reason (:data:`REJECT_REASONS`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final

from smartpark.core.errors import FrameError

START: Final = 0x68
END: Final = 0x16
PREAMBLE_BYTE: Final = 0xFE
MAX_PREAMBLE: Final = 4
HEADER: Final = 10  # 68 A0..A5 68 C L
OVERHEAD: Final = 12  # header + CS + 16

# Control codes (DL/T 645-2007 §7, table of function codes).
READ: Final = 0x11
READ_FOLLOW: Final = 0x12  # read subsequent data (DI + frame sequence number)
READ_ADDRESS: Final = 0x13
REPLY: Final = 0x80  # D7: sent by the meter
ERROR_REPLY: Final = 0x40  # D6: abnormal reply, data = one error byte
MORE: Final = 0x20  # D5: subsequent frames follow
READ_REPLY: Final = READ | REPLY  # 0x91
READ_REPLY_MORE: Final = READ | REPLY | MORE  # 0xB1
READ_ERROR: Final = READ | REPLY | ERROR_REPLY  # 0xD1
FOLLOW_REPLY: Final = READ_FOLLOW | REPLY  # 0x92
FOLLOW_REPLY_MORE: Final = READ_FOLLOW | REPLY | MORE  # 0xB2
FOLLOW_ERROR: Final = READ_FOLLOW | REPLY | ERROR_REPLY  # 0xD2
ADDRESS_REPLY: Final = READ_ADDRESS | REPLY  # 0x93
BROADCAST_ADDRESS: Final = "AAAAAAAAAAAA"  # read-address wildcard: the one meter on a line

# The error byte of an abnormal reply (DL/T 645-2007, 错误信息字 SERR): bit -> meaning.
# Bit 7 is reserved. Sources: the standard's table as reproduced in "DL/T645-2007通讯规约
# 协议说明" §5 (360docs.net/doc/722295758.html), and the ErrorCode enum of the
# independent ``dlt645`` package (model/types/dlt645_type.py: bit0 其他错误 .. bit6 费率数超).
ERROR_BITS: Final[tuple[tuple[int, str], ...]] = (
    (0x01, "other error"),
    (0x02, "no data requested (the meter does not have this data identifier)"),
    (0x04, "password wrong / unauthorised"),
    (0x08, "baud rate cannot be changed"),
    (0x10, "year time zones exceeded"),
    (0x20, "day periods exceeded"),
    (0x40, "tariffs exceeded"),
)

REJECT_REASONS: Final = (
    "garbage",  # bytes before a frame that are neither preamble nor a frame start
    "bad_header",  # a 68 not followed by a second 68 seven bytes on
    "bad_length",  # the byte where L puts the end is not 16: length wrong or bytes lost
    "bad_checksum",
    "truncated",  # a frame started but never completed (the next frame or a timeout came)
)

_PLUS33: Final = bytes((b + 0x33) & 0xFF for b in range(256))
_MINUS33: Final = bytes((b - 0x33) & 0xFF for b in range(256))


def describe_error(code: int) -> str:
    """The meanings of the set bits of an error byte, e.g. ``'no data requested (...)'``."""
    names = [name for bit, name in ERROR_BITS if code & bit]
    if code & 0x80:
        names.append("reserved bit 7")
    return "; ".join(names) if names else "no error bit set"


# -- addresses --------------------------------------------------------------------------


def address_bytes(address: str) -> bytes:
    """``'000102030425'`` (12 BCD digits as printed on the meter) -> wire bytes, low first.

    ``A`` digits are allowed (AA is the broadcast / wildcard byte)."""
    text = address.strip()
    if len(text) != 12 or any(c not in "0123456789Aa" for c in text):
        raise ValueError(f"address {address!r} must be 12 digits (0-9, A for wildcards)")
    return bytes.fromhex(text)[::-1]


def address_text(wire: bytes) -> str:
    """The inverse of :func:`address_bytes`."""
    return wire[::-1].hex().upper()


# -- frames -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: ``address`` as printed (12 digits), ``data`` with the 33h removed."""

    address: str
    control: int
    data: bytes

    @property
    def is_reply(self) -> bool:
        return bool(self.control & REPLY)

    @property
    def is_error(self) -> bool:
        return bool(self.control & ERROR_REPLY)

    @property
    def has_more(self) -> bool:
        return bool(self.control & MORE)


def encode_frame(address: str, control: int, data: bytes = b"", *, preamble: int = 4) -> bytes:
    """The wire bytes of a frame (``data`` before the +33h)."""
    if not 0 <= preamble <= MAX_PREAMBLE:
        raise ValueError(f"preamble must be 0..{MAX_PREAMBLE} FE bytes, got {preamble}")
    if len(data) > 255:
        raise ValueError(f"data of {len(data)} bytes does not fit one frame (at most 255)")
    body = (
        bytes((START,))
        + address_bytes(address)
        + bytes((START, control & 0xFF, len(data)))
        + data.translate(_PLUS33)
    )
    return b"\xfe" * preamble + body + bytes((sum(body) & 0xFF, END))


def decode_frame(raw: bytes) -> Frame:
    """One whole frame (preamble allowed) -> :class:`Frame`; ``FrameError`` says why not."""
    i = 0
    while i < len(raw) and i < MAX_PREAMBLE and raw[i] == PREAMBLE_BYTE:
        i += 1
    frame = raw[i:]
    if len(frame) < OVERHEAD:
        raise FrameError("truncated", f"{len(frame)} bytes cannot hold a frame (at least 12)")
    if frame[0] != START or frame[7] != START:
        raise FrameError("bad_header", "a frame starts 68, six address bytes, 68")
    length = frame[9]
    if len(frame) < OVERHEAD + length:
        raise FrameError("truncated", f"L = {length} but only {len(frame) - OVERHEAD} data bytes")
    if len(frame) != OVERHEAD + length or frame[-1] != END:
        raise FrameError("bad_length", f"L = {length} does not end the frame on 16")
    if sum(frame[: HEADER + length]) & 0xFF != frame[HEADER + length]:
        raise FrameError("bad_checksum", "the checksum is not the sum of 68 .. data mod 256")
    return _unpack(frame)


def _unpack(frame: bytes) -> Frame:
    length = frame[9]
    return Frame(
        address=address_text(frame[1:7]),
        control=frame[8],
        data=frame[HEADER : HEADER + length].translate(_MINUS33),
    )


class StreamDecoder:
    """Cuts validated frames out of a byte stream; counts every rejection by reason.

    ``feed`` returns the complete frames found so far (wire bytes without preamble); an
    incomplete frame waits for more bytes, unless a complete valid frame already follows
    it, in which case it is counted ``truncated`` and skipped. :meth:`discard` drops what
    is buffered (counted), e.g. when a reply timed out.
    """

    __slots__ = ("_buf", "_resync", "rejects")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._resync = False  # after a rejection: skipped bytes belong to the rejected frame
        self.rejects: Counter[str] = Counter()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        buf = self._buf
        pos = 0
        shadow = 0  # bytes before this belong to a frame already rejected: not counted again
        while True:
            start = buf.find(START, pos)
            if start < 0:
                rest = buf[pos:]
                stripped = rest.rstrip(b"\xfe")
                self._skip(stripped)
                keep = min(len(rest) - len(stripped), MAX_PREAMBLE)  # a next frame's preamble
                del buf[: len(buf) - keep]
                return out
            self._skip(buf[pos:start].rstrip(b"\xfe"))
            status, end = self._check(buf, start)
            if status == "ok":
                out.append(bytes(buf[start:end]))
                self._resync = False
                pos = end
                continue
            later, waiting = self._later_frame(buf, start + 1)
            if status == "incomplete":
                if later < 0:
                    del buf[:start]
                    return out
                status, end = "truncated", later
            elif status != "bad_header":
                if 0 <= later < end:
                    status = "truncated"  # the next frame began before this one ended
                elif 0 <= waiting < end:
                    del buf[:start]  # a frame may be starting inside: decide when it is whole
                    return out
            if start >= shadow:
                self.rejects[status] += 1
            self._resync = True
            shadow = max(shadow, end)
            pos = later if status == "truncated" else start + 1

    def discard(self) -> None:
        """Drop buffered bytes (a reply timed out): counted by what they are, a started frame
        ``truncated``."""
        rest = bytearray(bytes(self._buf).lstrip(b"\xfe"))
        if rest:
            status = self._check(rest, 0)[0] if rest[0] == START else "garbage"
            self.rejects["truncated" if status in ("incomplete", "ok") else status] += 1
        self._buf.clear()
        self._resync = False

    def _skip(self, garbage: bytes | bytearray) -> None:
        if garbage and not self._resync:
            self.rejects["garbage"] += 1

    @staticmethod
    def _check(buf: bytearray, start: int) -> tuple[str, int]:
        """(``ok`` | ``incomplete`` | a reject reason, end of the frame as its L says)."""
        if len(buf) - start < HEADER:
            # What is there must look like a header, else it is no frame at all.
            if len(buf) - start > 7 and buf[start + 7] != START:
                return "bad_header", start + 8
            return "incomplete", 0
        if buf[start + 7] != START:
            return "bad_header", start + 8
        end = start + OVERHEAD + buf[start + 9]
        if len(buf) < end:
            return "incomplete", end
        if buf[end - 1] != END:
            return "bad_length", end
        if sum(buf[start : end - 2]) & 0xFF != buf[end - 2]:
            return "bad_checksum", end
        return "ok", end

    def _later_frame(self, buf: bytearray, pos: int) -> tuple[int, int]:
        """(start of the first complete valid frame after ``pos`` or -1, start of the first
        candidate before it that is still incomplete or -1)."""
        waiting = -1
        while True:
            start = buf.find(START, pos)
            if start < 0:
                return -1, waiting
            status = self._check(buf, start)[0]
            if status == "ok":
                return start, waiting
            if status == "incomplete" and waiting < 0:
                waiting = start
            pos = start + 1


# -- data identifiers and BCD values ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataId:
    """One DL/T 645-2007 data item (appendix A tables): its wire form and value format.

    ``quantity`` is the smartpark quantity it usually feeds (docs/gateway.md), or
    ``None`` when the catalogue has none; ``nbytes``/``decimals``/``signed`` give the BCD
    format (``XXXXXX.XX`` = 4 bytes, 2 decimals).
    """

    di: int  # DI3 DI2 DI1 DI0 as the standard writes it, e.g. 0x00010000
    name: str
    unit: str
    nbytes: int
    decimals: int
    signed: bool
    nature: str  # counter | gauge
    quantity: str | None

    @property
    def code(self) -> str:
        return f"{self.di:08X}"

    @property
    def wire(self) -> bytes:
        """DI0 DI1 DI2 DI3, the order on the wire."""
        return self.di.to_bytes(4, "little")

    @property
    def format(self) -> str:
        digits = 2 * self.nbytes
        whole = "X" * (digits - self.decimals)
        return whole + ("." + "X" * self.decimals if self.decimals else "")


_E, _C = "electricity_import", "counter"
_P3 = ((1, "a"), (2, "b"), (3, "c"))
_P4 = ((0, "total"), (1, "a"), (2, "b"), (3, "c"))
# (DI, name, unit, BCD bytes, decimals, signed, nature, smartpark quantity)
_SPEC: Final[list[tuple[int, str, str, int, int, bool, str, str | None]]] = [
    # Appendix A.1, energy, XXXXXX.XX. Combined active/reactive are the sums the meter is
    # programmed to form (e.g. forward - reverse), so their top bit is a sign.
    (0x00000000, "combined_active_energy", "kWh", 4, 2, True, _C, _E),
    *[
        (0x00000000 | t << 8, f"combined_active_energy_t{t}", "kWh", 4, 2, True, _C, _E)
        for t in range(1, 5)
    ],
    (0x00010000, "forward_active_energy", "kWh", 4, 2, False, _C, _E),
    (0x00020000, "reverse_active_energy", "kWh", 4, 2, False, _C, "electricity_export"),
    (0x00030000, "combined_reactive_energy_1", "kvarh", 4, 2, True, _C, None),
    (0x00040000, "combined_reactive_energy_2", "kvarh", 4, 2, True, _C, None),
    # Appendix A.4, variables: XXX.X V, XXX.XXX A, XX.XXXX kW, X.XXX.
    *[(0x02010000 | n << 8, f"voltage_{p}", "V", 2, 1, False, "gauge", None) for n, p in _P3],
    *[(0x02020000 | n << 8, f"current_{p}", "A", 3, 3, True, "gauge", None) for n, p in _P3],
    *[
        (0x02030000 | n << 8, f"active_power_{p}", "kW", 3, 4, True, "gauge", "active_power")
        for n, p in _P4
    ],
    *[(0x02060000 | n << 8, f"power_factor_{p}", "", 2, 3, True, "gauge", None) for n, p in _P4],
]

DATA_IDS: Final[dict[int, DataId]] = {row[0]: DataId(*row) for row in _SPEC}
BY_NAME: Final[dict[str, DataId]] = {d.name: d for d in DATA_IDS.values()}


def data_id(text: str | int) -> DataId:
    """A DI by name (``forward_active_energy``) or code (``'00010000'``, ``0x00010000``)."""
    if isinstance(text, int):
        key: int | None = text
    elif text in BY_NAME:
        return BY_NAME[text]
    else:
        cleaned = text.replace(" ", "").removeprefix("0x").removeprefix("0X")
        try:
            key = int(cleaned, 16) if len(cleaned) == 8 else None
        except ValueError:
            key = None
    if key is None or key not in DATA_IDS:
        known = ", ".join(f"{d.code} {d.name}" for d in DATA_IDS.values())
        raise ValueError(f"unknown data identifier {text!r} (known: {known})")
    return DATA_IDS[key]


def decode_bcd(data: bytes, decimals: int, signed: bool) -> float:
    """BCD bytes, low byte first -> number; ``FrameError(bad_bcd)`` for a non-decimal nibble."""
    if not data:
        raise FrameError("bad_bcd", "no value bytes")
    high_first = data[::-1]
    negative = signed and bool(high_first[0] & 0x80)
    if signed:
        high_first = bytes((high_first[0] & 0x7F,)) + high_first[1:]
    digits = high_first.hex()
    if not digits.isdigit():
        raise FrameError("bad_bcd", f"{data.hex(' ')} is not BCD (a nibble above 9)")
    value: float = int(digits) / 10**decimals
    return -value if negative else value


def encode_bcd(value: float, nbytes: int, decimals: int, signed: bool) -> bytes:
    """The inverse of :func:`decode_bcd`; ``ValueError`` if ``value`` does not fit."""
    scaled = round(abs(value) * 10**decimals)
    limit = (8 if signed else 10) * 10 ** (2 * nbytes - 1)
    if scaled >= limit or (value < 0 and not signed):
        raise ValueError(f"{value} does not fit {nbytes} BCD bytes with {decimals} decimals")
    out = bytearray(bytes.fromhex(f"{scaled:0{2 * nbytes}d}")[::-1])
    if value < 0 and scaled:
        out[-1] |= 0x80
    return bytes(out)


def read_request(address: str, di: DataId, *, preamble: int = 4) -> bytes:
    """Read data (control 11h): data = DI0..DI3."""
    return encode_frame(address, READ, di.wire, preamble=preamble)


def follow_request(address: str, di: DataId, seq: int, *, preamble: int = 4) -> bytes:
    """Read subsequent data (control 12h): data = DI0..DI3 and the frame sequence number."""
    return encode_frame(address, READ_FOLLOW, di.wire + bytes((seq & 0xFF,)), preamble=preamble)


def read_address_request(*, preamble: int = 4) -> bytes:
    """Read the address of the one meter on a line (control 13h to AAAAAAAAAAAA)."""
    return encode_frame(BROADCAST_ADDRESS, READ_ADDRESS, b"", preamble=preamble)
