"""UEFI device paths: binary nodes, the edk2 text forms, and field trees.

A :data:`DevicePath` is a tuple of nodes, *including* its end nodes, so that every byte
string that decodes encodes back to the identical bytes:

* ``EndInstanceDevicePath`` (7F/01) separates the instances of a multi-instance path
  (ConIn, ConOut, ErrOut); its text form is ``,``.
* ``EndEntireDevicePath`` (7F/FF) ends a path. A load option's FilePathList is a packed
  array of whole paths; :func:`decode` reads all of them, so such a tuple holds several
  end-entire nodes. Their text form separates the paths with ``|`` (our extension: edk2
  has no text for a packed list and prints only the first path).

Every known node is a frozen value class (``@value`` of :mod:`.record`, dataclass
compatible) with the fields the UEFI spec names (``type``, ``subtype`` and the raw
``body`` are properties). A node whose body does not have the
exact layout of its type decodes as :class:`UnknownDevicePath` and keeps its bytes.

:func:`to_text` prints the edk2 ``DevicePathToText`` forms (upper-case hex as edk2's
PrintLib writes it). Where a form would lose information (IPv4 ports, a file name with a
``/`` in it, an odd HD signature...) the node is printed in the generic form
(``HardwarePath(...)``, ``Msg(...)``, ``MediaPath(...)``, ``Path(type,subtype,hex)``),
so ``parse_text(to_text(p)) == p`` holds for every path that decodes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from enum import IntEnum
from uuid import UUID

from ..errors import DecodeError, EncodeError
from .fields import Field
from .record import field_names, value

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and ipaddress are imported only when needed: start-up time
    from typing import ClassVar, TypeAlias

HEADER_SIZE = 4
MAX_NODE_LENGTH = 0xFFFF


class DevicePathType(IntEnum):
    HARDWARE = 0x01
    ACPI = 0x02
    MESSAGING = 0x03
    MEDIA = 0x04
    BBS = 0x05
    END = 0x7F


END_INSTANCE_SUBTYPE = 0x01
END_ENTIRE_SUBTYPE = 0xFF

# Vendor GUIDs with a text form of their own (UEFI spec "Vendor-Defined Messaging").
PC_ANSI_GUID = UUID("e0c14753-f9be-11d2-9a0c-0090273fc14d")
VT_100_GUID = UUID("dfa66065-b419-11d3-9a2d-0090273fc14d")
VT_100_PLUS_GUID = UUID("7baec70b-57e0-4c76-8e87-2f9e28088343")
VT_UTF8_GUID = UUID("ad15a0d6-8bec-4acf-a073-d01de77e2d88")
UART_FLOW_CONTROL_GUID = UUID("37499a9d-542f-4c89-a026-35da142094e4")
SAS_GUID = UUID("d487ddb4-008b-11d9-afdc-001083ffca4d")
DEBUG_PORT_GUID = UUID("eba4e8d2-3858-41ec-a281-2647ba9660d0")

_TERMINAL_TEXT: dict[UUID, str] = {
    PC_ANSI_GUID: "VenPcAnsi",
    VT_100_GUID: "VenVt100",
    VT_100_PLUS_GUID: "VenVt100Plus",
    VT_UTF8_GUID: "VenUtf8",
    DEBUG_PORT_GUID: "DebugPort",
}
_UART_FLOW_TEXT = {0: "None", 1: "Hardware", 2: "XonXoff"}

#: edk2's names for the generic text form of a node of a known type.
_GENERIC_NAMES: dict[int, str] = {
    DevicePathType.HARDWARE: "HardwarePath",
    DevicePathType.ACPI: "AcpiPath",
    DevicePathType.MESSAGING: "Msg",
    DevicePathType.MEDIA: "MediaPath",
    DevicePathType.BBS: "BbsPath",
}


def _guid_text(guid: UUID) -> str:
    return str(guid).upper()


def _hex(value: int) -> str:
    return f"0x{value:X}"


# --- nodes --------------------------------------------------------------------------


class DevicePathNode:
    """Base of every node. Subclasses are frozen, slotted ``@value`` classes (dataclass-compatible)."""

    __slots__ = ()

    TYPE: ClassVar[int] = 0
    SUBTYPE: ClassVar[int] = 0
    #: Name shown in field trees (the UEFI spec's name for the node).
    NAME: ClassVar[str] = "Node"

    @property
    def type(self) -> int:
        return self.TYPE

    @property
    def subtype(self) -> int:
        return self.SUBTYPE

    @property
    def body(self) -> bytes:
        """The node's bytes after the 4-byte header."""
        raise NotImplementedError

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        """The typed node for ``body``, or None when the body has another layout."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        body = self.body
        length = HEADER_SIZE + len(body)
        if length > MAX_NODE_LENGTH:
            raise EncodeError(f"device path node too long ({length} bytes)")
        if not (0 <= self.type <= 0xFF and 0 <= self.subtype <= 0xFF):
            raise EncodeError(f"device path node type/subtype out of range: {self.type}/{self.subtype}")
        return struct.pack("<BBH", self.type, self.subtype, length) + body

    def edk2_text(self) -> str:
        """The edk2 DevicePathToText form (may lose information; see :meth:`text`)."""
        return generic_text(self.type, self.subtype, self.body)

    def text(self) -> str:
        """The text form that parses back to this very node."""
        try:
            candidate = self.edk2_text()
        except EncodeError:
            candidate = None
        if candidate is not None and _text_is_exact(candidate, self):
            return candidate
        return generic_text(self.type, self.subtype, self.body)

    def body_fields(self) -> list[tuple[str, int, int, str]]:
        """``(name, offset in body, length, text)`` for each field of the body."""
        body = self.body
        return [("Data", 0, len(body), body.hex().upper())] if body else []


_SPEC_FIELD_NAMES = {
    "hid": "HID",
    "uid": "UID",
    "wwn": "WWN",
    "hba_port_number": "HBAPortNumber",
    "mbr_type": "MBRType",
    "if_type": "IfType",
    "static_ip_address": "StaticIpAddress",
}


def _snake_to_caps(name: str) -> str:
    special = _SPEC_FIELD_NAMES.get(name)
    if special:
        return special
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


#: (struct, layout) per node class, built on first use.
_STRUCTS: dict[type, tuple[struct.Struct, tuple[tuple[int, int, str], ...]]] = {}


def _format_items(fmt: str) -> list[str]:
    """The items of a struct format ("I16sB" -> ["I", "16s", "B"]): a count (decimal
    digits) and a code, without compiling a regex at start-up."""
    items = []
    count = ""
    for char in fmt:
        if char in "BHIQs":
            items.append(count + char)
            count = ""
        elif "0" <= char <= "9":
            count += char
        else:
            count = ""
    return items


class _StructNode(DevicePathNode):
    """A node whose body is a fixed little-endian struct, one field per item."""

    __slots__ = ()

    FORMAT: ClassVar[str] = ""

    @classmethod
    def _compiled(cls) -> tuple[struct.Struct, tuple[tuple[int, int, str], ...]]:
        compiled = _STRUCTS.get(cls)
        if compiled is None:
            out: list[tuple[int, int, str]] = []
            pos = 0
            for item in _format_items(cls.FORMAT):
                size = struct.calcsize("<" + item)
                out.append((pos, size, item))
                pos += size
            compiled = _STRUCTS[cls] = (struct.Struct("<" + cls.FORMAT), tuple(out))
        return compiled

    @classmethod
    def _struct(cls) -> struct.Struct:
        return cls._compiled()[0]

    @classmethod
    def _layout(cls) -> list[tuple[int, int, str]]:
        """(offset, size, format item) per field."""
        return list(cls._compiled()[1])

    def _values(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in field_names(self)])

    @property
    def body(self) -> bytes:
        values = self._values()
        for (_, size, item), member in zip(self._layout(), values, strict=True):
            if item.endswith("s") and (not isinstance(member, bytes) or len(member) != size):
                raise EncodeError(f"{self.NAME}: expected {size} bytes, got {member!r}")
        try:
            return self._struct().pack(*values)
        except struct.error as exc:
            raise EncodeError(f"{self.NAME}: {exc}") from exc

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        st = cls._struct()
        if len(body) != st.size:
            return None
        return cls(*st.unpack(body))

    def _format_field(self, name: str, value: object) -> str:
        if isinstance(value, bytes):
            return value.hex().upper()
        if isinstance(value, int):
            return _hex(value) if value > 9 else str(value)
        return str(value)

    def body_fields(self) -> list[tuple[str, int, int, str]]:
        names = field_names(self)
        return [
            (_snake_to_caps(name), offset, size, self._format_field(name, value))
            for name, (offset, size, _), value in zip(names, self._layout(), self._values(), strict=True)
        ]


# Hardware ------------------------------------------------------------------------


@value
class PciDevicePath(_StructNode):
    TYPE = DevicePathType.HARDWARE
    SUBTYPE = 0x01
    NAME = "PCI"
    FORMAT = "BB"
    function: int
    device: int

    def edk2_text(self) -> str:
        return f"Pci({_hex(self.device)},{_hex(self.function)})"


@value
class PcCardDevicePath(_StructNode):
    TYPE = DevicePathType.HARDWARE
    SUBTYPE = 0x02
    NAME = "PCCARD"
    FORMAT = "B"
    function_number: int

    def edk2_text(self) -> str:
        return f"PcCard({_hex(self.function_number)})"


@value
class MemMapDevicePath(_StructNode):
    TYPE = DevicePathType.HARDWARE
    SUBTYPE = 0x03
    NAME = "MemoryMapped"
    FORMAT = "IQQ"
    memory_type: int
    starting_address: int
    ending_address: int

    def edk2_text(self) -> str:
        return (
            f"MemoryMapped({_hex(self.memory_type)},{_hex(self.starting_address)},"
            f"{_hex(self.ending_address)})"
        )


@value
class ControllerDevicePath(_StructNode):
    TYPE = DevicePathType.HARDWARE
    SUBTYPE = 0x05
    NAME = "Controller"
    FORMAT = "I"
    controller_number: int

    def edk2_text(self) -> str:
        return f"Ctrl({_hex(self.controller_number)})"


@value
class BmcDevicePath(_StructNode):
    TYPE = DevicePathType.HARDWARE
    SUBTYPE = 0x06
    NAME = "BMC"
    FORMAT = "BQ"
    interface_type: int
    base_address: int

    def edk2_text(self) -> str:
        return f"BMC({_hex(self.interface_type)},{_hex(self.base_address)})"


class _VendorNode(DevicePathNode):
    """VENDOR_DEVICE_PATH: a GUID and vendor-defined data."""

    __slots__ = ()
    TEXT_TYPE: ClassVar[str] = ""
    guid: UUID
    data: bytes

    @property
    def body(self) -> bytes:
        return self.guid.bytes_le + bytes(self.data)

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        if len(body) < 16:
            return None
        return cls(UUID(bytes_le=bytes(body[:16])), bytes(body[16:]))  # type: ignore[call-arg]

    def edk2_text(self) -> str:
        text = f"Ven{self.TEXT_TYPE}({_guid_text(self.guid)}"
        if self.data:
            text += "," + self.data.hex().upper()
        return text + ")"

    def body_fields(self) -> list[tuple[str, int, int, str]]:
        out = [("Guid", 0, 16, _guid_text(self.guid))]
        if self.data:
            out.append(("VendorDefinedData", 16, len(self.data), self.data.hex().upper()))
        return out


@value
class VendorHwDevicePath(_VendorNode):
    TYPE = DevicePathType.HARDWARE
    SUBTYPE = 0x04
    NAME = "VendorHw"
    TEXT_TYPE = "Hw"
    guid: UUID
    data: bytes = b""


# ACPI ----------------------------------------------------------------------------

PNP_EISA_ID_CONST = 0x41D0
PNP_EISA_ID_MASK = 0xFFFF


def eisa_pnp_id(number: int) -> int:
    """EISA_PNP_ID(): the HID value of ``PNPxxxx``."""
    return (number << 16) | PNP_EISA_ID_CONST


_ACPI_PNP_TEXT = {
    0x0A03: "PciRoot",
    0x0A08: "PcieRoot",
    0x0604: "Floppy",
    0x0301: "Keyboard",
    0x0501: "Serial",
    0x0401: "ParallelPort",
}


@value
class AcpiHidDevicePath(_StructNode):
    TYPE = DevicePathType.ACPI
    SUBTYPE = 0x01
    NAME = "ACPI"
    FORMAT = "II"
    hid: int
    uid: int

    def edk2_text(self) -> str:
        if (self.hid & PNP_EISA_ID_MASK) == PNP_EISA_ID_CONST:
            number = self.hid >> 16
            special = _ACPI_PNP_TEXT.get(number)
            if special:
                return f"{special}({_hex(self.uid)})"
            return f"Acpi(PNP{number:04X},{_hex(self.uid)})"
        return f"Acpi(0x{self.hid:08X},{_hex(self.uid)})"

    def _format_field(self, name: str, value: object) -> str:
        if name == "hid" and isinstance(value, int) and (value & PNP_EISA_ID_MASK) == PNP_EISA_ID_CONST:
            return f"0x{value:08X} (PNP{value >> 16:04X})"
        return _StructNode._format_field(self, name, value)


@value
class AcpiAdrDevicePath(DevicePathNode):
    TYPE = DevicePathType.ACPI
    SUBTYPE = 0x03
    NAME = "AcpiAdr"
    adrs: tuple[int, ...]

    @property
    def body(self) -> bytes:
        try:
            return struct.pack(f"<{len(self.adrs)}I", *self.adrs)
        except struct.error as exc:
            raise EncodeError(f"AcpiAdr: {exc}") from exc

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        if not body or len(body) % 4:
            return None
        return cls(struct.unpack(f"<{len(body) // 4}I", body))

    def edk2_text(self) -> str:
        return "AcpiAdr(" + ",".join(_hex(a) for a in self.adrs) + ")"

    def body_fields(self) -> list[tuple[str, int, int, str]]:
        return [("ADR" if i == 0 else f"ADR[{i}]", 4 * i, 4, _hex(a)) for i, a in enumerate(self.adrs)]


# Messaging -----------------------------------------------------------------------


@value
class AtapiDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x01
    NAME = "ATAPI"
    FORMAT = "BBH"
    primary_secondary: int
    slave_master: int
    lun: int

    def edk2_text(self) -> str:
        channel = "Secondary" if self.primary_secondary == 1 else "Primary"
        drive = "Slave" if self.slave_master == 1 else "Master"
        return f"Ata({channel},{drive},{_hex(self.lun)})"


@value
class ScsiDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x02
    NAME = "SCSI"
    FORMAT = "HH"
    pun: int
    lun: int

    def edk2_text(self) -> str:
        return f"Scsi({_hex(self.pun)},{_hex(self.lun)})"


@value
class FibreChannelDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x03
    NAME = "FibreChannel"
    FORMAT = "IQQ"
    reserved: int
    wwn: int
    lun: int

    def edk2_text(self) -> str:
        return f"Fibre({_hex(self.wwn)},{_hex(self.lun)})"


@value
class UsbDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x05
    NAME = "USB"
    FORMAT = "BB"
    parent_port_number: int
    interface_number: int

    def edk2_text(self) -> str:
        return f"USB({_hex(self.parent_port_number)},{_hex(self.interface_number)})"


_USB_CLASS_TEXT = {
    0x01: "UsbAudio",
    0x02: "UsbCDCControl",
    0x03: "UsbHID",
    0x06: "UsbImage",
    0x07: "UsbPrinter",
    0x08: "UsbMassStorage",
    0x09: "UsbHub",
    0x0A: "UsbCDCData",
    0x0B: "UsbSmartCard",
    0x0E: "UsbVideo",
    0xDC: "UsbDiagnostic",
    0xE0: "UsbWireless",
}
USB_CLASS_RESERVE = 0xFE
_USB_RESERVE_SUBCLASS_TEXT = {
    0x01: "UsbDeviceFirmwareUpdate",
    0x02: "UsbIrdaBridge",
    0x03: "UsbTestAndMeasurement",
}


@value
class UsbClassDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x0F
    NAME = "UsbClass"
    FORMAT = "HHBBB"
    vendor_id: int
    product_id: int
    device_class: int
    device_subclass: int
    device_protocol: int

    def edk2_text(self) -> str:
        ids = f"{_hex(self.vendor_id)},{_hex(self.product_id)}"
        known = _USB_CLASS_TEXT.get(self.device_class)
        if known:
            return f"{known}({ids},{_hex(self.device_subclass)},{_hex(self.device_protocol)})"
        if self.device_class == USB_CLASS_RESERVE:
            reserved = _USB_RESERVE_SUBCLASS_TEXT.get(self.device_subclass)
            if reserved:
                return f"{reserved}({ids},{_hex(self.device_protocol)})"
        return (
            f"UsbClass({ids},{_hex(self.device_class)},{_hex(self.device_subclass)},"
            f"{_hex(self.device_protocol)})"
        )


@value
class DeviceLogicalUnitDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x11
    NAME = "LogicalUnit"
    FORMAT = "B"
    lun: int

    def edk2_text(self) -> str:
        return f"Unit({_hex(self.lun)})"


@value
class SataDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x12
    NAME = "SATA"
    FORMAT = "HHH"
    hba_port_number: int
    port_multiplier_port_number: int
    lun: int

    def edk2_text(self) -> str:
        return f"Sata({_hex(self.hba_port_number)},{_hex(self.port_multiplier_port_number)},{_hex(self.lun)})"


@value
class VendorMsgDevicePath(_VendorNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x0A
    NAME = "VendorMsg"
    TEXT_TYPE = "Msg"
    guid: UUID
    data: bytes = b""

    def edk2_text(self) -> str:
        special = _TERMINAL_TEXT.get(self.guid)
        if special and not self.data:
            return f"{special}()"
        if self.guid == UART_FLOW_CONTROL_GUID and len(self.data) == 4:
            flow = _UART_FLOW_TEXT.get(int.from_bytes(self.data, "little"))
            if flow:
                return f"UartFlowCtrl({flow})"
        return _VendorNode.edk2_text(self)


@value
class MacAddrDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x0B
    NAME = "MAC"
    FORMAT = "32sB"
    mac_address: bytes
    if_type: int

    @property
    def hw_address_size(self) -> int:
        """edk2 shows 6 bytes for IfType 0 and 1 (Ethernet), else all 32."""
        return 6 if self.if_type in (0, 1) else 32

    def edk2_text(self) -> str:
        size = self.hw_address_size
        if any(self.mac_address[size:]):
            size = 32
        return f"MAC({self.mac_address[:size].hex().upper()},{_hex(self.if_type)})"


def _ipv4_text(address: bytes, port: int = 0) -> str:
    import ipaddress

    text = str(ipaddress.IPv4Address(address))
    return f"{text}:{port}" if port else text


def _ipv6_text(address: bytes, port: int = 0) -> str:
    # edk2 prints all eight groups, zero-padded, upper case.
    text = ":".join(address[i : i + 2].hex().upper() for i in range(0, 16, 2))
    return f"[{text}]:{port}" if port else text


_PROTOCOL_TEXT = {6: "TCP", 17: "UDP"}


def _protocol_text(protocol: int) -> str:
    return _PROTOCOL_TEXT.get(protocol) or _hex(protocol)


@value
class Ipv4DevicePath(_StructNode):
    """IPv4 node. edk2's text has no ports; we append ``:port`` to an address when the
    port is non-zero (an extension that keeps the text lossless)."""

    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x0C
    NAME = "IPv4"
    FORMAT = "4s4sHHHB4s4s"
    local_ip_address: bytes
    remote_ip_address: bytes
    local_port: int
    remote_port: int
    protocol: int
    static_ip_address: int
    gateway_ip_address: bytes
    subnet_mask: bytes

    def edk2_text(self) -> str:
        return (
            f"IPv4({_ipv4_text(self.remote_ip_address, self.remote_port)},"
            f"{_protocol_text(self.protocol)},{'Static' if self.static_ip_address else 'DHCP'},"
            f"{_ipv4_text(self.local_ip_address, self.local_port)},"
            f"{_ipv4_text(self.gateway_ip_address)},{_ipv4_text(self.subnet_mask)})"
        )

    def _format_field(self, name: str, value: object) -> str:
        if isinstance(value, bytes) and len(value) == 4:
            return _ipv4_text(value)
        return _StructNode._format_field(self, name, value)


_IPV6_ORIGIN_TEXT = {0: "Static", 1: "StatelessAutoConfigure", 2: "StatefulAutoConfigure"}


@value
class Ipv6DevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x0D
    NAME = "IPv6"
    FORMAT = "16s16sHHHBB16s"
    local_ip_address: bytes
    remote_ip_address: bytes
    local_port: int
    remote_port: int
    protocol: int
    ip_address_origin: int
    prefix_length: int
    gateway_ip_address: bytes

    def edk2_text(self) -> str:
        origin = _IPV6_ORIGIN_TEXT.get(self.ip_address_origin, "StatefulAutoConfigure")
        return (
            f"IPv6({_ipv6_text(self.remote_ip_address, self.remote_port)},"
            f"{_protocol_text(self.protocol)},{origin},"
            f"{_ipv6_text(self.local_ip_address, self.local_port)},{_hex(self.prefix_length)},"
            f"{_ipv6_text(self.gateway_ip_address)})"
        )

    def _format_field(self, name: str, value: object) -> str:
        if isinstance(value, bytes) and len(value) == 16:
            import ipaddress

            return str(ipaddress.IPv6Address(value))
        return _StructNode._format_field(self, name, value)


_PARITY_TEXT = {0: "D", 1: "N", 2: "E", 3: "O", 4: "M", 5: "S"}
_STOP_BITS_TEXT = {0: "D", 1: "1", 2: "1.5", 3: "2"}


@value
class UartDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x0E
    NAME = "UART"
    FORMAT = "IQBBB"
    reserved: int
    baud_rate: int
    data_bits: int
    parity: int
    stop_bits: int

    def edk2_text(self) -> str:
        baud = str(self.baud_rate) if self.baud_rate else "DEFAULT"
        bits = str(self.data_bits) if self.data_bits else "DEFAULT"
        parity = _PARITY_TEXT.get(self.parity, "x")
        stop = _STOP_BITS_TEXT.get(self.stop_bits, "x")
        return f"Uart({baud},{bits},{parity},{stop})"


@value
class VlanDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x14
    NAME = "VLAN"
    FORMAT = "H"
    vlan_id: int

    def edk2_text(self) -> str:
        return f"Vlan({self.vlan_id})"


@value
class NvmeNamespaceDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x17
    NAME = "NVMe"
    FORMAT = "IQ"
    namespace_id: int
    #: IEEE EUI-64 as the little-endian UINT64 the node stores.
    namespace_uuid: int

    def edk2_text(self) -> str:
        eui = self.namespace_uuid.to_bytes(8, "big")
        return f"NVMe({_hex(self.namespace_id)},{'-'.join(f'{b:02X}' for b in eui)})"


@value
class UriDevicePath(DevicePathNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x18
    NAME = "URI"
    uri: str

    @property
    def body(self) -> bytes:
        if "\0" in self.uri:
            raise EncodeError("URI contains a NUL character")
        try:
            return self.uri.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise EncodeError(f"URI is not encodable: {exc}") from exc

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        if b"\0" in body:
            return None
        try:
            return cls(bytes(body).decode("utf-8"))
        except UnicodeDecodeError:
            return None

    def edk2_text(self) -> str:
        return f"Uri({self.uri})"

    def body_fields(self) -> list[tuple[str, int, int, str]]:
        return [("Uri", 0, len(self.body), self.uri)] if self.uri else []


@value
class SdDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x1A
    NAME = "SD"
    FORMAT = "B"
    slot_number: int

    def edk2_text(self) -> str:
        return f"SD({_hex(self.slot_number)})"


@value
class EmmcDevicePath(_StructNode):
    TYPE = DevicePathType.MESSAGING
    SUBTYPE = 0x1D
    NAME = "eMMC"
    FORMAT = "B"
    slot_number: int

    def edk2_text(self) -> str:
        return f"eMMC({_hex(self.slot_number)})"


# Media ---------------------------------------------------------------------------

MBR_TYPE_PCAT = 0x01
MBR_TYPE_EFI_PARTITION_TABLE_HEADER = 0x02
SIGNATURE_TYPE_MBR = 0x01
SIGNATURE_TYPE_GUID = 0x02


@value
class HardDriveDevicePath(_StructNode):
    TYPE = DevicePathType.MEDIA
    SUBTYPE = 0x01
    NAME = "HardDrive"
    FORMAT = "IQQ16sBB"
    partition_number: int
    partition_start: int
    partition_size: int
    signature: bytes
    mbr_type: int
    signature_type: int

    @classmethod
    def gpt(cls, partition_number: int, partition_guid: UUID, start: int, size: int) -> HardDriveDevicePath:
        return cls(
            partition_number,
            start,
            size,
            partition_guid.bytes_le,
            MBR_TYPE_EFI_PARTITION_TABLE_HEADER,
            SIGNATURE_TYPE_GUID,
        )

    @classmethod
    def mbr(cls, partition_number: int, disk_signature: int, start: int, size: int) -> HardDriveDevicePath:
        return cls(
            partition_number,
            start,
            size,
            disk_signature.to_bytes(4, "little") + bytes(12),
            MBR_TYPE_PCAT,
            SIGNATURE_TYPE_MBR,
        )

    @property
    def partition_guid(self) -> UUID | None:
        if self.signature_type == SIGNATURE_TYPE_GUID and len(self.signature) == 16:
            return UUID(bytes_le=self.signature)
        return None

    def edk2_text(self) -> str:
        if self.signature_type == SIGNATURE_TYPE_MBR:
            sig = f"MBR,0x{int.from_bytes(self.signature[:4], 'little'):08X}"
        elif self.signature_type == SIGNATURE_TYPE_GUID:
            sig = f"GPT,{_guid_text(UUID(bytes_le=self.signature))}"
        else:
            sig = f"{self.signature_type},0"
        return f"HD({self.partition_number},{sig},{_hex(self.partition_start)},{_hex(self.partition_size)})"

    def _format_field(self, name: str, value: object) -> str:
        if name == "signature" and self.partition_guid is not None:
            return _guid_text(self.partition_guid)
        return _StructNode._format_field(self, name, value)


@value
class CdromDevicePath(_StructNode):
    TYPE = DevicePathType.MEDIA
    SUBTYPE = 0x02
    NAME = "CDROM"
    FORMAT = "IQQ"
    boot_entry: int
    partition_start: int
    partition_size: int

    def edk2_text(self) -> str:
        return f"CDROM({_hex(self.boot_entry)},{_hex(self.partition_start)},{_hex(self.partition_size)})"


@value
class VendorMediaDevicePath(_VendorNode):
    TYPE = DevicePathType.MEDIA
    SUBTYPE = 0x03
    NAME = "VendorMedia"
    TEXT_TYPE = "Media"
    guid: UUID
    data: bytes = b""


@value
class FilePathDevicePath(DevicePathNode):
    TYPE = DevicePathType.MEDIA
    SUBTYPE = 0x04
    NAME = "FilePath"
    path_name: str

    @property
    def body(self) -> bytes:
        if "\0" in self.path_name:
            raise EncodeError("file path contains a NUL character")
        return self.path_name.encode("utf-16-le", "surrogatepass") + b"\0\0"

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        if len(body) < 2 or len(body) % 2 or body[-2:] != b"\0\0":
            return None
        text = bytes(body[:-2]).decode("utf-16-le", "surrogatepass")
        if "\0" in text:
            return None
        return cls(text)

    def edk2_text(self) -> str:
        return self.path_name

    def body_fields(self) -> list[tuple[str, int, int, str]]:
        return [("PathName", 0, len(self.body), self.path_name)]


class _GuidNode(DevicePathNode):
    __slots__ = ()
    TEXT_NAME: ClassVar[str] = ""
    FIELD_NAME: ClassVar[str] = "Guid"
    guid: UUID

    @property
    def body(self) -> bytes:
        return self.guid.bytes_le

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        if len(body) != 16:
            return None
        return cls(UUID(bytes_le=bytes(body)))  # type: ignore[call-arg]

    def edk2_text(self) -> str:
        return f"{self.TEXT_NAME}({_guid_text(self.guid)})"

    def body_fields(self) -> list[tuple[str, int, int, str]]:
        return [(self.FIELD_NAME, 0, 16, _guid_text(self.guid))]


@value
class MediaProtocolDevicePath(_GuidNode):
    TYPE = DevicePathType.MEDIA
    SUBTYPE = 0x05
    NAME = "MediaProtocol"
    TEXT_NAME = "Media"
    FIELD_NAME = "Protocol"
    guid: UUID


@value
class FvFileDevicePath(_GuidNode):
    """MEDIA_FW_VOL_FILEPATH_DEVICE_PATH (PIWG firmware file)."""

    TYPE = DevicePathType.MEDIA
    SUBTYPE = 0x06
    NAME = "FvFile"
    TEXT_NAME = "FvFile"
    FIELD_NAME = "FvFileName"
    guid: UUID


@value
class FvDevicePath(_GuidNode):
    """MEDIA_FW_VOL_DEVICE_PATH (PIWG firmware volume)."""

    TYPE = DevicePathType.MEDIA
    SUBTYPE = 0x07
    NAME = "Fv"
    TEXT_NAME = "Fv"
    FIELD_NAME = "FvName"
    guid: UUID


@value
class RelativeOffsetRangeDevicePath(_StructNode):
    TYPE = DevicePathType.MEDIA
    SUBTYPE = 0x08
    NAME = "RelativeOffsetRange"
    FORMAT = "IQQ"
    reserved: int
    starting_offset: int
    ending_offset: int

    def edk2_text(self) -> str:
        return f"Offset({_hex(self.starting_offset)},{_hex(self.ending_offset)})"


# End and unknown -----------------------------------------------------------------


@value
class EndInstanceDevicePath(DevicePathNode):
    """End of one instance of a multi-instance path. ``extra``: bytes past the 4-byte
    header (invalid for edk2, kept for fidelity)."""

    TYPE = DevicePathType.END
    SUBTYPE = END_INSTANCE_SUBTYPE
    NAME = "EndInstance"
    extra: bytes = b""

    @property
    def body(self) -> bytes:
        return bytes(self.extra)

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        return cls(bytes(body))

    def edk2_text(self) -> str:
        return ","


@value
class EndEntireDevicePath(DevicePathNode):
    """End of a whole device path (7F/FF)."""

    TYPE = DevicePathType.END
    SUBTYPE = END_ENTIRE_SUBTYPE
    NAME = "End"
    extra: bytes = b""

    @property
    def body(self) -> bytes:
        return bytes(self.extra)

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        return cls(bytes(body))

    def edk2_text(self) -> str:
        return ""


@value
class UnknownDevicePath(DevicePathNode):
    """Any node we have no typed form for (or whose body has an unexpected length)."""

    NAME = "Node"
    node_type: int
    node_subtype: int
    data: bytes = b""

    @property
    def type(self) -> int:
        return self.node_type

    @property
    def subtype(self) -> int:
        return self.node_subtype

    @property
    def body(self) -> bytes:
        return bytes(self.data)

    @classmethod
    def from_body(cls, body: bytes) -> DevicePathNode | None:
        return None


DevicePath: TypeAlias = tuple[DevicePathNode, ...]

END_ENTIRE = EndEntireDevicePath()
END_INSTANCE = EndInstanceDevicePath()

_NODE_CLASSES: tuple[type[DevicePathNode], ...] = (
    PciDevicePath,
    PcCardDevicePath,
    MemMapDevicePath,
    VendorHwDevicePath,
    ControllerDevicePath,
    BmcDevicePath,
    AcpiHidDevicePath,
    AcpiAdrDevicePath,
    AtapiDevicePath,
    ScsiDevicePath,
    FibreChannelDevicePath,
    UsbDevicePath,
    UsbClassDevicePath,
    DeviceLogicalUnitDevicePath,
    SataDevicePath,
    VendorMsgDevicePath,
    MacAddrDevicePath,
    Ipv4DevicePath,
    Ipv6DevicePath,
    UartDevicePath,
    VlanDevicePath,
    NvmeNamespaceDevicePath,
    UriDevicePath,
    SdDevicePath,
    EmmcDevicePath,
    HardDriveDevicePath,
    CdromDevicePath,
    VendorMediaDevicePath,
    FilePathDevicePath,
    MediaProtocolDevicePath,
    FvFileDevicePath,
    FvDevicePath,
    RelativeOffsetRangeDevicePath,
    EndInstanceDevicePath,
    EndEntireDevicePath,
)
_BY_TYPE: dict[tuple[int, int], type[DevicePathNode]] = {(c.TYPE, c.SUBTYPE): c for c in _NODE_CLASSES}


def make_node(node_type: int, node_subtype: int, body: bytes) -> DevicePathNode:
    """The typed node for a header and body (an UnknownDevicePath when not typed)."""
    cls = _BY_TYPE.get((node_type, node_subtype))
    if cls is not None:
        node = cls.from_body(bytes(body))
        if node is not None:
            return node
    return UnknownDevicePath(node_type, node_subtype, bytes(body))


def node_name(node_type: int, node_subtype: int) -> str | None:
    """The spec name of a typed node kind, or None."""
    cls = _BY_TYPE.get((node_type, node_subtype))
    return cls.NAME if cls is not None else None


# --- binary -------------------------------------------------------------------------


def _iter_nodes(data: bytes, offset: int) -> Iterator[tuple[int, int, DevicePathNode]]:
    """(position, length, node) for each node; raises DecodeError when malformed."""
    pos = 0
    size = len(data)
    ended = False
    if size == 0:
        raise DecodeError("empty device path (no end node)", offset, what="device path")
    while pos < size:
        if size - pos < HEADER_SIZE:
            raise DecodeError(
                f"truncated device path node header ({size - pos} bytes left)",
                offset + pos,
                what="device path",
            )
        node_type, node_subtype, length = struct.unpack_from("<BBH", data, pos)
        if length < HEADER_SIZE:
            raise DecodeError(
                f"device path node length {length} is less than 4", offset + pos + 2, what="device path"
            )
        if pos + length > size:
            raise DecodeError(
                f"device path node of length {length} runs past the end of the data "
                f"({size - pos} bytes left)",
                offset + pos,
                what="device path",
            )
        node = make_node(node_type, node_subtype, data[pos + HEADER_SIZE : pos + length])
        yield pos, length, node
        ended = isinstance(node, EndEntireDevicePath)
        pos += length
    if not ended:
        raise DecodeError(
            "device path does not end with an end-of-path node (7F/FF)", offset + size, what="device path"
        )


def decode(data: bytes, offset: int = 0) -> DevicePath:
    """Decode one device path, or a packed list of them, filling all of ``data``.

    ``offset`` only shifts the offsets reported in a DecodeError.
    """
    return tuple(node for _, _, node in _iter_nodes(bytes(data), offset))


def encode(path: Iterable[DevicePathNode]) -> bytes:
    """The bytes of ``path``; an end-of-path node is appended when the last node is not one."""
    nodes = tuple(path)
    out = b"".join(node.to_bytes() for node in nodes)
    if not nodes or not isinstance(nodes[-1], EndEntireDevicePath):
        out += END_ENTIRE.to_bytes()
    return out


def split_paths(path: DevicePath) -> list[DevicePath]:
    """The whole paths of a packed list, each with its end node."""
    out: list[DevicePath] = []
    current: list[DevicePathNode] = []
    for node in path:
        current.append(node)
        if isinstance(node, EndEntireDevicePath):
            out.append(tuple(current))
            current = []
    if current:
        out.append(tuple(current))
    return out


def instances(path: DevicePath) -> list[DevicePath]:
    """The instances of the first path, without their end nodes."""
    out: list[DevicePath] = []
    current: list[DevicePathNode] = []
    for node in path:
        if isinstance(node, EndEntireDevicePath):
            break
        if isinstance(node, EndInstanceDevicePath):
            out.append(tuple(current))
            current = []
        else:
            current.append(node)
    out.append(tuple(current))
    return out


def from_instances(parts: Iterable[Iterable[DevicePathNode]]) -> DevicePath:
    """A multi-instance path from instances without end nodes."""
    nodes: list[DevicePathNode] = []
    for index, part in enumerate(parts):
        if index:
            nodes.append(END_INSTANCE)
        nodes.extend(part)
    nodes.append(END_ENTIRE)
    return tuple(nodes)


# --- text ---------------------------------------------------------------------------


def generic_text(node_type: int, node_subtype: int, body: bytes) -> str:
    """edk2's text for a node it has no form for: ``Msg(30,AB...)``, ``Path(32,1,...)``."""
    name = _GENERIC_NAMES.get(node_type)
    head = f"{name}({node_subtype}" if name else f"Path({node_type},{node_subtype}"
    if body:
        head += "," + bytes(body).hex().upper()
    return head + ")"


def to_text(path: DevicePath) -> str:
    """The text of a path: nodes joined by ``/``, instances by ``,``, packed paths by ``|``."""
    out = ""
    last = len(path) - 1
    for index, node in enumerate(path):
        if isinstance(node, EndInstanceDevicePath) and not node.extra:
            out += ","
            continue
        if isinstance(node, EndEntireDevicePath) and not node.extra:
            if index != last:
                out += "|"
            continue
        if out and out[-1] not in ",|":
            out += "/"
        out += node.text()
        if isinstance(node, EndEntireDevicePath) and index != last:
            out += "|"
    return out


def _text_is_exact(text: str, node: DevicePathNode) -> bool:
    if not _balanced(text):
        return False
    try:
        return parse_text(text) == (node, END_ENTIRE)
    except (DecodeError, EncodeError):
        return False


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _split_top(text: str, seps: str, base: int) -> list[tuple[int, str]]:
    """Split at separators outside parentheses; returns (start offset, piece)."""
    pieces: list[tuple[int, str]] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char in seps and depth == 0:
            pieces.append((base + start, text[start:index]))
            start = index + 1
    pieces.append((base + start, text[start:]))
    return pieces


def _node_text(segment: str) -> tuple[str, str] | None:
    """``Name(args)`` split into name and args, or None: the groups of
    ``re.match(r"^\\s*([A-Za-z][A-Za-z0-9_]*)\\((.*)\\)\\s*$", segment, re.DOTALL)``, without
    compiling a regex at start-up (`uefivars show` prints device paths)."""
    text = segment.lstrip()
    paren = text.find("(")
    if paren < 1:
        return None
    name = text[:paren]
    if not (name[0].isascii() and name[0].isalpha()):
        return None
    if not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
        return None
    rest = text[paren + 1 :].rstrip()
    if not rest.endswith(")"):
        return None
    return name, rest[:-1]


class _TextError(Exception):
    """Internal: a node's arguments are malformed (converted to DecodeError)."""


def _int_arg(text: str) -> int:
    """edk2 Strtoi: ``0x`` prefix means hex, else decimal; empty means 0."""
    value = text.strip()
    if not value:
        return 0
    try:
        if value[:2].lower() == "0x":
            return int(value[2:], 16)
        return int(value, 10)
    except ValueError:
        raise _TextError(f"not a number: {text!r}") from None


def _guid_arg(text: str) -> UUID:
    try:
        return UUID(text.strip().strip("{}"))
    except ValueError:
        raise _TextError(f"not a GUID: {text!r}") from None


def _hex_arg(text: str) -> bytes:
    value = text.strip()
    if value[:2].lower() == "0x":
        value = value[2:]
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise _TextError(f"not hex bytes: {text!r}") from None


def _arg(args: list[str], index: int) -> str:
    return args[index] if index < len(args) else ""


def _ipv4_arg(text: str) -> tuple[bytes, int]:
    value = text.strip()
    port = 0
    if ":" in value:
        value, port_text = value.split(":", 1)
        port = _int_arg(port_text)
    if not value:
        return bytes(4), port
    import ipaddress

    try:
        return ipaddress.IPv4Address(value).packed, port
    except ValueError:
        raise _TextError(f"not an IPv4 address: {text!r}") from None


def _ipv6_arg(text: str) -> tuple[bytes, int]:
    value = text.strip()
    port = 0
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            raise _TextError(f"unbalanced [ in {text!r}")
        rest = value[close + 1 :]
        value = value[1:close]
        if rest:
            if not rest.startswith(":"):
                raise _TextError(f"bad IPv6 address/port: {text!r}")
            port = _int_arg(rest[1:])
    if not value:
        return bytes(16), port
    import ipaddress

    try:
        return ipaddress.IPv6Address(value).packed, port
    except ValueError:
        raise _TextError(f"not an IPv6 address: {text!r}") from None


def _protocol_arg(text: str) -> int:
    value = text.strip().upper()
    if value == "TCP":
        return 6
    if value == "UDP":
        return 17
    return _int_arg(text)


def _eisa_arg(text: str) -> int:
    value = text.strip()
    if len(value) == 7 and value[:3].isalpha() and value[:3].isupper():
        try:
            number = int(value[3:], 16)
        except ValueError:
            raise _TextError(f"not an EISA id: {text!r}") from None
        letters = [ord(c) - ord("A") + 1 for c in value[:3]]
        return (number << 16) | (letters[0] << 10) | (letters[1] << 5) | letters[2]
    return _int_arg(value)


def _word_arg(text: str, words: dict[str, int]) -> int:
    value = text.strip()
    for word, number in words.items():
        if value.lower() == word.lower():
            return number
    return _int_arg(value)


_NodeParser = Callable[[list[str], str], DevicePathNode]


def _vendor_parser(cls: type[_VendorNode]) -> _NodeParser:
    def parse(args: list[str], raw: str) -> DevicePathNode:
        return cls(_guid_arg(_arg(args, 0)), _hex_arg(_arg(args, 1)))  # type: ignore[call-arg]

    return parse


def _guid_parser(cls: type[_GuidNode]) -> _NodeParser:
    def parse(args: list[str], raw: str) -> DevicePathNode:
        return cls(_guid_arg(_arg(args, 0)))  # type: ignore[call-arg]

    return parse


def _ints_parser(cls: type[_StructNode], count: int, prefix: tuple[int, ...] = ()) -> _NodeParser:
    def parse(args: list[str], raw: str) -> DevicePathNode:
        if len(args) > count:
            raise _TextError(f"too many arguments ({len(args)}, expected {count})")
        return cls(*prefix, *(_int_arg(_arg(args, i)) for i in range(count)))

    return parse


def _acpi_parser(number: int) -> _NodeParser:
    def parse(args: list[str], raw: str) -> DevicePathNode:
        return AcpiHidDevicePath(eisa_pnp_id(number), _int_arg(_arg(args, 0)))

    return parse


def _usb_class_parser(device_class: int | None, device_subclass: int | None = None) -> _NodeParser:
    def parse(args: list[str], raw: str) -> DevicePathNode:
        ints = [_int_arg(a) for a in args]
        if device_class is None:  # UsbClass(vid,pid,class,subclass,protocol)
            ints += [0] * (5 - len(ints))
            return UsbClassDevicePath(*ints[:5])
        if device_subclass is None:  # UsbHID(vid,pid,subclass,protocol)
            ints += [0] * (4 - len(ints))
            return UsbClassDevicePath(ints[0], ints[1], device_class, ints[2], ints[3])
        ints += [0] * (3 - len(ints))  # UsbDeviceFirmwareUpdate(vid,pid,protocol)
        return UsbClassDevicePath(ints[0], ints[1], device_class, device_subclass, ints[2])

    return parse


def _parse_pci(args: list[str], raw: str) -> DevicePathNode:
    return PciDevicePath(function=_int_arg(_arg(args, 1)), device=_int_arg(_arg(args, 0)))


def _parse_acpi(args: list[str], raw: str) -> DevicePathNode:
    return AcpiHidDevicePath(_eisa_arg(_arg(args, 0)), _int_arg(_arg(args, 1)))


def _parse_acpi_adr(args: list[str], raw: str) -> DevicePathNode:
    if not args or not args[0].strip():
        raise _TextError("AcpiAdr needs at least one address")
    return AcpiAdrDevicePath(tuple(_int_arg(a) for a in args))


def _parse_ata(args: list[str], raw: str) -> DevicePathNode:
    if len(args) == 1:  # display-only form Ata(lun)
        return AtapiDevicePath(0, 0, _int_arg(args[0]))
    return AtapiDevicePath(
        _word_arg(_arg(args, 0), {"Primary": 0, "Secondary": 1}),
        _word_arg(_arg(args, 1), {"Master": 0, "Slave": 1}),
        _int_arg(_arg(args, 2)),
    )


def _parse_fibre(args: list[str], raw: str) -> DevicePathNode:
    return FibreChannelDevicePath(0, _int_arg(_arg(args, 0)), _int_arg(_arg(args, 1)))


def _parse_mac(args: list[str], raw: str) -> DevicePathNode:
    address = _hex_arg(_arg(args, 0))
    if len(address) > 32:
        raise _TextError("MAC address longer than 32 bytes")
    if_type = _int_arg(_arg(args, 1))
    return MacAddrDevicePath(address + bytes(32 - len(address)), if_type)


def _parse_ipv4(args: list[str], raw: str) -> DevicePathNode:
    remote, remote_port = _ipv4_arg(_arg(args, 0))
    local, local_port = _ipv4_arg(_arg(args, 3))
    gateway, _ = _ipv4_arg(_arg(args, 4))
    mask, _ = _ipv4_arg(_arg(args, 5))
    static = _word_arg(_arg(args, 2), {"Static": 1, "DHCP": 0})
    return Ipv4DevicePath(
        local, remote, local_port, remote_port, _protocol_arg(_arg(args, 1)), static, gateway, mask
    )


def _parse_ipv6(args: list[str], raw: str) -> DevicePathNode:
    remote, remote_port = _ipv6_arg(_arg(args, 0))
    local, local_port = _ipv6_arg(_arg(args, 3))
    gateway, _ = _ipv6_arg(_arg(args, 5))
    origin = _word_arg(_arg(args, 2), {v: k for k, v in _IPV6_ORIGIN_TEXT.items()})
    return Ipv6DevicePath(
        local,
        remote,
        local_port,
        remote_port,
        _protocol_arg(_arg(args, 1)),
        origin,
        _int_arg(_arg(args, 4)),
        gateway,
    )


def _parse_uart(args: list[str], raw: str) -> DevicePathNode:
    baud = _word_arg(_arg(args, 0), {"DEFAULT": 0})
    bits = _word_arg(_arg(args, 1), {"DEFAULT": 0})
    parity_text = _arg(args, 2).strip().upper() or "D"
    parity = {v: k for k, v in _PARITY_TEXT.items()}.get(parity_text)
    stop = {v: k for k, v in _STOP_BITS_TEXT.items()}.get(_arg(args, 3).strip().upper() or "D")
    if parity is None or stop is None:
        raise _TextError("Uart parity must be D/N/E/O/M/S and stop bits D/1/1.5/2")
    return UartDevicePath(0, baud, bits, parity, stop)


def _parse_nvme(args: list[str], raw: str) -> DevicePathNode:
    eui_text = _arg(args, 1).replace("-", "").strip()
    eui = _hex_arg(eui_text) if eui_text else bytes(8)
    if len(eui) != 8:
        raise _TextError("NVMe EUI-64 must be 8 bytes")
    return NvmeNamespaceDevicePath(_int_arg(_arg(args, 0)), int.from_bytes(eui, "big"))


def _parse_uri(args: list[str], raw: str) -> DevicePathNode:
    return UriDevicePath(raw)


def _parse_hd(args: list[str], raw: str) -> DevicePathNode:
    number = _int_arg(_arg(args, 0))
    kind = _arg(args, 1).strip().upper()
    start = _int_arg(_arg(args, 3))
    size = _int_arg(_arg(args, 4))
    if kind == "GPT":
        return HardDriveDevicePath.gpt(number, _guid_arg(_arg(args, 2)), start, size)
    if kind == "MBR":
        signature = _int_arg(_arg(args, 2))
        if not 0 <= signature <= 0xFFFFFFFF:
            raise _TextError("MBR signature must fit in 32 bits")
        return HardDriveDevicePath.mbr(number, signature, start, size)
    if _int_arg(_arg(args, 2)) != 0:
        raise _TextError("HD signature must be 0 unless the type is MBR or GPT")
    return HardDriveDevicePath(number, start, size, bytes(16), 0, _int_arg(kind))


def _parse_uart_flow(args: list[str], raw: str) -> DevicePathNode:
    value = _word_arg(_arg(args, 0), {v: k for k, v in _UART_FLOW_TEXT.items()})
    if not 0 <= value <= 0xFFFFFFFF:
        raise _TextError("flow control map must fit in 32 bits")
    return VendorMsgDevicePath(UART_FLOW_CONTROL_GUID, value.to_bytes(4, "little"))


def _terminal_parser(guid: UUID) -> _NodeParser:
    def parse(args: list[str], raw: str) -> DevicePathNode:
        if raw.strip():
            raise _TextError("takes no arguments")
        return VendorMsgDevicePath(guid)

    return parse


def _generic_parser(node_type: int | None) -> _NodeParser:
    def parse(args: list[str], raw: str) -> DevicePathNode:
        if node_type is None:
            type_value, rest = _int_arg(_arg(args, 0)), args[1:]
        else:
            type_value, rest = node_type, args
        if len(rest) > 2:
            raise _TextError("too many arguments")
        subtype = _int_arg(_arg(rest, 0))
        if not (0 <= type_value <= 0xFF and 0 <= subtype <= 0xFF):
            raise _TextError("type and subtype must be 0..255")
        body = _hex_arg(_arg(rest, 1))
        if len(body) + HEADER_SIZE > MAX_NODE_LENGTH:
            raise _TextError("node too long")
        return make_node(type_value, subtype, body)

    return parse


def _parse_file_path_text(text: str, offset: int) -> DevicePathNode:
    node = FilePathDevicePath(text)
    try:
        node.to_bytes()
    except EncodeError as exc:
        raise DecodeError(str(exc), offset, what="device path text") from None
    return node


_PARSERS: dict[str, _NodeParser] = {
    "pci": _parse_pci,
    "pccard": _ints_parser(PcCardDevicePath, 1),
    "memorymapped": _ints_parser(MemMapDevicePath, 3),
    "venhw": _vendor_parser(VendorHwDevicePath),
    "ctrl": _ints_parser(ControllerDevicePath, 1),
    "bmc": _ints_parser(BmcDevicePath, 2),
    "acpi": _parse_acpi,
    "acpiadr": _parse_acpi_adr,
    "ata": _parse_ata,
    "scsi": _ints_parser(ScsiDevicePath, 2),
    "fibre": _parse_fibre,
    "usb": _ints_parser(UsbDevicePath, 2),
    "usbclass": _usb_class_parser(None),
    "unit": _ints_parser(DeviceLogicalUnitDevicePath, 1),
    "sata": _ints_parser(SataDevicePath, 3),
    "venmsg": _vendor_parser(VendorMsgDevicePath),
    "uartflowctrl": _parse_uart_flow,
    "mac": _parse_mac,
    "ipv4": _parse_ipv4,
    "ipv6": _parse_ipv6,
    "uart": _parse_uart,
    "vlan": _ints_parser(VlanDevicePath, 1),
    "nvme": _parse_nvme,
    "uri": _parse_uri,
    "sd": _ints_parser(SdDevicePath, 1),
    "emmc": _ints_parser(EmmcDevicePath, 1),
    "hd": _parse_hd,
    "cdrom": _ints_parser(CdromDevicePath, 3),
    "venmedia": _vendor_parser(VendorMediaDevicePath),
    "media": _guid_parser(MediaProtocolDevicePath),
    "fvfile": _guid_parser(FvFileDevicePath),
    "fv": _guid_parser(FvDevicePath),
    "offset": _ints_parser(RelativeOffsetRangeDevicePath, 2, prefix=(0,)),
    "path": _generic_parser(None),
}
_PARSERS.update({name.lower(): _acpi_parser(number) for number, name in _ACPI_PNP_TEXT.items()})
_PARSERS.update({name.lower(): _terminal_parser(guid) for guid, name in _TERMINAL_TEXT.items()})
_PARSERS.update({name.lower(): _usb_class_parser(cls) for cls, name in _USB_CLASS_TEXT.items()})
_PARSERS.update(
    {
        name.lower(): _usb_class_parser(USB_CLASS_RESERVE, sub)
        for sub, name in _USB_RESERVE_SUBCLASS_TEXT.items()
    }
)
_PARSERS.update({name.lower(): _generic_parser(int(t)) for t, name in _GENERIC_NAMES.items()})


def _parse_segment(segment: str, offset: int) -> DevicePathNode:
    match = _node_text(segment)
    if match is None:
        path_name = segment.strip()
        if not path_name:
            raise DecodeError("empty device path node", offset, what="device path text")
        return _parse_file_path_text(path_name, offset)
    name, inner = match
    parser = _PARSERS.get(name.lower())
    if parser is None:
        raise DecodeError(f"unknown device path node {name}(...)", offset, what="device path text")
    args = [piece for _, piece in _split_top(inner, ",", 0)] if inner.strip() else []
    try:
        node = parser(args, inner)
        node.to_bytes()  # range checks
    except _TextError as exc:
        raise DecodeError(f"{name}: {exc}", offset, what="device path text") from None
    except EncodeError as exc:
        raise DecodeError(f"{name}: {exc}", offset, what="device path text") from None
    return node


def parse_text(text: str) -> DevicePath:
    """Parse the text form (as :func:`to_text` writes it; names case-insensitive).

    A segment that is not ``Name(...)`` is a file path node. An end-of-path node is
    appended to each path unless its text already ends with one (``Path(127,255...)``).
    """
    nodes: list[DevicePathNode] = []
    for path_start, path_text in _split_top(text, "|", 0):
        path_nodes: list[DevicePathNode] = []
        for index, (inst_start, inst_text) in enumerate(_split_top(path_text, ",", path_start)):
            if index:
                path_nodes.append(END_INSTANCE)
            if not inst_text.strip():
                continue
            for seg_start, segment in _split_top(inst_text, "/", inst_start):
                path_nodes.append(_parse_segment(segment, seg_start))
        if not path_nodes or not isinstance(path_nodes[-1], EndEntireDevicePath):
            path_nodes.append(END_ENTIRE)
        nodes.extend(path_nodes)
    return tuple(nodes)


# --- field trees --------------------------------------------------------------------

_TYPE_NAMES = {t.value: t.name.capitalize() for t in DevicePathType}


def node_field(node: DevicePathNode, offset: int) -> Field:
    """The field tree of one node placed at ``offset``."""
    body = node.body
    length = HEADER_SIZE + len(body)
    type_name = _TYPE_NAMES.get(node.type, "unknown")
    children = [
        Field("Type", offset, 1, f"0x{node.type:02X} ({type_name})"),
        Field("SubType", offset + 1, 1, f"0x{node.subtype:02X}"),
        Field("Length", offset + 2, 2, str(length)),
    ]
    children += [
        Field(name, offset + HEADER_SIZE + rel, size, text) for name, rel, size, text in node.body_fields()
    ]
    warning = None
    name = node.NAME
    if isinstance(node, UnknownDevicePath):
        known = node_name(node.type, node.subtype)
        if known is not None:
            name = known
            warning = f"body of {len(body)} bytes does not have the {known} layout"
    elif isinstance(node, EndInstanceDevicePath | EndEntireDevicePath) and node.extra:
        warning = f"end node length {length} (must be 4)"
    text = node.text() if not isinstance(node, EndInstanceDevicePath | EndEntireDevicePath) else ""
    return Field(name, offset, length, text, tuple(children), warning)


def decode_fields(data: bytes, offset: int = 0, name: str = "DevicePath") -> Field:
    """The field tree of a device path at ``offset`` of the enclosing buffer."""
    data = bytes(data)
    children: list[Field] = []
    nodes: list[DevicePathNode] = []
    for pos, _, node in _iter_nodes(data, offset):
        nodes.append(node)
        children.append(node_field(node, offset + pos))
    return Field(name, offset, len(data), to_text(tuple(nodes)), tuple(children))


def path_fields(path: DevicePath, offset: int = 0, name: str = "DevicePath") -> Field:
    """The field tree of an already decoded path."""
    children: list[Field] = []
    pos = offset
    for node in path:
        child = node_field(node, pos)
        children.append(child)
        pos += child.length
    return Field(name, offset, pos - offset, to_text(path), tuple(children))
