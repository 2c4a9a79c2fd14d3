"""HJ 212 codec: CRC known answers, frames, the scanner's resynchronisation, packets.

Known answers:
- HJ 212-2017 Appendix A's example ``…CN=1062;PW=100000;…;CP=&&RtdInterval=30&&`` -> 1C80.
- The 2011 noise upload ``…CN=2011;PW=123456;…;CP=&&DataTime=20160801085857; LA-Rtd=50.1&&``
  -> 1E00, from a public ``Crc16UtilTest.java`` (package cn.hutool.core.util, a Hutool fork
  with an HJ 212 CRC; author "wangjian"), which asserts both values above.
- A full wastewater frame ``##0354QN=20230803171130538;ST=31;CN=2011;…&&A141`` from
  tracy4262/hj212 (``App.java``, package hptpd), parsed there by T212Mapper with CRC
  verification on.
- The 2005-era frame in the README of xiaoyao9184/hj-t212-parser (``##0136ST=32;CN=2011;…
  B01-Rtd=36.91;011-Rtd=231.0,…&&4980``): its CRC field 4980 is *not* the Appendix A CRC
  of its data segment (3C00; nor CRC-16/MODBUS, 522B), so it is rejected as bad_crc; with
  the right CRC it parses as a 2005 packet (no QN, no Flag).
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smartpark.core.errors import FrameError
from smartpark.gateway.hj212 import codec
from smartpark.gateway.hj212.codec import FrameScanner, Packet, Reject, crc16, frame, parse

STANDARD = (
    b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&RtdInterval=30&&"
)
NOISE = (
    b"QN=20160801085857223;ST=23;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&DataTime=20160801085857; LA-Rtd=50.1&&"
)
TRACY = (
    b"##0354QN=20230803171130538;ST=31;CN=2011;PW=123456;MN=88888880000001234567;Flag=5;"
    b"CP=&&DataTime=20230803165500;w01001-Rtd=0.000,w01001-Flag=N;w21003-Rtd=0.000,"
    b"w21003-Flag=N;w01018-Rtd=0.000,w01018-Flag=N;e01002-Rtd=0.000,e01002-Flag=N;"
    b"w01010-Rtd=0.000,w01010-Flag=N;e01001-Rtd=0.000,e01001-Flag=N;w01003-Rtd=0.000,"
    b"w01003-Flag=N;w21011-Rtd=0.000,w21011-Flag=N&&A141\r\n"
)
XIAOYAO = (
    b"##0136ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817;"
    b"B01-Rtd=36.91;011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980\r\n"
)


def modbus_crc(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def appendix_a(data: bytes) -> int:
    """The standard's algorithm as written (bit by bit), to check the table version."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ b
        for _ in range(8):
            lsb = crc & 1
            crc >>= 1
            if lsb:
                crc ^= 0xA001
    return crc


@pytest.mark.parametrize(
    ("segment", "crc"), [(STANDARD, 0x1C80), (NOISE, 0x1E00), (TRACY[6:-6], 0xA141)]
)
def test_crc_known_answers(segment: bytes, crc: int) -> None:
    assert crc16(segment) == crc


def test_crc_is_not_modbus() -> None:
    assert modbus_crc(STANDARD) != 0x1C80
    assert crc16(b"") == appendix_a(b"") == 0xFFFF


@given(st.binary(max_size=300))
def test_table_crc_equals_the_appendix_algorithm(data: bytes) -> None:
    assert crc16(data) == appendix_a(data)


def test_frame_of_the_standard_example() -> None:
    assert frame(STANDARD) == b"##0101" + STANDARD + b"1C80\r\n"
    with pytest.raises(ValueError, match="at most 1024"):
        frame(b"x" * 1025)


def test_public_frame_parses() -> None:
    [segment] = FrameScanner().feed(TRACY)
    assert isinstance(segment, bytes)
    p = parse(segment)
    assert (p.qn, p.st, p.cn, p.pw, p.mn, p.flag) == (
        "20230803171130538", "31", "2011", "123456", "88888880000001234567", 5,
    )  # fmt: skip
    assert p.ack_requested
    assert not p.split
    assert p.version == 1
    assert p.cp == {"DataTime": "20230803165500"}
    assert p.values["w01018"] == {"Rtd": "0.000", "Flag": "N"}
    assert len(p.values) == 8


def test_lower_case_crc_is_accepted() -> None:
    assert FrameScanner().feed(TRACY.replace(b"&&A141", b"&&a141")) == [TRACY[6:-6]]


def test_public_2005_frame_with_a_wrong_crc_is_rejected_then_parses_when_fixed() -> None:
    reject, *rest = FrameScanner().feed(XIAOYAO)
    assert isinstance(reject, Reject)
    assert reject.reason == codec.BAD_CRC
    assert "3C00" in reject.detail
    assert reasons(rest) == ["garbage"]
    fixed = XIAOYAO.replace(b"&&4980", b"&&3C00")
    [segment] = FrameScanner().feed(fixed)
    assert isinstance(segment, bytes)
    p = parse(segment)
    assert p.qn is None
    assert p.flag is None
    assert p.version == 0
    assert not p.ack_requested
    assert p.values == {
        "B01": {"Rtd": "36.91"},
        "011": {"Rtd": "231.0", "Flag": "N"},
        "060": {"Rtd": "1.803", "Flag": "N"},
    }


def test_standard_example_parses() -> None:
    p = parse(STANDARD)
    assert p.cn == "1062"
    assert p.cp == {"RtdInterval": "30"}
    assert p.values == {}


def test_data_response_frame() -> None:
    request = parse(STANDARD)
    reply = codec.data_response(request)
    segment = (
        b"QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
    )
    assert reply == b"##%04d" % len(segment) + segment + b"%04X\r\n" % appendix_a(segment)
    assert reply.startswith(b"##0087")
    assert reply.endswith(b"\r\n")
    parsed = parse(reply[6:-6])
    assert (parsed.cn, parsed.st, parsed.flag, parsed.values) == ("9014", "91", 4, {})


# -- the scanner -----------------------------------------------------------------------


def reasons(items: list[bytes | Reject]) -> list[str]:
    return [i.reason if isinstance(i, Reject) else "frame" for i in items]


GOOD = frame(STANDARD)


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"hello" + GOOD, ["garbage", "frame"]),
        (GOOD + b"\x00\xff" + GOOD, ["frame", "garbage", "frame"]),
        (GOOD[:-6] + b"0000\r\n" + GOOD, ["bad_crc", "garbage", "frame"]),
        (GOOD[:50] + GOOD, ["bad_terminator", "garbage", "frame"]),  # truncated
        (b"##0100" + GOOD[6:] + GOOD, ["bad_terminator", "garbage", "frame"]),  # short length
        (b"##0102" + GOOD[6:] + GOOD, ["bad_terminator", "garbage", "frame"]),  # long length
        (b"##01x1" + GOOD, ["bad_length", "garbage", "frame"]),
        (b"##9999" + GOOD, ["too_long", "garbage", "frame"]),
        (GOOD[:-2] + b"\n\r" + GOOD, ["bad_terminator", "garbage", "frame"]),
    ],
)
def test_scanner_rejects_and_resynchronises(stream: bytes, expected: list[str]) -> None:
    assert reasons(FrameScanner().feed(stream)) == expected


def test_scanner_accepts_any_split_of_the_stream() -> None:
    stream = b"junk#" + GOOD + b"#" + GOOD + GOOD
    for cut in range(1, len(stream)):
        scanner = FrameScanner()
        items = scanner.feed(stream[:cut]) + scanner.feed(stream[cut:])
        assert [i for i in items if isinstance(i, bytes)] == [STANDARD] * 3, cut
        assert scanner.buffered == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just(b"F"), st.binary(max_size=40)), max_size=20))
def test_scanner_finds_every_frame_between_arbitrary_garbage(parts: list[bytes]) -> None:
    # Garbage without "#" cannot fake or swallow a frame start, so every frame is found.
    chunks = [GOOD if p == b"F" else p.replace(b"#", b"") for p in parts]
    scanner = FrameScanner()
    items = scanner.feed(b"".join(chunks))
    assert sum(1 for i in items if isinstance(i, bytes)) == parts.count(b"F")
    dropped = sum(i.size for i in items if isinstance(i, Reject))
    assert dropped + parts.count(b"F") * len(GOOD) + scanner.buffered == len(b"".join(chunks))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_scanner_never_raises_and_stays_bounded(data: bytes) -> None:
    scanner = FrameScanner()
    for i in range(0, len(data), 97):
        scanner.feed(data[i : i + 97])
        assert scanner.buffered <= codec.MAX_SEGMENT + 12


# -- packets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "reason"),
    [
        (b"QN=1;ST=32;CN=2011;PW=1;MN=A;CP=&&&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;MN=A;Flag=x;CP=&&&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;MN=A;Flag=5;PNUM=2;CP=&&&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;MN=A;PNUM=2;PNO=3;CP=&&&&", "bad_field"),
        (b"ST=32;CN=2011;PW=1;CP=&&&&", "bad_segment"),
        (b"ST=32;CN=2011;PW=1;MN=A;CP=&&DataTime=1", "bad_segment"),
        (b"ST=32;CN=2011;PW=1;MN=A;CP=&&a21026-Rtd&&", "bad_segment"),
        (b"ST=32;CN=2011;PW;MN=A;CP=&&&&", "bad_segment"),
        ("ST=32;CN=2011;PW=1;MN=Ä;CP=&&&&".encode(), "bad_encoding"),
    ],
)
def test_malformed_packets_name_their_reason(segment: bytes, reason: str) -> None:
    with pytest.raises(FrameError) as err:
        parse(segment)
    assert err.value.reason == reason


_text = st.text(alphabet="0123456789ABCDEFabcdef.", min_size=1, max_size=12)
_code = st.text(alphabet="abwS0123456789", min_size=2, max_size=6)
_field = st.sampled_from(["Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "Flag"])


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    split = draw(st.booleans())
    pnum = draw(st.integers(1, 9)) if split else None
    return Packet(
        st=draw(st.sampled_from(["31", "32", "22"])),
        cn=draw(st.sampled_from(["2011", "2051", "2061", "2031"])),
        pw=draw(st.text(alphabet="0123456789", min_size=6, max_size=6)),
        mn=draw(st.text(alphabet="0123456789ABCDEF", min_size=14, max_size=24)),
        qn=draw(st.none() | st.text(alphabet="0123456789", min_size=17, max_size=17)),
        flag=draw(st.none() | st.integers(0, 255)),
        pnum=pnum,
        pno=draw(st.integers(1, pnum)) if pnum else None,
        cp={"DataTime": draw(st.text(alphabet="0123456789", min_size=14, max_size=14))},
        values=draw(
            st.dictionaries(_code, st.dictionaries(_field, _text, min_size=1), max_size=10)
        ),
    )


@settings(max_examples=300, deadline=None)
@given(packets())
def test_round_trip_through_a_frame(packet: Packet) -> None:
    segment = codec.encode(packet)
    assume(len(segment) <= codec.MAX_SEGMENT)
    [got] = FrameScanner().feed(frame(segment))
    assert isinstance(got, bytes)
    assert parse(got) == packet
