"""edk2 VARS flash images (OVMF / AAVMF): decode, lossless encode, layouts, bad input."""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uefivars_gui.codec import edk2
from uefivars_gui.core.attributes import AP, AT, NV_BS, NV_BS_RT, NV_BS_RT_AT, Attributes
from uefivars_gui.core.efitime import ZERO_TIME, EfiTime
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.errors import DecodeError, StoreFullError, UnknownFormatError, UsageError

DATA = Path(__file__).resolve().parent.parent / "data" / "ovmf"
EMPTY = DATA / "OVMF_VARS_4M.fd"
MS = DATA / "OVMF_VARS_4M.ms.fd"
SNAKEOIL = DATA / "OVMF_VARS_4M.snakeoil.fd"
SAMPLES = [EMPTY, MS, SNAKEOIL]

#: EFI_FIRMWARE_FILE_SYSTEM2_GUID: what a CODE firmware volume carries.
FFS2 = uuid.UUID("8c8ce578-8a3d-4f1c-9935-896185c32dd3")
VENDOR = uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")
PRISTINE_FTW_4M = bytes.fromhex("2b29589e687c7d49a0ce6500fd9f1b952caf2c64feffffffe00f000000000000")


@pytest.fixture(scope="module")
def ms_bytes() -> bytes:
    return MS.read_bytes()


@pytest.fixture(scope="module")
def ms_image(ms_bytes: bytes) -> edk2.FlashImage:
    return edk2.decode(ms_bytes)


# --- helpers (independent of the codec) -------------------------------------------------


def raw_record(
    name: str,
    guid: uuid.UUID,
    attrs: int,
    data: bytes,
    state: int = 0x3F,
    stamp: bytes = bytes(16),
) -> bytes:
    """An AUTHENTICATED_VARIABLE_HEADER record, padded to 4 bytes with 0xFF."""
    raw_name = name.encode("utf-16-le") + b"\0\0"
    head = struct.pack(
        "<HBBIQ16sIII16s", 0x55AA, state, 0, attrs, 0, stamp, 0, len(raw_name), len(data), guid.bytes_le
    )
    rec = head + raw_name + data
    return rec + b"\xff" * (-len(rec) % 4)


def image_with(*records: bytes, layout: edk2.FlashLayout = edk2.OVMF_2M) -> bytes:
    image = bytearray(edk2.blank(layout))
    body = b"".join(records)
    image[0x64 : 0x64 + len(body)] = body
    return bytes(image)


def fv_checksum_ok(image: bytes) -> bool:
    length: int = struct.unpack_from("<H", image, 48)[0]
    words: tuple[int, ...] = struct.unpack_from(f"<{length // 2}H", image)
    return sum(words) % 0x10000 == 0


def fix_fv_checksum(image: bytearray) -> None:
    image[50:52] = b"\0\0"
    total = sum(struct.unpack_from("<36H", image)) % 0x10000
    image[50:52] = struct.pack("<H", (0x10000 - total) % 0x10000)


def var(
    name: str,
    data: bytes,
    attrs: int = NV_BS_RT,
    guid: uuid.UUID = EFI_GLOBAL_VARIABLE,
    timestamp: EfiTime | None = None,
) -> Variable:
    return Variable(name, guid, Attributes(attrs), data, timestamp)


def ftw_pristine(image: bytes, layout: edk2.FlashLayout) -> bool:
    start, size = layout.ftw_working_offset, layout.ftw_working_size
    head = bytearray(image[start : start + 32])
    if head[:16] != uuid.UUID("9e58292b-7c68-497d-a0ce-6500fd9f1b95").bytes_le:
        return False
    crc = struct.unpack_from("<I", head, 16)[0]
    probe = bytes(head[:16]) + b"\xff" * 8 + bytes(head[24:])
    queue = image[start + 32 : start + size]
    spare = image[layout.ftw_spare_offset : layout.ftw_spare_offset + layout.ftw_spare_size]
    return (
        zlib.crc32(probe) == crc
        and head[20:24] == b"\xfe\xff\xff\xff"
        and struct.unpack_from("<Q", head, 24)[0] == size - 32
        and queue.count(0xFF) == len(queue)
        and spare.count(0xFF) == len(spare)
    )


# --- real samples -----------------------------------------------------------------------


def test_probe() -> None:
    for path in SAMPLES:
        assert edk2.probe(path.read_bytes())
    assert not edk2.probe(b"")
    assert not edk2.probe(b'{"version": 2, "variables": []}')
    assert not edk2.probe(b"\0" * 0x1000)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_real_samples_round_trip_byte_identical(path: Path) -> None:
    data = path.read_bytes()
    image = edk2.decode(data)
    assert image.layout is edk2.OVMF_4M
    assert image.authenticated
    assert image.warnings == ()
    assert image.data == data
    assert edk2.encode(image.store, image) == data
    assert edk2.encode(image.store.copy(), image) is image.data  # an equal store is unchanged


def test_ms_sample_records(ms_image: edk2.FlashImage) -> None:
    statuses = [r.status for r in ms_image.records]
    assert statuses.count(edk2.RecordStatus.LIVE) == 21
    assert statuses.count(edk2.RecordStatus.DELETED) == 18
    assert len(ms_image.store) == 21 and len(ms_image.history) == 18
    first = ms_image.records[0]
    assert (first.offset, first.state, first.variable and first.variable.name) == (0x64, 0x3C, "CustomMode")
    assert first.state_name == "deleted (0x3C)"
    assert first.variable is not None and first.variable.data == b"\0"
    # the deleted copies keep their data: the ConIn history grows
    conin = [r for r in ms_image.records if r.variable and r.variable.name == "ConIn"]
    assert [r.status for r in conin][-1] is edk2.RecordStatus.LIVE
    assert len(conin) == 6
    assert ms_image.end_of_records == 0x31E8
    pk = ms_image.store.get(EFI_GLOBAL_VARIABLE, "PK")
    assert pk is not None and pk.timestamp == EfiTime(2026, 1, 4, 18, 19, 20)
    timeout = ms_image.store.get(EFI_GLOBAL_VARIABLE, "Timeout")
    assert timeout is not None and timeout.timestamp is None and timeout.attributes == NV_BS_RT


def load_json_store(path: Path) -> list[Variable]:
    doc = json.loads(path.read_text())
    assert doc["version"] == 2
    out = []
    for item in doc["variables"]:
        attrs = Attributes(item["attr"])
        if "time" in item:
            stamp: EfiTime | None = EfiTime.from_bytes(bytes.fromhex(item["time"]))
        else:
            stamp = ZERO_TIME if attrs & AT else None
        out.append(Variable(item["name"], uuid.UUID(item["guid"]), attrs, bytes.fromhex(item["data"]), stamp))
    return out


@pytest.mark.parametrize("stem", ["OVMF_VARS_4M.ms", "OVMF_VARS_4M.snakeoil"])
def test_same_variables_as_virt_fw_vars(stem: str) -> None:
    image = edk2.decode((DATA / f"{stem}.fd").read_bytes())
    expected = load_json_store(DATA / f"{stem}.virt-fw-vars-26.10.json")
    assert list(image.store) == expected


def test_field_tree_spans(ms_image: edk2.FlashImage) -> None:
    root = ms_image.fields
    assert (root.offset, root.length) == (0, len(ms_image.data))
    assert root.deepest_at(50) is not None and root.deepest_at(50).name == "Checksum"  # type: ignore[union-attr]
    assert root.deepest_at(0x48 + 20).name == "Format"  # type: ignore[union-attr]
    timeout = next(r for r in ms_image.records if r.variable and r.variable.name == "Timeout")
    hit = root.deepest_at(timeout.offset + 37)
    assert hit is not None and hit.name == "NameSize" and hit.text == "0x10"
    hit = root.deepest_at(timeout.name_offset + 1)
    assert hit is not None and hit.name == "Name" and "Timeout" in hit.text
    assert root.deepest_at(timeout.data_offset).name == "Data"  # type: ignore[union-attr]
    assert root.deepest_at(0x41000 + 16).name == "Crc"  # type: ignore[union-attr]
    assert root.deepest_at(0x50000).name == "FTW spare"  # type: ignore[union-attr]
    # every record field covers its record exactly, in flash order
    variables = root.find("Variables")
    assert variables is not None
    assert [(f.offset, f.length) for f in variables.children] == [
        (r.offset, r.span) for r in ms_image.records
    ]
    for node in root.walk():
        assert node.offset >= 0 and node.end <= len(ms_image.data)


# --- layouts and blank images -----------------------------------------------------------


def test_blank_4m_equals_real_empty_image() -> None:
    assert edk2.blank(edk2.OVMF_4M) == EMPTY.read_bytes()


@pytest.mark.parametrize(
    ("layout", "checksum", "crc"),
    [
        (edk2.OVMF_2M, 0xF919, 0x642CAF2C),
        (edk2.OVMF_4M, 0xB8AF, 0x642CAF2C),
        (edk2.AAVMF, 0x0928, 0x86C6E75B),
    ],
    ids=["2M", "4M", "aavmf"],
)
def test_blank_layouts(layout: edk2.FlashLayout, checksum: int, crc: int) -> None:
    image = edk2.blank(layout)
    assert len(image) == layout.image_size
    assert struct.unpack_from("<H", image, 50)[0] == checksum and fv_checksum_ok(image)
    assert struct.unpack_from("<I", image, layout.ftw_working_offset + 16)[0] == crc
    decoded = edk2.decode(image)
    assert decoded.layout == layout and len(decoded.store) == 0 and decoded.warnings == ()
    assert layout.variables_offset == 0x64


@pytest.mark.parametrize("layout", [edk2.OVMF_2M, edk2.AAVMF, edk2.AAVMF_64M], ids=lambda lay: lay.name)
def test_layouts_round_trip_through_encode(layout: edk2.FlashLayout) -> None:
    store = VarStore(
        [
            var("Timeout", b"\5\0"),
            var("db", b"x" * 3000, NV_BS_RT_AT, EFI_IMAGE_SECURITY_DATABASE, EfiTime(2025, 2, 3, 4, 5, 6)),
        ]
    )
    image = edk2.encode_new(store, layout)
    assert len(image) == layout.image_size and fv_checksum_ok(image)
    decoded = edk2.decode(image)
    assert decoded.layout == layout and decoded.store == store
    assert ftw_pristine(image, layout)
    assert edk2.encode(decoded.store, decoded) == image


def test_aavmf_padding_is_kept() -> None:
    padding = bytes(range(256)) * 64 + b"\0" * 0x3000
    data = edk2.blank(edk2.AAVMF) + padding
    image = edk2.decode(data)
    assert image.layout.fv_length == 0xC0000 and image.layout.image_size == len(data)
    out = edk2.encode(VarStore([var("Timeout", b"\0\0")]), image)
    assert len(out) == len(data) and out[0xC0000:] == padding
    assert edk2.decode(out).store == VarStore([var("Timeout", b"\0\0")])


def test_layout_by_name() -> None:
    assert edk2.layout_by_name("2M") is edk2.OVMF_2M
    assert edk2.layout_by_name("1m") is edk2.OVMF_2M
    assert edk2.layout_by_name("4M") is edk2.OVMF_4M
    assert edk2.layout_by_name("AAVMF") is edk2.AAVMF
    assert edk2.layout_by_name("aavmf-64m").image_size == 64 * 1024 * 1024
    assert set(edk2.LAYOUTS) == {"2M", "4M", "aavmf", "aavmf-64m"}
    with pytest.raises(UsageError, match="unknown flash layout"):
        edk2.layout_by_name("8M")


def test_blank_refuses_an_inconsistent_layout() -> None:
    with pytest.raises(UsageError, match="block map"):
        edk2.blank(replace(edk2.OVMF_4M, fv_length=0x80000))
    with pytest.raises(UsageError, match="FTW"):
        edk2.blank(replace(edk2.OVMF_4M, ftw_working_offset=0x3F000))
    with pytest.raises(UsageError, match="store"):
        edk2.blank(replace(edk2.OVMF_2M, store_size=0x30000))


def test_unknown_geometry_is_read_from_the_image() -> None:
    layout = edk2.FlashLayout(
        "test", 0x30000, 0x30000, ((0x30, 0x1000),), 0xFFB8, 0x10000, 0x1000, 0x11000, 0x1F000
    )
    store = VarStore([var("Lang", b"eng\0")])
    image = edk2.decode(edk2.encode_new(store, layout))
    assert image.layout.name == "custom"
    assert (image.layout.ftw_working_offset, image.layout.ftw_working_size) == (0x10000, 0x1000)
    assert (image.layout.ftw_spare_offset, image.layout.ftw_spare_size) == (0x11000, 0x1F000)
    assert image.store == store


def test_non_authenticated_store() -> None:
    store = VarStore([var("Timeout", b"\1\0"), var("Lang", b"eng\0", NV_BS)])
    data = edk2.encode_new(store, edk2.OVMF_2M, authenticated=False)
    image = edk2.decode(data)
    assert not image.authenticated
    assert image.store == store
    assert [r.span for r in image.records] == [32 + 16 + 2 + 2, 32 + 10 + 4 + 2]
    assert isinstance(image.records[0].header, edk2.VariableHeader)
    assert data[0x48:0x58] == uuid.UUID("ddcf3616-3275-4164-98b6-fe85707ffe7d").bytes_le


def test_record_bytes_match_the_spec_example() -> None:
    data = edk2.encode_new(VarStore([var("Timeout", b"\0\0")]), edk2.OVMF_4M)
    expected = (
        bytes.fromhex("aa553f00 07000000")
        + bytes(8)
        + bytes(16)
        + bytes(4)
        + bytes.fromhex("10000000 02000000 61dfe48bca93d211aa0d00e098032b8c")
        + "Timeout\0".encode("utf-16-le")
        + b"\0\0"
        + b"\xff\xff"
    )
    assert data[0x64 : 0x64 + 80] == expected
    assert edk2.variable_space("Timeout", 2) == 80
    assert edk2.variable_space("Timeout", 2, authenticated=False) == 52


# --- editing ----------------------------------------------------------------------------


def test_changing_one_variable_keeps_earlier_records(ms_bytes: bytes, ms_image: edk2.FlashImage) -> None:
    store = ms_image.store.copy()
    store.set(var("Timeout", b"\x05\x00"))
    out = edk2.encode(store, ms_image)
    timeout = next(r for r in ms_image.records if r.is_live and r.variable and r.variable.name == "Timeout")
    assert out[: timeout.offset] == ms_bytes[: timeout.offset]
    assert out[: timeout.offset] != ms_bytes[: timeout.offset + 80]
    decoded = edk2.decode(out)
    assert decoded.store == store
    assert list(decoded.store)[3].data == b"\x05\x00"
    kept = [r for r in ms_image.records if r.offset < timeout.offset]
    assert [(r.offset, r.state, r.variable) for r in decoded.records[: len(kept)]] == [
        (r.offset, r.state, r.variable) for r in kept
    ]
    assert decoded.records[len(kept)].offset == timeout.offset
    # after the change everything is compacted: no more history behind it
    assert all(r.status is edk2.RecordStatus.LIVE for r in decoded.records[len(kept) :])
    assert fv_checksum_ok(out) and ftw_pristine(out, edk2.OVMF_4M)
    assert out[0x40000:0x41000] == ms_bytes[0x40000:0x41000]


def test_changing_the_last_variable_keeps_all_history(ms_bytes: bytes, ms_image: edk2.FlashImage) -> None:
    store = ms_image.store.copy()
    last = list(store)[-1]
    store.set(last.with_data(b"\1"))
    out = edk2.encode(store, ms_image)
    last_record = ms_image.records[-1]
    assert out[: last_record.offset] == ms_bytes[: last_record.offset]
    decoded = edk2.decode(out)
    assert decoded.store == store and len(decoded.deleted_records) == 18


def test_adding_appends_after_the_last_record(ms_bytes: bytes, ms_image: edk2.FlashImage) -> None:
    store = ms_image.store.copy()
    new = var("Boot0002", b"\1\0\0\0" + b"x" * 40)
    store.set(new)
    out = edk2.encode(store, ms_image)
    end = ms_image.end_of_records
    assert out[:end] == ms_bytes[:end]
    assert out[end : end + 2] == b"\xaa\x55"
    decoded = edk2.decode(out)
    assert decoded.store == store and decoded.records[-1].variable == new


def test_deleting(ms_bytes: bytes, ms_image: edk2.FlashImage) -> None:
    store = ms_image.store.copy()
    store.remove(EFI_IMAGE_SECURITY_DATABASE, "dbx")
    out = edk2.encode(store, ms_image)
    dbx = next(r for r in ms_image.records if r.variable and r.variable.name == "dbx")
    assert out[: dbx.offset] == ms_bytes[: dbx.offset]
    decoded = edk2.decode(out)
    assert decoded.store == store
    assert (EFI_IMAGE_SECURITY_DATABASE, "dbx") not in decoded.store
    # deleting everything leaves a pristine store
    empty = edk2.encode(VarStore(), ms_image)
    assert empty == EMPTY.read_bytes()


def test_reordering_and_append_write_and_digest(ms_image: edk2.FlashImage) -> None:
    variables = list(ms_image.store)
    reordered = VarStore([variables[1], variables[0], *variables[2:]])
    out = edk2.encode(reordered, ms_image)
    assert edk2.decode(out).store == reordered
    # APPEND_WRITE is never stored, a digest has no place in flash: both count as unchanged
    same = VarStore(v.evolve(attributes=v.attributes | AP, digest=b"\1" * 32) for v in variables)
    assert edk2.encode(same, ms_image) is ms_image.data
    changed = ms_image.store.copy()
    changed.set(var("NewVar", b"1", NV_BS_RT | AP, VENDOR))
    decoded = edk2.decode(edk2.encode(changed, ms_image))
    new = decoded.store.get(VENDOR, "NewVar")
    assert new is not None and new.attributes == NV_BS_RT
    assert new == edk2.normalize_variable(changed.get(VENDOR, "NewVar"))  # type: ignore[arg-type]


def test_same_name_in_two_namespaces() -> None:
    store = VarStore([var("Test", b"a"), var("Test", b"b", guid=VENDOR)])
    image = edk2.decode(edk2.encode_new(store, edk2.OVMF_2M))
    assert image.store == store and len(image.store.named("Test")) == 2


def test_unknown_attribute_bits_are_kept() -> None:
    store = VarStore([var("Odd", b"1", 0xFFFF0087), var("Ea", b"2", 0x80 | NV_BS)])
    image = edk2.decode(edk2.encode_new(store, edk2.OVMF_2M))
    assert image.store == store
    assert [int(v.attributes) for v in image.store] == [0xFFFF0087, 0x83]


def test_unicode_names_round_trip() -> None:
    store = VarStore([var("Grüße✓", b"1"), var("\ud800lone", b"2"), var("\U0001f600", b"3"), var("", b"4")])
    image = edk2.decode(edk2.encode_new(store, edk2.OVMF_2M))
    assert image.store == store


def test_falls_back_to_full_compaction(ms_image: edk2.FlashImage) -> None:
    space = edk2.free_space(ms_image)
    assert space.live + space.history + space.free == space.capacity
    store = ms_image.store.copy()
    # fits only once the 3484 bytes of history are dropped
    size = space.free + 1000 - edk2.variable_space("Big", 0)
    store.set(var("Big", b"\xab" * size, guid=VENDOR))
    out = edk2.encode(store, ms_image)
    decoded = edk2.decode(out)
    assert decoded.store == store
    assert decoded.history == () and decoded.records[0].offset == 0x64
    assert decoded.records[0].variable is not None and decoded.records[0].variable.name == "certdb"


def test_store_full_reports_missing_bytes(ms_image: edk2.FlashImage) -> None:
    space = edk2.free_space(ms_image)
    store = ms_image.store.copy()
    size = space.capacity - space.live + 100 - edk2.variable_space("Big", 0)
    store.set(var("Big", b"\0" * size, guid=VENDOR))
    with pytest.raises(StoreFullError) as caught:
        edk2.encode(store, ms_image)
    assert caught.value.missing == 100
    assert "100 bytes missing" in str(caught.value)
    # one byte less fits exactly
    store.set(var("Big", b"\0" * (size - 100), guid=VENDOR))
    assert edk2.free_space(edk2.decode(edk2.encode(store, ms_image))).free == 0


def test_free_space_numbers(ms_image: edk2.FlashImage) -> None:
    space = edk2.free_space(ms_image)
    assert space.maximum_storage == 0x3FFB8 - 28
    assert space.live == sum(r.span for r in ms_image.live_records) == 9192
    assert space.history == 3484
    assert space.free == 0x40000 - 0x31E8
    assert space.remaining == space.maximum_storage - space.live
    assert space.max_variable_size == 0x8400
    dbx = ms_image.store.get(EFI_IMAGE_SECURITY_DATABASE, "dbx")
    assert dbx is not None
    growth = edk2.variable_space("dbx", len(dbx.data) + 20000) - edk2.variable_space("dbx", len(dbx.data))
    assert growth == 20000 and space.fits(growth) and space.fits_now(growth)
    assert edk2.compacted_size(ms_image.store) == space.live


# --- edk2 state rules -------------------------------------------------------------------


def test_in_transition_rules() -> None:
    old, new = b"old", b"new"
    data = image_with(
        raw_record("A", VENDOR, 7, old, state=0x3E),  # superseded by the 0x3F copy below
        raw_record("B", VENDOR, 7, old, state=0x3E),  # no 0x3F twin: still live
        raw_record("C", VENDOR, 7, old, state=0x3E),
        raw_record("C", VENDOR, 7, new, state=0x3E),  # last 0x3E wins
        raw_record("A", VENDOR, 7, new),
        raw_record("D", VENDOR, 7, new),
        raw_record("D", VENDOR, 7, old),  # two live copies: the first wins
        raw_record("E", VENDOR, 7, new, state=0x7F),  # header valid only
        raw_record("F", VENDOR, 7, new, state=0x3D),
        raw_record("G", VENDOR, 7, new, state=0x12),
    )
    image = edk2.decode(data)
    s = edk2.RecordStatus
    assert [r.status for r in image.records] == [
        s.HISTORY,
        s.IN_TRANSITION,
        s.HISTORY,
        s.IN_TRANSITION,
        s.LIVE,
        s.LIVE,
        s.HISTORY,
        s.INCOMPLETE,
        s.DELETED,
        s.INVALID,
    ]
    assert [(v.name, v.data) for v in image.store] == [("B", old), ("C", new), ("A", new), ("D", new)]
    assert edk2.encode(image.store, image) == data


def test_cutting_never_revives_a_superseded_copy() -> None:
    data = image_with(
        raw_record("A", VENDOR, 7, b"old", state=0x3E),
        raw_record("B", VENDOR, 7, b"b"),
        raw_record("A", VENDOR, 7, b"new"),
    )
    image = edk2.decode(data)
    store = image.store.copy()
    store.remove(VENDOR, "A")
    decoded = edk2.decode(edk2.encode(store, image))
    assert decoded.store == store and decoded.history == ()


def test_erased_state_record_spans_only_its_header() -> None:
    rec = bytearray(raw_record("X", VENDOR, 7, b"data", state=0xFF))
    data = image_with(bytes(rec[:60]), raw_record("Y", VENDOR, 7, b"y"))
    image = edk2.decode(data)
    assert [r.status for r in image.records] == [edk2.RecordStatus.INCOMPLETE, edk2.RecordStatus.LIVE]
    assert image.records[0].span == 60 and image.records[0].variable is None


def test_at_variables_carry_their_timestamp() -> None:
    stamp = EfiTime(2024, 5, 6, 7, 8, 9)
    data = image_with(
        raw_record("db", EFI_IMAGE_SECURITY_DATABASE, 0x27, b"x", stamp=stamp.to_bytes()),
        raw_record("certdb", VENDOR, 0x27, b"y"),
        raw_record("Odd", VENDOR, 7, b"z", stamp=stamp.to_bytes()),  # non-AT: the header stamp is ignored
    )
    got = list(edk2.decode(data).store)
    assert [v.timestamp for v in got] == [stamp, ZERO_TIME, None]


def test_ftw_working_block_with_completed_writes_is_reset() -> None:
    data = bytearray(edk2.encode_new(VarStore([var("Lang", b"eng\0")]), edk2.OVMF_2M))
    queue = 0xF000 + 32
    data[queue : queue + 40] = struct.pack("<B3s16s4xQQ", 0xF8, b"\xff" * 3, VENDOR.bytes_le, 1, 0)
    data[queue + 40 : queue + 80] = struct.pack("<B7sQQQq", 0xF8, b"\xff" * 7, 0, 0x48, 0x1000, 0)
    data[0x10000:0x10010] = b"spare holds data"
    image = edk2.decode(bytes(data))
    assert image.fields.find("FtwWriteHeader") is not None
    assert edk2.encode(image.store, image) == bytes(data)  # unchanged: untouched
    out = edk2.encode(VarStore([var("Lang", b"deu\0")]), image)
    assert ftw_pristine(out, edk2.OVMF_2M)


def test_ftw_mid_update_is_refused() -> None:
    data = bytearray(edk2.blank(edk2.OVMF_2M))
    queue = 0xF000 + 32
    data[queue : queue + 40] = struct.pack("<B3s16s4xQQ", 0xFC, b"\xff" * 3, VENDOR.bytes_le, 1, 0)
    # SpareComplete set (0), DestinationComplete not set (1)
    data[queue + 40 : queue + 80] = struct.pack("<B7sQQQq", 0xFD, b"\xff" * 7, 0, 0, 0xE000, 0)
    with pytest.raises(DecodeError, match="middle of a fault-tolerant write") as caught:
        edk2.decode(bytes(data))
    assert caught.value.offset == queue + 40


# --- bad input --------------------------------------------------------------------------


def expect_error(data: bytes, match: str, offset: int | None = None) -> DecodeError:
    with pytest.raises(DecodeError, match=match) as caught:
        edk2.decode(data)
    if offset is not None:
        assert caught.value.offset == offset
    return caught.value


@pytest.mark.parametrize(
    "length",
    [0, 1, 16, 40, 43, 44, 55, 56, 63, 64, 0x47, 0x48, 0x50, 0x63, 0x64, 0x100, 0x31E8, 0x40000, 0x83FFF],
)
def test_truncated(ms_bytes: bytes, length: int) -> None:
    with pytest.raises(DecodeError):
        edk2.decode(ms_bytes[:length])


def test_truncated_message(ms_bytes: bytes) -> None:
    error = expect_error(ms_bytes[:0x40000], "truncated", 0x40000)
    assert "0x84000" in str(error)


def test_not_a_firmware_volume() -> None:
    with pytest.raises(UnknownFormatError, match="_FVH"):
        edk2.decode(b"\0" * 0x1000)
    with pytest.raises(UnknownFormatError):
        edk2.decode(b'{"version": 2}')


def test_bad_checksum(ms_bytes: bytes) -> None:
    data = bytearray(ms_bytes)
    data[50] ^= 1
    expect_error(bytes(data), "checksum", 50)


def test_code_image_is_recognised() -> None:
    code = bytearray(0x2000)
    struct.pack_into(
        "<16s16sQ4sIHHHBBIIII",
        code,
        0,
        bytes(16),
        FFS2.bytes_le,
        0x2000,
        b"_FVH",
        0x4FEFF,
        0x48,
        0,
        0,
        0,
        2,
        2,
        0x1000,
        0,
        0,
    )
    fix_fv_checksum(code)
    expect_error(bytes(code), "CODE image, not a VARS image", 16)
    # a CODE image whose first volume does not start at 0 (e.g. a reset vector first)
    expect_error(b"\0" * 0x1000 + bytes(code), "CODE image, not a VARS image", 0x1000)
    # combined OVMF.fd: the VARS volume followed by the CODE volume
    expect_error(edk2.blank(edk2.OVMF_4M) + bytes(code), "CODE image")
    # a VARS volume that is not at offset 0
    expect_error(b"\xff" * 0x1000 + edk2.blank(edk2.OVMF_2M), "not at 0", 0x1000)


def test_wrong_file_system_guid_message() -> None:
    data = bytearray(edk2.blank(edk2.OVMF_2M))
    data[16:32] = FFS2.bytes_le
    fix_fv_checksum(data)
    error = expect_error(bytes(data), "looks like a firmware CODE image", 16)
    assert str(FFS2) in str(error)


@pytest.mark.parametrize(
    ("offset", "value", "match"),
    [
        (0x48, b"\0" * 16, "Signature"),
        (0x48 + 16, struct.pack("<I", 0x7FFFFFFF), "Size"),
        (0x48 + 16, struct.pack("<I", 4), "Size"),
        (0x48 + 20, b"\x00", "Format"),
        (0x48 + 21, b"\xff", "State"),
        (0x48, b"\xff" * 28, "erased"),
    ],
)
def test_store_header_invalid(offset: int, value: bytes, match: str) -> None:
    data = bytearray(edk2.blank(edk2.OVMF_2M))
    data[offset : offset + len(value)] = value
    expect_error(bytes(data), match)


def test_fv_header_fields_invalid() -> None:
    def mutated(offset: int, value: bytes) -> bytes:
        data = bytearray(edk2.blank(edk2.OVMF_2M))
        data[offset : offset + len(value)] = value
        fix_fv_checksum(data)
        return bytes(data)

    expect_error(mutated(32, struct.pack("<Q", 1 << 62)), "truncated")
    expect_error(mutated(32, struct.pack("<Q", 0x10000)), "BlockMap covers", 56)
    expect_error(mutated(48, struct.pack("<H", 0x47)), "HeaderLength", 48)
    expect_error(mutated(48, struct.pack("<H", 0xFFFE)), "HeaderLength")
    expect_error(mutated(55, b"\x01"), "Revision", 55)
    expect_error(mutated(64, b"\x01"), "BlockMap")


@pytest.mark.parametrize("field_offset", [36, 40], ids=["NameSize", "DataSize"])
@pytest.mark.parametrize("size", [0x7FFFFFFF, 0xFFFFFFFE, 0x40000])
def test_huge_sizes(ms_bytes: bytes, field_offset: int, size: int) -> None:
    data = bytearray(ms_bytes)
    struct.pack_into("<I", data, 0xB8 + field_offset, size)  # certdb, live
    error = expect_error(bytes(data), "runs past the end of the store", 0xB8)
    assert "0x40000" in str(error)


def test_record_header_runs_past_store() -> None:
    filler = raw_record("A", VENDOR, 7, b"\0" * (0xDFFC - 0x64 - 64))
    data = bytearray(image_with(filler))
    data[0xDFFC:0xE000] = b"\xaa\x55\x3f\x00"
    expect_error(bytes(data), "runs past the end of the store", 0xDFFC)


def test_bad_live_name() -> None:
    rec = bytearray(raw_record("AB", VENDOR, 7, b"x"))
    rec[60 + 4 : 60 + 6] = b"C\0"  # no NUL terminator
    expect_error(image_with(bytes(rec)), "not a NUL-terminated UCS-2 string", 0x64 + 60)
    # the same in a deleted record is only a warning
    rec[2] = 0x3D
    image = edk2.decode(image_with(bytes(rec)))
    assert image.records[0].variable is None and image.warnings


def test_garbage_after_records_is_a_warning() -> None:
    data = bytearray(image_with(raw_record("A", VENDOR, 7, b"a")))
    data[0x200] = 0
    image = edk2.decode(bytes(data))
    assert [w.offset for w in image.warnings] == [0x200]
    assert image.fields.find("Free space").warning  # type: ignore[union-attr]


_SMALL_IMAGE = image_with(
    raw_record("A", VENDOR, 7, b"a" * 5, state=0x3C),
    raw_record("Boot0000", EFI_GLOBAL_VARIABLE, 7, b"b" * 30),
    raw_record("db", EFI_IMAGE_SECURITY_DATABASE, 0x27, b"c" * 40, stamp=EfiTime(2020, 1, 1).to_bytes()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 0x1FF), st.integers(0, 255)), min_size=1, max_size=6), st.booleans())
def test_mutations_only_raise_decode_error(edits: list[tuple[int, int]], fix: bool) -> None:
    data = bytearray(_SMALL_IMAGE)
    for offset, value in edits:
        data[offset] = value
    if fix:
        fix_fv_checksum(data)
    try:
        image = edk2.decode(bytes(data))
    except DecodeError:
        return
    edk2.encode(image.store, image)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        edk2.decode(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_random_bytes_after_a_valid_header(tail: bytes) -> None:
    data = edk2.blank(edk2.OVMF_2M)[:0x48] + tail
    with pytest.raises(DecodeError):
        edk2.decode(data)


# --- property-based round trips ---------------------------------------------------------

names = st.text(st.characters(exclude_characters="\0"), max_size=12)
times = st.builds(
    EfiTime,
    st.integers(0, 0xFFFF),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 2**32 - 1),
    st.integers(-(2**15), 2**15 - 1),
    st.integers(0, 255),
    st.integers(0, 255),
)


@st.composite
def variables(draw: st.DrawFn, authenticated: bool = True) -> Variable:
    attrs = Attributes(
        draw(st.sampled_from([3, 7, 0x27, 0x23, 0x0F]))
        if draw(st.booleans())
        else draw(st.integers(0, 0xFFFFFFFF)) & ~int(AP)
    )
    stamp = (draw(st.one_of(st.just(ZERO_TIME), times))) if authenticated and attrs & AT else None
    guid = draw(st.sampled_from([EFI_GLOBAL_VARIABLE, VENDOR]) | st.uuids())
    return Variable(draw(names), guid, attrs, draw(st.binary(max_size=700)), stamp)


@settings(max_examples=60, deadline=None)
@given(st.lists(variables(), max_size=15), st.sampled_from([edk2.OVMF_2M, edk2.OVMF_4M]))
def test_random_stores_round_trip(items: list[Variable], layout: edk2.FlashLayout) -> None:
    store = VarStore(items)
    data = edk2.encode_new(store, layout)
    image = edk2.decode(data)
    assert image.store == store
    assert edk2.encode(image.store, image) == data
    assert edk2.free_space(image).live == edk2.compacted_size(store)


@settings(max_examples=30, deadline=None)
@given(st.lists(variables(authenticated=False), max_size=10))
def test_random_non_authenticated_stores_round_trip(items: list[Variable]) -> None:
    store = VarStore(items)
    image = edk2.decode(edk2.encode_new(store, edk2.OVMF_2M, authenticated=False))
    assert image.store == store


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_random_edits_of_a_real_image(
    ms_bytes: bytes, ms_image: edk2.FlashImage, data: st.DataObject
) -> None:
    store = ms_image.store.copy()
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["set", "remove", "add"]))
        if action == "remove" and len(store):
            guid, name = data.draw(st.sampled_from(store.keys()))
            store.remove(guid, name)
        elif action == "set" and len(store):
            guid, name = data.draw(st.sampled_from(store.keys()))
            old = store.get(guid, name)
            assert old is not None
            store.set(old.with_data(data.draw(st.binary(max_size=300))))
        else:
            store.set(data.draw(variables()))
    out = edk2.encode(store, ms_image)
    decoded = edk2.decode(out)
    assert decoded.store == store
    # records before the first changed variable are byte-identical and in place
    before = [edk2.normalize_variable(v) for v in ms_image.store]
    after = [edk2.normalize_variable(v) for v in store]
    first_change = next(
        (i for i, old in enumerate(before) if i >= len(after) or after[i] != old), len(before)
    )
    end = ms_image.live_records[first_change - 1].next_offset if first_change else 0x64
    assert out[:end] == ms_bytes[:end]
