"""The guest side of the uefi-vars device, as edk2 firmware drives it.

This module plays the part of two edk2 drivers:

* ``OvmfPkg/VirtMmCommunicationDxe`` (:class:`GuestSession`): finds the device by its
  MAGIC register, resets it, programs a 64 KiB buffer and then moves
  ``EFI_MM_COMMUNICATE_HEADER`` requests either through a guest-memory buffer (DMA mode)
  or word by word through the PIO transfer register with a CRC32C check (PIO mode);
* ``MdeModulePkg/Universal/Variable/RuntimeDxe/VariableSmmRuntimeDxe``
  (:class:`VariableClient`): builds the ``SMM_VARIABLE_COMMUNICATE_*`` requests with
  exactly edk2's byte layouts and reads the replies the way edk2 does.

It talks to a :class:`Target`: four methods for register and guest-memory access. The
QEMU qtest driver (:mod:`uefivars_gui.live.qtest`) is one target; an in-process device
engine with a bytearray for guest memory is another. There is no I/O here.

All integers on the wire are little-endian; ``UINTN`` is 8 bytes (QEMU's device supports
64-bit guests only).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol, runtime_checkable
from uuid import UUID

from ..core.crc import crc32c
from ..core.guid import (
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    EVENT_READY_TO_BOOT,
    SMM_VARIABLE_PROTOCOL,
)
from ..core.ucs2 import encode_ucs2
from ..device.status import (
    FLAG_USE_PIO,
    MAGIC_VALUE,
    MAX_BUFFER_SIZE,
    MM_HEADER_SIZE,
    MM_VARIABLE_HEADER_SIZE,
    Command,
    DeviceStatus,
    EfiStatus,
    Register,
    SmmVariableFunction,
)
from ..errors import UefiVarsError

__all__ = [
    "BurstTarget",
    "CrcMismatchError",
    "DeviceCommandError",
    "DeviceNotFoundError",
    "DeviceStatusError",
    "GetVariableResult",
    "GuestError",
    "GuestSession",
    "MmReply",
    "NextVariableNameResult",
    "PayloadSizeResult",
    "QueryVariableInfoResult",
    "RequestSizeError",
    "StatusResult",
    "Target",
    "VariableCallResult",
    "VariableClient",
]

# --- edk2's guest-side layouts and limits (the device's numbers are in device.status) ----

#: OFFSET_OF(SMM_VARIABLE_COMMUNICATE_ACCESS_VARIABLE, Name).
ACCESS_VARIABLE_NAME_OFFSET = 36
#: OFFSET_OF(SMM_VARIABLE_COMMUNICATE_GET_NEXT_VARIABLE_NAME, Name) (also LOCK_VARIABLE).
NEXT_VARIABLE_NAME_OFFSET = 24
#: sizeof(SMM_VARIABLE_COMMUNICATE_QUERY_VARIABLE_INFO) as edk2 sends it (with padding).
QUERY_VARIABLE_INFO_SIZE = 32
#: edk2 polls CMD_STS this often while the device answers BUSY.
POLL_LIMIT = 100
#: Guest physical address of the DMA buffer when the target suggests none (x86 RAM).
DEFAULT_BUFFER_ADDR = 0x00200000
#: Name buffer size :meth:`VariableClient.get_next_variable_name` offers by default.
DEFAULT_NAME_BUFFER = 128

#: The three boot events VirtMmCommunicationDxe forwards as 25-byte messages.
EVENT_GUIDS: dict[str, UUID] = {
    "end-of-dxe": END_OF_DXE_EVENT_GROUP,
    "ready-to-boot": EVENT_READY_TO_BOOT,
    "exit-boot-services": EVENT_EXIT_BOOT_SERVICES,
}

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_MM_HEADER = struct.Struct("<16sQ")
_VAR_HEADER = struct.Struct("<QQ")
_ACCESS = struct.Struct("<16sQQI")
_NEXT = struct.Struct("<16sQ")
_QUERY = struct.Struct("<QQQI4x")


# --- errors ------------------------------------------------------------------------------


class GuestError(UefiVarsError):
    """The device did not behave as edk2's guest drivers require."""


class DeviceNotFoundError(GuestError):
    """MAGIC did not read 0x0EF1: no uefi-vars device at this address."""


class DeviceCommandError(GuestError):
    """A device command (RESET, PIO_ZERO_OFFSET, ...) ended with a non-success status."""

    def __init__(self, command: int, status: int) -> None:
        self.command = command
        self.status = status
        super().__init__(f"device command 0x{command:02x} ended with status 0x{status:02x}")


class DeviceStatusError(GuestError):
    """An MM request ended with a non-zero device status (CMD_STS), e.g. 0x12 bad buffer size."""

    def __init__(self, status: int, what: str) -> None:
        self.status = status
        super().__init__(f"{what}: device status 0x{status:02x} ({_device_status_label(status)})")


def _device_status_label(status: int) -> str:
    try:
        return DeviceStatus(status).name
    except ValueError:
        return "unknown"


class CrcMismatchError(GuestError):
    """The PIO_BUFFER_CRC32C register disagrees with the CRC32C of the words moved."""

    def __init__(self, direction: str, expected: int, device: int, length: int) -> None:
        self.direction = direction
        self.expected = expected
        self.device = device
        self.length = length
        super().__init__(
            f"PIO {direction}: CRC32C mismatch over {length} bytes: "
            f"guest computed 0x{expected:08x}, device register says 0x{device:08x}"
        )


class RequestSizeError(GuestError):
    """A request edk2 refuses to send (MessageLength 0, or larger than the buffer)."""


# --- the target ----------------------------------------------------------------------------


class Target(Protocol):
    """Register window and guest memory of one uefi-vars device.

    ``offset`` is relative to the device's register base; ``width`` is 1, 2, 4 or 8
    bytes; ``addr`` is a guest physical address.
    """

    def read(self, offset: int, width: int) -> int: ...

    def write(self, offset: int, width: int, value: int) -> None: ...

    def mem_read(self, addr: int, length: int) -> bytes: ...

    def mem_write(self, addr: int, data: bytes) -> None: ...


@runtime_checkable
class BurstTarget(Target, Protocol):
    """A target that can pipeline many accesses to one register (optional, for speed).

    Equivalent to calling :meth:`read` ``count`` times / :meth:`write` once per value.
    """

    def read_burst(self, offset: int, width: int, count: int) -> list[int]: ...

    def write_burst(self, offset: int, width: int, values: Sequence[int]) -> None: ...


# --- results -------------------------------------------------------------------------------


def _efi_status(value: int) -> EfiStatus:
    """ReturnStatus as an :class:`EfiStatus`; a value no device returns is a device fault."""
    try:
        return EfiStatus(value)
    except ValueError:
        raise GuestError(f"ReturnStatus 0x{value:016x} is not an EFI_STATUS the device returns") from None


class MmReply(NamedTuple):
    """What came back from one MM communicate: the device status and the message area."""

    device_status: int
    reply: bytes


@dataclass(frozen=True, slots=True)
class VariableCallResult:
    """A raw variable-protocol call: both status channels and the reply payload."""

    device_status: int
    function: int
    status: EfiStatus
    payload: bytes


@dataclass(frozen=True, slots=True)
class StatusResult:
    status: EfiStatus


@dataclass(frozen=True, slots=True)
class PayloadSizeResult:
    status: EfiStatus
    payload_size: int


@dataclass(frozen=True, slots=True)
class GetVariableResult:
    """GetVariable: ``data_size`` is the variable's size on SUCCESS and BUFFER_TOO_SMALL."""

    status: EfiStatus
    attributes: int
    data_size: int
    data: bytes


@dataclass(frozen=True, slots=True)
class NextVariableNameResult:
    """GetNextVariableName: on BUFFER_TOO_SMALL ``name_size`` is the size needed."""

    status: EfiStatus
    name: str
    guid: UUID
    name_size: int


@dataclass(frozen=True, slots=True)
class QueryVariableInfoResult:
    status: EfiStatus
    maximum_variable_storage_size: int
    remaining_variable_storage_size: int
    maximum_variable_size: int


# --- VirtMmCommunicationDxe --------------------------------------------------------------


Mode = Literal["auto", "dma", "pio"]


class GuestSession:
    """VirtMmCommunicationDxe: device init and MM communicate in DMA or PIO mode.

    ``mode="auto"`` follows the FLAGS register as edk2 does; ``"dma"``/``"pio"`` force a
    mode (a DMA address is programmed only in DMA mode). ``buffer_addr`` is the guest
    physical address of the DMA buffer (default: the target's ``dma_buffer_addr``
    attribute, else 0x00200000).
    """

    def __init__(
        self,
        target: Target,
        mode: Mode = "auto",
        buffer_addr: int | None = None,
        *,
        buffer_size: int = MAX_BUFFER_SIZE,
        initialize: bool = True,
    ) -> None:
        if mode not in ("auto", "dma", "pio"):
            raise ValueError(f"mode must be 'auto', 'dma' or 'pio', not {mode!r}")
        self.target = target
        self.requested_mode: Mode = mode
        self.mode: Literal["dma", "pio"] = "pio" if mode == "pio" else "dma"
        if buffer_addr is None:
            suggested = getattr(target, "dma_buffer_addr", None)
            buffer_addr = suggested if isinstance(suggested, int) else DEFAULT_BUFFER_ADDR
        self.buffer_addr = buffer_addr
        self.buffer_size = buffer_size
        self.flags = 0
        self.last_request = b""
        self.last_reply = b""
        if initialize:
            self.initialize()

    # -- init ----------------------------------------------------------------------------

    def initialize(self) -> None:
        """VirtMmHwInit: MAGIC, RESET, BUFFER_SIZE, FLAGS, then the DMA address."""
        magic = self.target.read(Register.MAGIC, 2)
        if magic != MAGIC_VALUE:
            raise DeviceNotFoundError(
                f"no uefi-vars device: MAGIC reads 0x{magic:04x}, expected 0x{MAGIC_VALUE:04x}"
            )
        status = self.command(Command.RESET)
        if status != DeviceStatus.SUCCESS:
            raise DeviceCommandError(Command.RESET, status)
        self.target.write(Register.BUFFER_SIZE, 4, self.buffer_size)
        self.flags = self.target.read(Register.FLAGS, 4)
        if self.requested_mode == "auto":
            self.mode = "pio" if self.flags & FLAG_USE_PIO else "dma"
        if self.mode == "dma":
            self.target.write(Register.DMA_BUFFER_ADDR_LO, 4, self.buffer_addr & 0xFFFFFFFF)
            self.target.write(Register.DMA_BUFFER_ADDR_HI, 4, self.buffer_addr >> 32)

    def command(self, cmd: int) -> int:
        """Write CMD_STS, then poll it while BUSY (at most 100 times, like edk2)."""
        self.target.write(Register.CMD_STS, 2, cmd)
        for _ in range(POLL_LIMIT):
            status = self.target.read(Register.CMD_STS, 2)
            if status != DeviceStatus.BUSY:
                return status
        raise GuestError(f"device still busy after {POLL_LIMIT} polls of command 0x{cmd:02x}")

    # -- communicate ---------------------------------------------------------------------

    def communicate(
        self,
        header_guid: UUID,
        message: bytes,
        *,
        message_length: int | None = None,
        strict: bool = True,
    ) -> MmReply:
        """Send one EFI_MM_COMMUNICATE_HEADER request and read the reply back.

        ``message_length`` overrides the MessageLength written into the header (a lie, for
        error-path tests); by default it is ``len(message)``. With ``strict`` the request
        is refused as edk2 refuses it (MessageLength 0 or 24+L beyond the buffer).
        The reply is the message area after the 24-byte header: ``L`` bytes when the
        device accepted the size, else as many bytes as were sent.
        """
        length = len(message) if message_length is None else message_length
        if strict and (length == 0 or MM_HEADER_SIZE + length > self.buffer_size):
            raise RequestSizeError(
                f"MessageLength {length}: edk2 sends only 1..{self.buffer_size - MM_HEADER_SIZE} bytes"
            )
        request = _MM_HEADER.pack(header_guid.bytes_le, length) + bytes(message)
        total = MM_HEADER_SIZE + length
        read_back = total if total <= self.buffer_size else len(request)
        read_back = max(read_back, len(request))
        self.last_request = request
        if self.mode == "dma":
            self.target.mem_write(self.buffer_addr, request)
            status = self.command(Command.DMA_MM)
            reply = self.target.mem_read(self.buffer_addr, read_back)
        else:
            status = self._pio_exchange(request, read_back)
            reply = self.last_reply
        self.last_reply = reply
        return MmReply(status, reply[MM_HEADER_SIZE:])

    def _pio_exchange(self, request: bytes, read_back: int) -> int:
        status = self.command(Command.PIO_ZERO_OFFSET)
        if status != DeviceStatus.SUCCESS:
            raise DeviceCommandError(Command.PIO_ZERO_OFFSET, status)
        padded = _pad4(request)
        words = [w for (w,) in struct.iter_unpack("<I", padded)]
        self._write_words(words)
        self._check_crc("write", padded)
        mm_status = self.command(Command.PIO_MM)
        status = self.command(Command.PIO_ZERO_OFFSET)
        if status != DeviceStatus.SUCCESS:
            raise DeviceCommandError(Command.PIO_ZERO_OFFSET, status)
        count = (read_back + 3) // 4
        data = b"".join(_U32.pack(w & 0xFFFFFFFF) for w in self._read_words(count))
        self._check_crc("read", data)
        self.last_reply = data[:read_back]
        return mm_status

    def _write_words(self, words: Sequence[int]) -> None:
        target = self.target
        if isinstance(target, BurstTarget):
            target.write_burst(Register.PIO_BUFFER_TRANSFER, 4, words)
        else:
            for word in words:
                target.write(Register.PIO_BUFFER_TRANSFER, 4, word)

    def _read_words(self, count: int) -> list[int]:
        target = self.target
        if isinstance(target, BurstTarget):
            return target.read_burst(Register.PIO_BUFFER_TRANSFER, 4, count)
        return [target.read(Register.PIO_BUFFER_TRANSFER, 4) for _ in range(count)]

    def _check_crc(self, direction: str, data: bytes) -> None:
        expected = crc32c(data)
        device = self.target.read(Register.PIO_BUFFER_CRC32C, 4)
        if device != expected:
            raise CrcMismatchError(direction, expected, device, len(data))

    def signal_event(self, event_guid: UUID) -> int:
        """VirtMmGuidedEventNotify: a 25-byte message, MessageLength 1, Data[0] = 0."""
        return self.communicate(event_guid, b"\0").device_status


def _pad4(data: bytes) -> bytes:
    rest = len(data) % 4
    return data + b"\0" * (4 - rest) if rest else data


# --- VariableSmmRuntimeDxe ---------------------------------------------------------------


class VariableClient:
    """VariableSmmRuntimeDxe: the SMM variable protocol over a :class:`GuestSession`.

    The high-level methods raise :class:`DeviceStatusError` when the device status is not
    0 (a well-formed request never causes that); :meth:`call` returns it instead.
    """

    def __init__(self, session: GuestSession) -> None:
        self.session = session
        self._payload_size: int | None = None

    # -- raw -----------------------------------------------------------------------------

    def call(self, function: int, payload: bytes, message_length: int | None = None) -> VariableCallResult:
        """Send Function + ReturnStatus(0) + payload; ``message_length`` may lie."""
        message = _VAR_HEADER.pack(function, 0) + bytes(payload)
        reply = self.session.communicate(
            SMM_VARIABLE_PROTOCOL, message, message_length=message_length, strict=False
        )
        body = reply.reply
        if len(body) >= MM_VARIABLE_HEADER_SIZE:
            function_out, status = _VAR_HEADER.unpack_from(body)
        else:
            function_out, status = function, EfiStatus.SUCCESS
        return VariableCallResult(
            device_status=reply.device_status,
            function=function_out,
            status=_efi_status(status),
            payload=body[MM_VARIABLE_HEADER_SIZE:],
        )

    def _request(self, function: SmmVariableFunction, payload: bytes) -> VariableCallResult:
        message = _VAR_HEADER.pack(function, 0) + payload
        reply = self.session.communicate(SMM_VARIABLE_PROTOCOL, message)
        if reply.device_status != DeviceStatus.SUCCESS:
            raise DeviceStatusError(reply.device_status, function.name)
        body = reply.reply
        _, status = _VAR_HEADER.unpack_from(body)
        return VariableCallResult(
            reply.device_status, function, _efi_status(status), body[MM_VARIABLE_HEADER_SIZE:]
        )

    # -- functions -----------------------------------------------------------------------

    def get_payload_size(self) -> PayloadSizeResult:
        """GET_PAYLOAD_SIZE (the first request edk2 sends; MessageLength 24)."""
        result = self._request(SmmVariableFunction.GET_PAYLOAD_SIZE, bytes(8))
        (size,) = _U64.unpack_from(result.payload)
        if result.status == EfiStatus.SUCCESS:
            self._payload_size = size
        return PayloadSizeResult(result.status, size)

    @property
    def payload_size(self) -> int:
        """The payload size edk2 would use: the device's answer, capped to the buffer.

        QEMU before 2026 answers the whole buffer size (65536), more than fits; edk2 would
        then fail large requests, we cap at ``buffer_size - 24 - 16``.
        """
        if self._payload_size is None:
            self.get_payload_size()
        reported = self._payload_size if self._payload_size is not None else 0
        cap = self.session.buffer_size - MM_HEADER_SIZE - MM_VARIABLE_HEADER_SIZE
        return min(reported, cap) if reported else cap

    def get_variable(
        self, name: str, guid: UUID, data_size: int | None = None, *, attributes: int = 0
    ) -> GetVariableResult:
        """GET_VARIABLE with room for ``data_size`` bytes of data.

        With ``data_size=None`` this probes like an edk2 caller: first with DataSize 0,
        then again with the size the device asked for on EFI_BUFFER_TOO_SMALL.
        """
        if data_size is None:
            probe = self._get_variable(name, guid, 0, attributes)
            if probe.status != EfiStatus.BUFFER_TOO_SMALL:
                return probe
            data_size = probe.data_size
        return self._get_variable(name, guid, data_size, attributes)

    def _get_variable(self, name: str, guid: UUID, data_size: int, attributes: int) -> GetVariableResult:
        name_bytes = encode_ucs2(name)
        room = self.payload_size - ACCESS_VARIABLE_NAME_OFFSET
        if len(name_bytes) > room:
            raise RequestSizeError(f"variable name of {len(name_bytes)} bytes does not fit ({room} max)")
        data_size = min(data_size, room - len(name_bytes))
        payload = (
            _ACCESS.pack(guid.bytes_le, data_size, len(name_bytes), attributes)
            + name_bytes
            + bytes(data_size)
        )
        result = self._request(SmmVariableFunction.GET_VARIABLE, payload)
        _, size_out, name_size_out, attributes_out = _ACCESS.unpack_from(result.payload)
        data = b""
        if result.status == EfiStatus.SUCCESS:
            start = ACCESS_VARIABLE_NAME_OFFSET + name_size_out
            data = result.payload[start : start + size_out]
        elif result.status != EfiStatus.BUFFER_TOO_SMALL:
            size_out = 0
        return GetVariableResult(result.status, attributes_out, size_out, bytes(data))

    def get_next_variable_name(
        self, name: str = "", guid: UUID | None = None, name_size: int | None = None
    ) -> NextVariableNameResult:
        """GET_NEXT_VARIABLE_NAME after (``guid``, ``name``); an empty name starts the list.

        ``name_size`` is the caller's name buffer in bytes (what edk2 sends as NameSize).
        With ``None`` it offers 128 bytes and retries once with the size the device asks
        for on EFI_BUFFER_TOO_SMALL.
        """
        guid = guid if guid is not None else UUID(int=0)
        if name_size is None:
            first = self._get_next(name, guid, DEFAULT_NAME_BUFFER)
            if first.status != EfiStatus.BUFFER_TOO_SMALL:
                return first
            name_size = first.name_size
        return self._get_next(name, guid, name_size)

    def _get_next(self, name: str, guid: UUID, out_size: int) -> NextVariableNameResult:
        in_bytes = encode_ucs2(name)
        room = self.payload_size - NEXT_VARIABLE_NAME_OFFSET
        if len(in_bytes) > room:
            raise RequestSizeError(f"variable name of {len(in_bytes)} bytes does not fit ({room} max)")
        out_size = min(out_size, room)
        area = max(out_size, len(in_bytes))
        payload = _NEXT.pack(guid.bytes_le, out_size) + in_bytes + bytes(area - len(in_bytes))
        result = self._request(SmmVariableFunction.GET_NEXT_VARIABLE_NAME, payload)
        guid_out, size_out = _NEXT.unpack_from(result.payload)
        if result.status == EfiStatus.SUCCESS:
            raw = result.payload[NEXT_VARIABLE_NAME_OFFSET : NEXT_VARIABLE_NAME_OFFSET + size_out]
            return NextVariableNameResult(
                result.status, _ucs2_until_nul(raw), UUID(bytes_le=guid_out), size_out
            )
        if result.status == EfiStatus.BUFFER_TOO_SMALL:
            return NextVariableNameResult(result.status, name, guid, size_out)
        return NextVariableNameResult(result.status, name, guid, out_size)

    def set_variable(self, name: str, guid: UUID, attributes: int, data: bytes) -> StatusResult:
        """SET_VARIABLE; ``data`` includes any EFI_VARIABLE_AUTHENTICATION_2 header."""
        name_bytes = encode_ucs2(name)
        room = self.payload_size - ACCESS_VARIABLE_NAME_OFFSET
        if len(name_bytes) + len(data) > room:
            raise RequestSizeError(
                f"name ({len(name_bytes)} bytes) and data ({len(data)} bytes) exceed the payload ({room} max)"
            )
        payload = (
            _ACCESS.pack(guid.bytes_le, len(data), len(name_bytes), attributes) + name_bytes + bytes(data)
        )
        return StatusResult(self._request(SmmVariableFunction.SET_VARIABLE, payload).status)

    def delete_variable(self, name: str, guid: UUID, attributes: int = 0) -> StatusResult:
        """SetVariable with no data."""
        return self.set_variable(name, guid, attributes, b"")

    def query_variable_info(self, attributes: int) -> QueryVariableInfoResult:
        """QUERY_VARIABLE_INFO with edk2's 32-byte (padded) payload."""
        payload = _QUERY.pack(0, 0, 0, attributes)
        result = self._request(SmmVariableFunction.QUERY_VARIABLE_INFO, payload)
        maximum, remaining, largest, _ = _QUERY.unpack_from(result.payload)
        return QueryVariableInfoResult(result.status, maximum, remaining, largest)

    def ready_to_boot(self) -> StatusResult:
        """READY_TO_BOOT (function 5, no payload: MessageLength 16)."""
        return StatusResult(self._request(SmmVariableFunction.READY_TO_BOOT, b"").status)

    def exit_boot_service(self) -> StatusResult:
        """EXIT_BOOT_SERVICE (function 6, no payload)."""
        return StatusResult(self._request(SmmVariableFunction.EXIT_BOOT_SERVICE, b"").status)

    def lock_variable(self, name: str, guid: UUID) -> StatusResult:
        """LOCK_VARIABLE (edk2 RequestToLock): Guid, NameSize, Name."""
        name_bytes = encode_ucs2(name)
        payload = _NEXT.pack(guid.bytes_le, len(name_bytes)) + name_bytes
        return StatusResult(self._request(SmmVariableFunction.LOCK_VARIABLE, payload).status)

    def signal_event(self, event_guid: UUID) -> int:
        """A boot event as VirtMm forwards it; returns the device status (0 when handled)."""
        return self.session.signal_event(event_guid)

    def end_of_dxe(self) -> int:
        return self.signal_event(END_OF_DXE_EVENT_GROUP)

    # -- helpers -------------------------------------------------------------------------

    def iter_variable_names(self, *, limit: int = 100_000) -> Iterator[tuple[UUID, str]]:
        """(guid, name) of every visible variable, in the device's order."""
        name, guid = "", UUID(int=0)
        seen: set[tuple[UUID, str]] = set()
        for _ in range(limit):
            result = self.get_next_variable_name(name, guid)
            if result.status == EfiStatus.NOT_FOUND:
                return
            if result.status != EfiStatus.SUCCESS:
                raise GuestError(f"GetNextVariableName after {name!r} failed: {result.status.efi_name}")
            key = (result.guid, result.name)
            if key in seen:
                raise GuestError(f"GetNextVariableName loops: {result.name!r} ({result.guid}) came twice")
            seen.add(key)
            yield key
            name, guid = result.name, result.guid
        raise GuestError(f"more than {limit} variables; giving up")

    def enumerate_variables(self) -> list[tuple[UUID, str]]:
        """All (guid, name) pairs via the GetNextVariableName loop."""
        return list(self.iter_variable_names())


def _ucs2_until_nul(raw: bytes) -> str:
    even = raw[: len(raw) - len(raw) % 2]
    for pos in range(0, len(even), 2):
        if even[pos] == 0 and even[pos + 1] == 0:
            even = even[:pos]
            break
    return even.decode("utf-16-le", "surrogatepass")
