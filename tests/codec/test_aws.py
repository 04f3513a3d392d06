"""AWS uefi-data codec: peer samples, round trips, and hostile input."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import struct
import zlib
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.codec import aws
from uefivars_gui.codec.aws import AwsOrigin
from uefivars_gui.codec.base import StoreFormat
from uefivars_gui.core.attributes import AT, NV_BS_RT, NV_BS_RT_AT, Attributes
from uefivars_gui.core.crc import crc32c
from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.errors import DecodeError, EncodeError

DATA = Path(__file__).resolve().parent.parent / "data"
AWS_DIR = DATA / "aws"
OVMF_DIR = DATA / "ovmf"
SAMPLES = sorted(AWS_DIR.glob("*.aws"))
SAMPLE_IDS = [p.name for p in SAMPLES]


def read(name: str) -> bytes:
    return (AWS_DIR / name).read_bytes()


def container(payload: bytes, *, version: int = 0, level: int = 9, crc: int | None = None) -> bytes:
    """A binary AWS container around an arbitrary payload (built independently of the codec)."""
    deflater = zlib.compressobj(level, zdict=aws.zdict_v0())
    body = struct.pack("<I", version) + deflater.compress(payload) + deflater.flush()
    return b"AMZNUEFI" + struct.pack("<I", crc32c(body) if crc is None else crc) + body


def fresh_encode(store: VarStore, origin: object) -> bytes:
    """Encode without the 'unchanged store' shortcut."""
    assert isinstance(origin, AwsOrigin)
    return aws.encode(store, dataclasses.replace(origin, raw=b"", variables=()))


# --- the format's constants --------------------------------------------------------------


def test_dictionary_is_the_published_v0_dictionary() -> None:
    zdict = aws.zdict_v0()
    assert len(zdict) == 11381
    binary = base64.b64decode(read("OVMF_VARS_4M.ms.uefivars-1.2.aws"))
    # zlib header: CMF, FLG with FDICT, then DICTID = Adler-32 of the dictionary.
    assert binary[16] == 0x78 and binary[17] & 0x20
    assert int.from_bytes(binary[18:22], "big") == zlib.adler32(zdict)


def test_samples_exist() -> None:
    assert len(SAMPLES) == 6


# --- peer samples ------------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=SAMPLE_IDS)
def test_sample_round_trip_is_byte_identical(path: Path) -> None:
    raw = path.read_bytes()
    assert aws.probe(raw)
    doc = aws.decode(raw)
    assert doc.format is StoreFormat.AWS
    assert aws.encode(doc.store, doc.origin) == raw
    # Our own encoder, not the shortcut: the payload is always identical; the whole file is
    # identical where this zlib compresses the peers' payload exactly as theirs did.
    again = fresh_encode(doc.store, doc.origin)
    assert aws.decompress(again) == aws.decompress(raw)
    assert aws.decode(again).store == doc.store
    binary = base64.b64decode(raw)
    deflater = zlib.compressobj(9, zdict=aws.zdict_v0())
    if deflater.compress(aws.decompress(raw)) + deflater.flush() != binary[16:]:
        pytest.skip(f"this zlib ({zlib.ZLIB_RUNTIME_VERSION}) compresses differently from the peers' zlib")
    assert again == raw


def test_sample_styles() -> None:
    uefivars = aws.decode(read("OVMF_VARS_4M.ms.uefivars-1.2.aws"))
    virtfw = aws.decode(read("OVMF_VARS_4M.ms.virt-fw-vars-26.10.aws"))
    assert isinstance(uefivars.origin, AwsOrigin) and isinstance(virtfw.origin, AwsOrigin)
    assert uefivars.origin.empty_digest == bytes(32)
    assert virtfw.origin.empty_digest == b""
    for origin in (uefivars.origin, virtfw.origin):
        assert origin.armored and origin.line_length is None and origin.trailer == b""
        assert origin.level == 9 and origin.wbits == 15
    # virt-firmware sorts by name; python-uefivars keeps store order.
    names = [v.name for v in virtfw.store]
    assert names == sorted(names)
    # python-uefivars folds certdb into per-variable digests; virt-firmware keeps it.
    assert "certdb" not in [v.name for v in uefivars.store]
    assert "certdb" in names
    pk = uefivars.store.resolve("PK")
    assert pk.attributes == NV_BS_RT_AT
    assert pk.timestamp == EfiTime(2026, 1, 4, 18, 19, 20)
    assert pk.digest is None
    assert virtfw.store.resolve("PK") == pk


def test_empty_store_samples() -> None:
    for name in ("OVMF_VARS_4M.uefivars-1.2.aws", "OVMF_VARS_4M.virt-fw-vars-26.10.aws"):
        doc = aws.decode(read(name))
        assert len(doc.store) == 0
    assert aws.encode(VarStore()) == read("OVMF_VARS_4M.uefivars-1.2.aws")


def _json_variables(path: Path) -> list[Variable]:
    document = json.loads(path.read_text())
    out = []
    for item in document["variables"]:
        attributes = Attributes(item["attr"])
        timestamp = EfiTime.from_bytes(bytes.fromhex(item["time"])) if "time" in item else None
        if attributes & AT and timestamp is None:
            timestamp = EfiTime()
        out.append(
            Variable(item["name"], UUID(item["guid"]), attributes, bytes.fromhex(item["data"]), timestamp)
        )
    return out


def _fd_variables(image: bytes) -> list[Variable]:
    """Live variables of an edk2 auth-format flash store (a deliberately small reader)."""
    header_length = struct.unpack_from("<H", image, 0x30)[0]
    store_size = struct.unpack_from("<I", image, header_length + 16)[0]
    pos, end = header_length + 28, header_length + store_size
    out = []
    while pos + 60 <= end and image[pos : pos + 2] == b"\xaa\x55":
        state = image[pos + 2]
        attributes = struct.unpack_from("<I", image, pos + 4)[0]
        name_size, data_size = struct.unpack_from("<II", image, pos + 36)
        guid = UUID(bytes_le=image[pos + 44 : pos + 60])
        name = image[pos + 60 : pos + 60 + name_size - 2].decode("utf-16-le")
        data = image[pos + 60 + name_size : pos + 60 + name_size + data_size]
        if state == 0x3F:
            attrs = Attributes(attributes)
            timestamp = EfiTime.from_bytes(image, pos + 16) if attrs & AT else None
            out.append(Variable(name, guid, attrs, data, timestamp))
        pos = (pos + 60 + name_size + data_size + 3) & ~3
    return out


@pytest.mark.parametrize("flavour", ["ms", "snakeoil"])
def test_samples_hold_the_variables_of_their_source(flavour: str) -> None:
    expected = _json_variables(AWS_DIR / f"OVMF_VARS_4M.{flavour}.virt-fw-vars-26.10.json")
    fd = OVMF_DIR / f"OVMF_VARS_4M.{flavour}.fd"
    if fd.exists():
        assert _fd_variables(fd.read_bytes()) == expected
    virtfw = aws.decode(read(f"OVMF_VARS_4M.{flavour}.virt-fw-vars-26.10.aws")).store
    uefivars = aws.decode(read(f"OVMF_VARS_4M.{flavour}.uefivars-1.2.aws")).store
    assert sorted(virtfw, key=lambda v: v.key) == sorted(expected, key=lambda v: v.key)
    assert list(uefivars) == [v for v in expected if v.name != "certdb"]


# --- changed stores keep the file's style -------------------------------------------------


def _changed(store: VarStore) -> VarStore:
    changed = store.copy()
    changed.set(Variable("Timeout", EFI_GLOBAL_VARIABLE, NV_BS_RT, b"\x05\x00"))
    return changed


@pytest.mark.parametrize(
    "name", ["OVMF_VARS_4M.ms.virt-fw-vars-26.10.aws", "OVMF_VARS_4M.ms.uefivars-1.2.aws"]
)
def test_changed_store_keeps_style(name: str) -> None:
    doc = aws.decode(read(name))
    changed = _changed(doc.store)
    out = aws.encode(changed, doc.origin)
    assert out != read(name)
    redone = aws.decode(out)
    assert redone.store == changed
    assert isinstance(redone.origin, AwsOrigin) and isinstance(doc.origin, AwsOrigin)
    assert redone.origin.empty_digest == doc.origin.empty_digest
    # and back to the original content gives the original bytes
    assert aws.encode(doc.store, redone.origin) == fresh_encode(doc.store, doc.origin)


def test_wrapped_text_with_newline() -> None:
    raw = read("OVMF_VARS_4M.ms.uefivars-1.2.aws")
    wrapped = b"\n".join(raw[i : i + 76] for i in range(0, len(raw), 76)) + b"\n"
    assert aws.probe(wrapped)
    doc = aws.decode(wrapped)
    assert isinstance(doc.origin, AwsOrigin)
    assert doc.origin.line_length == 76 and doc.origin.trailer == b"\n" and doc.origin.newline == b"\n"
    assert doc.store == aws.decode(raw).store
    assert aws.encode(doc.store, doc.origin) == wrapped
    out = aws.encode(_changed(doc.store), doc.origin)
    lines = out.split(b"\n")
    assert lines[-1] == b"" and all(len(line) == 76 for line in lines[:-2])


def test_crlf_and_virt_fw_stdout_style() -> None:
    raw = read("OVMF_VARS_4M.snakeoil.virt-fw-vars-26.10.aws")
    doc = aws.decode(raw + b"\n")  # virt-fw-vars --output-aws - prints a newline
    assert isinstance(doc.origin, AwsOrigin) and doc.origin.trailer == b"\n"
    crlf = b"\r\n".join(raw[i : i + 64] for i in range(0, len(raw), 64)) + b"\r\n"
    doc = aws.decode(crlf)
    assert isinstance(doc.origin, AwsOrigin)
    assert doc.origin.newline == b"\r\n" and doc.origin.line_length == 64
    assert aws.encode(_changed(doc.store), doc.origin).count(b"\r\n") >= len(raw) // 64


def test_bare_binary_container() -> None:
    binary = base64.b64decode(read("OVMF_VARS_4M.ms.uefivars-1.2.aws"))
    assert aws.probe(binary)
    doc = aws.decode(binary)
    assert isinstance(doc.origin, AwsOrigin) and not doc.origin.armored
    assert aws.encode(doc.store, doc.origin) == binary
    assert aws.encode(_changed(doc.store), doc.origin).startswith(b"AMZNUEFI")


def test_foreign_origin_is_ignored() -> None:
    store = aws.decode(read("OVMF_VARS_4M.ms.uefivars-1.2.aws")).store
    assert aws.encode(store, origin={"some": "json style"}) == aws.encode(store)


def test_probe_negatives() -> None:
    assert not aws.probe(b"")
    assert not aws.probe(b'{"version": 2, "variables": []}')
    assert not aws.probe(b"\xff" * 64)
    assert not aws.probe(base64.b64encode(b"AMZNUEFX" + bytes(8)))


# --- encoding rules ----------------------------------------------------------------------


def test_timestamp_and_digest_only_for_time_based_variables() -> None:
    stamp = EfiTime(2024, 5, 6, 7, 8, 9)
    store = VarStore(
        [
            Variable("plain", EFI_GLOBAL_VARIABLE, NV_BS_RT, b"x", stamp, b"\x01" * 32),
            Variable("auth", EFI_GLOBAL_VARIABLE, NV_BS_RT_AT, b"y"),
            Variable("signed", EFI_IMAGE_SECURITY_DATABASE, NV_BS_RT_AT, b"z", stamp, b"\xab" * 32),
        ]
    )
    back = list(aws.decode(aws.encode(store)).store)
    assert back[0] == Variable("plain", EFI_GLOBAL_VARIABLE, NV_BS_RT, b"x")
    assert back[1] == Variable("auth", EFI_GLOBAL_VARIABLE, NV_BS_RT_AT, b"y", EfiTime())
    assert back[2] == list(store)[2]
    payload = aws.decompress(aws.encode(store))
    assert len(payload) == 8 + (8 + 5 + 8 + 1 + 16 + 4) + (8 + 4 + 8 + 1 + 16 + 4 + 16 + 8 + 32) + (
        8 + 6 + 8 + 1 + 16 + 4 + 16 + 8 + 32
    )


def test_encode_errors() -> None:
    with pytest.raises(EncodeError):
        aws.encode(VarStore([Variable("bad\udc80", EFI_GLOBAL_VARIABLE, NV_BS_RT, b"")]))
    with pytest.raises(EncodeError):
        aws.encode(VarStore([Variable("nul\0", EFI_GLOBAL_VARIABLE, NV_BS_RT, b"")]))
    with pytest.raises(EncodeError):
        aws.encode(VarStore([Variable("big", EFI_GLOBAL_VARIABLE, Attributes(1 << 33), b"")]))


def test_fields_cover_the_bytes() -> None:
    raw = read("OVMF_VARS_4M.ms.virt-fw-vars-26.10.aws")
    binary = aws.unarmor(raw)
    top = aws.container_fields(binary)
    assert [(c.name, c.offset, c.length) for c in top.children[:3]] == [
        ("Magic", 0, 8),
        ("Crc32c", 8, 4),
        ("Version", 12, 4),
    ]
    assert top.children[3].end == len(binary)
    payload = aws.decompress(raw)
    tree = aws.payload_fields(payload)
    assert tree.children[-1].end == len(payload)
    for before, after in zip(tree.children, tree.children[1:], strict=False):
        assert before.end == after.offset
    pk = next(c for c in tree.children if c.text == "PK")
    names = [c.name for c in pk.children]
    assert names[-3:] == ["TimeStamp", "DigestLength", "Digest"]
    assert pk.children[-1].length == 0
    name_field = pk.children[1]
    assert payload[name_field.offset : name_field.end] == b"PK"
    assert tree.deepest_at(name_field.offset) == name_field


# --- hostile input -----------------------------------------------------------------------


def _error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        aws.decode(data)
    return info.value


def test_header_errors() -> None:
    good = aws.unarmor(read("OVMF_VARS_4M.ms.uefivars-1.2.aws"))
    assert _error(b"AMZNUEFI" + b"\0" * 4).offset == 12
    err = _error(base64.b64encode(b"AMZNUEFX" + good[8:]))
    assert err.offset == 0 and "magic" in str(err)
    bad_crc = bytearray(good)
    bad_crc[-1] ^= 1
    err = _error(bytes(bad_crc))
    assert err.offset == 8 and "CRC" in str(err)
    err = _error(container(b"\0" * 8, version=1))
    assert err.offset == 12 and "version" in str(err)


def test_base64_errors() -> None:
    raw = read("OVMF_VARS_4M.ms.uefivars-1.2.aws")
    err = _error(raw[:100] + b"*" + raw[100:])
    assert err.offset == 100 and err.what == "AWS base64"
    err = _error(raw[:20] + b"=" + raw[21:])
    assert err.offset == 20
    assert "multiple of 4" in str(_error(raw[:-1]))
    assert _error(b"  \n").offset == 3


def test_compressed_stream_errors() -> None:
    good = aws.unarmor(read("OVMF_VARS_4M.ms.uefivars-1.2.aws"))
    body = good[12:-10]
    err = _error(good[:8] + struct.pack("<I", crc32c(body)) + body)
    assert "truncated compressed" in str(err)
    body = good[12:] + b"junk"
    err = _error(good[:8] + struct.pack("<I", crc32c(body)) + body)
    assert err.offset == len(good) and "after the end" in str(err)
    body = struct.pack("<I", 0) + b"\x78\x9c garbage"
    err = _error(b"AMZNUEFI" + struct.pack("<I", crc32c(body)) + body)
    assert err.offset == 16
    plain = zlib.compress(struct.pack("<Q", 0))  # a stream without the dictionary is fine
    body = struct.pack("<I", 0) + plain
    assert len(aws.decode(b"AMZNUEFI" + struct.pack("<I", crc32c(body)) + body).store) == 0


def test_decompression_bomb_is_refused() -> None:
    deflater = zlib.compressobj(9, zdict=aws.zdict_v0())
    chunk = bytes(1 << 20)
    parts = [deflater.compress(chunk) for _ in range(aws.MAX_PAYLOAD_SIZE // len(chunk) + 1)]
    body = struct.pack("<I", 0) + b"".join(parts) + deflater.flush()
    assert len(body) < 100_000
    err = _error(b"AMZNUEFI" + struct.pack("<I", crc32c(body)) + body)
    assert "larger than" in str(err)


def _record(name: bytes, data: bytes, guid: UUID, attributes: int, tail: bytes = b"") -> bytes:
    return (
        struct.pack("<Q", len(name))
        + name
        + struct.pack("<Q", len(data))
        + data
        + guid.bytes_le
        + struct.pack("<I", attributes)
        + tail
    )


def test_payload_errors() -> None:
    rec = _record(b"Timeout", b"\x00\x00", EFI_GLOBAL_VARIABLE, 7)
    assert len(aws.decode(container(struct.pack("<Q", 1) + rec)).store) == 1
    err = _error(container(struct.pack("<Q", 2) + rec + rec))
    assert err.what == "AWS payload" and err.offset == 8 + len(rec) and "twice" in str(err)
    err = _error(container(struct.pack("<Q", 1) + rec + b"\0"))
    assert err.offset == 8 + len(rec)
    err = _error(container(struct.pack("<Q", 1000) + rec))
    assert err.offset == 0 and "count" in str(err)
    err = _error(container(struct.pack("<Q", 1) + rec[:-3]))
    assert err.offset == 8 + len(rec) - 4
    err = _error(container(struct.pack("<Q", 1) + _record(b"a\xffb", b"", EFI_GLOBAL_VARIABLE, 7)))
    assert err.offset == 8 + 8 + 1 and "UTF-8" in str(err)
    err = _error(container(struct.pack("<Q", 1) + _record(b"a\0", b"", EFI_GLOBAL_VARIABLE, 7)))
    assert err.offset == 17
    huge = struct.pack("<Q", 1) + struct.pack("<Q", 1 << 60) + bytes(40)
    assert "runs past" in str(_error(container(huge)))
    at = _record(b"PK", b"", EFI_GLOBAL_VARIABLE, 0x27, bytes(16) + struct.pack("<Q", 5) + b"abc")
    assert "digest" in str(_error(container(struct.pack("<Q", 1) + at)))


# --- properties --------------------------------------------------------------------------

_names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=12)
_guids = st.sampled_from([EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE]) | st.uuids()
_times = st.builds(
    EfiTime,
    st.integers(0, 0xFFFF),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 0xFFFFFFFF),
    st.integers(-0x8000, 0x7FFF),
    st.integers(0, 255),
    st.integers(0, 255),
)
_digests = st.none() | st.binary(min_size=1, max_size=40).filter(lambda d: d != bytes(32))


@st.composite
def _variables(draw: st.DrawFn) -> Variable:
    attributes = Attributes(draw(st.integers(0, 0xFFFFFFFF)))
    name, guid, data = draw(_names), draw(_guids), draw(st.binary(max_size=48))
    if attributes & AT:
        return Variable(name, guid, attributes, data, draw(_times), draw(_digests))
    return Variable(name, guid, attributes, data)


_styles = st.builds(
    AwsOrigin,
    armored=st.booleans(),
    line_length=st.none() | st.sampled_from([64, 76]),
    newline=st.sampled_from([b"\n", b"\r\n"]),
    trailer=st.sampled_from([b"", b"\n"]),
    level=st.sampled_from([1, 6, 9]),
    empty_digest=st.sampled_from([b"", bytes(32)]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_variables(), max_size=6), _styles)
def test_round_trip_property(variables: list[Variable], style: AwsOrigin) -> None:
    store = VarStore(variables)
    data = aws.encode(store, style)
    assert aws.probe(data)
    doc = aws.decode(data)
    assert doc.store == store
    assert aws.encode(doc.store, doc.origin) == data
    assert fresh_encode(doc.store, doc.origin) == data


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    for candidate in (data, base64.b64encode(data), b"AMZNUEFI" + data, base64.b64encode(b"AMZNUEFI" + data)):
        with contextlib.suppress(DecodeError):
            aws.decode(candidate)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_payloads_only_raise_decode_error(payload: bytes) -> None:
    for candidate in (payload, struct.pack("<Q", 1) + payload, struct.pack("<Q", 2) + payload):
        try:
            aws.decode(container(candidate))
        except DecodeError:
            continue
        assert aws.payload_fields(candidate).end == len(candidate)


_SAMPLE = (AWS_DIR / "OVMF_VARS_4M.snakeoil.uefivars-1.2.aws").read_bytes()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(_SAMPLE) - 1), st.integers(0, len(_SAMPLE)), st.binary(min_size=1, max_size=4))
def test_damaged_samples_only_raise_decode_error(position: int, cut: int, junk: bytes) -> None:
    binary = base64.b64decode(_SAMPLE)
    for candidate in (
        _SAMPLE[:cut],
        _SAMPLE[:position] + junk + _SAMPLE[position + 1 :],
        binary[: cut % (len(binary) + 1)],
        binary[: position % len(binary)] + junk + binary[position % len(binary) + 1 :],
    ):
        with contextlib.suppress(DecodeError):
            aws.decode(candidate)
