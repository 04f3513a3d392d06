"""Load options (Boot####...) and key options (Key####): real OVMF values, round trips, errors."""

from __future__ import annotations

import struct
import zlib
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.core import devicepath as dp
from uefivars_gui.core import loadoption as lo
from uefivars_gui.core.guid import BDS_AUTO_OPTION
from uefivars_gui.core.loadoption import InputKey, KeyOption, LoadOption, LoadOptionAttributes
from uefivars_gui.errors import DecodeError, EncodeError

# From OVMF_VARS_4M.snakeoil (virt-fw-vars 26.10 JSON).
BOOT0000 = bytes.fromhex(
    "090100002c0055006900410070007000000004071400c9bdb87cebf8344faaea3ee4af6516a10406140021aa2c46"
    "14760345836e8ab6f46623317fff0400"
)
BOOT0001 = bytes.fromhex(
    "01000000200055004500460049002000510045004d005500200048004100520044004400490053004b00200051004d"
    "00300030003000300031002000000002010c00d041030a0000000001010600021f03120a000000ffff00007fff0400"
    "4eac0881119f594d850ee21a522c59b2"
)
KEY0000 = bytes.fromhex("0000004051d7979f00000c000000")
KEY0001 = bytes.fromhex("0000004051d7979f000017000000")
UIAPP_TEXT = "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(462CAA21-7614-4503-836E-8AB6F4662331)"


def test_uiapp() -> None:
    option = lo.decode_load_option(BOOT0000)
    assert option.description == "UiApp"
    assert (
        option.attributes
        == LoadOptionAttributes.ACTIVE | LoadOptionAttributes.HIDDEN | lo.LOAD_OPTION_CATEGORY_APP
    )
    assert option.active and option.hidden and option.category == lo.LOAD_OPTION_CATEGORY_APP
    assert option.file_path_text == UIAPP_TEXT
    assert option.optional_data == b""
    assert option.summary() == f'"UiApp" {UIAPP_TEXT} [active, hidden, app]'
    assert option.to_bytes() == BOOT0000


def test_bds_auto_created_disk_entry() -> None:
    option = lo.decode_load_option(BOOT0001)
    assert option.description == "UEFI QEMU HARDDISK QM00001 "
    assert option.attributes == lo.LOAD_OPTION_ACTIVE
    assert option.optional_data_guid == BDS_AUTO_OPTION
    assert option.summary() == (
        '"UEFI QEMU HARDDISK QM00001 " PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0) [active]'
        " + 8108AC4E-9F11-4D59-850E-E21A522C59B2 (BdsAutoOption)"
    )
    assert option.to_bytes() == BOOT0001


def test_fields_cover_the_data() -> None:
    root = lo.decode_load_option(BOOT0001).fields()
    assert (root.offset, root.length) == (0, len(BOOT0001))
    names = [c.name for c in root.children]
    assert names == ["Attributes", "FilePathListLength", "Description", "FilePathList", "OptionalData"]
    pos = 0
    for child in root.children:
        assert child.offset == pos
        pos += child.length
    assert pos == len(BOOT0001)
    fp = root.find("FilePathList")
    assert fp is not None and [c.name for c in fp.children] == ["ACPI", "PCI", "SATA", "End"]
    assert root.deepest_at(len(BOOT0001) - 1) == root.find("OptionalData")


def test_build_new_option() -> None:
    path = dp.parse_text(
        "HD(1,GPT,0FC63DAF-8483-4772-8E79-3D69D8477DE4,0x800,0x12C000)/\\EFI\\fedora\\shimx64.efi"
    )
    option = LoadOption(lo.LOAD_OPTION_ACTIVE, "Fedora", path, "quiet splash\0".encode("utf-16-le"))
    raw = option.to_bytes()
    assert raw[:6] == struct.pack("<IH", 1, len(dp.encode(path)))
    again = lo.decode_load_option(raw)
    assert again == option
    assert again.summary().endswith('[active] + "quiet splash"')
    moved = option.with_file_path(dp.parse_text("\\EFI\\BOOT\\BOOTX64.EFI"))
    assert lo.decode_load_option(moved.to_bytes()).file_path_text == "\\EFI\\BOOT\\BOOTX64.EFI"
    assert moved.with_attributes(0).summary().startswith('"Fedora" \\EFI\\BOOT\\BOOTX64.EFI [inactive]')


def test_inconsistent_raw_is_refused() -> None:
    with pytest.raises(EncodeError):
        LoadOption(
            1, "x", dp.parse_text("Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)"), b"", b"\x7f\xff\x04\x00"
        )


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (BDS_AUTO_OPTION.bytes_le, "8108AC4E-9F11-4D59-850E-E21A522C59B2 (BdsAutoOption)"),
        ("root=/dev/vda1 ro".encode("utf-16-le"), '"root=/dev/vda1 ro"'),
        (b"hello\0", 'ascii "hello"'),
        (bytes([0, 1, 0xFE, 0xFF]), "0001FEFF"),
        (UUID(int=5).bytes_le, "00000000000000000000000000000005"),
    ],
)
def test_optional_data_text(data: bytes, text: str) -> None:
    assert lo.optional_data_text(data) == text


def test_bad_device_path_still_round_trips() -> None:
    raw = struct.pack("<IH", 1, 4) + "x\0".encode("utf-16-le") + bytes.fromhex("01010300") + b"tail"
    option = lo.decode_load_option(raw)
    assert option.file_path == () and option.file_path_error is not None
    assert "offset 12" in option.file_path_error  # 6 + 4 (description) + 2 (length field)
    assert option.to_bytes() == raw
    assert option.fields().find("FilePathList").warning  # type: ignore[union-attr]
    assert "invalid device path" in option.summary()


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        (b"\x01\x00\x00", 3),
        (struct.pack("<IH", 1, 4) + b"a\0b\0", 6),  # description without NUL
        (struct.pack("<IH", 1, 40) + b"\0\0" + dp.END_ENTIRE.to_bytes(), 4),  # FilePathList past the end
    ],
)
def test_malformed(raw: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        lo.decode_load_option(raw)
    assert info.value.offset == offset


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes(raw: bytes) -> None:
    try:
        option = lo.decode_load_option(raw)
    except DecodeError:
        return
    assert option.to_bytes() == raw
    assert option.fields().length == len(raw)
    option.summary()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 0xFFFFFFFF),
    st.text(max_size=20).filter(lambda s: "\0" not in s),
    st.sampled_from(
        ["", "PciRoot(0x0)/Pci(0x3,0x0)/Scsi(0x0,0x1)", UIAPP_TEXT, "\\EFI\\x.efi,Uri(http://a/b)"]
    ),
    st.binary(max_size=20),
)
def test_generated_options_round_trip(
    attributes: int, description: str, path_text: str, optional: bytes
) -> None:
    option = LoadOption(attributes, description, dp.parse_text(path_text), optional)
    raw = option.to_bytes()
    again = lo.decode_load_option(raw)
    assert again.to_bytes() == raw
    assert again.file_path == option.file_path and again.description == description


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("Boot0000", True),
        ("Boot000A", True),
        ("Boot000a", False),
        ("Driver1234", True),
        ("SysPrepFFFF", True),
        ("PlatformRecovery0000", True),
        ("Boot00000", False),
        ("BootOrder", False),
        ("Key0000", False),
    ],
)
def test_load_option_names(name: str, ok: bool) -> None:
    assert lo.is_load_option_name(name) is ok


def test_option_name_helpers() -> None:
    assert lo.load_option_name("Boot", 10) == "Boot000A"
    assert lo.parse_load_option_name("SysPrep00FF") == ("SysPrep", 255)
    assert lo.parse_load_option_name("Bootx") is None
    assert lo.is_key_option_name("Key000B") and not lo.is_key_option_name("Key00b")
    with pytest.raises(EncodeError):
        lo.load_option_name("Boot", 0x10000)


# --- Key#### ------------------------------------------------------------------------


def test_ovmf_hot_keys() -> None:
    f2 = lo.decode_key_option(KEY0000)
    esc = lo.decode_key_option(KEY0001)
    assert f2.summary() == "F2 -> Boot0000 (crc 0x9F97D751)"
    assert esc.summary() == "Esc -> Boot0000 (crc 0x9F97D751)"
    assert f2.input_key_count == 1 and f2.keys == (InputKey(0x0C, 0),)
    assert f2.crc_matches(BOOT0000) and zlib.crc32(BOOT0000) == f2.boot_option_crc
    assert f2.to_bytes() == KEY0000 and esc.to_bytes() == KEY0001
    root = f2.fields()
    assert root.length == len(KEY0000) and root.find("Keys[0]") is not None


def test_make_key_option() -> None:
    key = lo.make_key_option(1, BOOT0001, (InputKey(0, ord("x")),), ("Ctrl", "alt"))
    assert key.summary().startswith("Ctrl+Alt+'x' -> Boot0001")
    assert key.modifiers == ("Ctrl", "Alt")
    assert lo.decode_key_option(key.to_bytes()) == key
    with pytest.raises(EncodeError):
        lo.make_key_option(1, b"", (), ("Hyper",))


def test_key_count_mismatch_is_a_warning() -> None:
    key = KeyOption(0x80000000, 0, 0, (InputKey(0x17, 0),))
    assert key.fields().find("InputKeyCount").warning  # type: ignore[union-attr]


@pytest.mark.parametrize(("raw", "offset"), [(b"\0" * 9, 9), (b"\0" * 12, 12)])
def test_key_option_malformed(raw: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        lo.decode_key_option(raw)
    assert info.value.offset == offset


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=30))
def test_key_option_random_bytes(raw: bytes) -> None:
    try:
        key = lo.decode_key_option(raw)
    except DecodeError:
        return
    assert key.to_bytes() == raw
    assert key.fields().length == len(raw)
    key.summary()
