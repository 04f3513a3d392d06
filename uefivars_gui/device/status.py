"""Numbers of the uefi-vars device and the protocols it serves.

EFI_STATUS values (64-bit), the device's 16-bit status and command codes, the SMM
variable protocol's function codes and the VarCheckPolicy commands, with the trace names
QEMU uses for them (qemu-uefi-vars.md §1.4, §2.3, §2.4, §6).
"""

from __future__ import annotations

from enum import IntEnum

#: Value of the MAGIC register.
MAGIC_VALUE = 0x0EF1
#: Size of the register window.
REGS_SIZE = 0x20
#: The largest communication buffer the guest can program (BUFFER_SIZE is clamped to it).
MAX_BUFFER_SIZE = 64 * 1024
#: sizeof(EFI_MM_COMMUNICATE_HEADER) without Data: HeaderGuid + MessageLength.
MM_HEADER_SIZE = 24
#: sizeof(SMM_VARIABLE_COMMUNICATE_HEADER) without Data: Function + ReturnStatus.
MM_VARIABLE_HEADER_SIZE = 16
#: sizeof(VAR_CHECK_POLICY_COMM_HEADER).
MM_CHECK_POLICY_HEADER_SIZE = 20
#: Default storage quota (the ``size`` property).
DEFAULT_STORAGE_SIZE = 256 * 1024
#: Base addresses of the register window, used in logs only.
X64_BASE_ADDRESS = 0xFEF10000
SYSBUS_BASE_ADDRESS = 0x0C000000

_ERROR_BIT = 1 << 63


class EfiStatus(IntEnum):
    """EFI_STATUS on a 64-bit guest (``ENCODE_ERROR(x) = MAX_BIT | x``)."""

    SUCCESS = 0
    LOAD_ERROR = _ERROR_BIT | 1
    INVALID_PARAMETER = _ERROR_BIT | 2
    UNSUPPORTED = _ERROR_BIT | 3
    BAD_BUFFER_SIZE = _ERROR_BIT | 4
    BUFFER_TOO_SMALL = _ERROR_BIT | 5
    NOT_READY = _ERROR_BIT | 6
    DEVICE_ERROR = _ERROR_BIT | 7
    WRITE_PROTECTED = _ERROR_BIT | 8
    OUT_OF_RESOURCES = _ERROR_BIT | 9
    VOLUME_CORRUPTED = _ERROR_BIT | 10
    NOT_FOUND = _ERROR_BIT | 14
    ACCESS_DENIED = _ERROR_BIT | 15
    TIMEOUT = _ERROR_BIT | 18
    ALREADY_STARTED = _ERROR_BIT | 20
    ABORTED = _ERROR_BIT | 21
    SECURITY_VIOLATION = _ERROR_BIT | 26

    @property
    def efi_name(self) -> str:
        return f"EFI_{self.name}"


def efi_status_name(value: int) -> str:
    """``EFI_BUFFER_TOO_SMALL`` for a known value, otherwise hex."""
    try:
        return EfiStatus(value).efi_name
    except ValueError:
        return f"0x{value:016x}"


#: The words QEMU's ``uefi_trace_status`` prints.
TRACE_STATUS_NAMES: dict[EfiStatus, str] = {
    EfiStatus.SUCCESS: "success",
    EfiStatus.INVALID_PARAMETER: "invalid parameter",
    EfiStatus.UNSUPPORTED: "unsupported",
    EfiStatus.BAD_BUFFER_SIZE: "bad buffer size",
    EfiStatus.BUFFER_TOO_SMALL: "buffer too small",
    EfiStatus.WRITE_PROTECTED: "write protected",
    EfiStatus.OUT_OF_RESOURCES: "out of resources",
    EfiStatus.NOT_FOUND: "not found",
    EfiStatus.ACCESS_DENIED: "access denied",
    EfiStatus.ALREADY_STARTED: "already started",
    EfiStatus.SECURITY_VIOLATION: "security violation",
}


class DeviceStatus(IntEnum):
    """The 16-bit CMD_STS value after a command (``UEFI_VARS_STS_*``)."""

    SUCCESS = 0x00
    BUSY = 0x01
    ERR_UNKNOWN = 0x10
    ERR_NOT_SUPPORTED = 0x11
    ERR_BAD_BUFFER_SIZE = 0x12


def device_status_name(value: int) -> str:
    try:
        return DeviceStatus(value).name
    except ValueError:
        return f"0x{value:02x}"


class Command(IntEnum):
    """Values written to CMD_STS (``UEFI_VARS_CMD_*``)."""

    RESET = 0x01
    DMA_MM = 0x02
    PIO_MM = 0x03
    PIO_ZERO_OFFSET = 0x04


class Register(IntEnum):
    """Register offsets (``UEFI_VARS_REG_*``)."""

    MAGIC = 0x00
    CMD_STS = 0x02
    BUFFER_SIZE = 0x04
    DMA_BUFFER_ADDR_LO = 0x08
    DMA_BUFFER_ADDR_HI = 0x0C
    PIO_BUFFER_TRANSFER = 0x10
    PIO_BUFFER_CRC32C = 0x18
    FLAGS = 0x1C


#: FLAGS bit 0.
FLAG_USE_PIO = 0x01


class SmmVariableFunction(IntEnum):
    """SMM_VARIABLE_COMMUNICATE_HEADER.Function (``SMM_VARIABLE_FUNCTION_*``)."""

    GET_VARIABLE = 1
    GET_NEXT_VARIABLE_NAME = 2
    SET_VARIABLE = 3
    QUERY_VARIABLE_INFO = 4
    READY_TO_BOOT = 5
    EXIT_BOOT_SERVICE = 6
    GET_STATISTICS = 7
    LOCK_VARIABLE = 8
    VAR_CHECK_VARIABLE_PROPERTY_SET = 9
    VAR_CHECK_VARIABLE_PROPERTY_GET = 10
    GET_PAYLOAD_SIZE = 11
    INIT_RUNTIME_VARIABLE_CACHE_CONTEXT = 12
    SYNC_RUNTIME_CACHE = 13
    GET_RUNTIME_CACHE_INFO = 14


#: QEMU's ``fnames[]`` (trace ``uefi_vars_proto_cmd``), typo included.
FUNCTION_TRACE_NAMES: tuple[str, ...] = (
    "zero",
    "get-variable",
    "get-next-variable-name",
    "set-variable",
    "query-variable-info",
    "ready-to-boot",
    "exit-boot-service",
    "get-statistics",
    "lock-variable",
    "var-check-prop-set",
    "var-check-prop-get",
    "get-payload-size",
    "init-runtime-cache-contect",
    "sync-runtime-cache",
    "get-runtime-cache-info",
)


def function_name(value: int) -> str:
    try:
        return SmmVariableFunction(value).name
    except ValueError:
        return f"UNKNOWN({value})"


class VarCheckPolicyCommand(IntEnum):
    """VAR_CHECK_POLICY_COMM_HEADER.Command (``VAR_CHECK_POLICY_COMMAND_*``)."""

    DISABLE = 1
    IS_ENABLED = 2
    REGISTER = 3
    DUMP = 4
    LOCK = 5
    GET_INFO = 6
    GET_LOCK_VAR_STATE_INFO = 7


def policy_command_name(value: int) -> str:
    try:
        return VarCheckPolicyCommand(value).name
    except ValueError:
        return f"UNKNOWN({value})"


class PolicyLockType(IntEnum):
    """VARIABLE_POLICY_ENTRY.LockPolicyType (``VARIABLE_POLICY_TYPE_*``)."""

    NO_LOCK = 0
    LOCK_NOW = 1
    LOCK_ON_CREATE = 2
    LOCK_ON_VAR_STATE = 3


class PcapRecordType(IntEnum):
    """The u32 that starts each LINKTYPE_EDK2_MM (302) pcap record."""

    RESET = 1
    REQUEST = 2
    REPLY = 3


#: pcap link type of QEMU's ``pcapfile``.
LINKTYPE_EDK2_MM = 302
