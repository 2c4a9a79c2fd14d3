"""HJ 212 frames and packets: the CRC, the stream scanner, parsing and encoding.

A frame is ``##`` + the data segment's length as 4 decimal digits + the data segment (at
most 1024 characters) + its CRC as 4 hex digits (either case accepted, upper case sent) +
CRLF. The data segment reads ``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&``
(HJ 212-2017 §6.3; 2005 loggers omit QN and often Flag). Inside ``CP``, ``;`` separates
groups and ``,`` the ``key=value`` pairs of a group; a key ``a21026-Rtd`` is the field
``Rtd`` of pollutant code ``a21026``, a key without ``-`` (``DataTime``) belongs to the
packet.

The CRC is the standard's Appendix A algorithm, *not* CRC-16/MODBUS: the register is
shifted right by 8 before each byte is XORed in, so only its high byte carries over.
After ``(crc >> 8) ^ b`` the register is a single byte, and the 8 shift/XOR-0xA001 rounds
that follow are a function of that byte alone: one lookup in :data:`_TABLE` per byte. No
catalogued CRC (and so no CRC library) computes this, since the low byte is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from smartpark.core.errors import FrameError

MAX_SEGMENT: Final = 1024  # characters of a data segment (HJ 212-2017 §6.3.1)
_OVERHEAD: Final = 2 + 4 + 4 + 2  # "##", length, CRC, CRLF

# Reasons a frame or packet is rejected (counted per reason by the receiver).
GARBAGE = "garbage"  # bytes before a "##"
BAD_LENGTH = "bad_length"  # the 4 characters after "##" are not decimal digits
TOO_LONG = "too_long"  # declared length > 1024
BAD_TERMINATOR = "bad_terminator"  # no CRLF where the length says the frame ends
BAD_CRC = "bad_crc"
BAD_ENCODING = "bad_encoding"  # not ASCII
BAD_SEGMENT = "bad_segment"  # no CP=&&…&&, a field without "=", a missing ST/CN/PW/MN
BAD_FIELD = "bad_field"  # QN, Flag, PNUM or PNO malformed


def _table() -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        out.append(crc)
    return tuple(out)


_TABLE: Final = _table()
_HEX4: Final = re.compile(rb"[0-9A-Fa-f]{4}")


def crc16(segment: bytes) -> int:
    """The HJ 212 CRC of a data segment (Appendix A)."""
    crc = 0xFFFF
    table = _TABLE
    for byte in segment:
        crc = table[(crc >> 8) ^ byte]
    return crc


def frame(segment: bytes) -> bytes:
    """The frame that carries ``segment``; ``ValueError`` if it is longer than 1024."""
    if len(segment) > MAX_SEGMENT:
        raise ValueError(f"data segment of {len(segment)} characters, at most {MAX_SEGMENT}")
    return b"##%04d%s%04X\r\n" % (len(segment), segment, crc16(segment))


@dataclass(frozen=True, slots=True)
class Reject:
    """Bytes of the stream that were not a frame: ``size`` bytes dropped for ``reason``."""

    reason: str
    detail: str
    size: int


class FrameScanner:
    """Splits a byte stream into data segments, resynchronising on the next ``##``.

    A rejected candidate drops only its first ``#``, so a frame that follows a truncated
    or mis-sized one (or a stray ``#``) is still found. ``feed`` returns, in stream order,
    the data segment of every frame whose length, terminator and CRC are right, and a
    :class:`Reject` for everything else. The buffer never holds more than one maximal frame.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | Reject]:
        buf = self._buf
        buf += data
        out: list[bytes | Reject] = []
        while buf:
            start = buf.find(b"##")
            if start < 0:
                keep = 1 if buf[-1:] == b"#" else 0  # a "#" that may start the next "##"
                if len(buf) > keep:
                    out.append(Reject(GARBAGE, "bytes outside a frame", len(buf) - keep))
                    del buf[: len(buf) - keep]
                break
            if start:
                out.append(Reject(GARBAGE, "bytes before '##'", start))
                del buf[:start]
            if len(buf) < 6:
                break
            digits = bytes(buf[2:6])
            if not digits.isdigit():
                out.append(Reject(BAD_LENGTH, f"length field {digits!r} is not 4 digits", 1))
                del buf[:1]
                continue
            n = int(digits)
            if n > MAX_SEGMENT:
                out.append(Reject(TOO_LONG, f"declared length {n} > {MAX_SEGMENT}", 1))
                del buf[:1]
                continue
            total = n + _OVERHEAD
            if len(buf) < total:
                break
            if buf[total - 2 : total] != b"\r\n":
                detail = f"no CRLF after a data segment of declared length {n}"
                out.append(Reject(BAD_TERMINATOR, detail, 1))
                del buf[:1]
                continue
            segment = bytes(buf[6 : 6 + n])
            crc_text = bytes(buf[6 + n : 10 + n])
            expected = crc16(segment)
            got = int(crc_text, 16) if _HEX4.fullmatch(crc_text) else -1
            if got != expected:
                detail = f"CRC {crc_text!r}, the data segment's is {expected:04X}"
                out.append(Reject(BAD_CRC, detail, 1))
                del buf[:1]
                continue
            out.append(segment)
            del buf[:total]
        return out


@dataclass(frozen=True, slots=True)
class Packet:
    """A parsed data segment. ``values`` maps pollutant code -> {field: text}; ``cp`` holds
    the packet-level CP keys (``DataTime``, ``RtdInterval``…)."""

    st: str
    cn: str
    pw: str
    mn: str
    qn: str | None = None
    flag: int | None = None
    pnum: int | None = None
    pno: int | None = None
    cp: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def ack_requested(self) -> bool:
        """Flag bit 0: the logger wants a data response (CN 9014)."""
        return self.flag is not None and bool(self.flag & 1)

    @property
    def split(self) -> bool:
        """Flag bit 1: one packet of a split message (PNUM/PNO present)."""
        return self.flag is not None and bool(self.flag & 2)

    @property
    def version(self) -> int:
        """Flag bits 2-7: 1 = HJ 212-2017, 0 = HJ/T 212-2005 (and no Flag at all)."""
        return 0 if self.flag is None else self.flag >> 2


_HEADER_KEYS: Final = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_QN_RE: Final = re.compile(r"\d{17}")


def parse(segment: bytes) -> Packet:
    """The :class:`Packet` of a data segment; ``FrameError`` naming what is wrong."""
    try:
        text = segment.decode("ascii")
    except UnicodeDecodeError:
        raise FrameError(BAD_ENCODING, "data segment is not ASCII") from None
    head, sep, rest = text.partition("CP=&&")
    if not sep or not rest.endswith("&&"):
        raise FrameError(BAD_SEGMENT, "no 'CP=&&…&&' at the end of the data segment")
    header: dict[str, str] = {}
    for item in head.split(";"):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq:
            raise FrameError(BAD_SEGMENT, f"header field {item[:40]!r} has no '='")
        header[key] = value
    missing = [k for k in ("ST", "CN", "PW", "MN") if k not in header]
    if missing:
        raise FrameError(BAD_SEGMENT, f"header lacks {', '.join(missing)}")
    qn = header.get("QN")
    if qn is not None and not _QN_RE.fullmatch(qn):
        raise FrameError(BAD_FIELD, f"QN {qn[:40]!r} is not YYYYMMDDhhmmsszzz")
    flag = _int_field(header, "Flag", 255)
    pnum = _int_field(header, "PNUM", 9999)
    pno = _int_field(header, "PNO", 9999)
    if (pnum is None) != (pno is None) or (pnum is not None and pno is not None and pno > pnum):
        raise FrameError(BAD_FIELD, f"PNUM={pnum} and PNO={pno} do not go together")
    cp: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    for group in rest[:-2].split(";"):
        for pair in group.split(","):
            pair = pair.strip()
            if not pair:
                continue
            key, eq, value = pair.partition("=")
            if not eq:
                raise FrameError(BAD_SEGMENT, f"CP item {pair[:40]!r} has no '='")
            code, dash, name = key.partition("-")
            if dash and code and name:
                values.setdefault(code, {})[name] = value
            else:
                cp[key] = value
    return Packet(
        st=header["ST"],
        cn=header["CN"],
        pw=header["PW"],
        mn=header["MN"],
        qn=qn,
        flag=flag,
        pnum=pnum,
        pno=pno,
        cp=cp,
        values=values,
    )


def _int_field(header: Mapping[str, str], key: str, maximum: int) -> int | None:
    text = header.get(key)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 4 or int(text) > maximum:
        raise FrameError(BAD_FIELD, f"{key}={text[:40]!r} is not an integer 0..{maximum}")
    return int(text)


def encode(packet: Packet) -> bytes:
    """The data segment of ``packet`` in the standard's field order (the inverse of
    :func:`parse` for what it produces)."""
    parts = [f"QN={packet.qn}"] if packet.qn is not None else []
    parts += [f"ST={packet.st}", f"CN={packet.cn}", f"PW={packet.pw}", f"MN={packet.mn}"]
    if packet.flag is not None:
        parts.append(f"Flag={packet.flag}")
    if packet.pnum is not None and packet.pno is not None:
        parts += [f"PNUM={packet.pnum}", f"PNO={packet.pno}"]
    groups = [f"{k}={v}" for k, v in packet.cp.items()]
    groups += [_group(code, fields) for code, fields in packet.values.items()]
    return (";".join(parts) + ";CP=&&" + ";".join(groups) + "&&").encode("ascii")


def _group(code: str, fields: Mapping[str, str]) -> str:
    return ",".join(f"{code}-{name}={value}" for name, value in fields.items())


def data_response(request: Packet) -> bytes:
    """The frame answering an upload that asked for it (Flag bit 0): ST=91, CN=9014,
    Flag=4 (version 2017, no acknowledgement), the request's QN, PW and MN, empty CP."""
    reply = Packet(st="91", cn="9014", pw=request.pw, mn=request.mn, qn=request.qn, flag=4)
    return frame(encode(reply))


def frames(segments: Iterable[bytes]) -> bytes:
    return b"".join(frame(s) for s in segments)
