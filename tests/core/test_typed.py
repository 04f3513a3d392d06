"""The typed-value dispatcher and the well-known variable rules."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.core import guid as g
from uefivars_gui.core import typed
from uefivars_gui.core.attributes import AP, AT, AW, BS, HR, NV, RT, Attributes
from uefivars_gui.core.typed import HexValue, SizeRule, TypedValue
from uefivars_gui.core.variable import Variable
from uefivars_gui.errors import DecodeError

NV_BS_RT = NV | BS | RT
OTHER = UUID("11111111-2222-3333-4444-555555555555")

# Values from OVMF_VARS_4M.snakeoil (virt-fw-vars 26.10 JSON).
OVMF: list[tuple[str, UUID, int, str]] = [
    ("MTC", g.MTC_VENDOR, 7, "01000000"),
    (
        "Boot0000",
        g.EFI_GLOBAL_VARIABLE,
        7,
        "090100002c0055006900410070007000000004071400c9bdb87cebf8344faaea3ee4af6516a10406140021aa2c4614"
        "760345836e8ab6f46623317fff0400",
    ),
    ("Timeout", g.EFI_GLOBAL_VARIABLE, 7, "0000"),
    ("PlatformLang", g.EFI_GLOBAL_VARIABLE, 7, "656e00"),
    ("Lang", g.EFI_GLOBAL_VARIABLE, 7, "656e6700"),
    ("VarErrorFlag", g.VAR_ERROR_FLAG, 7, "ff"),
    ("Key0000", g.EFI_GLOBAL_VARIABLE, 7, "0000004051d7979f00000c000000"),
    (
        "ConOut",
        g.EFI_GLOBAL_VARIABLE,
        7,
        "02010c00d041030a0000000001010600001f02010c00d041010500000000030e13000000000000c2010000000000"
        "080101030a1400d6a015adec8bcf4aa073d01de77e2d887f01040002010c00d041030a0000000001010600001f02"
        "010c00d041010501000000030e13000000000000c2010000000000080101030a1400d6a015adec8bcf4aa073d01d"
        "e77e2d887fff0400",
    ),
    (
        "dbx",
        g.EFI_IMAGE_SECURITY_DATABASE,
        0x27,
        "2616c4c14c509240aca941f9369343284c0000000000000030000000a3a8baa01d04a848bc87c36d121b5e3de3b0c4"
        "4298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ),
    ("VendorKeysNv", g.VENDOR_KEYS_NV, 0x23, "00"),
    ("SecureBootEnable", g.SECURE_BOOT_ENABLE_DISABLE, 3, "01"),
    ("CustomMode", g.CUSTOM_MODE_ENABLE, 3, "00"),
]

EXPECTED = {
    "MTC": ("uint32", "1"),
    "Boot0000": (
        "loadoption",
        '"UiApp" Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(462CAA21-7614-4503-836E-8AB6F4662331)'
        " [active, hidden, app]",
    ),
    "Timeout": ("uint16", "0 s (boot at once)"),
    "PlatformLang": ("ascii", '"en"'),
    "Lang": ("ascii", '"eng"'),
    "VarErrorFlag": ("uint8", "NO_ERROR (0xFF)"),
    "Key0000": ("keyoption", "F2 -> Boot0000 (crc 0x9F97D751)"),
    "ConOut": (
        "devicepath",
        "PciRoot(0x0)/Pci(0x1F,0x0)/Serial(0x0)/Uart(115200,8,N,1)/VenUtf8(),"
        "PciRoot(0x0)/Pci(0x1F,0x0)/Serial(0x1)/Uart(115200,8,N,1)/VenUtf8()",
    ),
    "dbx": ("siglist", None),
    "VendorKeysNv": ("bool", "false"),
    "SecureBootEnable": ("bool", "true"),
    "CustomMode": ("bool", "false"),
}


def _var(name: str, guid: UUID, attributes: int, data: bytes) -> Variable:
    return Variable(name, guid, Attributes(attributes), data)


@pytest.mark.parametrize(("name", "guid", "attributes", "data"), OVMF, ids=[row[0] for row in OVMF])
def test_real_ovmf_variables(name: str, guid: UUID, attributes: int, data: str) -> None:
    var = _var(name, guid, attributes, bytes.fromhex(data))
    value = typed.decode_variable(var)
    assert value is not None and isinstance(value, TypedValue)
    kind, summary = EXPECTED[name]
    if kind == "siglist" and value.kind == "hex":
        pytest.skip("core.siglist not available")
    assert value.kind == kind
    if summary is not None:
        assert value.summary() == summary
    assert value.to_bytes() == var.data
    root = value.fields()
    assert (root.offset, root.length) == (0, len(var.data))
    assert typed.check_variable(var) == ()


def test_unknown_variable_is_none() -> None:
    var = _var("hello", OTHER, 7, b"hello-from-qtest")
    assert typed.decode_variable(var) is None
    fallback = typed.decode_any(var)
    assert isinstance(fallback, HexValue) and fallback.summary() == '"hello-from-qtest"'
    assert typed.decode_variable(_var("Boot000a", g.EFI_GLOBAL_VARIABLE, 7, b"")) is None  # lower-case hex


@pytest.mark.parametrize(
    ("name", "guid", "data", "offset"),
    [
        ("Timeout", g.EFI_GLOBAL_VARIABLE, b"\x05", 1),
        ("BootOrder", g.EFI_GLOBAL_VARIABLE, b"\x01\x00\x02", 2),
        ("ConOut", g.EFI_GLOBAL_VARIABLE, bytes.fromhex("01010600"), 0),
        ("Boot0001", g.EFI_GLOBAL_VARIABLE, b"\x01\x00", 2),
        ("SecureBoot", g.EFI_GLOBAL_VARIABLE, b"", 0),
    ],
)
def test_malformed_known_variable_gives_hex_with_warning(
    name: str, guid: UUID, data: bytes, offset: int
) -> None:
    value = typed.decode_variable(_var(name, guid, 7, data))
    assert isinstance(value, HexValue)
    assert value.warning is not None and f"offset {offset}" in value.warning
    assert value.to_bytes() == data
    assert value.fields().warning == value.warning


def test_dispatch_table_kinds() -> None:
    cases = {
        ("BootOrder", g.EFI_GLOBAL_VARIABLE, b"\x01\x00\x00\x00"): ("uint16[]", "Boot0001, Boot0000"),
        ("DriverOrder", g.EFI_GLOBAL_VARIABLE, b"\x01\x00"): ("uint16[]", "Driver0001"),
        ("BootNext", g.EFI_GLOBAL_VARIABLE, b"\x0b\x00"): ("uint16", "Boot000B"),
        ("SecureBoot", g.EFI_GLOBAL_VARIABLE, b"\x01"): ("bool", "true"),
        ("OsIndicationsSupported", g.EFI_GLOBAL_VARIABLE, bytes.fromhex("4500000000000000")): (
            "uint64",
            "BOOT_TO_FW_UI|FILE_CAPSULE_DELIVERY_SUPPORTED|START_PLATFORM_RECOVERY (0x45)",
        ),
        ("BootOptionSupport", g.EFI_GLOBAL_VARIABLE, bytes.fromhex("13030000")): (
            "uint32",
            "KEY|APP|SYSPREP, up to 3 keys (0x313)",
        ),
        ("SignatureSupport", g.EFI_GLOBAL_VARIABLE, g.EFI_CERT_SHA256.bytes_le): ("guid[]", "EfiCertSha256"),
        ("PlatformLangCodes", g.EFI_GLOBAL_VARIABLE, b"en;fr;en-US;fr-FR\0"): (
            "ascii",
            '"en;fr;en-US;fr-FR"',
        ),
        ("VMMBootOrder0000", g.VMM_BOOT_ORDER, bytes.fromhex("7fff0400")): ("devicepath", "(end only)"),
        ("MemoryOverwriteRequestControl", g.MEMORY_OVERWRITE_CONTROL, b"\x01"): (
            "uint8",
            "CLEAR_MEMORY (0x1)",
        ),
    }
    for (name, guid, data), (kind, summary) in cases.items():
        value = typed.decode_variable(_var(name, guid, 7, data))
        assert value is not None, name
        assert (value.kind, value.summary()) == (kind, summary), name


KNOWN_NAMES = [
    (g.EFI_GLOBAL_VARIABLE, name)
    for name in [
        "Boot0001",
        "Driver0002",
        "SysPrep0003",
        "PlatformRecovery0000",
        "Key0001",
        "BootOrder",
        "BootNext",
        "Timeout",
        "Lang",
        "PlatformLangCodes",
        "ConIn",
        "ErrOutDev",
        "SecureBoot",
        "SetupMode",
        "OsIndications",
        "BootOptionSupport",
        "SignatureSupport",
        "PK",
        "KEK",
        "HwErrRecSupport",
    ]
] + [
    (g.EFI_IMAGE_SECURITY_DATABASE, "db"),
    (g.MTC_VENDOR, "MTC"),
    (g.VAR_ERROR_FLAG, "VarErrorFlag"),
    (g.SHIM_LOCK, "MokList"),
    (g.VMM_BOOT_ORDER, "VMMBootOrder0001"),
]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(KNOWN_NAMES), st.binary(max_size=64))
def test_random_data_never_raises(key: tuple[UUID, str], data: bytes) -> None:
    guid, name = key
    value = typed.decode_variable(_var(name, guid, 7, data))
    assert value is not None
    assert value.to_bytes() == data
    assert value.fields().length == len(data)
    assert isinstance(value.summary(), str)
    typed.check_variable(_var(name, guid, 7, data))


def test_hex_value() -> None:
    assert HexValue(b"").summary() == "(empty)"
    assert (
        HexValue(bytes(range(20))).summary()
        == "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f ... (20 bytes)"
    )
    assert HexValue("Shim\0".encode("utf-16-le")).summary() == '"Shim"'
    root = HexValue(bytes(40)).fields()
    assert [c.offset for c in root.children] == [0, 16, 32] and root.children[-1].length == 8


def test_decode_as() -> None:
    assert typed.decode_as("devicepath", bytes.fromhex("7fff0400")).kind == "devicepath"
    assert typed.decode_as("uint16", b"\x01").warning  # type: ignore[attr-defined]
    assert typed.decode_as("hex", b"\x01").kind == "hex"
    with pytest.raises(DecodeError):
        typed.decode_as("nonsense", b"")


def test_rules() -> None:
    assert typed.expected_attributes(g.EFI_GLOBAL_VARIABLE, "BootOrder") == NV_BS_RT
    assert typed.expected_attributes(g.EFI_GLOBAL_VARIABLE, "PlatformRecovery0001") == BS | RT
    assert typed.expected_attributes(g.EFI_IMAGE_SECURITY_DATABASE, "db") == NV_BS_RT | AT
    assert typed.expected_attributes(g.EFI_HARDWARE_ERROR_VARIABLE, "HwErrRec0001") == NV_BS_RT | HR
    assert typed.expected_attributes(OTHER, "x") is None
    key = typed.size_rule(g.EFI_GLOBAL_VARIABLE, "Key0001")
    assert key == SizeRule(10, 22, 4)
    assert key.check(14) is None and key.check(12) and key.check(26) and key.check(8)
    assert typed.size_rule(g.EFI_GLOBAL_VARIABLE, "Timeout") == SizeRule(2, 2)
    assert SizeRule(2, None, 2).check(3) == "size 3 is not a multiple of 2"
    secure_boot = typed.variable_rule(g.EFI_GLOBAL_VARIABLE, "SecureBoot")
    assert secure_boot is not None and secure_boot.read_only


def test_check_variable() -> None:
    ok = _var("BootOrder", g.EFI_GLOBAL_VARIABLE, NV_BS_RT | AP, b"\x01\x00")
    assert typed.check_variable(ok) == ()  # APPEND_WRITE is ignored, as edk2 does
    problems = typed.check_variable(_var("BootOrder", g.EFI_GLOBAL_VARIABLE, BS | RT, b"\x01"))
    assert any("attributes" in p for p in problems)
    assert any("below the minimum 2" in p for p in problems)
    assert any("malformed data" in p for p in problems)
    unknown = typed.check_variable(_var("VendorKeysNv", g.EFI_GLOBAL_VARIABLE, 0x23, b"\x00"))
    assert unknown and "not a known name" in unknown[0]
    assert typed.check_variable(_var("x", OTHER, NV_BS_RT | HR, b"")) != ()
    broken_path = bytes.fromhex("0100000004000000") + bytes.fromhex("01010300")
    assert any(
        "FilePathList" in p
        for p in typed.check_variable(_var("Boot0005", g.EFI_GLOBAL_VARIABLE, 7, broken_path))
    )


def _warned(attributes: int, guid: UUID | None = None, name: str = "") -> str:
    return "\n".join(typed.attribute_warnings(attributes, guid, name))


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (NV | RT, "RT without BS"),
        (RT, "RT without BS"),
        (NV, "NV alone"),
        (NV | HR, "NV alone"),
        (0, "no BS"),
        (AT, "no BS"),
        (NV_BS_RT | AT | AW, "AT together with AW"),
        (NV_BS_RT | AW, "AW (count-based authenticated write access) is deprecated"),
        (NV_BS_RT | HR, "HR outside HwErrRec####"),
        (NV_BS_RT | AP, "AP (append write) is a SetVariable flag"),
        (NV_BS_RT | 0x80, "unknown or unsupported attribute bits 0x80"),
        (NV_BS_RT | 0x1000, "unknown or unsupported attribute bits 0x1000"),
    ],
)
def test_attribute_warnings_rules(attributes: int, expected: str) -> None:
    assert expected in _warned(attributes)


def test_attribute_warnings_each_rule_once() -> None:
    assert typed.attribute_warnings(NV_BS_RT) == []
    assert typed.attribute_warnings(BS) == []
    assert typed.attribute_warnings(NV | BS | AT) == []
    assert len(typed.attribute_warnings(NV | RT)) == 1  # RT without BS, not also "NV alone"/"no BS"
    assert "deprecated" not in _warned(NV_BS_RT | AT | AW)  # AT with AW says it all
    assert len(typed.attribute_warnings(NV_BS_RT | AT | AW | HR | AP | 0x100)) == 4


def test_attribute_warnings_for_a_named_variable() -> None:
    hw = g.EFI_HARDWARE_ERROR_VARIABLE
    assert typed.attribute_warnings(NV_BS_RT | HR, hw, "HwErrRec0001") == []
    assert "HR outside" in _warned(NV_BS_RT | HR, hw, "HwErrRecord")
    assert "HR outside" in _warned(NV_BS_RT | HR, g.EFI_GLOBAL_VARIABLE, "HwErrRec0001")
    assert _warned(NV_BS_RT, g.EFI_GLOBAL_VARIABLE, "PK") == (
        "attributes NV|BS|RT differ from the expected NV|BS|RT|AT"
    )
    assert typed.attribute_warnings(BS | RT, g.EFI_GLOBAL_VARIABLE, "BootCurrent") == []
    # AP is not part of the comparison with the table, only reported on its own.
    assert typed.attribute_warnings(NV_BS_RT | AT | AP, g.EFI_IMAGE_SECURITY_DATABASE, "db") == [
        typed.attribute_warnings(AP | BS)[0]
    ]
    # Without a name (the Add dialog before typing) the table is not consulted.
    assert typed.attribute_warnings(NV_BS_RT, g.EFI_GLOBAL_VARIABLE) == []
    assert typed.attribute_warnings(NV_BS_RT, None, "PK") == []


def test_check_variable_words_attributes_like_attribute_warnings() -> None:
    var = _var("PK", g.EFI_GLOBAL_VARIABLE, NV_BS_RT | HR, b"\x00")
    from_check = set(typed.check_variable(var))
    from_attributes = set(typed.attribute_warnings(int(var.attributes), var.guid, var.name))
    assert {p for p in from_attributes if "HR outside" in p or "differ" in p} <= from_check
