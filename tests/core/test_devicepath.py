"""Device paths: real OVMF paths, every node's edk2 text, round trips, malformed input."""

from __future__ import annotations

import struct
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uefivars_gui.core import devicepath as dp
from uefivars_gui.core.devicepath import (
    END_ENTIRE,
    END_INSTANCE,
    AcpiAdrDevicePath,
    AcpiHidDevicePath,
    AtapiDevicePath,
    CdromDevicePath,
    EndEntireDevicePath,
    FilePathDevicePath,
    FvDevicePath,
    FvFileDevicePath,
    HardDriveDevicePath,
    Ipv4DevicePath,
    Ipv6DevicePath,
    MacAddrDevicePath,
    MemMapDevicePath,
    NvmeNamespaceDevicePath,
    PciDevicePath,
    SataDevicePath,
    ScsiDevicePath,
    UartDevicePath,
    UnknownDevicePath,
    UriDevicePath,
    UsbClassDevicePath,
    UsbDevicePath,
    VendorHwDevicePath,
    VendorMediaDevicePath,
    VendorMsgDevicePath,
)
from uefivars_gui.errors import DecodeError

# FilePathList of OVMF's Boot0000 (UiApp) and Boot0001 (SATA disk), and ConIn/ConOut
# (from OVMF_VARS_4M.snakeoil, virt-fw-vars 26.10).
UIAPP = bytes.fromhex(
    "04071400c9bdb87cebf8344faaea3ee4af6516a10406140021aa2c4614760345836e8ab6f46623317fff0400"
)
SATA = bytes.fromhex("02010c00d041030a0000000001010600021f03120a000000ffff00007fff0400")
CONIN = bytes.fromhex(
    "02010c00d041030a0000000001010600001f02010c00d0410303000000007f01040002010c00d041030a00000000"
    "01010600001f02010c00d041010500000000030e13000000000000c2010000000000080101030a1400d6a015adec"
    "8bcf4aa073d01de77e2d887f01040002010c00d041030a0000000001010600001f02010c00d0410105010000000"
    "30e13000000000000c2010000000000080101030a1400d6a015adec8bcf4aa073d01de77e2d887f010400030f0b"
    "00ffffffff0301017fff0400"
)
CONOUT = bytes.fromhex(
    "02010c00d041030a0000000001010600001f02010c00d041010500000000030e13000000000000c2010000000000"
    "080101030a1400d6a015adec8bcf4aa073d01de77e2d887f01040002010c00d041030a0000000001010600001f02"
    "010c00d041010501000000030e13000000000000c2010000000000080101030a1400d6a015adec8bcf4aa073d01d"
    "e77e2d887fff0400"
)
SERIAL0 = "PciRoot(0x0)/Pci(0x1F,0x0)/Serial(0x0)/Uart(115200,8,N,1)/VenUtf8()"
SERIAL1 = "PciRoot(0x0)/Pci(0x1F,0x0)/Serial(0x1)/Uart(115200,8,N,1)/VenUtf8()"
PART = UUID("0fc63daf-8483-4772-8e79-3d69d8477de4")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (UIAPP, "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(462CAA21-7614-4503-836E-8AB6F4662331)"),
        (SATA, "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)"),
        (
            CONIN,
            f"PciRoot(0x0)/Pci(0x1F,0x0)/Acpi(PNP0303,0x0),{SERIAL0},{SERIAL1},UsbHID(0xFFFF,0xFFFF,0x1,0x1)",
        ),
        (CONOUT, f"{SERIAL0},{SERIAL1}"),
    ],
)
def test_real_ovmf_paths(data: bytes, text: str) -> None:
    path = dp.decode(data)
    assert dp.to_text(path) == text
    assert dp.encode(path) == data
    assert dp.parse_text(text) == path
    assert dp.encode(dp.parse_text(text)) == data


def test_uiapp_nodes_are_typed() -> None:
    path = dp.decode(UIAPP)
    assert path == (
        FvDevicePath(UUID("7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1")),
        FvFileDevicePath(UUID("462caa21-7614-4503-836e-8ab6f4662331")),
        END_ENTIRE,
    )
    assert (path[0].type, path[0].subtype, len(path[0].body)) == (4, 7, 16)


def test_instances() -> None:
    path = dp.decode(CONOUT)
    parts = dp.instances(path)
    assert [dp.to_text((*p, END_ENTIRE)) for p in parts] == [SERIAL0, SERIAL1]
    assert dp.from_instances(parts) == path
    assert sum(isinstance(n, type(END_INSTANCE)) for n in path) == 1


def _node_hex(node_type: int, subtype: int, body: str) -> bytes:
    raw = bytes.fromhex(body)
    return struct.pack("<BBH", node_type, subtype, 4 + len(raw)) + raw


HAND_BUILT: list[tuple[dp.DevicePathNode, bytes, str]] = [
    (PciDevicePath(function=2, device=0x1F), _node_hex(1, 1, "021f"), "Pci(0x1F,0x2)"),
    (
        MemMapDevicePath(0xB, 0xFFC00000, 0xFFFFFFFF),
        _node_hex(1, 3, "0b0000000000c0ff00000000ffffffff00000000"),
        "MemoryMapped(0xB,0xFFC00000,0xFFFFFFFF)",
    ),
    (
        VendorHwDevicePath(PART, b"\x01\xab"),
        _node_hex(1, 4, PART.bytes_le.hex() + "01ab"),
        "VenHw(0FC63DAF-8483-4772-8E79-3D69D8477DE4,01AB)",
    ),
    (AcpiHidDevicePath(dp.eisa_pnp_id(0x0A03), 0), _node_hex(2, 1, "d041030a00000000"), "PciRoot(0x0)"),
    (AcpiHidDevicePath(dp.eisa_pnp_id(0x0A08), 1), _node_hex(2, 1, "d041080a01000000"), "PcieRoot(0x1)"),
    (AcpiHidDevicePath(dp.eisa_pnp_id(0x0303), 0), _node_hex(2, 1, "d041030300000000"), "Acpi(PNP0303,0x0)"),
    (AcpiHidDevicePath(0x12345678, 2), _node_hex(2, 1, "7856341202000000"), "Acpi(0x12345678,0x2)"),
    (AcpiAdrDevicePath((0x80010100,)), _node_hex(2, 3, "00010180"), "AcpiAdr(0x80010100)"),
    (AtapiDevicePath(0, 1, 0), _node_hex(3, 1, "00010000"), "Ata(Primary,Slave,0x0)"),
    (ScsiDevicePath(0, 3), _node_hex(3, 2, "00000300"), "Scsi(0x0,0x3)"),
    (UsbDevicePath(3, 0), _node_hex(3, 5, "0300"), "USB(0x3,0x0)"),
    (
        UsbClassDevicePath(0x46F4, 1, 8, 6, 0x50),
        _node_hex(3, 0x0F, "f4460100080650"),
        "UsbMassStorage(0x46F4,0x1,0x6,0x50)",
    ),
    (SataDevicePath(0, 0xFFFF, 0), _node_hex(3, 0x12, "0000ffff0000"), "Sata(0x0,0xFFFF,0x0)"),
    (VendorMsgDevicePath(dp.VT_100_GUID), _node_hex(3, 0x0A, dp.VT_100_GUID.bytes_le.hex()), "VenVt100()"),
    (VendorMsgDevicePath(dp.PC_ANSI_GUID), _node_hex(3, 0x0A, dp.PC_ANSI_GUID.bytes_le.hex()), "VenPcAnsi()"),
    (
        VendorMsgDevicePath(dp.UART_FLOW_CONTROL_GUID, b"\x01\0\0\0"),
        _node_hex(3, 0x0A, dp.UART_FLOW_CONTROL_GUID.bytes_le.hex() + "01000000"),
        "UartFlowCtrl(Hardware)",
    ),
    (
        MacAddrDevicePath(bytes.fromhex("525400123456") + bytes(26), 1),
        _node_hex(3, 0x0B, "525400123456" + "00" * 26 + "01"),
        "MAC(525400123456,0x1)",
    ),
    (
        Ipv4DevicePath(
            bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2]), 0, 0, 6, 0, bytes(4), bytes([255, 255, 255, 0])
        ),
        _node_hex(3, 0x0C, "0a00020f0a0002020000000006000000000000ffffff00"),
        "IPv4(10.0.2.2,TCP,DHCP,10.0.2.15,0.0.0.0,255.255.255.0)",
    ),
    (
        Ipv6DevicePath(bytes(16), bytes.fromhex("fe80" + "00" * 12 + "0001"), 0, 0, 17, 1, 64, bytes(16)),
        _node_hex(3, 0x0D, "00" * 16 + "fe80" + "00" * 12 + "0001" + "0000000011000140" + "00" * 16),
        "IPv6(FE80:0000:0000:0000:0000:0000:0000:0001,UDP,StatelessAutoConfigure,"
        "0000:0000:0000:0000:0000:0000:0000:0000,0x40,0000:0000:0000:0000:0000:0000:0000:0000)",
    ),
    (
        UartDevicePath(0, 115200, 8, 1, 1),
        _node_hex(3, 0x0E, "0000000000c2010000000000080101"),
        "Uart(115200,8,N,1)",
    ),
    (
        NvmeNamespaceDevicePath(1, 0x0102030405060708),
        _node_hex(3, 0x17, "010000000807060504030201"),
        "NVMe(0x1,01-02-03-04-05-06-07-08)",
    ),
    (
        UriDevicePath("http://boot.example/x.iso"),
        _node_hex(3, 0x18, b"http://boot.example/x.iso".hex()),
        "Uri(http://boot.example/x.iso)",
    ),
    (
        HardDriveDevicePath.gpt(1, PART, 0x800, 0x12C000),
        _node_hex(4, 1, "01000000000800000000000000c0120000000000" + PART.bytes_le.hex() + "0202"),
        "HD(1,GPT,0FC63DAF-8483-4772-8E79-3D69D8477DE4,0x800,0x12C000)",
    ),
    (
        HardDriveDevicePath.mbr(2, 0xDEADBEEF, 63, 1000),
        _node_hex(4, 1, "020000003f00000000000000e803000000000000efbeadde" + "00" * 12 + "0101"),
        "HD(2,MBR,0xDEADBEEF,0x3F,0x3E8)",
    ),
    (
        CdromDevicePath(1, 0x10, 0x20),
        _node_hex(4, 2, "0100000010000000000000002000000000000000"),
        "CDROM(0x1,0x10,0x20)",
    ),
    (
        VendorMediaDevicePath(PART),
        _node_hex(4, 3, PART.bytes_le.hex()),
        "VenMedia(0FC63DAF-8483-4772-8E79-3D69D8477DE4)",
    ),
    (
        FilePathDevicePath("\\EFI\\fedora\\shimx64.efi"),
        _node_hex(4, 4, "\\EFI\\fedora\\shimx64.efi\0".encode("utf-16-le").hex()),
        "\\EFI\\fedora\\shimx64.efi",
    ),
    (
        FvFileDevicePath(PART),
        _node_hex(4, 6, PART.bytes_le.hex()),
        "FvFile(0FC63DAF-8483-4772-8E79-3D69D8477DE4)",
    ),
    (FvDevicePath(PART), _node_hex(4, 7, PART.bytes_le.hex()), "Fv(0FC63DAF-8483-4772-8E79-3D69D8477DE4)"),
    (UnknownDevicePath(0x20, 5, b"\xab"), _node_hex(0x20, 5, "ab"), "Path(32,5,AB)"),
    (UnknownDevicePath(3, 0x30, b""), _node_hex(3, 0x30, ""), "Msg(48)"),
]


@pytest.mark.parametrize(("node", "raw", "text"), HAND_BUILT, ids=[t for _, _, t in HAND_BUILT])
def test_hand_built_node(node: dp.DevicePathNode, raw: bytes, text: str) -> None:
    assert node.to_bytes() == raw
    assert node.text() == text
    path = dp.decode(raw + END_ENTIRE.to_bytes())
    assert path == (node, END_ENTIRE)
    assert dp.to_text(path) == text
    assert dp.parse_text(text) == path


@pytest.mark.parametrize(
    ("typed", "node"),
    [
        ("pciroot(0)/pci(1f,2)", None),
        ("PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0,0xffff,0)", "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)"),
        (" PciRoot(0x0) / \\EFI\\BOOT\\BOOTX64.EFI ", "PciRoot(0x0)/\\EFI\\BOOT\\BOOTX64.EFI"),
        ("IPv4(192.168.1.1)", "IPv4(192.168.1.1,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)"),
        ("Acpi(PNP0A03,0)", "PciRoot(0x0)"),
        ("Path(1,1,0203)", "Pci(0x3,0x2)"),
        ("HardwarePath(1,0203)", "Pci(0x3,0x2)"),
        ("VenMsg(AD15A0D6-8BEC-4ACF-A073-D01DE77E2D88)", "VenUtf8()"),
    ],
)
def test_parse_user_text(typed: str, node: str | None) -> None:
    if node is None:
        with pytest.raises(DecodeError):  # "1f" is decimal-less garbage for edk2's Strtoi
            dp.parse_text(typed)
        return
    assert dp.to_text(dp.parse_text(typed)) == node


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("PciRoot(0x0)/Foo(1)", 13),
        ("PciRoot(0x0)//Pci(0x1,0x0)", 13),
        ("Pci(0x100,0x0)", 0),
        ("Fv(not-a-guid)", 0),
    ],
)
def test_parse_errors_carry_offset(text: str, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        dp.parse_text(text)
    assert info.value.offset == offset


def test_lossless_fallbacks() -> None:
    with_ports = Ipv4DevicePath(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 68, 67, 17, 1, bytes(4), bytes(4))
    assert with_ports.text() == "IPv4(10.0.0.2:67,UDP,Static,10.0.0.1:68,0.0.0.0,0.0.0.0)"
    slash = FilePathDevicePath("EFI/boot/x.efi")
    assert slash.text() == "MediaPath(4," + "EFI/boot/x.efi\0".encode("utf-16-le").hex().upper() + ")"
    odd_hd = HardDriveDevicePath(1, 2, 3, PART.bytes_le, 1, 2)  # GPT signature, MBR type
    assert odd_hd.text().startswith("MediaPath(1,")
    ata = AtapiDevicePath(2, 0, 0)
    assert ata.text() == "Msg(1,02000000)"
    for node in (with_ports, slash, odd_hd, ata):
        assert dp.parse_text(node.text()) == (node, END_ENTIRE)


def test_wrong_length_known_node_stays_raw() -> None:
    raw = _node_hex(1, 1, "021f00") + END_ENTIRE.to_bytes()  # PCI with 3 body bytes
    path = dp.decode(raw)
    assert path[0] == UnknownDevicePath(1, 1, b"\x02\x1f\x00")
    assert dp.to_text(path) == "HardwarePath(1,021F00)"
    assert dp.encode(path) == raw
    field = dp.decode_fields(raw).children[0]
    assert field.name == "PCI" and field.warning


def test_end_nodes_with_extra_bytes_round_trip() -> None:
    raw = (
        UIAPP[:-4]
        + bytes.fromhex("7f010500aa")
        + _node_hex(4, 7, PART.bytes_le.hex())
        + bytes.fromhex("7fff0500bb")
    )
    path = dp.decode(raw)
    assert dp.encode(path) == raw
    assert dp.parse_text(dp.to_text(path)) == path


def test_packed_paths() -> None:
    raw = UIAPP + SATA
    path = dp.decode(raw)
    assert len(dp.split_paths(path)) == 2
    assert dp.to_text(path) == dp.to_text(dp.decode(UIAPP)) + "|" + dp.to_text(dp.decode(SATA))
    assert dp.parse_text(dp.to_text(path)) == path
    assert dp.encode(path) == raw


def test_empty_and_end_only() -> None:
    assert dp.decode(END_ENTIRE.to_bytes()) == (END_ENTIRE,)
    assert dp.to_text((END_ENTIRE,)) == ""
    assert dp.parse_text("") == (END_ENTIRE,)
    assert dp.encode(()) == END_ENTIRE.to_bytes()
    assert dp.encode((PciDevicePath(0, 1),)) == _node_hex(1, 1, "0001") + END_ENTIRE.to_bytes()


@pytest.mark.parametrize(
    ("raw", "offset"),
    [
        (b"", 0),
        (bytes.fromhex("0101"), 0),  # truncated header
        (bytes.fromhex("010103007fff0400"), 2),  # length < 4
        (bytes.fromhex("010108000000"), 0),  # runs past the end
        (bytes.fromhex("010106000000"), 6),  # no end node
        (bytes.fromhex("0101060000007f010400"), 10),  # ends with end-of-instance
    ],
)
def test_malformed_binary(raw: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        dp.decode(raw)
    assert info.value.offset == offset
    with pytest.raises(DecodeError):
        dp.decode_fields(raw)


def test_fields_spans() -> None:
    root = dp.decode_fields(SATA, offset=10)
    assert (root.offset, root.length) == (10, len(SATA))
    assert [c.name for c in root.children] == ["ACPI", "PCI", "SATA", "End"]
    pos = 10
    for child in root.children:
        assert child.offset == pos
        pos += child.length
        for grandchild in child.children:
            assert child.offset <= grandchild.offset and grandchild.end <= child.end
    assert pos == 10 + len(SATA)
    hit = root.deepest_at(10 + 12 + 4 + 1)  # Pci.Device
    assert hit is not None and hit.name == "Device" and hit.text == "0x1F"


# --- properties ---------------------------------------------------------------------

_KNOWN = [(c.TYPE, c.SUBTYPE) for c in dp._NODE_CLASSES]
_SIZES = sorted({0, 1, 2, 4, 6, 7, 9, 12, 15, 16, 18, 20, 23, 33, 38, 56})


@st.composite
def raw_node(draw: st.DrawFn) -> bytes:
    node_type, subtype = draw(
        st.one_of(st.sampled_from(_KNOWN), st.tuples(st.integers(0, 255), st.integers(0, 255)))
    )
    if (node_type, subtype) == (4, 4) and draw(st.booleans()):
        body = (draw(st.text(max_size=12)) + "\0").encode("utf-16-le", "surrogatepass")
    elif (node_type, subtype) == (3, 0x18) and draw(st.booleans()):
        body = draw(st.text(max_size=12)).encode("utf-8")
    elif draw(st.booleans()):
        body = draw(st.binary(min_size=0, max_size=40))
    else:
        size = draw(st.sampled_from(_SIZES))
        body = draw(st.binary(min_size=size, max_size=size))
    return struct.pack("<BBH", node_type, subtype, 4 + len(body)) + body


@settings(max_examples=300, deadline=None)
@given(st.lists(raw_node(), max_size=6))
def test_valid_paths_round_trip(nodes: list[bytes]) -> None:
    raw = b"".join(nodes) + END_ENTIRE.to_bytes()
    path = dp.decode(raw)
    assert dp.encode(path) == raw
    text = dp.to_text(path)
    assert dp.parse_text(text) == path
    assert dp.decode_fields(raw).length == len(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=96))
def test_random_bytes_only_raise_decode_error(raw: bytes) -> None:
    try:
        path = dp.decode(raw)
    except DecodeError:
        return
    assert dp.encode(path) == raw
    assert dp.parse_text(dp.to_text(path)) == path


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="PciRotFvHDSa()0x1,/|\\ABCDEF-GPT", max_size=40))
def test_random_text_only_raises_decode_error(text: str) -> None:
    try:
        path = dp.parse_text(text)
    except DecodeError:
        return
    assert isinstance(path[-1], EndEntireDevicePath)
    assert dp.decode(dp.encode(path)) == path


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=30),
        st.builds("{}({})".format, st.sampled_from(sorted(dp._PARSERS)), st.text(max_size=20)),
    )
)
def test_any_text_only_raises_decode_error(text: str) -> None:
    try:
        path = dp.parse_text(text)
    except DecodeError:
        return
    assert dp.decode(dp.encode(path)) == path
