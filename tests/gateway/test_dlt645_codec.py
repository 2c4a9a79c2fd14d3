"""DL/T 645-2007 frames and values: known answers from public captures, round trips, and a
hostile byte stream whose every rejection is counted and resynchronised."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartpark.core.errors import FrameError
from smartpark.gateway.drivers import dlt645_codec as c

pytestmark = pytest.mark.timeout(120)


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# Source: "DL/T645 07规约 举例说明", https://553668.com/manong/786292.html — read forward
# active energy (DI 00 01 00 00) of meter 000102030425 and its reply, 1206.42 kWh; and the
# read-address broadcast "FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16".
READ_1206 = h("68 25 04 03 02 01 00 68 11 04 33 33 34 33 E1 16")
REPLY_1206 = h("68 25 04 03 02 01 00 68 91 08 33 33 34 33 75 39 45 33 8B 16")
READ_ADDRESS = h("FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16")
# Source: https://www.myaiappgames.com/archives/1280 ("DL/T645-2007 and MODBUS Protocol
# Parsing"): the same read sent to the wildcard address.
READ_AA = h("68 AA AA AA AA AA AA 68 11 04 33 33 34 33 AE 16")
# Source: a public serial capture "DLT645-2007报文解析" (meter 000000000161): forward
# active energy 000000.26 kWh, and phase A voltage 100.1 V (DI 02 01 01 00, XXX.X).
READ_161 = h("FE FE FE FE 68 61 01 00 00 00 00 68 11 04 33 33 34 33 14 16")
REPLY_161 = h("68 61 01 00 00 00 00 68 91 08 33 33 34 33 59 33 33 33 8A 16")
READ_161_VA = h("FE FE FE FE 68 61 01 00 00 00 00 68 11 04 33 34 34 35 17 16")
REPLY_161_VA = h("68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16")


def test_requests_match_public_captures() -> None:
    fwd = c.data_id("forward_active_energy")
    assert c.read_request("000102030425", fwd, preamble=0) == READ_1206
    assert c.read_request("AAAAAAAAAAAA", fwd, preamble=0) == READ_AA
    assert c.read_request("000000000161", fwd, preamble=4) == READ_161
    assert c.read_request("000000000161", c.data_id("02010100"), preamble=4) == READ_161_VA
    assert c.read_address_request(preamble=3) == READ_ADDRESS


def test_replies_decode_to_the_published_values() -> None:
    frame = c.decode_frame(REPLY_1206)
    assert frame == c.Frame("000102030425", 0x91, h("00 00 01 00 42 06 12 00"))
    assert (frame.is_reply, frame.is_error, frame.has_more) == (True, False, False)
    assert c.decode_bcd(frame.data[4:], 2, False) == 1206.42
    assert c.decode_bcd(c.decode_frame(REPLY_161).data[4:], 2, False) == 0.26
    va = c.decode_frame(REPLY_161_VA)
    assert va.data[:4] == c.data_id("voltage_a").wire
    assert c.decode_bcd(va.data[4:], 1, False) == 100.1
    # and back: the meter's side of the same exchange
    value = c.encode_bcd(1206.42, 4, 2, False)
    assert c.encode_frame("000102030425", 0x91, frame.data[:4] + value, preamble=0) == REPLY_1206


def test_sign_bit_is_the_top_bit_of_the_highest_byte() -> None:
    power = c.data_id("02030000")  # XX.XXXX kW, signed
    assert (power.nbytes, power.decimals, power.signed, power.format) == (3, 4, True, "XX.XXXX")
    assert c.encode_bcd(-1.2345, 3, 4, True) == h("45 23 81")  # 01 23 45 high first, + sign
    assert c.decode_bcd(h("45 23 81"), 4, True) == -1.2345
    assert c.decode_bcd(h("45 23 81"), 4, False) == pytest.approx(81.2345)  # unsigned reads it
    assert c.decode_bcd(h("50 89"), 3, True) == -0.95  # power factor X.XXX
    with pytest.raises(FrameError, match="not BCD"):
        c.decode_bcd(h("4A 23 01"), 4, True)
    with pytest.raises(ValueError, match="does not fit"):
        c.encode_bcd(80.0, 3, 4, True)  # the sign bit leaves 79.9999
    with pytest.raises(ValueError, match="does not fit"):
        c.encode_bcd(-1.0, 4, 2, False)


def test_data_identifier_table() -> None:
    expected = {
        "00000000": ("combined_active_energy", "kWh", 4, 2, True),
        "00000400": ("combined_active_energy_t4", "kWh", 4, 2, True),
        "00010000": ("forward_active_energy", "kWh", 4, 2, False),
        "00020000": ("reverse_active_energy", "kWh", 4, 2, False),
        "00030000": ("combined_reactive_energy_1", "kvarh", 4, 2, True),
        "00040000": ("combined_reactive_energy_2", "kvarh", 4, 2, True),
        "02010300": ("voltage_c", "V", 2, 1, False),
        "02020100": ("current_a", "A", 3, 3, True),
        "02030000": ("active_power_total", "kW", 3, 4, True),
        "02030300": ("active_power_c", "kW", 3, 4, True),
        "02060000": ("power_factor_total", "", 2, 3, True),
        "02060300": ("power_factor_c", "", 2, 3, True),
    }
    for code, (name, unit, nbytes, decimals, signed) in expected.items():
        di = c.data_id(code)
        assert (di.name, di.unit, di.nbytes, di.decimals, di.signed) == (
            name, unit, nbytes, decimals, signed,
        )  # fmt: skip
        assert c.data_id(name) is di
        assert di.wire == bytes.fromhex(code)[::-1]
    assert c.data_id("forward_active_energy").quantity == "electricity_import"
    assert c.data_id("02030000").quantity == "active_power"
    assert c.data_id("voltage_a").quantity is None
    with pytest.raises(ValueError, match="unknown data identifier '02800002'"):
        c.data_id("02800002")


def test_error_byte_bits() -> None:
    # Bits per DL/T 645-2007 (错误信息字): see ERROR_BITS for the sources.
    assert c.describe_error(0x02).startswith("no data requested")
    assert c.describe_error(0x04) == "password wrong / unauthorised"
    assert c.describe_error(0x41) == "other error; tariffs exceeded"
    assert c.describe_error(0x38) == (
        "baud rate cannot be changed; year time zones exceeded; day periods exceeded"
    )
    assert c.describe_error(0x80) == "reserved bit 7"
    reply = c.encode_frame("000000000001", c.READ_ERROR, b"\x02", preamble=0)
    assert reply[8:11] == h("D1 01 35")  # D1h, L = 1, 02h + 33h
    frame = c.decode_frame(reply)
    assert frame.is_error
    assert frame.data == b"\x02"


def test_decode_frame_rejections_name_the_reason() -> None:
    bad_cs = bytearray(REPLY_1206)
    bad_cs[-2] ^= 0xFF
    long = REPLY_1206[:-1] + b"\x00\x16"
    cases = {
        "bad_checksum": bytes(bad_cs),
        "bad_length": long,
        "truncated": REPLY_1206[:15],
        "bad_header": b"\x68" + REPLY_1206[1:7] + b"\x00" + REPLY_1206[8:],
    }
    for reason, raw in cases.items():
        with pytest.raises(FrameError) as err:
            c.decode_frame(raw)
        assert err.value.reason == reason


def test_hostile_stream_counts_every_reason_and_resynchronises() -> None:
    good = c.encode_frame("000000000007", 0x91, c.data_id("00010000").wire + h("00 10 00 00"))
    bad_cs = bytearray(REPLY_1206)
    bad_cs[12] ^= 0x01  # a data bit flipped on the line
    wrong_length = bytearray(REPLY_1206)
    wrong_length[9] = 0x07  # L one short: the 16 is not where L says
    truncated = REPLY_1206[:13]  # the rest never came (another frame follows)
    stream = (
        h("00 FF 12")  # garbage
        + bytes(bad_cs)
        + bytes(wrong_length)
        + truncated
        + good
        + h("68 11 22 33")  # a frame that starts and ends nowhere (then the line idles)
    )
    dec = c.StreamDecoder()
    frames: list[bytes] = []
    for i in range(0, len(stream), 5):  # in pieces, as a serial port delivers them
        frames += dec.feed(stream[i : i + 5])
    assert frames == [good[4:]]  # without its FE preamble
    dec.discard()
    # one count per event: the bytes skipped to resynchronise after a rejected frame (its
    # own second 68, its tail) belong to it and are not counted again
    assert dict(dec.rejects) == {"garbage": 1, "bad_checksum": 1, "bad_length": 1, "truncated": 2}
    assert dec.pending == 0


def test_a_lone_68_in_garbage_is_a_bad_header() -> None:
    dec = c.StreamDecoder()
    assert dec.feed(h("68 01 02 03 04 05 06 07 08 09") + REPLY_1206) == [REPLY_1206]
    assert dec.rejects["bad_header"] == 1


addresses = st.text(alphabet="0123456789", min_size=12, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    address=addresses,
    control=st.integers(0, 255),
    data=st.binary(max_size=255),
    preamble=st.integers(0, 4),
)
def test_frame_round_trip(address: str, control: int, data: bytes, preamble: int) -> None:
    raw = c.encode_frame(address, control, data, preamble=preamble)
    assert len(raw) == preamble + 12 + len(data)
    assert c.decode_frame(raw) == c.Frame(address, control, data)
    dec = c.StreamDecoder()
    assert dec.feed(raw) == [raw[preamble:]]
    assert not dec.rejects


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(
        st.tuples(addresses, st.integers(0, 255), st.binary(max_size=40)), min_size=1, max_size=6
    ),
    gaps=st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\x68", b"")), min_size=7),
    cut=st.integers(1, 17),
)
def test_stream_recovers_every_frame_between_garbage(
    frames: list[tuple[str, int, bytes]], gaps: list[bytes], cut: int
) -> None:
    raws = [c.encode_frame(a, ctl, d, preamble=0) for a, ctl, d in frames]
    stream = b"".join(gap + raw for gap, raw in zip(gaps, raws, strict=False)) + gaps[-1]
    dec = c.StreamDecoder()
    got: list[bytes] = []
    for i in range(0, len(stream), cut):
        got += dec.feed(stream[i : i + cut])
    assert got == raws


@settings(max_examples=200, deadline=None)
@given(noise=st.binary(max_size=600), cut=st.integers(1, 64))
def test_arbitrary_noise_never_breaks_the_decoder(noise: bytes, cut: int) -> None:
    dec = c.StreamDecoder()
    for i in range(0, len(noise), cut):
        for raw in dec.feed(noise[i : i + cut]):
            c.decode_frame(raw)  # whatever it emits is a valid frame
        assert dec.pending <= 12 + 255 + 4  # never more than one frame's worth buffered


@settings(max_examples=300, deadline=None)
@given(di=st.sampled_from(list(c.DATA_IDS.values())), data=st.data())
def test_bcd_round_trip_for_every_data_item(di: c.DataId, data: st.DataObject) -> None:
    top = (8 if di.signed else 10) * 10 ** (2 * di.nbytes - 1) - 1
    scaled = data.draw(st.integers(-top if di.signed else 0, top))
    value = scaled / 10**di.decimals
    wire = c.encode_bcd(value, di.nbytes, di.decimals, di.signed)
    assert len(wire) == di.nbytes
    assert c.decode_bcd(wire, di.decimals, di.signed) == value
