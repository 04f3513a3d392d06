"""Typed log records of the device and decoders for MM buffers.

The engine emits one stream of records: register accesses, the MM requests and replies
they carry (grouped into transfers), boot-phase events, security and policy decisions,
variable changes, "persist needed" signals and pcap records. Records are frozen values;
decoding an MM buffer into a :class:`~uefivars_gui.core.fields.Field` tree is done on
demand (``fields()``), so logging costs almost nothing on the fast path.

The decoders never raise: truncated or inconsistent buffers give fields with a
``warning``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from ..core.attributes import format_attributes
from ..core.efitime import EfiTime
from ..core.fields import Field
from ..core.guid import (
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    EVENT_READY_TO_BOOT,
    SMM_VARIABLE_PROTOCOL,
    VAR_CHECK_POLICY_MMI_HANDLER,
    guid_label,
)
from ..core.variable import Variable
from .status import (
    MM_CHECK_POLICY_HEADER_SIZE,
    MM_HEADER_SIZE,
    MM_VARIABLE_HEADER_SIZE,
    DeviceStatus,
    PcapRecordType,
    SmmVariableFunction,
    VarCheckPolicyCommand,
    device_status_name,
    efi_status_name,
    function_name,
    policy_command_name,
)


class Direction(Enum):
    READ = "read"
    WRITE = "write"


class TransferMode(Enum):
    DMA = "dma"
    PIO = "pio"
    #: ``UefiVarsDevice.handle_mm`` (no register interface involved).
    DIRECT = "direct"


# --------------------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True)
class RegisterAccess:
    """One guest access to the register window, as the guest issued it.

    ``value`` is what the guest wrote or what it read back. ``note`` says what the
    access did when that is not obvious (a command and its result, a dropped PIO word,
    a rejected access). ``transfer_id`` groups the accesses of one request.
    """

    offset: int
    width: int
    value: int
    direction: Direction
    address: int
    transfer_id: int
    register: str | None = None
    note: str | None = None

    def describe(self) -> str:
        reg = self.register or "-"
        arrow = "<-" if self.direction is Direction.WRITE else "->"
        text = f"{self.direction.value} 0x{self.address:x} ({reg}) w{self.width} {arrow} 0x{self.value:x}"
        return f"{text}  [{self.note}]" if self.note else text


@dataclass(frozen=True, slots=True)
class MmRequest:
    """An MM communication buffer as the device read it (``24 + MessageLength`` bytes)."""

    transfer_id: int
    mode: TransferMode
    address: int | None
    raw: bytes

    @property
    def header_guid(self) -> UUID | None:
        return _guid(self.raw, 0)

    @property
    def handler(self) -> str:
        """Which protocol the header GUID selects ("variable protocol", ...)."""
        return handler_name(self.header_guid)

    @property
    def function(self) -> int | None:
        """Function (variable protocol) or Command (policy protocol), if present."""
        guid = self.header_guid
        if guid == SMM_VARIABLE_PROTOCOL:
            return _u64(self.raw, 24)
        if guid == VAR_CHECK_POLICY_MMI_HANDLER:
            return _u32(self.raw, 32)
        return None

    def fields(self) -> Field:
        return decode_mm_buffer(self.raw, reply=False)

    def describe(self) -> str:
        return summarize_request(self.raw)


@dataclass(frozen=True, slots=True)
class MmReply:
    """The buffer the device wrote back, with the device status of the command.

    ``problem`` says, in words, what was wrong with the request when the guest broke a
    rule (the EFI status alone does not say which rule).
    """

    transfer_id: int
    mode: TransferMode
    raw: bytes
    request: bytes
    device_status: int
    problem: str | None = None

    @property
    def return_status(self) -> int | None:
        """ReturnStatus (variable protocol) or Result (policy protocol), if present."""
        guid = _guid(self.raw, 0)
        if guid == SMM_VARIABLE_PROTOCOL:
            return _u64(self.raw, 32)
        if guid == VAR_CHECK_POLICY_MMI_HANDLER:
            return _u64(self.raw, 36)
        return None

    def fields(self) -> Field:
        tree = decode_mm_buffer(self.raw, reply=True)
        status = Field("device status", 0, 0, device_status_name(self.device_status))
        children = (status, *tree.children)
        if self.problem:
            children = (*children, Field("problem", 0, 0, self.problem))
        return Field(tree.name, tree.offset, tree.length, tree.text, children, tree.warning)

    def describe(self) -> str:
        text = summarize_reply(self.raw, self.device_status)
        return f"{text} ({self.problem})" if self.problem else text


@dataclass(frozen=True, slots=True)
class MalformedRequest:
    """A command that failed before dispatch (device status 0x12 or 0x10)."""

    transfer_id: int
    mode: TransferMode
    device_status: int
    reason: str
    raw: bytes = b""

    def describe(self) -> str:
        return f"malformed request ({device_status_name(self.device_status)}): {self.reason}"


@dataclass(frozen=True, slots=True)
class Transfer:
    """One MM command with the register accesses that led up to it.

    Accesses that read the reply back (PIO) come later, as :class:`RegisterAccess`
    records with the same ``transfer_id``.
    """

    transfer_id: int
    mode: TransferMode
    address: int | None
    accesses: tuple[RegisterAccess, ...]
    request: MmRequest | None
    reply: MmReply | None
    device_status: int
    problem: str | None = None

    def describe(self) -> str:
        req = self.request.describe() if self.request else "(no request)"
        rep = self.reply.describe() if self.reply else device_status_name(self.device_status)
        return f"#{self.transfer_id} {self.mode.value}: {req} -> {rep}"


@dataclass(frozen=True, slots=True)
class DmaError:
    """Guest memory refused a DMA read or write (the command ends with ERR_UNKNOWN)."""

    transfer_id: int
    address: int
    length: int
    direction: Direction
    error: str

    def describe(self) -> str:
        return f"DMA {self.direction.value} of {self.length} bytes at 0x{self.address:x} failed: {self.error}"


@dataclass(frozen=True, slots=True)
class BootEvent:
    """EndOfDxe / ReadyToBoot / ExitBootServices, from a header GUID or a function."""

    name: str
    source: str

    def describe(self) -> str:
        return f"event {self.name} (via {self.source})"


@dataclass(frozen=True, slots=True)
class SecurityViolation:
    """A write refused with EFI_SECURITY_VIOLATION (or a refused signature), and why."""

    reason: str
    name: str
    guid: UUID
    status: int

    def describe(self) -> str:
        return f"security: {self.name} ({guid_label(self.guid)}): {self.reason} -> {efi_status_name(self.status)}"


@dataclass(frozen=True, slots=True)
class PolicyDenied:
    """A SetVariable refused by a variable policy (QEMU's ``uefi_vars_policy_deny``)."""

    reason: str
    name: str
    guid: UUID
    status: int
    policy: bytes

    def describe(self) -> str:
        return (
            f"policy: {self.name} ({guid_label(self.guid)}): {self.reason} -> {efi_status_name(self.status)}"
        )


@dataclass(frozen=True, slots=True)
class PolicyMatched:
    """A policy matched a SetVariable (QEMU prints the entry to stderr)."""

    name: str
    guid: UUID
    policy: bytes

    def describe(self) -> str:
        return f"policy matched for {self.name} ({guid_label(self.guid)})"


@dataclass(frozen=True, slots=True)
class VariableChanged:
    """A variable was created, updated (``old`` and ``new``) or deleted (``new`` None)."""

    guid: UUID
    name: str
    old: Variable | None
    new: Variable | None
    reason: str = "set-variable"

    def describe(self) -> str:
        what = "deleted" if self.new is None else ("created" if self.old is None else "updated")
        return f"{self.name} ({guid_label(self.guid)}) {what} [{self.reason}]"


@dataclass(frozen=True, slots=True)
class PersistNeeded:
    """The non-volatile variables changed, or a reset happened: QEMU rewrites the JSON now."""

    reason: str

    def describe(self) -> str:
        return f"persist needed: {self.reason}"


@dataclass(frozen=True, slots=True)
class PcapRecord:
    """What QEMU's ``pcapfile`` would record (the live layer adds the timestamps)."""

    kind: PcapRecordType
    payload: bytes

    @property
    def packet_data(self) -> bytes:
        """The record body: u32 type (LE) followed by the payload."""
        return struct.pack("<I", int(self.kind)) + self.payload

    def describe(self) -> str:
        return f"pcap {self.kind.name} ({len(self.payload)} bytes)"


@dataclass(frozen=True, slots=True)
class HardReset:
    """The device's reset handler ran (machine start or reset)."""

    def describe(self) -> str:
        return "hard reset"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something QEMU would ``warn_report``, or a note about what the engine did."""

    text: str

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class InternalError:
    """A bug in the engine, caught so that the guest still gets an answer."""

    where: str
    text: str

    def describe(self) -> str:
        return f"internal error in {self.where}: {self.text}"


LogRecord = (
    RegisterAccess
    | MmRequest
    | MmReply
    | MalformedRequest
    | Transfer
    | DmaError
    | BootEvent
    | SecurityViolation
    | PolicyDenied
    | PolicyMatched
    | VariableChanged
    | PersistNeeded
    | PcapRecord
    | HardReset
    | Notice
    | InternalError
)


# --------------------------------------------------------------------------------------
# decoding helpers (bounds-checked, never raise)


def _u64(raw: bytes, off: int) -> int | None:
    if off < 0 or off + 8 > len(raw):
        return None
    return int.from_bytes(raw[off : off + 8], "little")


def _u32(raw: bytes, off: int) -> int | None:
    if off < 0 or off + 4 > len(raw):
        return None
    return int.from_bytes(raw[off : off + 4], "little")


def _u16(raw: bytes, off: int) -> int | None:
    if off < 0 or off + 2 > len(raw):
        return None
    return int.from_bytes(raw[off : off + 2], "little")


def _guid(raw: bytes, off: int) -> UUID | None:
    if off < 0 or off + 16 > len(raw):
        return None
    return UUID(bytes_le=bytes(raw[off : off + 16]))


def _hex_preview(data: bytes, limit: int = 32) -> str:
    text = data[:limit].hex(" ")
    return text + (" …" if len(data) > limit else "")


def ucs2_display(raw: bytes) -> str:
    """A name for display: UCS-2 up to the first NUL, odd bytes and bad units replaced."""
    units = len(raw) // 2
    chars: list[str] = []
    for i in range(units):
        unit = raw[2 * i] | (raw[2 * i + 1] << 8)
        if unit == 0:
            break
        chars.append("\ufffd" if 0xD800 <= unit <= 0xDFFF else chr(unit))
    return "".join(chars)


def _field_u64(name: str, raw: bytes, off: int, fmt: str = "{}") -> Field:
    value = _u64(raw, off)
    if value is None:
        return Field(name, off, max(0, min(8, len(raw) - off)), "(truncated)", warning="truncated")
    return Field(name, off, 8, fmt.format(value))


def _field_u32(name: str, raw: bytes, off: int, fmt: str = "{}") -> Field:
    value = _u32(raw, off)
    if value is None:
        return Field(name, off, max(0, min(4, len(raw) - off)), "(truncated)", warning="truncated")
    return Field(name, off, 4, fmt.format(value))


def _field_guid(name: str, raw: bytes, off: int) -> Field:
    guid = _guid(raw, off)
    if guid is None:
        return Field(name, off, max(0, min(16, len(raw) - off)), "(truncated)", warning="truncated")
    label = guid_label(guid)
    return Field(name, off, 16, f"{label} ({guid})" if label != str(guid) else str(guid))


def _field_status(name: str, raw: bytes, off: int) -> Field:
    value = _u64(raw, off)
    if value is None:
        return Field(name, off, max(0, min(8, len(raw) - off)), "(truncated)", warning="truncated")
    return Field(name, off, 8, efi_status_name(value))


def _field_bytes(name: str, raw: bytes, off: int, length: int) -> Field:
    avail = max(0, min(length, len(raw) - off))
    warning = None if avail == length else f"only {avail} of {length} bytes present"
    chunk = raw[off : off + avail]
    return Field(
        name, off, avail, f"{length} bytes: {_hex_preview(chunk)}" if length else "(empty)", warning=warning
    )


def _field_name(name: str, raw: bytes, off: int, length: int) -> Field:
    avail = max(0, min(length, len(raw) - off))
    chunk = raw[off : off + avail]
    warning = None if avail == length else f"only {avail} of {length} bytes present"
    units = [int.from_bytes(chunk[i : i + 2], "little") for i in range(0, avail - 1, 2)]
    if warning is None:
        if 0 not in units:
            warning = "not NUL-terminated within NameSize"
        elif any(0xD800 <= u <= 0xDFFF for u in units[: units.index(0)]):
            warning = "UTF-16 surrogate in name"
    return Field(name, off, avail, f'"{ucs2_display(chunk)}"', warning=warning)


def _header_fields(raw: bytes) -> tuple[Field, UUID | None, int | None]:
    guid = _guid(raw, 0)
    length = _u64(raw, 16)
    header = Field(
        "EFI_MM_COMMUNICATE_HEADER",
        0,
        min(MM_HEADER_SIZE, len(raw)),
        "",
        (_field_guid("HeaderGuid", raw, 0), _field_u64("MessageLength", raw, 16)),
        None if len(raw) >= MM_HEADER_SIZE else "truncated header",
    )
    return header, guid, length


# --------------------------------------------------------------------------------------
# the variable protocol


def _decode_auth2(raw: bytes, off: int, size: int) -> tuple[Field, ...]:
    """EFI_VARIABLE_AUTHENTICATION_2 at ``off`` inside a Data area of ``size`` bytes."""
    end = min(off + size, len(raw))
    if end - off < 40:
        return (_field_bytes("Data", raw, off, size),)
    ts_bytes = raw[off : off + 16]
    stamp = EfiTime.from_bytes(bytes(ts_bytes))
    dw_length = _u32(raw, off + 16) or 0
    rev = _u16(raw, off + 20) or 0
    ctype = _u16(raw, off + 22) or 0
    cert_len = max(0, dw_length - 24)
    payload_off = off + 16 + dw_length
    children = [
        Field("TimeStamp", off, 16, str(stamp) if not stamp.is_zero else "zero"),
        Field("dwLength", off + 16, 4, str(dw_length), warning=None if dw_length >= 24 else "below 24"),
        Field("wRevision", off + 20, 2, f"0x{rev:04x}", warning=None if rev == 0x0200 else "not 0x0200"),
        Field(
            "wCertificateType",
            off + 22,
            2,
            f"0x{ctype:04x}",
            warning=None if ctype == 0x0EF1 else "not WIN_CERT_TYPE_EFI_GUID",
        ),
        _field_guid("CertType", raw, off + 24),
        _field_bytes("CertData (PKCS#7)", raw, off + 40, min(cert_len, max(0, end - off - 40))),
    ]
    auth = Field(
        "EFI_VARIABLE_AUTHENTICATION_2",
        off,
        min(40 + cert_len, end - off),
        "",
        tuple(children),
        None if payload_off <= off + size else "dwLength exceeds DataSize",
    )
    payload_len = max(0, off + size - payload_off)
    payload = _field_bytes("Payload", raw, payload_off, payload_len)
    return auth, payload


def _decode_variable_payload(raw: bytes, function: int | None, length: int, reply: bool) -> tuple[Field, ...]:
    base = MM_HEADER_SIZE + MM_VARIABLE_HEADER_SIZE
    msg_end = MM_HEADER_SIZE + length
    fields: list[Field] = []
    if function in (SmmVariableFunction.GET_VARIABLE, SmmVariableFunction.SET_VARIABLE):
        data_size = _u64(raw, base + 16)
        name_size = _u64(raw, base + 24)
        attrs = _u32(raw, base + 32)
        children = [
            _field_guid("Guid", raw, base),
            _field_u64("DataSize", raw, base + 16),
            _field_u64("NameSize", raw, base + 24),
            _field_u32(
                "Attributes",
                raw,
                base + 32,
                "{}" if attrs is None else f"0x{attrs:08x} ({format_attributes(attrs)})",
            ),
        ]
        if name_size is not None and name_size <= msg_end:
            children.append(_field_name("Name", raw, base + 36, name_size))
            if data_size is not None and data_size <= msg_end:
                data_off = base + 36 + name_size
                show = data_size
                if function == SmmVariableFunction.GET_VARIABLE and not reply:
                    show = 0  # the data area of a GetVariable request is the guest's output buffer
                status = _u64(raw, 32)
                if function == SmmVariableFunction.GET_VARIABLE and reply and status != 0:
                    show = 0
                if show and function == SmmVariableFunction.SET_VARIABLE and attrs and attrs & 0x20:
                    children.extend(_decode_auth2(raw, data_off, show))
                elif show:
                    children.append(_field_bytes("Data", raw, data_off, show))
        fields.append(
            Field(
                "SMM_VARIABLE_COMMUNICATE_ACCESS_VARIABLE",
                base,
                max(0, min(len(raw), msg_end) - base),
                "",
                tuple(children),
            )
        )
    elif function in (SmmVariableFunction.GET_NEXT_VARIABLE_NAME, SmmVariableFunction.LOCK_VARIABLE):
        name_size = _u64(raw, base + 16)
        children = [_field_guid("Guid", raw, base), _field_u64("NameSize", raw, base + 16)]
        if name_size is not None and name_size <= msg_end:
            children.append(_field_name("Name", raw, base + 24, name_size))
        title = (
            "SMM_VARIABLE_COMMUNICATE_GET_NEXT_VARIABLE_NAME"
            if function == SmmVariableFunction.GET_NEXT_VARIABLE_NAME
            else "SMM_VARIABLE_COMMUNICATE_LOCK_VARIABLE"
        )
        fields.append(Field(title, base, max(0, min(len(raw), msg_end) - base), "", tuple(children)))
    elif function == SmmVariableFunction.QUERY_VARIABLE_INFO:
        attrs = _u32(raw, base + 24)
        children = [
            _field_u64("MaximumVariableStorageSize", raw, base),
            _field_u64("RemainingVariableStorageSize", raw, base + 8),
            _field_u64("MaximumVariableSize", raw, base + 16),
            _field_u32(
                "Attributes",
                raw,
                base + 24,
                "{}" if attrs is None else f"0x{attrs:08x} ({format_attributes(attrs)})",
            ),
        ]
        fields.append(
            Field(
                "SMM_VARIABLE_COMMUNICATE_QUERY_VARIABLE_INFO",
                base,
                max(0, min(len(raw), base + 28) - base),
                "",
                tuple(children),
            )
        )
    elif function == SmmVariableFunction.GET_PAYLOAD_SIZE:
        fields.append(
            Field(
                "SMM_VARIABLE_COMMUNICATE_GET_PAYLOAD_SIZE",
                base,
                max(0, min(len(raw), base + 8) - base),
                "",
                (_field_u64("VariablePayloadSize", raw, base),),
            )
        )
    elif len(raw) > base:
        fields.append(_field_bytes("Payload", raw, base, len(raw) - base))
    return tuple(fields)


def _decode_policy_payload(raw: bytes, command: int | None, length: int) -> tuple[Field, ...]:
    base = MM_HEADER_SIZE + MM_CHECK_POLICY_HEADER_SIZE
    if command == VarCheckPolicyCommand.IS_ENABLED:
        if len(raw) > base:
            return (Field("State", base, 1, "TRUE" if raw[base] else "FALSE"),)
        return ()
    if command == VarCheckPolicyCommand.REGISTER:
        return (decode_policy_entry(raw, base),)
    if command == VarCheckPolicyCommand.DUMP:
        children = (
            _field_u32("PageRequested", raw, base),
            _field_u32("TotalSize", raw, base + 4),
            _field_u32("PageSize", raw, base + 8),
            Field("HasMore", base + 12, 1, "TRUE" if len(raw) > base + 12 and raw[base + 12] else "FALSE"),
        )
        return (Field("VAR_CHECK_POLICY_COMM_DUMP_PARAMS", base, 13, "", children),)
    if len(raw) > base:
        return (_field_bytes("Params", raw, base, len(raw) - base),)
    return ()


def decode_policy_entry(raw: bytes, off: int) -> Field:
    """A VARIABLE_POLICY_ENTRY at ``off`` (fields clipped to ``raw``)."""
    size = _u16(raw, off + 4)
    offset_to_name = _u16(raw, off + 6)
    lock_type = raw[off + 40] if len(raw) > off + 40 else None
    children: list[Field] = [
        _field_u32("Version", raw, off, "0x{:08x}"),
        Field("Size", off + 4, 2, "(truncated)" if size is None else str(size)),
        Field("OffsetToName", off + 6, 2, "(truncated)" if offset_to_name is None else str(offset_to_name)),
        _field_guid("Namespace", raw, off + 8),
        _field_u32("MinSize", raw, off + 24),
        _field_u32("MaxSize", raw, off + 28, "0x{:x}"),
        _field_u32("AttributesMustHave", raw, off + 32, "0x{:x}"),
        _field_u32("AttributesCantHave", raw, off + 36, "0x{:x}"),
        Field(
            "LockPolicyType", off + 40, 1, "(truncated)" if lock_type is None else _lock_type_name(lock_type)
        ),
    ]
    if size is not None and offset_to_name is not None and size >= offset_to_name >= 44:
        if lock_type == 3 and offset_to_name >= 62:
            children.append(
                Field(
                    "LockOnVarState",
                    off + 44,
                    offset_to_name - 44,
                    "",
                    (
                        _field_guid("Namespace", raw, off + 44),
                        Field(
                            "Value", off + 60, 1, str(raw[off + 60]) if len(raw) > off + 60 else "(truncated)"
                        ),
                        _field_name("Name", raw, off + 62, offset_to_name - 62),
                    ),
                )
            )
        if size > offset_to_name:
            children.append(_field_name("Name", raw, off + offset_to_name, size - offset_to_name))
        else:
            children.append(Field("Name", off + offset_to_name, 0, "(none: whole namespace)"))
    length = size if size is not None else 44
    return Field("VARIABLE_POLICY_ENTRY", off, max(0, min(length, len(raw) - off)), "", tuple(children))


def _lock_type_name(value: int) -> str:
    names = {0: "NO_LOCK", 1: "LOCK_NOW", 2: "LOCK_ON_CREATE", 3: "LOCK_ON_VAR_STATE"}
    return f"{names.get(value, 'unknown')} ({value})"


def handler_name(guid: UUID | None) -> str:
    if guid is None:
        return "(no header)"
    return {
        SMM_VARIABLE_PROTOCOL: "variable protocol",
        VAR_CHECK_POLICY_MMI_HANDLER: "variable policy protocol",
        END_OF_DXE_EVENT_GROUP: "EndOfDxe event",
        EVENT_READY_TO_BOOT: "ReadyToBoot event",
        EVENT_EXIT_BOOT_SERVICES: "ExitBootServices event",
    }.get(guid, f"unknown handler {guid}")


def decode_mm_buffer(raw: bytes, *, reply: bool = False) -> Field:
    """Decode an MM communication buffer (request or reply) into a Field tree."""
    try:
        return _decode_mm_buffer(bytes(raw), reply)
    except Exception as exc:  # pragma: no cover - the decoder is written not to raise
        return Field("MM buffer", 0, len(raw), "", warning=f"decoder error: {exc!r}")


def _decode_mm_buffer(raw: bytes, reply: bool) -> Field:
    header, guid, length = _header_fields(raw)
    children: list[Field] = [header]
    warning = None
    if length is None:
        return Field("MM buffer", 0, len(raw), "truncated header", tuple(children), "truncated")
    if MM_HEADER_SIZE + length > len(raw):
        warning = f"MessageLength {length} exceeds the {len(raw) - MM_HEADER_SIZE} bytes present"
    if guid == SMM_VARIABLE_PROTOCOL:
        function = _u64(raw, 24)
        fn_text = "(truncated)" if function is None else f"{function_name(function)} ({function})"
        children.append(
            Field(
                "SMM_VARIABLE_COMMUNICATE_HEADER",
                24,
                max(0, min(16, len(raw) - 24)),
                "",
                (
                    Field("Function", 24, 8, fn_text, warning=None if function is not None else "truncated"),
                    _field_status("ReturnStatus", raw, 32),
                ),
            )
        )
        if length < MM_VARIABLE_HEADER_SIZE:
            warning = warning or "MessageLength below 16"
        children.extend(_decode_variable_payload(raw, function, length, reply))
    elif guid == VAR_CHECK_POLICY_MMI_HANDLER:
        command = _u32(raw, 32)
        sig = raw[24:28]
        children.append(
            Field(
                "VAR_CHECK_POLICY_COMM_HEADER",
                24,
                max(0, min(20, len(raw) - 24)),
                "",
                (
                    Field("Signature", 24, 4, repr(bytes(sig))),
                    _field_u32("Revision", raw, 28),
                    Field(
                        "Command",
                        32,
                        4,
                        "(truncated)" if command is None else f"{policy_command_name(command)} ({command})",
                    ),
                    _field_status("Result", raw, 36),
                ),
            )
        )
        if length < MM_CHECK_POLICY_HEADER_SIZE:
            warning = warning or "MessageLength below 20"
        children.extend(_decode_policy_payload(raw, command, length))
    elif len(raw) > MM_HEADER_SIZE:
        children.append(_field_bytes("Message", raw, MM_HEADER_SIZE, min(length, len(raw) - MM_HEADER_SIZE)))
    text = summarize_reply(raw, None) if reply else summarize_request(raw)
    return Field("MM reply" if reply else "MM request", 0, len(raw), text, tuple(children), warning)


def summarize_request(raw: bytes) -> str:
    """One line: handler, function and the main arguments."""
    try:
        return _summarize_request(bytes(raw))
    except Exception as exc:  # pragma: no cover
        return f"(undecodable: {exc!r})"


def _summarize_request(raw: bytes) -> str:
    guid = _guid(raw, 0)
    length = _u64(raw, 16)
    if guid is None or length is None:
        return "(truncated header)"
    if guid == SMM_VARIABLE_PROTOCOL:
        function = _u64(raw, 24)
        if function is None:
            return "variable protocol (no function)"
        name = _fn_display(function)
        base = 40
        if function in (SmmVariableFunction.GET_VARIABLE, SmmVariableFunction.SET_VARIABLE):
            vguid = _guid(raw, base)
            data_size = _u64(raw, base + 16)
            name_size = _u64(raw, base + 24)
            attrs = _u32(raw, base + 32)
            if vguid is None or name_size is None or data_size is None or attrs is None:
                return f"{name}(truncated)"
            vname = ucs2_display(raw[base + 36 : base + 36 + min(name_size, len(raw))])
            extra = f", {format_attributes(attrs)}" if function == SmmVariableFunction.SET_VARIABLE else ""
            return f'{name}("{vname}", {guid_label(vguid)}{extra}, DataSize={data_size})'
        if function in (SmmVariableFunction.GET_NEXT_VARIABLE_NAME, SmmVariableFunction.LOCK_VARIABLE):
            vguid = _guid(raw, base)
            name_size = _u64(raw, base + 16)
            if vguid is None or name_size is None:
                return f"{name}(truncated)"
            vname = ucs2_display(raw[base + 24 : base + 24 + min(name_size, len(raw))])
            return f'{name}("{vname}", {guid_label(vguid)}, NameSize={name_size})'
        return f"{name}()"
    if guid == VAR_CHECK_POLICY_MMI_HANDLER:
        command = _u32(raw, 32)
        return f"VarCheckPolicy {policy_command_name(command) if command is not None else '(truncated)'}"
    return handler_name(guid)


def _fn_display(function: int) -> str:
    try:
        return "".join(part.capitalize() for part in SmmVariableFunction(function).name.split("_"))
    except ValueError:
        return f"Function{function}"


def summarize_reply(raw: bytes, device_status: int | None) -> str:
    try:
        return _summarize_reply(bytes(raw), device_status)
    except Exception as exc:  # pragma: no cover
        return f"(undecodable: {exc!r})"


def _summarize_reply(raw: bytes, device_status: int | None) -> str:
    prefix = (
        ""
        if device_status in (None, DeviceStatus.SUCCESS)
        else f"[{device_status_name(device_status or 0)}] "
    )
    guid = _guid(raw, 0)
    if guid == SMM_VARIABLE_PROTOCOL:
        function = _u64(raw, 24)
        status = _u64(raw, 32)
        if status is None:
            return prefix + "(no status)"
        text = efi_status_name(status)
        base = 40
        if function == SmmVariableFunction.GET_VARIABLE and status in (0, 0x8000000000000005):
            data_size = _u64(raw, base + 16)
            attrs = _u32(raw, base + 32)
            if data_size is not None and attrs is not None:
                text += f" DataSize={data_size} Attributes={format_attributes(attrs)}"
        elif function == SmmVariableFunction.GET_NEXT_VARIABLE_NAME and status == 0:
            vguid = _guid(raw, base)
            name_size = _u64(raw, base + 16)
            if vguid is not None and name_size is not None:
                vname = ucs2_display(raw[base + 24 : base + 24 + min(name_size, len(raw))])
                text += f' "{vname}" {guid_label(vguid)}'
        elif function == SmmVariableFunction.QUERY_VARIABLE_INFO and status == 0:
            values = [_u64(raw, base + i) for i in (0, 8, 16)]
            if None not in values:
                text += f" max={values[0]} remaining={values[1]} maxvar={values[2]}"
        elif function == SmmVariableFunction.GET_PAYLOAD_SIZE and status == 0:
            size = _u64(raw, base)
            if size is not None:
                text += f" payload={size}"
        return prefix + text
    if guid == VAR_CHECK_POLICY_MMI_HANDLER:
        result = _u64(raw, 36)
        return prefix + ("(no result)" if result is None else efi_status_name(result))
    return prefix + (handler_name(guid) if device_status in (None, DeviceStatus.SUCCESS) else "")
