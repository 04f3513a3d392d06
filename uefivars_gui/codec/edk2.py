"""edk2 variable flash images: OVMF_VARS.fd, AAVMF_VARS.fd (edk2-variables.md §6).

An image is one firmware volume (``EFI_FIRMWARE_VOLUME_HEADER`` with FileSystemGuid
gEfiSystemNvDataFvGuid) that holds

* the variable store: a ``VARIABLE_STORE_HEADER`` at ``FV + HeaderLength`` followed by
  variable records (``AUTHENTICATED_VARIABLE_HEADER`` or ``VARIABLE_HEADER``), each
  4-byte aligned with 0xFF padding, written append-only like NOR flash;
* the fault-tolerant-write (FTW) working block and its spare.

Distributions pad AAVMF images (to 64 MiB); the bytes after the FV are kept as they are.

:func:`decode` returns a :class:`FlashImage` with the live variables, every record
(history included) and a :class:`~uefivars_gui.core.fields.Field` tree with byte spans.
:func:`encode` writes a changed store back into the image of a template, leaving every
record before the first change byte-identical; an unchanged store gives the template
bytes back unchanged.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from uuid import UUID

from ..core.attributes import AP, AT, Attributes, format_attributes
from ..core.crc import crc32
from ..core.efitime import ZERO_TIME, EfiTime
from ..core.fields import Field
from ..core.guid import (
    AUTHENTICATED_VARIABLE,
    FTW_WORKING_BLOCK_SIGNATURE,
    SYSTEM_NV_DATA_FV,
    VARIABLE,
    guid_label,
)
from ..core.record import field, replace, value
from ..core.store import VarStore
from ..core.ucs2 import encode_ucs2
from ..core.variable import Variable
from ..errors import DecodeError, EncodeError, StoreFullError, UnknownFormatError, UsageError
from .base import StoreDocument, StoreFormat

__all__ = [
    "AAVMF",
    "AAVMF_64M",
    "LAYOUTS",
    "OVMF_2M",
    "OVMF_4M",
    "AuthenticatedVariableHeader",
    "FaultTolerantWorkingBlockHeader",
    "FirmwareVolumeHeader",
    "FlashImage",
    "FlashLayout",
    "ImageWarning",
    "RecordStatus",
    "SpaceInfo",
    "VariableHeader",
    "VariableRecord",
    "VariableStoreHeader",
    "blank",
    "compacted_size",
    "decode",
    "encode",
    "encode_new",
    "free_space",
    "layout_by_name",
    "normalize_variable",
    "probe",
    "to_document",
    "variable_space",
]

_WHAT = "edk2 flash image"

# --- constants from the PI / edk2 headers ----------------------------------------------

FVH_SIGNATURE = b"_FVH"
FVH_SIGNATURE_OFFSET = 40
FV_REVISION = 2
#: EFI_FVB2_* bits the OVMF template uses (and PlatformValidateNvVarStore requires).
FV_ATTRIBUTES = 0x0004FEFF
FV_HEADER_SIZE = 56  # up to the BlockMap
BLOCK_MAP_ENTRY_SIZE = 8

VARIABLE_STORE_HEADER_SIZE = 28
VARIABLE_STORE_FORMATTED = 0x5A
VARIABLE_STORE_HEALTHY = 0xFE

VARIABLE_DATA = 0x55AA  # StartId
VAR_HEADER_VALID_ONLY = 0x7F
VAR_ADDED = 0x3F
VAR_IN_DELETED_TRANSITION = 0xFE  # mask
VAR_DELETED = 0xFD  # mask
VAR_ADDED_IN_TRANSITION = VAR_ADDED & VAR_IN_DELETED_TRANSITION  # 0x3E
HEADER_ALIGNMENT = 4
ERASED_U32 = 0xFFFFFFFF
#: As a plain int: ``~Attributes.APPEND_WRITE`` would also clear the undefined high bits.
_APPEND_WRITE = int(AP)

AUTHENTICATED_VARIABLE_HEADER_SIZE = 60
VARIABLE_HEADER_SIZE = 32

FTW_WORKING_BLOCK_HEADER_SIZE = 32
FTW_WRITE_HEADER_SIZE = 40
FTW_WRITE_RECORD_SIZE = 40

_FV_HEADER = struct.Struct("<16s16sQ4sIHHHBB")  # up to the BlockMap, 56 bytes
_BLOCK_MAP_ENTRY = struct.Struct("<II")
_STORE_HEADER = struct.Struct("<16sIBBHI")  # 28 bytes
_AUTH_HEADER = struct.Struct("<HBBIQ16sIII16s")  # 60 bytes
_PLAIN_HEADER = struct.Struct("<HBBIII16s")  # 32 bytes
_FTW_HEADER = struct.Struct("<16sIB3sQ")  # 32 bytes
_FTW_WRITE_HEADER = struct.Struct("<B3s16s4xQQ")  # 40 bytes (natural alignment)
_FTW_WRITE_RECORD = struct.Struct("<B7sQQQq")  # 40 bytes
_U16 = struct.Struct("<H")

assert _FV_HEADER.size == FV_HEADER_SIZE
assert _STORE_HEADER.size == VARIABLE_STORE_HEADER_SIZE
assert _AUTH_HEADER.size == AUTHENTICATED_VARIABLE_HEADER_SIZE
assert _PLAIN_HEADER.size == VARIABLE_HEADER_SIZE
assert _FTW_HEADER.size == FTW_WORKING_BLOCK_HEADER_SIZE
assert _FTW_WRITE_HEADER.size == FTW_WRITE_HEADER_SIZE
assert _FTW_WRITE_RECORD.size == FTW_WRITE_RECORD_SIZE


def _align(value: int, alignment: int = HEADER_ALIGNMENT) -> int:
    return (value + alignment - 1) & ~(alignment - 1)


def _hex(value: int) -> str:
    return f"0x{value:X}"


# --- layouts ---------------------------------------------------------------------------


@value
class FlashLayout:
    """The geometry of a VARS image (edk2-variables.md §6.1). Offsets are image offsets."""

    name: str
    #: Size of the file, padding included (AAVMF images are often padded to 64 MiB).
    image_size: int
    #: EFI_FIRMWARE_VOLUME_HEADER.FvLength: the whole NV area including the FTW areas.
    fv_length: int
    #: EFI_FV_BLOCK_MAP_ENTRY list as (NumBlocks, Length), without the terminator.
    block_map: tuple[tuple[int, int], ...]
    #: VARIABLE_STORE_HEADER.Size (the store header plus the records).
    store_size: int
    ftw_working_offset: int
    ftw_working_size: int
    ftw_spare_offset: int
    ftw_spare_size: int
    #: PcdMaxVariableSize / PcdMaxAuthVariableSize (None when unknown).
    max_variable_size: int | None = None
    max_auth_variable_size: int | None = None
    #: EFI_FIRMWARE_VOLUME_HEADER.HeaderLength; the store header follows it.
    header_length: int = 0x48
    description: str = ""

    @property
    def store_offset(self) -> int:
        """Image offset of the VARIABLE_STORE_HEADER."""
        return self.header_length

    @property
    def variables_offset(self) -> int:
        """Image offset of the first variable record (0x64 in OVMF/AAVMF images)."""
        return _align(self.header_length + VARIABLE_STORE_HEADER_SIZE)

    @property
    def store_end(self) -> int:
        """Image offset just past the variable store (HEADER_ALIGN(store + Size))."""
        return _align(self.header_length + self.store_size)

    @property
    def padding_size(self) -> int:
        return self.image_size - self.fv_length


OVMF_2M = FlashLayout(
    name="2M",
    image_size=0x20000,
    fv_length=0x20000,
    block_map=((0x20, 0x1000),),
    store_size=0xDFB8,
    ftw_working_offset=0xF000,
    ftw_working_size=0x1000,
    ftw_spare_offset=0x10000,
    ftw_spare_size=0x10000,
    max_variable_size=0x2000,
    max_auth_variable_size=0x2800,
    description="OVMF 1M/2M build (OVMF_VARS.fd, 128 KiB)",
)
OVMF_4M = FlashLayout(
    name="4M",
    image_size=0x84000,
    fv_length=0x84000,
    block_map=((0x84, 0x1000),),
    store_size=0x3FFB8,
    ftw_working_offset=0x41000,
    ftw_working_size=0x1000,
    ftw_spare_offset=0x42000,
    ftw_spare_size=0x42000,
    max_variable_size=0x8400,
    max_auth_variable_size=0x8400,
    description="OVMF 4M build (OVMF_VARS_4M.fd, 528 KiB)",
)
AAVMF = FlashLayout(
    name="aavmf",
    image_size=0xC0000,
    fv_length=0xC0000,
    block_map=((3, 0x40000),),
    store_size=0x3FFB8,
    ftw_working_offset=0x40000,
    ftw_working_size=0x40000,
    ftw_spare_offset=0x80000,
    ftw_spare_size=0x40000,
    max_variable_size=0x2000,
    max_auth_variable_size=0x2800,
    description="AAVMF / ArmVirtQemu (QEMU_VARS.fd, 768 KiB)",
)
AAVMF_64M = replace(
    AAVMF,
    name="aavmf-64m",
    image_size=0x4000000,
    description="AAVMF / ArmVirtQemu padded to 64 MiB for QEMU's pflash (as distributions ship it)",
)

#: Presets by name.
LAYOUTS: Mapping[str, FlashLayout] = MappingProxyType(
    {layout.name: layout for layout in (OVMF_2M, OVMF_4M, AAVMF, AAVMF_64M)}
)
_ALIASES = {
    "1m": "2M",
    "2m": "2M",
    "ovmf": "2M",
    "ovmf-2m": "2M",
    "4m": "4M",
    "ovmf-4m": "4M",
    "aavmf": "aavmf",
    "armvirt": "aavmf",
    "qemu_vars": "aavmf",
    "aavmf-64m": "aavmf-64m",
    "aavmf64m": "aavmf-64m",
}


def layout_by_name(name: str) -> FlashLayout:
    """A preset layout: ``"2M"`` (also ``"1M"``), ``"4M"``, ``"aavmf"``, ``"aavmf-64m"``."""
    key = _ALIASES.get(name.strip().lower())
    if key is None:
        raise UsageError(f"unknown flash layout {name!r} (known: {', '.join(LAYOUTS)})")
    return LAYOUTS[key]


# --- header structures -----------------------------------------------------------------


@value
class FirmwareVolumeHeader:
    """EFI_FIRMWARE_VOLUME_HEADER (PiFirmwareVolume.h)."""

    zero_vector: bytes
    file_system_guid: UUID
    fv_length: int
    signature: bytes
    attributes: int
    header_length: int
    checksum: int
    ext_header_offset: int
    reserved: int
    revision: int
    block_map: tuple[tuple[int, int], ...]

    def to_bytes(self) -> bytes:
        """The header with the stored Checksum (use :func:`_fv_header_bytes` to compute one)."""
        head = _FV_HEADER.pack(
            self.zero_vector,
            self.file_system_guid.bytes_le,
            self.fv_length,
            self.signature,
            self.attributes,
            self.header_length,
            self.checksum,
            self.ext_header_offset,
            self.reserved,
            self.revision,
        )
        blocks = b"".join(_BLOCK_MAP_ENTRY.pack(n, size) for n, size in self.block_map)
        return head + blocks + _BLOCK_MAP_ENTRY.pack(0, 0)


@value
class VariableStoreHeader:
    """VARIABLE_STORE_HEADER (VariableFormat.h)."""

    signature: UUID
    size: int
    format: int
    state: int
    reserved: int
    reserved1: int

    @property
    def authenticated(self) -> bool:
        """True when the Signature selects AUTHENTICATED_VARIABLE_HEADER records."""
        return self.signature == AUTHENTICATED_VARIABLE

    def to_bytes(self) -> bytes:
        return _STORE_HEADER.pack(
            self.signature.bytes_le, self.size, self.format, self.state, self.reserved, self.reserved1
        )


@value
class VariableHeader:
    """VARIABLE_HEADER: the 32-byte record header of a non-authenticated store."""

    start_id: int
    state: int
    reserved: int
    attributes: int
    name_size: int
    data_size: int
    vendor_guid: UUID

    SIZE = VARIABLE_HEADER_SIZE

    @classmethod
    def unpack_from(cls, data: bytes, offset: int) -> VariableHeader:
        start_id, state, reserved, attributes, name_size, data_size, guid = _PLAIN_HEADER.unpack_from(
            data, offset
        )
        return cls(start_id, state, reserved, attributes, name_size, data_size, UUID(bytes_le=guid))

    def to_bytes(self) -> bytes:
        return _PLAIN_HEADER.pack(
            self.start_id,
            self.state,
            self.reserved,
            self.attributes,
            self.name_size,
            self.data_size,
            self.vendor_guid.bytes_le,
        )


@value
class AuthenticatedVariableHeader:
    """AUTHENTICATED_VARIABLE_HEADER: the 60-byte record header of an authenticated store."""

    start_id: int
    state: int
    reserved: int
    attributes: int
    monotonic_count: int
    time_stamp: EfiTime
    pub_key_index: int
    name_size: int
    data_size: int
    vendor_guid: UUID

    SIZE = AUTHENTICATED_VARIABLE_HEADER_SIZE

    @classmethod
    def unpack_from(cls, data: bytes, offset: int) -> AuthenticatedVariableHeader:
        (start_id, state, reserved, attributes, count, stamp, key_index, name_size, data_size, guid) = (
            _AUTH_HEADER.unpack_from(data, offset)
        )
        return cls(
            start_id,
            state,
            reserved,
            attributes,
            count,
            EfiTime.from_bytes(stamp),
            key_index,
            name_size,
            data_size,
            UUID(bytes_le=guid),
        )

    def to_bytes(self) -> bytes:
        return _AUTH_HEADER.pack(
            self.start_id,
            self.state,
            self.reserved,
            self.attributes,
            self.monotonic_count,
            self.time_stamp.to_bytes(),
            self.pub_key_index,
            self.name_size,
            self.data_size,
            self.vendor_guid.bytes_le,
        )


AnyVariableHeader = VariableHeader | AuthenticatedVariableHeader


@value
class FaultTolerantWorkingBlockHeader:
    """EFI_FAULT_TOLERANT_WORKING_BLOCK_HEADER (SystemNvDataGuid.h)."""

    signature: UUID
    crc: int
    state: int  # bit0 WorkingBlockValid, bit1 WorkingBlockInvalid (0 = set)
    reserved3: bytes
    write_queue_size: int

    @property
    def valid(self) -> bool:
        """WorkingBlockValid set (0) and WorkingBlockInvalid not set (1)."""
        return self.state & 0x03 == 0x02

    def to_bytes(self) -> bytes:
        return _FTW_HEADER.pack(
            self.signature.bytes_le, self.crc, self.state, self.reserved3, self.write_queue_size
        )


def _pristine_ftw_header(working_size: int) -> bytes:
    """The working block header InitializeLocalWorkSpaceHeader() writes (§6.5)."""
    queue_size = working_size - FTW_WORKING_BLOCK_HEADER_SIZE
    unsealed = _FTW_HEADER.pack(
        FTW_WORKING_BLOCK_SIGNATURE.bytes_le, ERASED_U32, 0xFF, b"\xff" * 3, queue_size
    )
    crc = crc32(unsealed)
    return _FTW_HEADER.pack(FTW_WORKING_BLOCK_SIGNATURE.bytes_le, crc, 0xFE, b"\xff" * 3, queue_size)


# --- records ---------------------------------------------------------------------------


class RecordStatus(StrEnum):
    #: State 0x3F: the copy the firmware returns.
    LIVE = "live"
    #: State 0x3E without a 0x3F twin: an interrupted update, still the live copy.
    IN_TRANSITION = "in-transition"
    #: A superseded copy (0x3E with a live twin, or a later duplicate 0x3F).
    HISTORY = "history"
    #: State 0x3D / 0x3C: deleted.
    DELETED = "deleted"
    #: State 0xFF / 0x7F, or erased size fields: a write that never completed.
    INCOMPLETE = "incomplete"
    #: Any other State value; the firmware ignores the record.
    INVALID = "invalid"


_LIVE_STATUSES = (RecordStatus.LIVE, RecordStatus.IN_TRANSITION)


@value
class VariableRecord:
    """One variable record in the store, live or not."""

    offset: int
    header: AnyVariableHeader
    status: RecordStatus
    #: The variable this record holds (None when its name is not a UCS-2 string or the
    #: record is incomplete).
    variable: Variable | None
    #: The raw name bytes (NameSize bytes, NUL included).
    name_bytes: bytes
    name_offset: int
    data_offset: int
    #: Offset just past the data (before the 0xFF alignment padding).
    end: int
    #: Offset of the next record (HEADER_ALIGN(end)).
    next_offset: int

    @property
    def state(self) -> int:
        return self.header.state

    @property
    def state_name(self) -> str:
        """A short label such as ``deleted (0x3C)``."""
        return f"{self.status.value} (0x{self.header.state:02X})"

    @property
    def is_live(self) -> bool:
        return self.status in _LIVE_STATUSES

    @property
    def span(self) -> int:
        """Bytes the record occupies, alignment padding included."""
        return self.next_offset - self.offset

    @property
    def key(self) -> tuple[UUID, bytes]:
        """Identity as the firmware compares it: VendorGuid and the name bytes."""
        return (self.header.vendor_guid, self.name_bytes)


@value
class ImageWarning:
    """Something questionable that does not stop the image from being used."""

    offset: int
    message: str

    def __str__(self) -> str:
        return f"{self.message} (at 0x{self.offset:X})"


@value(eq=False)
class FlashImage:
    """A decoded VARS image: the live variables plus everything needed to write it back.

    Compared by identity (it holds a mutable :class:`VarStore` and the whole image).
    """

    #: The live variables in record order (edk2's FindVariableEx rules).
    store: VarStore
    layout: FlashLayout
    fv_header: FirmwareVolumeHeader
    store_header: VariableStoreHeader
    #: Every record in the store, history included, in flash order.
    records: tuple[VariableRecord, ...]
    #: Offset just past the last record (where the firmware appends the next one).
    end_of_records: int
    ftw_header: FaultTolerantWorkingBlockHeader | None
    #: The image exactly as decoded.
    data: bytes = field(repr=False)
    fields: Field = field(repr=False)
    warnings: tuple[ImageWarning, ...] = ()

    @property
    def authenticated(self) -> bool:
        """True for 60-byte AUTHENTICATED_VARIABLE_HEADER records, False for 32-byte ones."""
        return self.store_header.authenticated

    @property
    def live_records(self) -> tuple[VariableRecord, ...]:
        return tuple(r for r in self.records if r.is_live)

    @property
    def history(self) -> tuple[VariableRecord, ...]:
        """Records that do not count: deleted, superseded, incomplete, invalid."""
        return tuple(r for r in self.records if not r.is_live)

    @property
    def deleted_records(self) -> tuple[VariableRecord, ...]:
        return tuple(r for r in self.records if r.status is RecordStatus.DELETED)


# --- decoding --------------------------------------------------------------------------


def probe(data: bytes) -> bool:
    """Cheap check: a firmware volume signature at 40 and the SystemNvData GUID at 16."""
    return (
        len(data) >= FV_HEADER_SIZE
        and bytes(data[FVH_SIGNATURE_OFFSET : FVH_SIGNATURE_OFFSET + 4]) == FVH_SIGNATURE
        and bytes(data[16:32]) == SYSTEM_NV_DATA_FV.bytes_le
    )


def _error(message: str, offset: int | None) -> DecodeError:
    return DecodeError(message, offset, what=_WHAT)


def _code_image_error(data: bytes) -> DecodeError | None:
    """Explain an image whose first bytes are not the VARS firmware volume."""
    pos = data.find(FVH_SIGNATURE, FVH_SIGNATURE_OFFSET)
    while pos != -1:
        start = pos - FVH_SIGNATURE_OFFSET
        if start % 8 == 0 and start + 32 <= len(data):
            guid = UUID(bytes_le=bytes(data[start + 16 : start + 32]))
            if guid == SYSTEM_NV_DATA_FV:
                return _error(
                    "this looks like a firmware CODE image (or a combined CODE+VARS image), not a VARS "
                    f"image: the variable store firmware volume starts at 0x{start:X}, not at 0",
                    start,
                )
            return _error(
                "this looks like a firmware CODE image, not a VARS image: firmware volume with "
                f"FileSystemGuid {guid} at 0x{start:X}",
                start,
            )
        pos = data.find(FVH_SIGNATURE, pos + 1)
    return None


def _checksum16(data: bytes) -> int:
    words: tuple[int, ...] = struct.unpack_from(f"<{len(data) // 2}H", data)
    return sum(words) & 0xFFFF


def _decode_fv_header(data: bytes, warnings: list[ImageWarning]) -> FirmwareVolumeHeader:
    if len(data) < FVH_SIGNATURE_OFFSET + 4 or data[FVH_SIGNATURE_OFFSET : FVH_SIGNATURE_OFFSET + 4] != (
        FVH_SIGNATURE
    ):
        explained = _code_image_error(data)
        if explained is not None:
            raise explained
        if len(data) < FVH_SIGNATURE_OFFSET + 4:
            raise UnknownFormatError(
                f"not an edk2 flash image: only {len(data)} bytes, too short for a firmware volume header",
                len(data),
                what=_WHAT,
            )
        raise UnknownFormatError(
            "not an edk2 flash image: no firmware volume signature _FVH", FVH_SIGNATURE_OFFSET, what=_WHAT
        )
    if len(data) < FV_HEADER_SIZE + BLOCK_MAP_ENTRY_SIZE:
        raise _error(f"truncated firmware volume header: only {len(data)} bytes", len(data))
    (
        zero,
        fs_guid,
        fv_length,
        signature,
        attributes,
        header_length,
        checksum,
        ext_offset,
        reserved,
        revision,
    ) = _FV_HEADER.unpack_from(data, 0)
    fs = UUID(bytes_le=fs_guid)
    if fs != SYSTEM_NV_DATA_FV:
        raise _error(
            "this looks like a firmware CODE image, not a VARS image: the firmware volume's "
            f"FileSystemGuid is {fs}, not the NV data GUID {SYSTEM_NV_DATA_FV}",
            16,
        )
    if revision != FV_REVISION:
        raise _error(f"firmware volume Revision is {revision}, expected {FV_REVISION}", 55)
    if header_length % 2 or header_length < FV_HEADER_SIZE + 2 * BLOCK_MAP_ENTRY_SIZE:
        raise _error(f"firmware volume HeaderLength {_hex(header_length)} is invalid", 48)
    if header_length > len(data):
        raise _error(
            f"truncated: firmware volume HeaderLength is {_hex(header_length)} but the image has "
            f"{_hex(len(data))} bytes",
            len(data),
        )
    if fv_length == 0xFFFFFFFFFFFFFFFF or fv_length < header_length:
        raise _error(f"firmware volume FvLength {_hex(fv_length)} is invalid", 32)
    if fv_length > len(data):
        raise _error(
            f"truncated: the firmware volume declares FvLength {_hex(fv_length)} bytes but the image "
            f"has only {_hex(len(data))}",
            len(data),
        )
    if _checksum16(data[:header_length]) != 0:
        raise _error(
            f"bad firmware volume header checksum: stored {_hex(checksum)}, the 16-bit words over "
            f"HeaderLength {_hex(header_length)} bytes do not sum to 0",
            50,
        )
    blocks: list[tuple[int, int]] = []
    pos = FV_HEADER_SIZE
    while True:
        if pos + BLOCK_MAP_ENTRY_SIZE > header_length:
            raise _error("firmware volume BlockMap has no terminator within HeaderLength", pos)
        num_blocks, length = _BLOCK_MAP_ENTRY.unpack_from(data, pos)
        if num_blocks == 0 and length == 0:
            break
        if num_blocks == 0 or length == 0:
            raise _error(f"firmware volume BlockMap entry {{{num_blocks}, {_hex(length)}}} is invalid", pos)
        blocks.append((num_blocks, length))
        pos += BLOCK_MAP_ENTRY_SIZE
    covered = sum(n * size for n, size in blocks)
    if covered != fv_length:
        raise _error(
            f"firmware volume BlockMap covers {_hex(covered)} bytes but FvLength is {_hex(fv_length)}",
            FV_HEADER_SIZE,
        )
    if any(zero):
        warnings.append(ImageWarning(0, "firmware volume ZeroVector is not zero"))
    if attributes != FV_ATTRIBUTES:
        warnings.append(
            ImageWarning(
                44, f"firmware volume Attributes {_hex(attributes)} differ from OVMF's {_hex(FV_ATTRIBUTES)}"
            )
        )
    if ext_offset:
        warnings.append(ImageWarning(52, f"firmware volume has an extended header at {_hex(ext_offset)}"))
    return FirmwareVolumeHeader(
        zero_vector=zero,
        file_system_guid=fs,
        fv_length=fv_length,
        signature=signature,
        attributes=attributes,
        header_length=header_length,
        checksum=checksum,
        ext_header_offset=ext_offset,
        reserved=reserved,
        revision=revision,
        block_map=tuple(blocks),
    )


def _decode_store_header(data: bytes, fv: FirmwareVolumeHeader) -> VariableStoreHeader:
    offset = fv.header_length
    if offset + VARIABLE_STORE_HEADER_SIZE > fv.fv_length:
        raise _error("truncated: no room for the variable store header in the firmware volume", offset)
    signature, size, fmt, state, reserved, reserved1 = _STORE_HEADER.unpack_from(data, offset)
    header = VariableStoreHeader(UUID(bytes_le=signature), size, fmt, state, reserved, reserved1)
    if signature == b"\xff" * 16 and size == ERASED_U32 and fmt == 0xFF and state == 0xFF:
        raise _error(
            "the variable store is erased (no variable store header); the firmware cannot use it", offset
        )
    if header.signature not in (AUTHENTICATED_VARIABLE, VARIABLE):
        raise _error(
            f"variable store header Signature {header.signature} is neither the authenticated nor the "
            "plain variable store GUID",
            offset,
        )
    if fmt != VARIABLE_STORE_FORMATTED:
        raise _error(f"variable store header Format is {_hex(fmt)}, expected 0x5A (formatted)", offset + 20)
    if state != VARIABLE_STORE_HEALTHY:
        raise _error(f"variable store header State is {_hex(state)}, expected 0xFE (healthy)", offset + 21)
    if size < VARIABLE_STORE_HEADER_SIZE or _align(offset + size) > fv.fv_length:
        raise _error(
            f"variable store Size {_hex(size)} does not fit the firmware volume "
            f"(at most {_hex(fv.fv_length - fv.header_length)})",
            offset + 16,
        )
    return header


def _find_layout(data: bytes, fv: FirmwareVolumeHeader, store: VariableStoreHeader) -> FlashLayout:
    for preset in (OVMF_2M, OVMF_4M, AAVMF):
        if (
            preset.fv_length == fv.fv_length
            and preset.block_map == fv.block_map
            and preset.header_length == fv.header_length
            and preset.store_size == store.size
        ):
            if len(data) == preset.image_size:
                return preset
            if preset is AAVMF and len(data) == AAVMF_64M.image_size:
                return AAVMF_64M
            return replace(preset, image_size=len(data))
    # An unknown build: take the geometry from the image itself.
    store_end = _align(fv.header_length + store.size)
    working = -1
    if store_end < fv.fv_length:
        working = data.find(FTW_WORKING_BLOCK_SIGNATURE.bytes_le, store_end, fv.fv_length)
    working_size = 0
    if working >= 0 and working + FTW_WORKING_BLOCK_HEADER_SIZE <= fv.fv_length:
        queue_size = struct.unpack_from("<Q", data, working + 24)[0]
        if queue_size + FTW_WORKING_BLOCK_HEADER_SIZE <= fv.fv_length - working:
            working_size = queue_size + FTW_WORKING_BLOCK_HEADER_SIZE
    if working_size == 0:
        working = min(store_end, fv.fv_length)
    spare = working + working_size
    return FlashLayout(
        name="custom",
        image_size=len(data),
        fv_length=fv.fv_length,
        block_map=fv.block_map,
        store_size=store.size,
        ftw_working_offset=working,
        ftw_working_size=working_size,
        ftw_spare_offset=spare,
        ftw_spare_size=fv.fv_length - spare if working_size else 0,
        header_length=fv.header_length,
        description="geometry read from the image",
    )


def _decode_name(raw: bytes) -> str | None:
    """The variable name, or None when the bytes are not a NUL-terminated UCS-2 string."""
    if len(raw) < 2 or len(raw) % 2 or raw[-2:] != b"\0\0":
        return None
    return raw[:-2].decode("utf-16-le", "surrogatepass")


@value
class _RawRecord:
    offset: int
    header: AnyVariableHeader
    name_size: int
    data_size: int
    incomplete: bool


def _walk_records(data: bytes, layout: FlashLayout, authenticated: bool) -> tuple[list[_RawRecord], int]:
    header_type: type[AuthenticatedVariableHeader] | type[VariableHeader] = (
        AuthenticatedVariableHeader if authenticated else VariableHeader
    )
    header_size = header_type.SIZE
    store_end = layout.store_end
    pos = layout.variables_offset
    found: list[_RawRecord] = []
    while pos + 2 <= store_end and _U16.unpack_from(data, pos)[0] == VARIABLE_DATA:
        if pos + header_size > store_end:
            raise _error(
                f"variable header at 0x{pos:X} runs past the end of the store at 0x{store_end:X}", pos
            )
        header = header_type.unpack_from(data, pos)
        incomplete = header.state == 0xFF or ERASED_U32 in (
            header.name_size,
            header.data_size,
            header.attributes,
        )
        name_size = 0 if incomplete else header.name_size
        data_size = 0 if incomplete else header.data_size
        end = pos + header_size + name_size + data_size
        if end > store_end:
            raise _error(
                f"variable record at 0x{pos:X} (NameSize {_hex(header.name_size)}, DataSize "
                f"{_hex(header.data_size)}) runs past the end of the store at 0x{store_end:X}",
                pos,
            )
        found.append(_RawRecord(pos, header, name_size, data_size, incomplete))
        pos = _align(end)
    return found, min(pos, store_end)


def _classify(data: bytes, raw: list[_RawRecord], authenticated: bool) -> list[VariableRecord]:
    header_size = AUTHENTICATED_VARIABLE_HEADER_SIZE if authenticated else VARIABLE_HEADER_SIZE
    keys: list[tuple[UUID, bytes]] = []
    for rec in raw:
        name_offset = rec.offset + header_size
        keys.append((rec.header.vendor_guid, data[name_offset : name_offset + rec.name_size]))
    # edk2 FindVariableEx: the first 0x3F record wins; without one, the last 0x3E record.
    winner: dict[tuple[UUID, bytes], int] = {}
    for index, rec in enumerate(raw):
        if rec.incomplete:
            continue
        key = keys[index]
        if rec.header.state in (VAR_ADDED, VAR_ADDED_IN_TRANSITION):
            current = winner.get(key)
            if current is None or raw[current].header.state != VAR_ADDED:
                winner[key] = index
    records: list[VariableRecord] = []
    for index, rec in enumerate(raw):
        state = rec.header.state
        key = keys[index]
        if rec.incomplete or state == VAR_HEADER_VALID_ONLY:
            status = RecordStatus.INCOMPLETE
        elif state in (VAR_ADDED, VAR_ADDED_IN_TRANSITION):
            if winner.get(key) == index:
                status = RecordStatus.LIVE if state == VAR_ADDED else RecordStatus.IN_TRANSITION
            else:
                status = RecordStatus.HISTORY
        elif state in (VAR_ADDED & VAR_DELETED, VAR_ADDED_IN_TRANSITION & VAR_DELETED):
            status = RecordStatus.DELETED
        else:
            status = RecordStatus.INVALID
        name_offset = rec.offset + header_size
        data_offset = name_offset + rec.name_size
        end = data_offset + rec.data_size
        name_bytes = key[1]
        variable: Variable | None = None
        if status is not RecordStatus.INCOMPLETE:
            name = _decode_name(name_bytes)
            if name is None:
                if status in _LIVE_STATUSES:
                    raise _error(
                        f"the name of the live variable record at 0x{rec.offset:X} is not a NUL-terminated "
                        f"UCS-2 string (NameSize {_hex(rec.name_size)})",
                        name_offset,
                    )
            else:
                timestamp: EfiTime | None = None
                if isinstance(rec.header, AuthenticatedVariableHeader) and rec.header.attributes & AT:
                    timestamp = rec.header.time_stamp
                variable = Variable(
                    name=name,
                    guid=rec.header.vendor_guid,
                    attributes=Attributes(rec.header.attributes),
                    data=bytes(data[data_offset:end]),
                    timestamp=timestamp,
                )
        records.append(
            VariableRecord(
                offset=rec.offset,
                header=rec.header,
                status=status,
                variable=variable,
                name_bytes=name_bytes,
                name_offset=name_offset,
                data_offset=data_offset,
                end=end,
                next_offset=_align(end),
            )
        )
    return records


def _decode_ftw(
    data: bytes, layout: FlashLayout, warnings: list[ImageWarning]
) -> tuple[FaultTolerantWorkingBlockHeader | None, list[Field]]:
    """Parse the FTW working block; refuse an image in the middle of a fault-tolerant write."""
    start = layout.ftw_working_offset
    size = layout.ftw_working_size
    if size < FTW_WORKING_BLOCK_HEADER_SIZE or start + size > layout.fv_length:
        return None, []
    signature, crc, state, reserved3, queue_size = _FTW_HEADER.unpack_from(data, start)
    header = FaultTolerantWorkingBlockHeader(UUID(bytes_le=signature), crc, state, reserved3, queue_size)
    queue_fields: list[Field] = []
    if header.signature != FTW_WORKING_BLOCK_SIGNATURE:
        if data[start : start + FTW_WORKING_BLOCK_HEADER_SIZE] != b"\xff" * FTW_WORKING_BLOCK_HEADER_SIZE:
            warnings.append(
                ImageWarning(
                    start, "FTW working block has no valid signature; the firmware will reinitialise it"
                )
            )
        else:
            warnings.append(
                ImageWarning(start, "FTW working block is erased; the firmware will initialise it")
            )
        return None, queue_fields
    if data[start : start + FTW_WORKING_BLOCK_HEADER_SIZE] != _pristine_ftw_header(size):
        warnings.append(
            ImageWarning(start, "FTW working block header differs from the pristine header (CRC or state)")
        )
    if not header.valid:
        return header, queue_fields
    pos = start + FTW_WORKING_BLOCK_HEADER_SIZE
    end = start + size
    while pos + FTW_WRITE_HEADER_SIZE <= end:
        flags, _, caller, writes, private = _FTW_WRITE_HEADER.unpack_from(data, pos)
        if flags & 0x01:  # HeaderAllocated not set: end of the queue
            break
        record_size = FTW_WRITE_RECORD_SIZE + private
        total = FTW_WRITE_HEADER_SIZE + writes * record_size
        if total > end - pos:
            warnings.append(
                ImageWarning(pos, "FTW write header declares more records than the working block holds")
            )
            break
        complete = not flags & 0x04
        queue_fields.append(
            Field(
                "FtwWriteHeader",
                pos,
                total,
                f"CallerId {UUID(bytes_le=caller)}, {writes} write(s), "
                + ("complete" if complete else "not complete"),
            )
        )
        if not complete and not flags & 0x02:  # WritesAllocated
            rec = pos + FTW_WRITE_HEADER_SIZE
            for _ in range(writes):
                rflags, _, lba, offset, length, _relative = _FTW_WRITE_RECORD.unpack_from(data, rec)
                spare_complete = not rflags & 0x02
                destination_complete = not rflags & 0x04
                if spare_complete and not destination_complete:
                    raise _error(
                        "the image is in the middle of a fault-tolerant write (the FTW spare holds new "
                        f"contents for LBA {lba}, offset {_hex(offset)}, length {_hex(length)} that were "
                        "never copied back); boot the VM once so the firmware completes it, then try again",
                        rec,
                    )
                rec += record_size
        pos += total
    return header, queue_fields


def decode(data: bytes) -> FlashImage:
    """Decode an edk2 VARS image. Raises :class:`DecodeError` (with a byte offset) on bad input."""
    data = bytes(data)
    try:
        return _decode(data)
    except (struct.error, IndexError, ValueError, OverflowError) as exc:  # pragma: no cover - safety net
        raise _error(f"malformed image ({exc})", None) from exc


def _decode(data: bytes) -> FlashImage:
    warnings: list[ImageWarning] = []
    fv = _decode_fv_header(data, warnings)
    pos = data.find(FVH_SIGNATURE, fv.fv_length)
    if pos != -1:
        raise _error(
            "this looks like a firmware CODE image, not a VARS image: a combined image (OVMF.fd) with "
            f"another firmware volume after the variable store at 0x{max(pos - FVH_SIGNATURE_OFFSET, 0):X}; "
            "use the separate VARS file",
            pos,
        )
    store_header = _decode_store_header(data, fv)
    layout = _find_layout(data, fv, store_header)
    raw, end_of_records = _walk_records(data, layout, store_header.authenticated)
    records = _classify(data, raw, store_header.authenticated)
    tail = data[end_of_records : layout.store_end]
    if tail.count(0xFF) != len(tail):
        first = next(i for i, b in enumerate(tail) if b != 0xFF)
        warnings.append(
            ImageWarning(
                end_of_records + first,
                "the free space after the last record is not erased (0xFF); the firmware cannot append there",
            )
        )
    for rec in records:
        pad = data[rec.end : rec.next_offset]
        if pad.count(0xFF) != len(pad):
            warnings.append(ImageWarning(rec.end, "alignment padding after a record is not 0xFF"))
        if rec.variable is None and rec.status is not RecordStatus.INCOMPLETE:
            warnings.append(ImageWarning(rec.name_offset, "record name is not a NUL-terminated UCS-2 string"))
    ftw_header, queue_fields = _decode_ftw(data, layout, warnings)
    live = [r.variable for r in records if r.is_live and r.variable is not None]
    fields = _image_fields(data, layout, fv, store_header, records, end_of_records, ftw_header, queue_fields)
    return FlashImage(
        store=VarStore(live),
        layout=layout,
        fv_header=fv,
        store_header=store_header,
        records=tuple(records),
        end_of_records=end_of_records,
        ftw_header=ftw_header,
        data=data,
        fields=fields,
        warnings=tuple(warnings),
    )


def to_document(image: FlashImage) -> StoreDocument:
    """The image as a :class:`StoreDocument`; ``origin`` is the image (the encode template)."""
    return StoreDocument(StoreFormat.EDK2, image.store, origin=image)


# --- field tree ------------------------------------------------------------------------


def _fv_fields(fv: FirmwareVolumeHeader) -> Field:
    children = [
        Field("ZeroVector", 0, 16, fv.zero_vector.hex() if any(fv.zero_vector) else "zero"),
        Field("FileSystemGuid", 16, 16, f"{fv.file_system_guid} ({guid_label(fv.file_system_guid)})"),
        Field("FvLength", 32, 8, _hex(fv.fv_length)),
        Field("Signature", 40, 4, fv.signature.decode("latin-1")),
        Field("Attributes", 44, 4, _hex(fv.attributes)),
        Field("HeaderLength", 48, 2, _hex(fv.header_length)),
        Field("Checksum", 50, 2, _hex(fv.checksum)),
        Field("ExtHeaderOffset", 52, 2, _hex(fv.ext_header_offset)),
        Field("Reserved", 54, 1, str(fv.reserved)),
        Field("Revision", 55, 1, str(fv.revision)),
    ]
    pos = FV_HEADER_SIZE
    for num, length in fv.block_map:
        children.append(Field("BlockMap", pos, 8, f"{num} x {_hex(length)}"))
        pos += BLOCK_MAP_ENTRY_SIZE
    children.append(Field("BlockMap terminator", pos, 8, "{0, 0}"))
    return Field("FirmwareVolumeHeader", 0, fv.header_length, "_FVH, NV data", tuple(children))


def _store_header_fields(offset: int, header: VariableStoreHeader) -> Field:
    kind = "authenticated" if header.authenticated else "non-authenticated"
    return Field(
        "VariableStoreHeader",
        offset,
        VARIABLE_STORE_HEADER_SIZE,
        f"{kind}, Size {_hex(header.size)}",
        (
            Field("Signature", offset, 16, f"{header.signature} ({guid_label(header.signature)})"),
            Field("Size", offset + 16, 4, _hex(header.size)),
            Field("Format", offset + 20, 1, _hex(header.format)),
            Field("State", offset + 21, 1, _hex(header.state)),
            Field("Reserved", offset + 22, 2, str(header.reserved)),
            Field("Reserved1", offset + 24, 4, str(header.reserved1)),
        ),
    )


def _record_fields(rec: VariableRecord) -> Field:
    h = rec.header
    o = rec.offset
    children = [
        Field("StartId", o, 2, _hex(h.start_id)),
        Field("State", o + 2, 1, f"{_hex(h.state)} ({rec.status.value})"),
        Field("Reserved", o + 3, 1, str(h.reserved)),
        Field("Attributes", o + 4, 4, f"{_hex(h.attributes)} ({format_attributes(h.attributes)})"),
    ]
    if isinstance(h, AuthenticatedVariableHeader):
        children += [
            Field("MonotonicCount", o + 8, 8, str(h.monotonic_count)),
            Field("TimeStamp", o + 16, 16, str(h.time_stamp)),
            Field("PubKeyIndex", o + 32, 4, str(h.pub_key_index)),
            Field("NameSize", o + 36, 4, _hex(h.name_size)),
            Field("DataSize", o + 40, 4, _hex(h.data_size)),
            Field("VendorGuid", o + 44, 16, f"{h.vendor_guid} ({guid_label(h.vendor_guid)})"),
        ]
    else:
        children += [
            Field("NameSize", o + 8, 4, _hex(h.name_size)),
            Field("DataSize", o + 12, 4, _hex(h.data_size)),
            Field("VendorGuid", o + 16, 16, f"{h.vendor_guid} ({guid_label(h.vendor_guid)})"),
        ]
    header_field = Field(type(h).__name__, o, h.SIZE, "", tuple(children))
    parts = [header_field]
    name = rec.variable.name if rec.variable is not None else None
    if rec.data_offset > rec.name_offset:
        parts.append(
            Field(
                "Name",
                rec.name_offset,
                rec.data_offset - rec.name_offset,
                repr(name) if name is not None else rec.name_bytes.hex(),
                warning=None if name is not None else "not a NUL-terminated UCS-2 string",
            )
        )
    if rec.end > rec.data_offset:
        parts.append(
            Field("Data", rec.data_offset, rec.end - rec.data_offset, f"{rec.end - rec.data_offset} bytes")
        )
    if rec.next_offset > rec.end:
        parts.append(Field("Padding", rec.end, rec.next_offset - rec.end, "alignment"))
    label = name if name is not None else "?"
    return Field(
        "Variable",
        o,
        rec.span,
        f"{label} ({guid_label(h.vendor_guid)}) {rec.status.value}",
        tuple(parts),
    )


def _image_fields(
    data: bytes,
    layout: FlashLayout,
    fv: FirmwareVolumeHeader,
    store_header: VariableStoreHeader,
    records: list[VariableRecord],
    end_of_records: int,
    ftw_header: FaultTolerantWorkingBlockHeader | None,
    queue_fields: list[Field],
) -> Field:
    children = [_fv_fields(fv), _store_header_fields(layout.store_offset, store_header)]
    if layout.variables_offset > layout.store_offset + VARIABLE_STORE_HEADER_SIZE:
        start = layout.store_offset + VARIABLE_STORE_HEADER_SIZE
        children.append(Field("Padding", start, layout.variables_offset - start, "header alignment"))
    live = sum(1 for r in records if r.is_live)
    children.append(
        Field(
            "Variables",
            layout.variables_offset,
            end_of_records - layout.variables_offset,
            f"{len(records)} records, {live} live",
            tuple(_record_fields(r) for r in records),
        )
    )
    if layout.store_end > end_of_records:
        tail = data[end_of_records : layout.store_end]
        children.append(
            Field(
                "Free space",
                end_of_records,
                layout.store_end - end_of_records,
                f"{len(tail)} bytes",
                warning=None if tail.count(0xFF) == len(tail) else "not erased (0xFF)",
            )
        )
    gap_end = layout.ftw_working_offset if layout.ftw_working_size else layout.fv_length
    if gap_end > layout.store_end:
        children.append(Field("Unused (event log)", layout.store_end, gap_end - layout.store_end))
    if layout.ftw_working_size:
        start = layout.ftw_working_offset
        ftw_children: list[Field] = []
        if ftw_header is not None:
            ftw_children.append(
                Field(
                    "FaultTolerantWorkingBlockHeader",
                    start,
                    FTW_WORKING_BLOCK_HEADER_SIZE,
                    "valid" if ftw_header.valid else "not valid",
                    (
                        Field("Signature", start, 16, str(ftw_header.signature)),
                        Field("Crc", start + 16, 4, _hex(ftw_header.crc)),
                        Field("State", start + 20, 1, _hex(ftw_header.state)),
                        Field("Reserved3", start + 21, 3, ftw_header.reserved3.hex()),
                        Field("WriteQueueSize", start + 24, 8, _hex(ftw_header.write_queue_size)),
                    ),
                )
            )
            queue_start = start + FTW_WORKING_BLOCK_HEADER_SIZE
            ftw_children.append(
                Field(
                    "WriteQueue",
                    queue_start,
                    layout.ftw_working_size - FTW_WORKING_BLOCK_HEADER_SIZE,
                    f"{len(queue_fields)} write header(s)" if queue_fields else "empty",
                    tuple(queue_fields),
                )
            )
        children.append(Field("FTW working block", start, layout.ftw_working_size, "", tuple(ftw_children)))
    if layout.ftw_spare_size:
        spare = data[layout.ftw_spare_offset : layout.ftw_spare_offset + layout.ftw_spare_size]
        children.append(
            Field(
                "FTW spare",
                layout.ftw_spare_offset,
                layout.ftw_spare_size,
                "erased" if spare.count(0xFF) == len(spare) else "holds data",
            )
        )
    if len(data) > layout.fv_length:
        children.append(Field("Padding", layout.fv_length, len(data) - layout.fv_length, "after the volume"))
    return Field("Edk2FlashImage", 0, len(data), f"layout {layout.name}", tuple(children))


# --- encoding --------------------------------------------------------------------------


def _fv_header_bytes(layout: FlashLayout) -> bytes:
    """A fresh EFI_FIRMWARE_VOLUME_HEADER for ``layout`` with its checksum."""
    header = FirmwareVolumeHeader(
        zero_vector=bytes(16),
        file_system_guid=SYSTEM_NV_DATA_FV,
        fv_length=layout.fv_length,
        signature=FVH_SIGNATURE,
        attributes=FV_ATTRIBUTES,
        header_length=layout.header_length,
        checksum=0,
        ext_header_offset=0,
        reserved=0,
        revision=FV_REVISION,
        block_map=layout.block_map,
    )
    raw = header.to_bytes().ljust(layout.header_length, b"\0")
    checksum = (0x10000 - _checksum16(raw)) & 0xFFFF
    return raw[:50] + _U16.pack(checksum) + raw[52:]


def _check_layout(layout: FlashLayout) -> None:
    problem = None
    if sum(n * size for n, size in layout.block_map) != layout.fv_length:
        problem = "its block map does not cover fv_length"
    elif layout.image_size < layout.fv_length:
        problem = "image_size is smaller than fv_length"
    elif layout.header_length != FV_HEADER_SIZE + BLOCK_MAP_ENTRY_SIZE * (len(layout.block_map) + 1):
        problem = "header_length does not match the block map"
    elif layout.store_size < VARIABLE_STORE_HEADER_SIZE or layout.store_end > layout.fv_length:
        problem = "the variable store does not fit the volume"
    elif layout.ftw_working_size and not (
        layout.ftw_working_size >= FTW_WORKING_BLOCK_HEADER_SIZE
        and layout.store_end <= layout.ftw_working_offset
        and layout.ftw_working_offset + layout.ftw_working_size <= layout.ftw_spare_offset
        and layout.ftw_spare_offset + layout.ftw_spare_size <= layout.fv_length
    ):
        problem = "the FTW areas overlap the store or leave the volume"
    if problem is not None:
        raise UsageError(f"flash layout {layout.name!r} is inconsistent: {problem}")


def blank(layout: FlashLayout, *, authenticated: bool = True) -> bytes:
    """A freshly built, empty VARS image for ``layout`` (as the edk2 build writes it).

    Padding after the volume (``layout.image_size > layout.fv_length``) is zeros, as
    distributions pad AAVMF images.
    """
    _check_layout(layout)
    image = bytearray(b"\xff" * layout.fv_length)
    image[: layout.header_length] = _fv_header_bytes(layout)
    signature = AUTHENTICATED_VARIABLE if authenticated else VARIABLE
    store = VariableStoreHeader(
        signature, layout.store_size, VARIABLE_STORE_FORMATTED, VARIABLE_STORE_HEALTHY, 0, 0
    )
    image[layout.store_offset : layout.store_offset + VARIABLE_STORE_HEADER_SIZE] = store.to_bytes()
    if layout.ftw_working_size >= FTW_WORKING_BLOCK_HEADER_SIZE:
        start = layout.ftw_working_offset
        image[start : start + FTW_WORKING_BLOCK_HEADER_SIZE] = _pristine_ftw_header(layout.ftw_working_size)
    return bytes(image) + bytes(layout.image_size - layout.fv_length)


def normalize_variable(var: Variable, *, authenticated: bool = True) -> Variable:
    """The variable as :func:`decode` gives it back after :func:`encode`.

    APPEND_WRITE is never stored, the QEMU ``digest`` has no place in flash, AT variables
    carry a timestamp (zero when none was set) and other variables none.
    """
    attributes = Attributes(int(var.attributes) & ~_APPEND_WRITE)
    timestamp = (var.timestamp or ZERO_TIME) if authenticated and attributes & AT else None
    return Variable(var.name, var.guid, attributes, bytes(var.data), timestamp, None)


def _pack_record(var: Variable, authenticated: bool) -> bytes:
    name = encode_ucs2(var.name)
    attributes = int(var.attributes) & ~_APPEND_WRITE
    if not 0 <= attributes < ERASED_U32:
        raise EncodeError(f"variable {var.name!r}: attributes {_hex(attributes)} cannot be stored")
    if len(var.data) >= ERASED_U32:
        raise EncodeError(f"variable {var.name!r}: too much data")
    if authenticated:
        stamp = var.timestamp or ZERO_TIME
        header: bytes = _AUTH_HEADER.pack(
            VARIABLE_DATA,
            VAR_ADDED,
            0,
            attributes,
            0,
            stamp.to_bytes(),
            0,
            len(name),
            len(var.data),
            var.guid.bytes_le,
        )
    else:
        if var.timestamp is not None and not var.timestamp.is_zero:
            raise EncodeError(
                f"variable {var.name!r} has a timestamp, but this store uses the non-authenticated "
                "format (32-byte headers without TimeStamp)"
            )
        header = _PLAIN_HEADER.pack(
            VARIABLE_DATA, VAR_ADDED, 0, attributes, len(name), len(var.data), var.guid.bytes_le
        )
    record = header + name + bytes(var.data)
    return record + b"\xff" * (_align(len(record)) - len(record))


def variable_space(name: str, data_size: int, *, authenticated: bool = True) -> int:
    """Bytes one record with this name and data size occupies (header, name, data, padding)."""
    header = AUTHENTICATED_VARIABLE_HEADER_SIZE if authenticated else VARIABLE_HEADER_SIZE
    return _align(header + len(encode_ucs2(name)) + data_size)


def compacted_size(variables: Iterable[Variable], *, authenticated: bool = True) -> int:
    """Bytes the records of ``variables`` need when written compacted."""
    return sum(variable_space(v.name, len(v.data), authenticated=authenticated) for v in variables)


def _unchanged(record: VariableRecord, var: Variable, authenticated: bool) -> bool:
    """True if ``record`` already holds ``var`` as encode would write it."""
    return record.variable is not None and normalize_variable(
        record.variable, authenticated=authenticated
    ) == normalize_variable(var, authenticated=authenticated)


def _keep_prefix(template: FlashImage, target: list[Variable]) -> tuple[int, int]:
    """How many leading store variables stay in place, and the image offset the rewrite starts at."""
    auth = template.authenticated
    live = [r for r in template.records if r.is_live]
    k = 0
    while k < len(live) and k < len(target) and _unchanged(live[k], target[k], auth):
        k += 1
    winner = {r.key: r.offset for r in live}
    while True:
        cut = live[k - 1].next_offset if k else template.layout.variables_offset
        # A superseded 0x3E copy whose live copy is cut off would come back to life.
        revived = next(
            (
                r
                for r in template.records
                if r.offset < cut
                and not r.is_live
                and r.state == VAR_ADDED_IN_TRANSITION
                and r.status is RecordStatus.HISTORY
                and winner.get(r.key, cut) >= cut
            ),
            None,
        )
        if revived is None:
            return k, cut
        k = sum(1 for r in live if r.offset < revived.offset)


def encode(store: VarStore, template: FlashImage) -> bytes:
    """Write ``store`` into the image of ``template``.

    An unchanged store gives ``template.data`` back byte for byte. Otherwise the records
    of the leading variables that did not change stay where they are (with any history
    between them); the rest is rewritten compacted in store order. If that does not fit,
    the whole store is compacted; if that does not fit either, :class:`StoreFullError`.
    The FTW working block is reset to its pristine header and the spare erased.
    """
    auth = template.authenticated
    layout = template.layout
    target = list(store)
    k, cut = _keep_prefix(template, target)
    if k == len(target) == len(template.live_records):
        return template.data
    capacity = layout.store_end - layout.variables_offset
    tail = b"".join(_pack_record(v, auth) for v in target[k:])
    if cut + len(tail) > layout.store_end:
        cut = layout.variables_offset
        tail = b"".join(_pack_record(v, auth) for v in target)
        if len(tail) > capacity:
            missing = len(tail) - capacity
            raise StoreFullError(
                f"the variables need {len(tail)} bytes but the {layout.name} flash store holds only "
                f"{capacity}: {missing} bytes missing",
                missing,
            )
    image = bytearray(template.data)
    region = tail + b"\xff" * (layout.store_end - cut - len(tail))
    image[cut : layout.store_end] = region
    if layout.ftw_working_size >= FTW_WORKING_BLOCK_HEADER_SIZE:
        start = layout.ftw_working_offset
        image[start : start + layout.ftw_working_size] = _pristine_ftw_header(layout.ftw_working_size).ljust(
            layout.ftw_working_size, b"\xff"
        )
    if layout.ftw_spare_size:
        image[layout.ftw_spare_offset : layout.ftw_spare_offset + layout.ftw_spare_size] = (
            b"\xff" * layout.ftw_spare_size
        )
    return bytes(image)


def encode_new(store: VarStore, layout: FlashLayout, *, authenticated: bool = True) -> bytes:
    """A new image for ``layout`` holding ``store`` (compacted, in store order)."""
    return encode(store, decode(blank(layout, authenticated=authenticated)))


# --- space accounting ------------------------------------------------------------------


@value
class SpaceInfo:
    """Space in an image's variable store, in bytes (edk2's QueryVariableInfo terms)."""

    #: MaximumVariableStorageSize: VARIABLE_STORE_HEADER.Size - 28 (no HwErr reserve in OVMF).
    maximum_storage: int
    #: Bytes from the first record to the end of the store.
    capacity: int
    #: Aligned spans of the live records.
    live: int
    #: Aligned spans of deleted, superseded and incomplete records.
    history: int
    #: Bytes after the last record, where the firmware appends without reclaiming.
    free: int
    #: RemainingVariableStorageSize at boot (after a reclaim): maximum_storage - live.
    remaining: int
    #: Largest data the firmware accepts in one SetVariable (Pcd), if known.
    max_variable_size: int | None
    header_size: int

    def fits_now(self, needed: int) -> bool:
        """True if a record of ``needed`` bytes can be appended without a reclaim."""
        return needed <= self.free

    def fits(self, needed: int) -> bool:
        """True if a record of ``needed`` bytes fits once the history is reclaimed."""
        return needed <= self.remaining


def free_space(image: FlashImage) -> SpaceInfo:
    """How full ``image``'s variable store is. Pair with :func:`variable_space` to ask
    whether a variable (say a grown dbx) still fits."""
    layout = image.layout
    live = sum(r.span for r in image.records if r.is_live)
    history = sum(r.span for r in image.records if not r.is_live)
    maximum = image.store_header.size - VARIABLE_STORE_HEADER_SIZE
    auth = image.authenticated
    max_size = layout.max_auth_variable_size if auth else layout.max_variable_size
    return SpaceInfo(
        maximum_storage=maximum,
        capacity=layout.store_end - layout.variables_offset,
        live=live,
        history=history,
        free=layout.store_end - image.end_of_records,
        remaining=maximum - live,
        max_variable_size=max_size,
        header_size=AUTHENTICATED_VARIABLE_HEADER_SIZE if auth else VARIABLE_HEADER_SIZE,
    )
