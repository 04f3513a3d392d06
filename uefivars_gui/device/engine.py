"""The device as one sans-I/O object: :class:`UefiVarsDevice`.

Input: register accesses (``read``/``write``), guest memory through the
:class:`GuestMemory` callbacks (DMA), ``hard_reset()``, or whole MM buffers
(``handle_mm``). Output: register values, guest-memory writes, and a stream of typed log
records (``drain_log()`` or listeners) — including :class:`~.log.PersistNeeded` whenever
QEMU would rewrite its JSON file and :class:`~.log.PcapRecord` for a pcap writer.

Nothing here opens files or sockets, starts threads or reads clocks. A guest that breaks
the rules gets a device status or an EFI status and a log record; no exception leaves the
engine because of guest input (a failing :class:`GuestMemory` ends the command with
ERR_UNKNOWN, as the backend protocol specifies).

QEMU resets the device when the machine starts; call :meth:`UefiVarsDevice.hard_reset`
to do the same (the constructor does not touch the store).
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..core.store import VarStore
from ..errors import UefiVarsError
from .auth import Pkcs7Verifier
from .config import DeviceConfig
from .events import BootState
from .log import (
    Direction,
    DmaError,
    HardReset,
    InternalError,
    LogRecord,
    MalformedRequest,
    MmReply,
    MmRequest,
    PcapRecord,
    RegisterAccess,
    Transfer,
    TransferMode,
)
from .mm import MmDispatcher
from .policy import PolicyEngine
from .registers import RegisterFile, register_name
from .status import (
    MAX_BUFFER_SIZE,
    MM_HEADER_SIZE,
    Command,
    DeviceStatus,
    PcapRecordType,
    Register,
    device_status_name,
)
from .variables import VariableService

_MASK64 = (1 << 64) - 1
#: Register accesses kept for grouping into one Transfer (a 64 KiB PIO upload in
#: 2-byte units is 32768 accesses).
_MAX_PENDING_ACCESSES = 40_000


class GuestMemory(Protocol):
    """Guest physical memory as the device's DMA sees it. May raise on bad addresses."""

    def read(self, addr: int, length: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...


class GuestMemoryError(UefiVarsError):
    """An access outside :class:`BytearrayMemory`."""


class BytearrayMemory:
    """A simple guest RAM: ``size`` bytes starting at physical address ``base``."""

    def __init__(self, size: int, base: int = 0) -> None:
        self.base = base
        self.data = bytearray(size)

    def _check(self, addr: int, length: int) -> int:
        off = addr - self.base
        if length < 0 or off < 0 or off + length > len(self.data):
            raise GuestMemoryError(
                f"guest memory access 0x{addr:x}+{length} outside "
                f"0x{self.base:x}..0x{self.base + len(self.data):x}"
            )
        return off

    def read(self, addr: int, length: int) -> bytes:
        off = self._check(addr, length)
        return bytes(self.data[off : off + length])

    def write(self, addr: int, data: bytes) -> None:
        off = self._check(addr, len(data))
        self.data[off : off + len(data)] = data


@dataclass(frozen=True, slots=True)
class MmOutcome:
    """Result of an MM command: device status, the bytes written back (None: nothing)."""

    device_status: DeviceStatus
    reply: bytes | None
    problem: str | None = None


Listener = Callable[[LogRecord], None]


class _DmaFailed(Exception):
    pass


class UefiVarsDevice:
    """QEMU's uefi-vars device (newest behaviour, with the project's intended differences)."""

    def __init__(
        self,
        config: DeviceConfig,
        store: VarStore,
        memory: GuestMemory | None,
        verifier: Pkcs7Verifier | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.memory = memory
        self._log: deque[LogRecord] = deque(maxlen=config.log_limit)
        self.listeners: list[Listener] = []
        self.boot = BootState()
        self.policies = PolicyEngine()
        self.variables = VariableService(config, store, self.boot, self.policies, verifier, self._emit)
        self.dispatcher = MmDispatcher(self.variables, self.policies, self.boot, self._emit)
        self.registers = RegisterFile(config.use_pio, self._run_command)
        self._transfer_id = 1
        self._pending: deque[RegisterAccess] = deque(maxlen=_MAX_PENDING_ACCESSES)
        self._after_command = False
        self._command_access: RegisterAccess | None = None
        self._last_transfer: (
            tuple[TransferMode, int | None, MmRequest | None, MmReply | None, int, str | None] | None
        ) = None
        self.log_dropped = 0

    # -- public state -----------------------------------------------------------------
    @property
    def verifier(self) -> Pkcs7Verifier | None:
        return self.variables.verifier

    @verifier.setter
    def verifier(self, value: Pkcs7Verifier | None) -> None:
        self.variables.verifier = value

    @property
    def used_storage(self) -> int:
        return self.variables.used_storage

    @property
    def remaining_storage(self) -> int:
        return self.variables.remaining_storage

    @property
    def end_of_dxe(self) -> bool:
        return self.boot.end_of_dxe

    @property
    def ready_to_boot(self) -> bool:
        return self.boot.ready_to_boot

    @property
    def exit_boot_service(self) -> bool:
        return self.boot.exit_boot_service

    @property
    def policy_locked(self) -> bool:
        return self.policies.locked

    @property
    def setup_mode(self) -> bool:
        return self.variables.auth.setup_mode_active()

    @property
    def custom_mode(self) -> bool:
        return self.variables.auth.custom_mode_active()

    def store_changed(self) -> None:
        """Call after changing ``store`` from outside the engine (recounts storage)."""
        self.variables.recompute_storage()

    # -- log --------------------------------------------------------------------------
    def drain_log(self) -> list[LogRecord]:
        """Every record since the last drain (the oldest are dropped beyond ``log_limit``)."""
        records = list(self._log)
        self._log.clear()
        return records

    def _emit(self, record: LogRecord) -> None:
        if len(self._log) == self._log.maxlen:
            self.log_dropped += 1
        self._log.append(record)
        for listener in self.listeners:
            try:
                listener(record)
            except Exception as exc:
                if self.config.strict:
                    raise
                self._log.append(InternalError("log listener", repr(exc)))

    # -- reset ------------------------------------------------------------------------
    def hard_reset(self) -> None:
        """The device reset handler (machine start or reset), qemu-uefi-vars.md §1.6."""
        try:
            self.registers.soft_reset()
            self.boot.reset()
            self.policies.clear()
            self.variables.clear_volatile()
            self.variables.auth_init("reset")
            self._emit(HardReset())
            if self.config.emit_pcap:
                self._emit(PcapRecord(PcapRecordType.RESET, b""))
        except Exception as exc:
            self._internal_error("hard_reset", exc)

    # -- register interface -----------------------------------------------------------
    def read(self, offset: int, width: int) -> int:
        """A guest read of ``width`` (1, 2, 4, 8) bytes at ``offset`` in the window."""
        try:
            self._maybe_new_transfer(offset, Direction.READ, 0)
            result = self.registers.read(offset, width)
            self._record_access(offset, width, result.value, Direction.READ, result.note)
            return result.value
        except Exception as exc:
            self._internal_error("read", exc)
            return 0

    def write(self, offset: int, width: int, value: int) -> None:
        """A guest write of ``width`` (1, 2, 4, 8) bytes at ``offset`` in the window."""
        try:
            self._maybe_new_transfer(offset, Direction.WRITE, value)
            self._command_access = None
            self._last_transfer = None
            result = self.registers.write(offset, width, value)
            access = self._record_access(
                offset, width, result.value, Direction.WRITE, result.note, pending=self._last_transfer is None
            )
            if self._last_transfer is not None:
                self._finish_transfer(access)
        except Exception as exc:
            self._internal_error("write", exc)

    def _maybe_new_transfer(self, offset: int, direction: Direction, value: int) -> None:
        if not self._after_command or direction is Direction.READ:
            return
        starts = offset in (
            Register.PIO_BUFFER_TRANSFER,
            Register.BUFFER_SIZE,
            Register.DMA_BUFFER_ADDR_LO,
            Register.DMA_BUFFER_ADDR_HI,
        )
        if offset == Register.CMD_STS and value & 0xFFFF in (Command.RESET, Command.DMA_MM, Command.PIO_MM):
            starts = True
        if starts:
            self._transfer_id += 1
            self._pending.clear()
            self._after_command = False

    def _record_access(
        self,
        offset: int,
        width: int,
        value: int,
        direction: Direction,
        note: str | None,
        pending: bool = True,
    ) -> RegisterAccess | None:
        if not self.config.log_register_accesses:
            return None
        if self._command_access is not None and direction is Direction.WRITE:
            note = self._command_access.note
        access = RegisterAccess(
            offset,
            width,
            value,
            direction,
            self.config.base_address + offset,
            self._transfer_id,
            register_name(offset),
            note,
        )
        self._emit(access)
        if pending and not self._after_command:
            self._pending.append(access)
        return access

    # -- commands ---------------------------------------------------------------------
    def _run_command(self, cmd: int) -> int:
        if cmd == Command.RESET:
            self.registers.soft_reset()
            status = DeviceStatus.SUCCESS
        elif cmd == Command.DMA_MM:
            status = self._command_mm(TransferMode.DMA)
        elif cmd == Command.PIO_MM:
            status = self._command_mm(TransferMode.PIO)
        elif cmd == Command.PIO_ZERO_OFFSET:
            self.registers.pio_offset = 0
            status = DeviceStatus.SUCCESS
        else:
            status = DeviceStatus.ERR_NOT_SUPPORTED
        name = Command(cmd).name if cmd in Command._value2member_map_ else f"unknown command 0x{cmd:x}"
        self._command_access = RegisterAccess(
            0, 0, 0, Direction.WRITE, 0, 0, None, f"{name} -> {device_status_name(status)}"
        )
        return int(status)

    def _command_mm(self, mode: TransferMode) -> DeviceStatus:
        regs = self.registers
        address = regs.dma_address if mode is TransferMode.DMA else None
        if mode is TransferMode.DMA and self.memory is None:
            return self._end_transfer(
                mode,
                address,
                None,
                None,
                DeviceStatus.ERR_NOT_SUPPORTED,
                "no guest memory: DMA is not served",
            )
        if not regs.has_buffer or regs.buf_size < MM_HEADER_SIZE:
            return self._end_transfer(
                mode,
                address,
                None,
                None,
                DeviceStatus.ERR_BAD_BUFFER_SIZE,
                "no buffer, or BUFFER_SIZE below 24",
            )
        try:
            if mode is TransferMode.DMA:
                assert address is not None
                header = self._dma_read(address, MM_HEADER_SIZE)
            else:
                header = bytes(regs.pio_buffer[:MM_HEADER_SIZE])
            length = int.from_bytes(header[16:24], "little")
            if MM_HEADER_SIZE + length > regs.buf_size:
                return self._end_transfer(
                    mode,
                    address,
                    None,
                    None,
                    DeviceStatus.ERR_BAD_BUFFER_SIZE,
                    f"MessageLength {length} exceeds BUFFER_SIZE {regs.buf_size} - 24",
                    header,
                )
            if mode is TransferMode.DMA:
                assert address is not None
                message = self._dma_read((address + MM_HEADER_SIZE) & _MASK64, length)
            else:
                message = bytes(regs.pio_buffer[MM_HEADER_SIZE : MM_HEADER_SIZE + length])
        except _DmaFailed:
            return self._end_transfer(
                mode, address, None, None, DeviceStatus.ERR_UNKNOWN, "guest memory read failed"
            )
        outcome = self._process(header + message, regs.buf_size, mode, address)
        if outcome.reply is not None:
            if mode is TransferMode.DMA:
                assert address is not None and self.memory is not None
                try:
                    self.memory.write(address, outcome.reply)
                except Exception as exc:
                    self._emit(
                        DmaError(self._transfer_id, address, len(outcome.reply), Direction.WRITE, repr(exc))
                    )
                    self._last_transfer = (
                        mode,
                        address,
                        self._last_request,
                        self._last_reply,
                        int(DeviceStatus.ERR_UNKNOWN),
                        "guest memory write failed",
                    )
                    return DeviceStatus.ERR_UNKNOWN
            else:
                regs.pio_buffer[: len(outcome.reply)] = outcome.reply
        return outcome.device_status

    def _dma_read(self, address: int, length: int) -> bytes:
        assert self.memory is not None
        try:
            data = bytes(self.memory.read(address, length))
        except Exception as exc:
            self._emit(DmaError(self._transfer_id, address, length, Direction.READ, repr(exc)))
            raise _DmaFailed from exc
        if len(data) != length:
            self._emit(
                DmaError(
                    self._transfer_id,
                    address,
                    length,
                    Direction.READ,
                    f"guest memory returned {len(data)} bytes",
                )
            )
            raise _DmaFailed
        return data

    _last_request: MmRequest | None = None
    _last_reply: MmReply | None = None

    def _process(self, request: bytes, buf_size: int, mode: TransferMode, address: int | None) -> MmOutcome:
        """Dispatch one complete request (24 + MessageLength bytes); the write-back bytes."""
        req = MmRequest(self._transfer_id, mode, address, request)
        self._emit(req)
        if self.config.emit_pcap:
            self._emit(PcapRecord(PcapRecordType.REQUEST, request))
        buf = bytearray(request)
        try:
            status, problem = self.dispatcher.dispatch(buf, buf_size)
        except Exception as exc:
            self._internal_error("dispatch", exc)
            status, problem = DeviceStatus.ERR_UNKNOWN, f"internal error: {exc!r}"
            buf = bytearray(request)
        if len(buf) != len(request):  # a handler must never resize the buffer
            self._internal_error("dispatch", RuntimeError("reply size changed"))
            buf = bytearray(request)
        reply = bytes(buf)
        if self.config.emit_pcap:
            self._emit(PcapRecord(PcapRecordType.REPLY, reply))
        rep = MmReply(self._transfer_id, mode, reply, request, int(status), problem)
        self._emit(rep)
        self._last_request, self._last_reply = req, rep
        self._last_transfer = (mode, address, req, rep, int(status), problem)
        return MmOutcome(status, reply, problem)

    def _end_transfer(
        self,
        mode: TransferMode,
        address: int | None,
        req: MmRequest | None,
        rep: MmReply | None,
        status: DeviceStatus,
        problem: str,
        raw: bytes = b"",
    ) -> DeviceStatus:
        self._emit(MalformedRequest(self._transfer_id, mode, int(status), problem, raw))
        self._last_transfer = (mode, address, req, rep, int(status), problem)
        return status

    def _finish_transfer(self, command_access: RegisterAccess | None) -> None:
        assert self._last_transfer is not None
        mode, address, req, rep, status, problem = self._last_transfer
        accesses = tuple(self._pending)
        if command_access is not None:
            accesses = (*accesses, command_access)
        self._emit(Transfer(self._transfer_id, mode, address, accesses, req, rep, status, problem))
        self._pending.clear()
        self._after_command = True
        self._last_transfer = None

    # -- direct use -------------------------------------------------------------------
    def process_mm(self, buffer: bytes, buf_size: int = MAX_BUFFER_SIZE) -> MmOutcome:
        """Run one request given as bytes, as if the guest had programmed ``buf_size``
        and issued DMA_MM on a buffer holding ``buffer``."""
        try:
            self._transfer_id += 1
            self._pending.clear()
            self._after_command = True
            mode = TransferMode.DIRECT
            buf_size = max(0, min(int(buf_size), MAX_BUFFER_SIZE))
            if buf_size < MM_HEADER_SIZE:
                self._end_transfer(
                    mode, None, None, None, DeviceStatus.ERR_BAD_BUFFER_SIZE, "buffer size below 24"
                )
                self._finish_transfer(None)
                return MmOutcome(DeviceStatus.ERR_BAD_BUFFER_SIZE, None, "buffer size below 24")
            if len(buffer) < MM_HEADER_SIZE:
                self._end_transfer(
                    mode,
                    None,
                    None,
                    None,
                    DeviceStatus.ERR_UNKNOWN,
                    "buffer shorter than the header",
                    bytes(buffer),
                )
                self._finish_transfer(None)
                return MmOutcome(DeviceStatus.ERR_UNKNOWN, None, "buffer shorter than the header")
            length = int.from_bytes(buffer[16:24], "little")
            if MM_HEADER_SIZE + length > buf_size:
                problem = f"MessageLength {length} exceeds the buffer size {buf_size} - 24"
                self._end_transfer(
                    mode,
                    None,
                    None,
                    None,
                    DeviceStatus.ERR_BAD_BUFFER_SIZE,
                    problem,
                    bytes(buffer[:MM_HEADER_SIZE]),
                )
                self._finish_transfer(None)
                return MmOutcome(DeviceStatus.ERR_BAD_BUFFER_SIZE, None, problem)
            if MM_HEADER_SIZE + length > len(buffer):
                problem = f"MessageLength {length} exceeds the {len(buffer)} bytes given"
                self._end_transfer(
                    mode, None, None, None, DeviceStatus.ERR_UNKNOWN, problem, bytes(buffer[:MM_HEADER_SIZE])
                )
                self._finish_transfer(None)
                return MmOutcome(DeviceStatus.ERR_UNKNOWN, None, problem)
            outcome = self._process(bytes(buffer[: MM_HEADER_SIZE + length]), buf_size, mode, None)
            self._finish_transfer(None)
            return outcome
        except Exception as exc:
            self._internal_error("process_mm", exc)
            return MmOutcome(DeviceStatus.ERR_UNKNOWN, None, f"internal error: {exc!r}")

    def handle_mm(self, buffer: bytes) -> bytes:
        """``buffer`` after the device processed it: its first ``24 + MessageLength``
        bytes replaced by the reply (unchanged when the device refused the request)."""
        outcome = self.process_mm(buffer)
        if outcome.reply is None:
            return bytes(buffer)
        return outcome.reply + bytes(buffer[len(outcome.reply) :])

    # -- errors -----------------------------------------------------------------------
    def _internal_error(self, where: str, exc: BaseException) -> None:
        if self.config.strict:
            raise exc
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self._log.append(InternalError(where, text))
