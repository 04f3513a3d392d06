"""The VMM side of UVBP/1: a :class:`~uefivars_gui.live.guest.Target` over a socket.

:class:`UvbpClient` plays a VMM that forwards the device's register window to a backend
(``uefivars serve``). It owns the guest RAM (a bytearray) and, while it waits for the
reply to one of its requests, serves the backend's DMA_READ / DMA_WRITE requests from
that RAM (the nesting rule); an access outside the RAM is answered with ERROR code 4.
So :class:`~uefivars_gui.live.guest.GuestSession` and
:class:`~uefivars_gui.live.guest.VariableClient` can drive a backend in another process::

    with UvbpClient.connect_unix("/run/vm1/uefivars.sock") as target:
        client = VariableClient(GuestSession(target))
        client.get_variable("SecureBoot", EFI_GLOBAL_VARIABLE)
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from types import TracebackType

from ..device.engine import BytearrayMemory, GuestMemoryError
from . import uvbp
from .server import DEFAULT_SPIN, Channel
from .uvbp import ErrorCode, Frame, HelloReply, MessageType, ProtocolError, UvbpError

__all__ = [
    "BackendBusyError",
    "ConnectionClosedError",
    "RemoteError",
    "UvbpClient",
]

#: Guest RAM of the client: 128 KiB at 2 MiB (edk2's 64 KiB DMA buffer fits).
DEFAULT_MEMORY_BASE = 0x00200000
DEFAULT_MEMORY_SIZE = 0x20000
_REPLY = int(uvbp.Flags.REPLY)
_ERROR_REPLY = int(uvbp.Flags.REPLY | uvbp.Flags.ERROR)
_REG_READ = int(MessageType.REG_READ)
_REG_WRITE = int(MessageType.REG_WRITE)
_DMA_READ = int(MessageType.DMA_READ)
_DMA_WRITE = int(MessageType.DMA_WRITE)
_pack_reg_read = struct.Struct("<II").pack
_pack_reg_write = struct.Struct("<IIQ").pack
_unpack_u64 = struct.Struct("<Q").unpack
_unpack_dma_read = struct.Struct("<QI").unpack
_unpack_u64_from = struct.Struct("<Q").unpack_from
_MASK64 = (1 << 64) - 1


class RemoteError(UvbpError):
    """The backend answered a request with an ERROR reply."""

    def __init__(self, code: int, message: str, frame: Frame) -> None:
        try:
            name = ErrorCode(code).name.lower().replace("_", " ")
        except ValueError:
            name = "unknown"
        super().__init__(f"backend error {code} ({name}): {message}")
        self.code = code
        self.message = message
        self.frame = frame


class BackendBusyError(RemoteError):
    """Another VMM session is active (ERROR code 3)."""


class ConnectionClosedError(UvbpError):
    """The backend closed the connection (``goodbye`` says whether it sent GOODBYE)."""

    def __init__(self, message: str, *, goodbye: bool = False) -> None:
        super().__init__(message)
        self.goodbye = goodbye


class UvbpClient:
    """A VMM: register accesses become UVBP requests, backend DMA hits ``memory``.

    ``serve_dma=False`` announces a VMM without DMA (HELLO vmm_features bit 0 clear):
    the backend then answers DMA commands with CMD_STS 0x11. ``timeout`` bounds every
    wait for a reply (seconds). ``hello`` sends HELLO at once (the reply is ``self.hello_reply``).
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        memory: BytearrayMemory | None = None,
        memory_base: int = DEFAULT_MEMORY_BASE,
        memory_size: int = DEFAULT_MEMORY_SIZE,
        serve_dma: bool = True,
        timeout: float | None = 10.0,
        spin: int = DEFAULT_SPIN,
        hello: bool = True,
    ) -> None:
        self.channel = Channel(sock, spin=spin)
        self.memory = memory if memory is not None else BytearrayMemory(memory_size, memory_base)
        self.dma_buffer_addr = self.memory.base
        self.serve_dma = serve_dma
        self.timeout = timeout
        self.hello_reply: HelloReply | None = None
        self.closed = False
        self.goodbye_received = False
        self.dma_reads = 0
        self.dma_writes = 0
        self.dma_refused = 0
        self._next_id = 1
        if hello:
            try:
                self.hello()
            except BaseException:
                self.close()
                raise

    # -- connecting -----------------------------------------------------------------------
    @classmethod
    def connect_unix(cls, path: str | os.PathLike[str], **kwargs: object) -> UvbpClient:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(10.0)
            sock.connect(os.fspath(path))
        except BaseException:
            sock.close()
            raise
        return cls(sock, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def connect_tcp(cls, host: str, port: int, **kwargs: object) -> UvbpClient:
        sock = socket.create_connection((host, port), timeout=10.0)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, **kwargs)  # type: ignore[arg-type]

    def __enter__(self) -> UvbpClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.goodbye()
        else:
            self.close()

    # -- requests -------------------------------------------------------------------------
    def hello(self, version: int = uvbp.VERSION, vmm_features: int | None = None) -> HelloReply:
        features = (uvbp.VMM_FEATURE_DMA if self.serve_dma else 0) if vmm_features is None else vmm_features
        frame = self.request(MessageType.HELLO, uvbp.pack_hello(version, features))
        self.hello_reply = uvbp.parse_hello_reply(frame)
        return self.hello_reply

    def read(self, offset: int, width: int) -> int:
        """REG_READ (a Target method)."""
        frame = self.request(_REG_READ, _pack_reg_read(offset, width))
        payload = frame[3]
        if len(payload) == 8:
            value: int = _unpack_u64(payload)[0]
            return value
        return uvbp.parse_u64(frame)  # raises: a reply of the wrong size

    def write(self, offset: int, width: int, value: int) -> None:
        """REG_WRITE (a Target method); returns when the backend finished the access."""
        self.request(_REG_WRITE, _pack_reg_write(offset, width, value & _MASK64))

    def reset(self) -> None:
        """RESET: the device's hard reset (a new boot)."""
        self.request(MessageType.RESET)

    def mem_read(self, addr: int, length: int) -> bytes:
        return self.memory.read(addr, length)

    def mem_write(self, addr: int, data: bytes) -> None:
        self.memory.write(addr, bytes(data))

    def request(self, msg_type: int, payload: bytes = b"") -> Frame:
        """Send one request and return its reply, serving backend DMA meanwhile.

        Raises :class:`RemoteError` (or :class:`BackendBusyError`) on an ERROR reply,
        :class:`ConnectionClosedError` when the backend goes away, TimeoutError when
        no reply arrives within ``timeout``.
        """
        if self.closed:
            raise ConnectionClosedError("the connection is closed")
        msg_id = self._next_id
        self._next_id = (msg_id + 1) & 0xFFFFFFFF or 1
        try:
            self.channel.send_frame(msg_type, msg_id, payload)
        except OSError as exc:
            self.close()
            raise ConnectionClosedError(f"cannot send to the backend: {exc}") from None
        return self._await(msg_type, msg_id)

    def _await(self, msg_type: int, msg_id: int) -> Frame:
        channel = self.channel
        next_frame = channel.next_frame
        deadline: float | None = None
        while True:
            try:
                frame = next_frame()
            except ProtocolError as exc:
                self.close()
                raise UvbpError(f"bad message from the backend: {exc}") from None
            if frame is None:
                if deadline is None and self.timeout is not None:
                    deadline = time.monotonic() + self.timeout
                remaining = None if deadline is None else deadline - time.monotonic()
                state = channel.fill(remaining)
                if state == "eof":
                    self.close()
                    raise ConnectionClosedError("the backend closed the connection")
                if state == "timeout":
                    raise TimeoutError(f"no reply from the backend within {self.timeout} s")
                continue
            frame_type, flags, frame_id, _ = frame
            if flags & _REPLY:
                if frame_type == msg_type and frame_id == msg_id:
                    if flags == _ERROR_REPLY:
                        code, text = uvbp.parse_error(frame)
                        error_class = BackendBusyError if code == ErrorCode.BUSY else RemoteError
                        raise error_class(code, text, frame)
                    return frame
                self.close()
                raise UvbpError(f"unexpected reply from the backend: {frame.describe()}")
            self._serve(frame)

    def _serve(self, frame: Frame) -> None:
        """Answer one backend request (DMA, or GOODBYE)."""
        msg_type, _, msg_id, payload = frame
        if self.serve_dma:  # the usual DMA requests first
            if msg_type == _DMA_READ and len(payload) == 12:
                address, length = _unpack_dma_read(payload)
                self.dma_reads += 1
                try:
                    data = self.memory.read(address, length)
                except GuestMemoryError as exc:
                    self.dma_refused += 1
                    self.channel.send_error(msg_type, msg_id, ErrorCode.DMA_FAILED, str(exc))
                    return
                self.channel.send_frame(_DMA_READ, msg_id, data, _REPLY)
                return
            if msg_type == _DMA_WRITE and len(payload) >= 8:
                self.dma_writes += 1
                try:
                    self.memory.write(_unpack_u64_from(payload)[0], payload[8:])
                except GuestMemoryError as exc:
                    self.dma_refused += 1
                    self.channel.send_error(msg_type, msg_id, ErrorCode.DMA_FAILED, str(exc))
                    return
                self.channel.send_frame(_DMA_WRITE, msg_id, b"", _REPLY)
                return
        if frame.type == MessageType.GOODBYE:
            self.goodbye_received = True
            self.close()
            raise ConnectionClosedError("the backend said GOODBYE", goodbye=True)
        try:
            if frame.type == MessageType.DMA_READ:
                address, length = uvbp.parse_dma_read(frame)
                self.dma_reads += 1
                if not self.serve_dma:
                    raise GuestMemoryError("this VMM serves no DMA")
                data = self.memory.read(address, length)
                self.channel.send_frame(frame.type, frame.id, data, _REPLY)
            elif frame.type == MessageType.DMA_WRITE:
                address, data = uvbp.parse_dma_write(frame)
                self.dma_writes += 1
                if not self.serve_dma:
                    raise GuestMemoryError("this VMM serves no DMA")
                self.memory.write(address, data)
                self.channel.send_frame(frame.type, frame.id, b"", _REPLY)
            else:
                self.channel.send_error(
                    frame.type, frame.id, ErrorCode.BAD_MESSAGE, f"a VMM does not serve {frame.describe()}"
                )
        except GuestMemoryError as exc:
            self.dma_refused += 1
            self.channel.send_error(frame.type, frame.id, ErrorCode.DMA_FAILED, str(exc))
        except ProtocolError as exc:
            self.channel.send_error(frame.type, frame.id, ErrorCode.BAD_MESSAGE, exc.message)

    # -- ending ---------------------------------------------------------------------------
    def wait_goodbye(self, timeout: float = 10.0) -> bool:
        """Wait for the backend's GOODBYE (or end of stream) while idle; True if GOODBYE came."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            frame = self.channel.next_frame()
            if frame is None:
                state = self.channel.fill(max(0.0, deadline - time.monotonic()))
                if state == "eof":
                    self.close()
                elif state == "timeout":
                    break
                continue
            if frame.type == MessageType.GOODBYE and not frame.flags:
                self.goodbye_received = True
                self.close()
        return self.goodbye_received

    def goodbye(self) -> None:
        """Send GOODBYE and close (no reply is expected)."""
        if not self.closed:
            with contextlib.suppress(OSError):
                self.channel.send_frame(MessageType.GOODBYE, self._next_id)
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.channel.close()
