"""UVBP/1 framing: the wire format of the uefivars backend protocol (backend-protocol.md).

Pure data: message types, flags, error codes, header and payload packing, and an
incremental :class:`FrameDecoder` that turns received bytes into :class:`Frame` values.
No sockets here; :mod:`.server` (the backend) and :mod:`.uvbp_client` (a VMM) do the I/O.

Every message is a 16-byte little-endian header — magic ``b"UVBP"``, u16 type, u16 flags,
u32 id, u32 length — followed by ``length`` payload bytes (at most 65536 + 16).
"""

from __future__ import annotations

import json
import struct
from enum import IntEnum, IntFlag
from typing import NamedTuple

from ..errors import UefiVarsError

__all__ = [
    "ACCESS_SIZES",
    "DEVICE_FLAG_USE_PIO",
    "FLAGS_MASK",
    "HEADER",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_PAYLOAD",
    "REGION_SIZE",
    "VERSION",
    "VMM_FEATURE_DMA",
    "DmaRead",
    "DmaWrite",
    "ErrorCode",
    "ErrorReply",
    "Flags",
    "Frame",
    "FrameDecoder",
    "Header",
    "HelloReply",
    "HelloRequest",
    "MessageType",
    "ProtocolError",
    "RegRead",
    "RegWrite",
    "UvbpError",
    "pack_dma_read",
    "pack_dma_write",
    "pack_error",
    "pack_frame",
    "pack_hello",
    "pack_hello_reply",
    "pack_reg_read",
    "pack_reg_write",
    "pack_u64",
    "parse_dma_read",
    "parse_dma_write",
    "parse_error",
    "parse_header",
    "parse_hello",
    "parse_hello_reply",
    "parse_reg_read",
    "parse_reg_write",
    "parse_u64",
    "valid_access",
]

MAGIC = b"UVBP"
VERSION = 1
#: The device's register window (UEFI_VARS_REGS_SIZE).
REGION_SIZE = 0x20
HEADER = struct.Struct("<4sHHII")
HEADER_SIZE = HEADER.size
#: The largest payload a message may carry (a 64 KiB DMA_WRITE plus its address fits).
MAX_PAYLOAD = 65536 + 16
#: vmm_features bit 0: the VMM serves DMA_READ / DMA_WRITE.
VMM_FEATURE_DMA = 0x1
#: HELLO reply device_flags: the FLAGS register, bit 0 USE_PIO.
DEVICE_FLAG_USE_PIO = 0x1
#: Access sizes of REG_READ / REG_WRITE.
ACCESS_SIZES = (1, 2, 4, 8)


class MessageType(IntEnum):
    HELLO = 1
    REG_READ = 2
    REG_WRITE = 3
    DMA_READ = 4
    DMA_WRITE = 5
    RESET = 6
    GOODBYE = 7


class Flags(IntFlag):
    REPLY = 0x1
    ERROR = 0x2


#: Bits of the flags field that may be set; the others are reserved (must be 0).
FLAGS_MASK = int(Flags.REPLY | Flags.ERROR)
_REPLY = int(Flags.REPLY)
_ERROR_REPLY = int(Flags.REPLY | Flags.ERROR)
_TYPES = frozenset(int(t) for t in MessageType)


class ErrorCode(IntEnum):
    BAD_MESSAGE = 1
    UNSUPPORTED_VERSION = 2
    BUSY = 3
    DMA_FAILED = 4
    INTERNAL_ERROR = 5


class UvbpError(UefiVarsError):
    """Something went wrong speaking UVBP."""


class ProtocolError(UvbpError):
    """A received header or payload breaks the framing rules.

    ``msg_type`` and ``msg_id`` are those of the offending header when it could be read
    (what the ERROR reply must carry), else 0. ``fatal`` says whether the connection must
    be closed after the ERROR reply (framing errors) or may continue (a bad payload).
    """

    def __init__(self, message: str, msg_type: int = 0, msg_id: int = 0, *, fatal: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.msg_type = msg_type
        self.msg_id = msg_id
        self.fatal = fatal


class Header(NamedTuple):
    type: int
    flags: int
    id: int
    length: int


class Frame(NamedTuple):
    """One message: the header fields and the payload."""

    type: int
    flags: int
    id: int
    payload: bytes

    @property
    def is_reply(self) -> bool:
        return bool(self.flags & _REPLY)

    @property
    def is_error(self) -> bool:
        return self.flags == _ERROR_REPLY

    def pack(self) -> bytes:
        return pack_frame(self.type, self.id, self.payload, self.flags)

    def describe(self) -> str:
        try:
            name = MessageType(self.type).name
        except ValueError:
            name = f"type {self.type}"
        kind = "ERROR" if self.is_error else ("reply" if self.is_reply else "request")
        return f"{name} {kind} id {self.id} ({len(self.payload)} bytes)"


# --- header --------------------------------------------------------------------------

#: The header with the magic as a little-endian u32 (no bytes object per message).
_HEADER_U32 = struct.Struct("<IHHII")
_MAGIC_U32: int = _HEADER_U32.unpack(HEADER.pack(MAGIC, 0, 0, 0, 0))[0]
_pack_header = _HEADER_U32.pack
_unpack_header = _HEADER_U32.unpack_from
_new_frame = tuple.__new__


def pack_frame(msg_type: int, msg_id: int, payload: bytes = b"", flags: int = 0) -> bytes:
    """Header and payload of one message (no checks: tests build bad frames with it)."""
    return _pack_header(_MAGIC_U32, msg_type, flags, msg_id & 0xFFFFFFFF, len(payload)) + payload


def parse_header(data: bytes | bytearray | memoryview, max_payload: int = MAX_PAYLOAD) -> Header:
    """Check one 16-byte header; :class:`ProtocolError` (fatal) when it breaks the rules.

    The error carries the header's type and id: the header could be read, it is only
    invalid. Check order: magic, type, flags, length.
    """
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"truncated header: {len(data)} of {HEADER_SIZE} bytes")
    magic, msg_type, flags, msg_id, length = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {bytes(magic)!r}", msg_type, msg_id)
    if msg_type not in _TYPES:
        raise ProtocolError(f"unknown message type {msg_type}", msg_type, msg_id)
    if flags & ~FLAGS_MASK:
        raise ProtocolError(f"reserved flag bits set: 0x{flags:04x}", msg_type, msg_id)
    if length > max_payload:
        raise ProtocolError(f"payload length {length} over the limit {max_payload}", msg_type, msg_id)
    return Header(msg_type, flags, msg_id, length)


class FrameDecoder:
    """Bytes in, :class:`Frame` values out (sans-I/O).

    ``feed()`` received bytes (or receive straight into the decoder's buffer with
    ``reserve()`` and ``commit()``), then call ``next_frame()`` until it returns None. A
    bad header raises :class:`ProtocolError`; after that the stream is out of sync and the
    connection must be closed.

    The bytes live in one preallocated buffer between ``_start`` and ``_end``; a frame is
    parsed where it lies, so a received message is copied once (into its payload).
    """

    __slots__ = ("_buf", "_view", "_start", "_end", "_max")

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._max = max_payload
        self._buf = bytearray(2 * (HEADER_SIZE + max_payload))
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        count = len(data)
        if not count:
            return
        end = self._end
        if end and self._start == end:
            self._start = self._end = end = 0
        if not end and count <= len(self._buf):
            self._buf[:count] = data
        else:
            self.reserve(count)[:count] = data
        self._end += count

    def reserve(self, minimum: int = 1) -> memoryview:
        """The free space after the buffered bytes, at least ``minimum`` bytes long.

        Receive into it, then ``commit()`` the count. Buffered bytes move to the front
        when the largest message might not fit behind them, so one always fits.
        """
        end = self._end
        if not end:
            if len(self._buf) >= minimum:
                return self._view
        elif self._start == end:
            self._start = self._end = end = 0
            if len(self._buf) >= minimum:
                return self._view
        start = self._start
        size = len(self._buf)
        if size - end >= minimum and size - start >= HEADER_SIZE + self._max:
            return self._view[end:]
        pending = end - start
        if start:  # move the partial message to the front
            self._buf[:pending] = bytes(self._view[start:end])
            self._start, self._end = 0, pending
        if size - pending < minimum:  # fed more than fits: grow
            grown = bytearray(max(2 * size, pending + minimum))
            grown[:pending] = self._view[:pending]
            self._buf, self._view = grown, memoryview(grown)
        return self._view[pending:]

    def commit(self, count: int) -> None:
        """``count`` bytes were written at the start of the last ``reserve()``."""
        self._end += count

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return self._end - self._start

    def header_complete(self) -> bool:
        return self._end - self._start >= HEADER_SIZE

    def peek_header(self) -> Header | None:
        """The pending header once its 16 bytes are here (ProtocolError when invalid)."""
        if self._end - self._start < HEADER_SIZE:
            return None
        return parse_header(self._view[self._start : self._end], self._max)

    def next_frame(self) -> Frame | None:
        start = self._start
        end = self._end
        if end - start < HEADER_SIZE:
            return None
        magic, msg_type, flags, msg_id, length = _unpack_header(self._buf, start)
        if magic != _MAGIC_U32 or msg_type not in _TYPES or flags & ~FLAGS_MASK or length > self._max:
            parse_header(self._view[start:end], self._max)  # raises with the precise reason
        stop = start + HEADER_SIZE + length
        if stop > end:
            return None
        payload = bytes(self._view[start + HEADER_SIZE : stop]) if length else b""
        if stop == end:  # the usual case: exactly one message buffered
            self._start = self._end = 0
        else:
            self._start = stop
        frame: Frame = _new_frame(Frame, (msg_type, flags, msg_id, payload))
        return frame


# --- payloads ------------------------------------------------------------------------

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_HELLO = struct.Struct("<II")
_HELLO_REPLY = struct.Struct("<IIII")
_REG_READ = struct.Struct("<II")
_REG_WRITE = struct.Struct("<IIQ")
_DMA_READ = struct.Struct("<QI")
_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF, 8: 0xFFFFFFFFFFFFFFFF}


class HelloRequest(NamedTuple):
    version: int
    vmm_features: int


class HelloReply(NamedTuple):
    version: int
    region_size: int
    device_flags: int
    reserved: int
    info: dict[str, object]


class RegRead(NamedTuple):
    offset: int
    size: int


class RegWrite(NamedTuple):
    offset: int
    size: int
    value: int


class DmaRead(NamedTuple):
    address: int
    length: int


class DmaWrite(NamedTuple):
    address: int
    data: bytes


class ErrorReply(NamedTuple):
    code: int
    message: str


def _bad(frame: Frame, text: str) -> ProtocolError:
    name = MessageType(frame.type).name if frame.type in _TYPES else str(frame.type)
    return ProtocolError(f"{name}: {text}", frame.type, frame.id, fatal=False)


def pack_hello(version: int = VERSION, vmm_features: int = VMM_FEATURE_DMA) -> bytes:
    return _HELLO.pack(version, vmm_features)


def parse_hello(frame: Frame) -> HelloRequest:
    """A HELLO request; extra bytes after the 8 defined ones are ignored (future use)."""
    if len(frame.payload) < _HELLO.size:
        raise _bad(frame, f"payload of {len(frame.payload)} bytes, needs 8")
    version, features = _HELLO.unpack_from(frame.payload)
    return HelloRequest(version, features)


def pack_hello_reply(device_flags: int, info: dict[str, object] | None = None) -> bytes:
    head = _HELLO_REPLY.pack(VERSION, REGION_SIZE, device_flags, 0)
    if not info:
        return head
    return head + json.dumps(info, sort_keys=True, separators=(",", ":")).encode("utf-8")


def parse_hello_reply(frame: Frame) -> HelloReply:
    if len(frame.payload) < _HELLO_REPLY.size:
        raise _bad(frame, f"reply of {len(frame.payload)} bytes, needs 16")
    version, region, flags, reserved = _HELLO_REPLY.unpack_from(frame.payload)
    info: dict[str, object] = {}
    rest = frame.payload[_HELLO_REPLY.size :]
    if rest:
        try:
            decoded = json.loads(rest.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            decoded = None
        if isinstance(decoded, dict):
            info = decoded
    return HelloReply(version, region, flags, reserved, info)


def pack_reg_read(offset: int, size: int) -> bytes:
    return _REG_READ.pack(offset, size)


def parse_reg_read(frame: Frame) -> RegRead:
    if len(frame.payload) != _REG_READ.size:
        raise _bad(frame, f"payload of {len(frame.payload)} bytes, needs 8")
    return RegRead(*_REG_READ.unpack(frame.payload))


def pack_reg_write(offset: int, size: int, value: int) -> bytes:
    return _REG_WRITE.pack(offset, size, value & _MASKS[8])


def parse_reg_write(frame: Frame) -> RegWrite:
    if len(frame.payload) != _REG_WRITE.size:
        raise _bad(frame, f"payload of {len(frame.payload)} bytes, needs 16")
    return RegWrite(*_REG_WRITE.unpack(frame.payload))


def valid_access(offset: int, size: int) -> str | None:
    """Why a register access is refused (None: a naturally aligned access inside the window)."""
    if size not in ACCESS_SIZES:
        return f"access size {size} (must be 1, 2, 4 or 8)"
    if offset % size:
        return f"offset 0x{offset:x} not aligned to the access size {size}"
    if offset + size > REGION_SIZE:
        return f"offset 0x{offset:x} size {size} outside the 0x{REGION_SIZE:x}-byte window"
    return None


def pack_u64(value: int) -> bytes:
    return _U64.pack(value & _MASKS[8])


def parse_u64(frame: Frame) -> int:
    if len(frame.payload) != _U64.size:
        raise _bad(frame, f"reply of {len(frame.payload)} bytes, needs 8")
    value: int = _U64.unpack(frame.payload)[0]
    return value


def pack_dma_read(address: int, length: int) -> bytes:
    return _DMA_READ.pack(address, length)


def parse_dma_read(frame: Frame) -> DmaRead:
    if len(frame.payload) != _DMA_READ.size:
        raise _bad(frame, f"payload of {len(frame.payload)} bytes, needs 12")
    return DmaRead(*_DMA_READ.unpack(frame.payload))


def pack_dma_write(address: int, data: bytes) -> bytes:
    return _U64.pack(address) + data


def parse_dma_write(frame: Frame) -> DmaWrite:
    if len(frame.payload) < _U64.size:
        raise _bad(frame, f"payload of {len(frame.payload)} bytes, needs at least 8")
    (address,) = _U64.unpack_from(frame.payload)
    return DmaWrite(address, frame.payload[_U64.size :])


def pack_error(code: int, message: str = "") -> bytes:
    return _U32.pack(code) + message.encode("utf-8", "replace")


def parse_error(frame: Frame) -> ErrorReply:
    if len(frame.payload) < _U32.size:
        return ErrorReply(0, "")
    (code,) = _U32.unpack_from(frame.payload)
    return ErrorReply(code, frame.payload[_U32.size :].decode("utf-8", "replace"))
