"""pcap captures of the uefi-vars device (LINKTYPE_EDK2_MM 302): golden bytes, round trips,
byte-swapped and nanosecond files, records cut at the snaplen, and bad input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uefivars_gui.codec.pcap import (
    LINKTYPE_EDK2_MM,
    MmCaptureRecord,
    MmRecordType,
    PcapCapture,
    PcapHeader,
    decode_pcap,
    decode_pcap_header,
    encode_pcap,
    encode_pcap_header,
    encode_record,
    iter_records,
    probe,
)
from uefivars_gui.errors import DecodeError, EncodeError

# A capture written by hand from qemu-uefi-vars.md §5.4: header, RESET, REQUEST, REPLY.
GOLDEN = bytes.fromhex(
    # magic a1b2c3d4 (LE), version 2.4, thiszone 0, sigfigs 0, snaplen 65536, network 302
    "d4c3b2a1 0200 0400 00000000 00000000 00000100 2e010000"
    # RESET at 1700000000.000005: incl 4, orig 4, type 1
    " 00f15365 05000000 04000000 04000000 01000000"
    # REQUEST at 1700000000.999999: incl 7, orig 7, type 2, data aa bb cc
    " 00f15365 3f420f00 07000000 07000000 02000000 aabbcc"
    # REPLY at 1700000001.000000: incl 7, orig 7, type 3, data aa bb dd
    " 01f15365 00000000 07000000 07000000 03000000 aabbdd".replace(" ", "")
)
GOLDEN_RECORDS = (
    MmCaptureRecord(MmRecordType.RESET, b"", 1700000000, 5000),
    MmCaptureRecord(MmRecordType.REQUEST, b"\xaa\xbb\xcc", 1700000000, 999999000),
    MmCaptureRecord(MmRecordType.REPLY, b"\xaa\xbb\xdd", 1700000001, 0),
)


def test_golden_decode() -> None:
    capture = decode_pcap(GOLDEN)
    assert capture.header == PcapHeader()
    assert capture.records == GOLDEN_RECORDS
    assert [r.offset for r in capture.records] == [24, 44, 67]
    request = capture.records[1]
    assert (request.ts_usec, request.incl_len, request.orig_len, request.truncated) == (999999, 7, 7, False)
    assert request.kind is MmRecordType.REQUEST and request.kind_name == "REQUEST"


def test_golden_encode() -> None:
    assert encode_pcap(PcapCapture(GOLDEN_RECORDS)) == GOLDEN
    assert encode_pcap(GOLDEN_RECORDS) == GOLDEN  # a bare list gets QEMU's header
    assert encode_pcap_header() == GOLDEN[:24]
    built = [
        MmCaptureRecord.capture(MmRecordType.RESET, b"", 1700000000, 5),
        MmCaptureRecord.capture(MmRecordType.REQUEST, b"\xaa\xbb\xcc", 1700000000, 999999),
        MmCaptureRecord.capture(MmRecordType.REPLY, b"\xaa\xbb\xdd", 1700000001, 0),
    ]
    assert encode_pcap(built) == GOLDEN


def test_header_constants() -> None:
    header = decode_pcap_header(GOLDEN)
    assert (header.magic, header.version_major, header.version_minor) == (0xA1B2C3D4, 2, 4)
    assert (header.snaplen, header.network) == (65536, LINKTYPE_EDK2_MM) == (65536, 302)
    assert probe(GOLDEN) and not probe(b"\0" * 24)


def test_full_buffer_is_cut_at_the_snaplen() -> None:
    """A 64 KiB request is 65540 bytes with its type: QEMU captures 65536 of them."""
    data = bytes(range(256)) * 256
    rec = MmCaptureRecord.capture(MmRecordType.REQUEST, data, 1, 2)
    assert (rec.incl_len, rec.orig_len, rec.truncated, len(rec.data)) == (65536, 65540, True, 65532)
    raw = encode_pcap([rec])
    assert struct.unpack_from("<IIII", raw, 24) == (1, 2, 65536, 65540)
    back = decode_pcap(raw).records[0]
    assert back == rec and back.truncated and back.data == data[:65532]


def test_big_endian_and_nanosecond_files() -> None:
    be = PcapHeader(byte_order=">")
    raw = encode_pcap(PcapCapture(GOLDEN_RECORDS, be))
    assert raw[:4] == bytes.fromhex("a1b2c3d4")
    assert raw[24:28] == struct.pack(">I", 1700000000)
    capture = decode_pcap(raw)
    assert capture.header == be and capture.records == GOLDEN_RECORDS
    assert encode_pcap(capture) == raw

    ns = PcapHeader(nanosecond=True)
    rec = MmCaptureRecord(MmRecordType.REQUEST, b"x", 5, 123456789)
    raw = encode_pcap(PcapCapture((rec,), ns))
    assert raw[:4] == bytes.fromhex("4d3cb2a1")
    back = decode_pcap(raw)
    assert back.header.nanosecond and back.records[0].ts_nsec == 123456789
    assert back.records[0].ts_usec == 123456
    # a big-endian nanosecond file
    raw = encode_pcap(PcapCapture((rec,), PcapHeader(byte_order=">", nanosecond=True)))
    assert raw[:4] == bytes.fromhex("a1b23c4d") and decode_pcap(raw).records == (rec,)


def test_unknown_record_types_are_kept() -> None:
    rec = MmCaptureRecord(9, b"future", 1, 0)
    capture = decode_pcap(encode_pcap([rec]))
    assert capture.records[0].kind == 9 and capture.records[0].kind_name == "UNKNOWN(9)"


def test_empty_capture_and_iteration() -> None:
    assert decode_pcap(GOLDEN[:24]).records == ()
    assert list(iter_records(GOLDEN)) == list(GOLDEN_RECORDS)


def test_record_fields_have_file_spans() -> None:
    rec = decode_pcap(GOLDEN).records[1]
    tree = rec.fields()
    assert (tree.offset, tree.length) == (44, 23)
    data = tree.find("data")
    assert data is not None and (data.offset, data.length) == (64, 3)
    header = decode_pcap_header(GOLDEN).fields()
    network = header.find("network")
    assert network is not None and (network.offset, network.text) == (20, "302")


def _patched(offset: int, fmt: str, value: int) -> bytes:
    raw = bytearray(GOLDEN)
    struct.pack_into(fmt, raw, offset, value)
    return bytes(raw)


@pytest.mark.parametrize(
    ("data", "offset", "words"),
    [
        (b"", 0, "a pcap header needs 24"),
        (GOLDEN[:10], 10, "a pcap header needs 24"),
        (b"\x0a\x0d\x0d\x0a" + GOLDEN[4:], 0, "not a pcap file"),  # pcapng
        (_patched(4, "<H", 1), 4, "version 1.4"),
        (_patched(20, "<I", 1), 20, "link type 1 is not LINKTYPE_EDK2_MM"),
        (GOLDEN[:30], 24, "truncated record header"),
        (GOLDEN[:62], 44, "truncated record: 2 of 7 bytes"),
        (GOLDEN + b"\0", 90, "truncated record header"),
        (_patched(28, "<I", 1_000_000), 28, "out of range"),
        (_patched(52, "<I", 8), 52, "exceeds the original length"),
        (_patched(32, "<I", 5), 32, "exceeds the original length"),
        (_patched(52, "<I", 70000), 52, "exceeds the limit 65536"),
    ],
)
def test_bad_input_says_where(data: bytes, offset: int, words: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_pcap(data)
    assert info.value.offset == offset
    assert words in str(info.value)


def test_record_without_type_field() -> None:
    raw = GOLDEN[:24] + struct.pack("<IIII", 0, 0, 2, 2) + b"\0\0"
    with pytest.raises(DecodeError, match="no type field") as info:
        decode_pcap(raw)
    assert info.value.offset == 32


def test_encode_refuses_what_it_cannot_write() -> None:
    with pytest.raises(EncodeError, match="snaplen"):
        encode_record(MmCaptureRecord(MmRecordType.REQUEST, bytes(65533)))
    with pytest.raises(EncodeError, match="orig_len"):
        encode_record(MmCaptureRecord(MmRecordType.REQUEST, b"abc", orig_len=3))
    with pytest.raises(EncodeError, match="32 bits"):
        encode_record(MmCaptureRecord(MmRecordType.RESET, ts_sec=1 << 32))
    with pytest.raises(EncodeError, match="out of range"):
        encode_record(MmCaptureRecord(MmRecordType.RESET, ts_nsec=10**9))


_records = st.builds(
    MmCaptureRecord,
    st.sampled_from([1, 2, 3, 7]),
    st.binary(max_size=64),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 999_999).map(lambda us: us * 1000),
)


@given(st.lists(_records, max_size=8), st.sampled_from(["<", ">"]))
def test_round_trip(records: list[MmCaptureRecord], order: str) -> None:
    header = PcapHeader(byte_order=order)  # type: ignore[arg-type]
    raw = encode_pcap(PcapCapture(tuple(records), header))
    capture = decode_pcap(raw)
    assert capture.records == tuple(records) and capture.header == header
    assert encode_pcap(capture) == raw


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    for candidate in (data, GOLDEN[:24] + data, GOLDEN[:4] + data):
        try:
            capture = decode_pcap(candidate)
        except DecodeError:
            continue
        assert encode_pcap(capture) == candidate


@given(st.integers(0, len(GOLDEN) - 1), st.integers(0, 255))
def test_mutated_golden_only_raises_decode_error(position: int, byte: int) -> None:
    raw = bytearray(GOLDEN)
    raw[position] = byte
    try:
        capture = decode_pcap(bytes(raw))
    except DecodeError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(raw)
        return
    assert encode_pcap(capture) == bytes(raw)
