"""MM communication: the v1 header and dispatch by HeaderGuid (qemu-uefi-vars.md §2.1).

``EFI_MM_COMMUNICATE_HEADER`` is ``{HeaderGuid[16], MessageLength u64}`` followed by the
message. Only the v1 layout exists for this device. Dispatch:

* EfiSmmVariableProtocol -> the variable protocol,
* VarCheckPolicyLibMmiHandler -> the policy protocol,
* EndOfDxe / ReadyToBoot / ExitBootServices event GUIDs -> set the boot-phase flag,
* anything else -> device status ERR_NOT_SUPPORTED (the buffer is still written back).

MessageLength is never changed; the caller writes back exactly ``24 + MessageLength``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from ..core.guid import SMM_VARIABLE_PROTOCOL, VAR_CHECK_POLICY_MMI_HANDLER
from .events import GUIDED_EVENTS, BootState
from .log import BootEvent, LogRecord
from .policy import PolicyEngine
from .status import MM_HEADER_SIZE, DeviceStatus
from .variables import VariableService

_HEADER = struct.Struct("<16sQ")
_SMM_VARIABLE = SMM_VARIABLE_PROTOCOL.bytes_le
_VAR_CHECK_POLICY = VAR_CHECK_POLICY_MMI_HANDLER.bytes_le
_EVENTS = {guid.bytes_le: guid for guid in GUIDED_EVENTS}


@dataclass(frozen=True, slots=True)
class MmHeader:
    guid: UUID
    message_length: int

    @classmethod
    def parse(cls, header: bytes) -> MmHeader:
        guid_raw, length = _HEADER.unpack_from(header, 0)
        return cls(UUID(bytes_le=bytes(guid_raw)), length)

    def pack(self) -> bytes:
        return _HEADER.pack(self.guid.bytes_le, self.message_length)


def build_mm_buffer(guid: UUID, message: bytes) -> bytes:
    """A request buffer: header with MessageLength = len(message), then the message."""
    return _HEADER.pack(guid.bytes_le, len(message)) + bytes(message)


class MmDispatcher:
    """Routes one request (already copied into ``buf``) to its handler."""

    def __init__(
        self,
        variables: VariableService,
        policies: PolicyEngine,
        boot: BootState,
        emit: Callable[[LogRecord], None],
    ) -> None:
        self.variables = variables
        self.policies = policies
        self.boot = boot
        self.emit = emit

    def dispatch(self, buf: bytearray, buf_size: int) -> tuple[DeviceStatus, str | None]:
        """Handle ``buf`` (exactly 24 + MessageLength bytes) in place; device status and problem."""
        guid_raw = bytes(buf[0:16])
        length = int.from_bytes(buf[16:MM_HEADER_SIZE], "little")
        if guid_raw == _SMM_VARIABLE:
            return self.variables.handle(buf, length, buf_size)
        if guid_raw == _VAR_CHECK_POLICY:
            return self.policies.handle(buf, length)
        event = _EVENTS.get(guid_raw)
        if event is not None:
            name = self.boot.handle_guided_event(event)
            if name is not None:
                self.emit(BootEvent(name, "guid"))
            return DeviceStatus.SUCCESS, None
        return DeviceStatus.ERR_NOT_SUPPORTED, f"no handler for header GUID {UUID(bytes_le=guid_raw)}"
