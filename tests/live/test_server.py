"""The UVBP/1 backend (live/server.py, cli/serve.py) against backend-protocol.md.

Most tests run the server on a thread and speak raw bytes or UvbpClient to it; the last
ones start `uefivars serve` as a separate process and drive it with edk2's guest drivers.
Every socket has a timeout: a broken server fails a test, it never hangs it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from uefivars_gui.codec import qemu_json
from uefivars_gui.core.attributes import Attributes
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, SMM_VARIABLE_PROTOCOL
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.device import DeviceConfig, UefiVarsDevice
from uefivars_gui.errors import UsageError
from uefivars_gui.live import uvbp
from uefivars_gui.live.guest import DeviceStatusError, GuestSession, VariableClient
from uefivars_gui.live.server import BUSY_TIMEOUT, Channel, JsonStoreSaver, UvbpServer, parse_tcp_address
from uefivars_gui.live.uvbp import ErrorCode, MessageType
from uefivars_gui.live.uvbp_client import BackendBusyError, ConnectionClosedError, RemoteError, UvbpClient

ROOT = Path(__file__).resolve().parents[2]
FD_STORE = ROOT / "tests" / "data" / "ovmf" / "OVMF_VARS_4M.ms.fd"
VENDOR = UUID("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")
NV_BS_RT = int(Attributes.NON_VOLATILE | Attributes.BOOTSERVICE_ACCESS | Attributes.RUNTIME_ACCESS)
BS_RT = int(Attributes.BOOTSERVICE_ACCESS | Attributes.RUNTIME_ACCESS)
EFI_SUCCESS = 0
EFI_WRITE_PROTECTED = 0x8000000000000008
EFI_NOT_FOUND = 0x800000000000000E
DMA_ADDR = 0x00200000
TIMEOUT = 5.0


# --- helpers -----------------------------------------------------------------------------


def _initial_store() -> VarStore:
    return VarStore(
        [
            Variable("Lang", EFI_GLOBAL_VARIABLE, Attributes(NV_BS_RT), b"eng\0"),
            Variable("Persisted", VENDOR, Attributes(NV_BS_RT), b"\x01\x02\x03"),
        ]
    )


def _frame(msg_type: int, msg_id: int, payload: bytes = b"", flags: int = 0) -> bytes:
    return uvbp.pack_frame(msg_type, msg_id, payload, flags)


def _reply(msg_type: int, msg_id: int, payload: bytes = b"") -> bytes:
    return uvbp.pack_frame(msg_type, msg_id, payload, 1)


def _error(msg_type: int, msg_id: int) -> bytes:
    """The first 12 bytes of an ERROR reply (magic, type, flags REPLY|ERROR, id)."""
    return struct.pack("<4sHHI", b"UVBP", msg_type, 3, msg_id)


def _header(
    magic: bytes = b"UVBP", msg_type: int = 1, flags: int = 0, msg_id: int = 5, length: int = 0
) -> bytes:
    return struct.pack("<4sHHII", magic, msg_type, flags, msg_id, length)


def get_variable_request(name: str, guid: UUID, data_size: int = 16) -> bytes:
    raw = (name + "\0").encode("utf-16-le")
    message = struct.pack("<QQ", 1, 0) + guid.bytes_le + struct.pack("<QQI", data_size, len(raw), 0)
    message += raw + bytes(data_size)
    return SMM_VARIABLE_PROTOCOL.bytes_le + struct.pack("<Q", len(message)) + message


class RawVmm:
    """A VMM written byte by byte, for exact-byte checks."""

    def __init__(self, path: Path | str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(str(path))

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def recv_exact(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise EOFError(f"end of stream after {len(data)} of {count} bytes")
            data += chunk
        return data

    def frame(self) -> bytes:
        """One whole message as raw bytes."""
        header = self.recv_exact(16)
        (length,) = struct.unpack_from("<I", header, 12)
        return header + self.recv_exact(length)

    def parsed(self) -> uvbp.Frame:
        raw = self.frame()
        msg_type, flags, msg_id = struct.unpack_from("<HHI", raw, 4)
        return uvbp.Frame(msg_type, flags, msg_id, raw[16:])

    def hello(self, msg_id: int = 1, features: int = 1) -> bytes:
        self.send(_frame(MessageType.HELLO, msg_id, uvbp.pack_hello(1, features)))
        return self.frame()

    def reg_write(self, msg_id: int, offset: int, size: int, value: int) -> bytes:
        self.send(_frame(MessageType.REG_WRITE, msg_id, uvbp.pack_reg_write(offset, size, value)))
        return self.frame()

    def reg_read(self, msg_id: int, offset: int, size: int) -> int:
        self.send(_frame(MessageType.REG_READ, msg_id, uvbp.pack_reg_read(offset, size)))
        return uvbp.parse_u64(self.parsed())

    def expect_error(self, msg_type: int, msg_id: int, code: int) -> str:
        raw = self.frame()
        assert raw[:12] == _error(msg_type, msg_id), raw[:24]
        assert raw[16:20] == struct.pack("<I", code), raw
        message = raw[20:].decode("utf-8")
        assert message
        return message

    def expect_closed(self) -> None:
        assert self.sock.recv(1) == b""

    def close(self) -> None:
        self.sock.close()


@dataclass
class Backend:
    server: UvbpServer
    device: UefiVarsDevice
    thread: threading.Thread
    socket_path: Path
    json_path: Path

    def client(self, **kwargs: object) -> UvbpClient:
        return UvbpClient.connect_unix(self.socket_path, timeout=TIMEOUT, **kwargs)

    def stop(self) -> None:
        self.server.request_stop()
        self.thread.join(TIMEOUT + 5)
        assert not self.thread.is_alive(), "the server did not stop"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory: Unix socket paths are limited to 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="uvbp-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _start(short_dir: Path, **kwargs: object) -> Backend:
    json_path = short_dir / "vars.json"
    json_path.write_bytes(qemu_json.encode(_initial_store()))
    device = UefiVarsDevice(DeviceConfig(), _initial_store(), None)
    options: dict[str, object] = {"busy_timeout": 0.5, "spin": 0, "dma_timeout": TIMEOUT}
    options.update(kwargs)
    server = UvbpServer(
        device,
        unix_path=short_dir / "uvbp.sock",
        saver=JsonStoreSaver(json_path),
        info={"store": str(json_path)},
        **options,  # type: ignore[arg-type]
    )
    server.start()
    thread = threading.Thread(target=server.serve_forever, name="uvbp-test-server", daemon=True)
    thread.start()
    return Backend(server, device, thread, short_dir / "uvbp.sock", json_path)


@pytest.fixture
def backend(short_dir: Path) -> Iterator[Backend]:
    running = _start(short_dir)
    yield running
    running.stop()


# --- HELLO and the documented example -----------------------------------------------------


def test_hello_reply(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    raw = vmm.hello(msg_id=0x01020304)
    assert raw[:12] == bytes.fromhex("55564250 0100 0100 04030201")
    assert struct.unpack_from("<I", raw, 12)[0] == len(raw) - 16
    assert raw[16:32] == struct.pack("<IIII", 1, 0x20, 0, 0)
    info = json.loads(raw[32:])
    assert info["backend"] == "uefivars-gui"
    assert info["store"] == str(backend.json_path)
    vmm.close()


def test_documented_dma_example_byte_for_byte(backend: Backend) -> None:
    """backend-protocol.md, "Example: one GetVariable over DMA"."""
    twin = UefiVarsDevice(DeviceConfig(), _initial_store(), None)
    twin.hard_reset()
    memory = bytearray(0x10000)
    request = get_variable_request("Lang", EFI_GLOBAL_VARIABLE)
    memory[: len(request)] = request
    before = bytes(memory)

    vmm = RawVmm(backend.socket_path)
    hello = vmm.hello(1)
    assert hello[:12] == bytes.fromhex("55564250 0100 0100 01000000")
    assert hello[16:32] == struct.pack("<IIII", 1, 0x20, 0, 0)
    assert vmm.reg_write(2, 0x02, 2, 1) == bytes.fromhex("55564250 0300 0100 02000000 00000000")
    assert vmm.reg_write(3, 0x04, 4, 0x10000) == bytes.fromhex("55564250 0300 0100 03000000 00000000")
    assert vmm.reg_write(4, 0x08, 4, DMA_ADDR) == bytes.fromhex("55564250 0300 0100 04000000 00000000")
    assert vmm.reg_write(5, 0x0C, 4, 0) == bytes.fromhex("55564250 0300 0100 05000000 00000000")

    vmm.send(bytes.fromhex("55564250 0300 0000 06000000 10000000") + struct.pack("<IIQ", 0x02, 2, 2))
    # the backend reads the request (4096 bytes of the buffer at once: its read-ahead)
    dma_read = vmm.frame()
    assert dma_read == bytes.fromhex("55564250 0400 0000 01000000 0c000000") + struct.pack(
        "<QI", DMA_ADDR, 4096
    )
    vmm.send(_reply(MessageType.DMA_READ, 1, bytes(memory[:4096])))
    # ... and writes the reply back
    dma_write = vmm.frame()
    expected_reply = twin.handle_mm(request)
    assert dma_write[:16] == bytes.fromhex("55564250 0500 0000 02000000") + struct.pack(
        "<I", 8 + len(request)
    )
    assert dma_write[16:24] == struct.pack("<Q", DMA_ADDR)
    assert dma_write[24:] == expected_reply
    memory[: len(expected_reply)] = dma_write[24:]
    vmm.send(_reply(MessageType.DMA_WRITE, 2))
    assert vmm.frame() == bytes.fromhex("55564250 0300 0100 06000000 00000000")
    vmm.send(bytes.fromhex("55564250 0200 0000 07000000 08000000") + struct.pack("<II", 0x02, 2))
    assert vmm.frame() == bytes.fromhex("55564250 0200 0100 07000000 08000000") + bytes(8)
    # the variable's data came back: EFI_SUCCESS, DataSize 4, "eng\0"
    assert memory != before
    assert struct.unpack_from("<Q", memory, 32)[0] == EFI_SUCCESS
    assert struct.unpack_from("<Q", memory, 24 + 16 + 16)[0] == 4
    vmm.close()


def test_exact_dma_reads_without_read_ahead(short_dir: Path) -> None:
    running = _start(short_dir, read_ahead=0)
    try:
        vmm = RawVmm(running.socket_path)
        vmm.hello()
        request = get_variable_request("Lang", EFI_GLOBAL_VARIABLE)
        vmm.reg_write(2, 0x04, 4, 0x10000)
        vmm.reg_write(3, 0x08, 4, DMA_ADDR)
        vmm.send(_frame(MessageType.REG_WRITE, 4, uvbp.pack_reg_write(0x02, 2, 2)))
        assert vmm.frame()[16:] == struct.pack("<QI", DMA_ADDR, 24)  # the header, as QEMU reads it
        vmm.send(_reply(MessageType.DMA_READ, 1, request[:24]))
        assert vmm.frame()[16:] == struct.pack("<QI", DMA_ADDR + 24, len(request) - 24)
        vmm.send(_reply(MessageType.DMA_READ, 2, request[24:]))
        assert vmm.parsed().type == MessageType.DMA_WRITE
        vmm.send(_reply(MessageType.DMA_WRITE, 3))
        assert vmm.frame() == _reply(MessageType.REG_WRITE, 4)
        assert vmm.reg_read(5, 0x02, 2) == 0
        vmm.close()
    finally:
        running.stop()


# --- malformed frames ----------------------------------------------------------------------

MALFORMED = [
    # (name, bytes sent, half-close after sending, expected error: type, id, code)
    ("bad magic", _header(magic=b"UVBQ", msg_id=5, length=8) + uvbp.pack_hello(), False, (1, 5, 1)),
    ("unknown type", _header(msg_type=9, msg_id=5), False, (9, 5, 1)),
    ("unknown type 0", _header(msg_type=0, msg_id=5), False, (0, 5, 1)),
    ("reserved flags", _header(flags=0x10, msg_id=5, length=8) + uvbp.pack_hello(), False, (1, 5, 1)),
    ("oversize length", _header(msg_id=5, length=65553), False, (1, 5, 1)),
    ("truncated header", _header()[:10], True, (0, 0, 1)),
    ("truncated payload", _header(msg_id=6, length=8) + b"\x01\x00", True, (1, 6, 1)),
    ("wrong first message", _frame(2, 5, uvbp.pack_reg_read(0, 2)), False, (2, 5, 1)),
    ("first message a reply", _frame(1, 5, uvbp.pack_hello(), 1), False, (1, 5, 1)),
    ("short HELLO", _frame(1, 5, b"\x01\x00\x00\x00"), False, (1, 5, 1)),
    ("unsupported version", _frame(1, 5, uvbp.pack_hello(2, 1)), False, (1, 5, 2)),
    ("version 0", _frame(1, 5, uvbp.pack_hello(0, 1)), False, (1, 5, 2)),
]


@pytest.mark.parametrize(
    ("sent", "half_close", "expected"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_first_message(
    backend: Backend, sent: bytes, half_close: bool, expected: tuple[int, int, int]
) -> None:
    before = backend.json_path.read_bytes(), backend.json_path.stat().st_ino
    vmm = RawVmm(backend.socket_path)
    vmm.send(sent)
    if half_close:
        vmm.sock.shutdown(socket.SHUT_WR)
    vmm.expect_error(*expected)
    vmm.expect_closed()
    vmm.close()
    # the backend lives on, the store untouched
    with backend.client() as client:
        assert client.read(0x00, 2) == 0x0EF1
    assert (backend.json_path.read_bytes(), backend.json_path.stat().st_ino) == before


MALFORMED_IN_SESSION = [
    ("bad magic", _header(magic=b"\0\0\0\0", msg_type=2, msg_id=9, length=8) + bytes(8), (2, 9, 1)),
    ("unknown type", _header(msg_type=0x1234, msg_id=9), (0x1234, 9, 1)),
    ("reserved flags", _header(msg_type=2, flags=4, msg_id=9, length=8) + bytes(8), (2, 9, 1)),
    ("oversize length", _header(msg_type=3, msg_id=9, length=0x7FFFFFFF), (3, 9, 1)),
    ("unexpected reply", _frame(2, 9, uvbp.pack_u64(0), 1), (2, 9, 1)),
    ("unexpected error reply", _frame(4, 9, uvbp.pack_error(4), 3), (4, 9, 1)),
]


@pytest.mark.parametrize(
    ("sent", "expected"), [m[1:] for m in MALFORMED_IN_SESSION], ids=[m[0] for m in MALFORMED_IN_SESSION]
)
def test_malformed_message_in_session_closes_it(
    backend: Backend, sent: bytes, expected: tuple[int, int, int]
) -> None:
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.reg_write(2, 0x04, 4, 0x1000)
    vmm.send(sent)
    vmm.expect_error(*expected)
    vmm.expect_closed()
    vmm.close()
    with backend.client() as client:  # device state survived the broken session
        assert client.read(0x04, 4) == 0x1000


def test_length_at_the_limit_is_read_and_answered(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.send(_frame(MessageType.REG_WRITE, 3, bytes(uvbp.MAX_PAYLOAD)))
    assert "payload" in vmm.expect_error(3, 3, 1)  # a bad payload size, not a framing error
    assert vmm.reg_read(4, 0x00, 2) == 0x0EF1
    vmm.close()


@pytest.mark.parametrize(
    ("msg_type", "payload"),
    [
        (MessageType.REG_READ, uvbp.pack_reg_read(0x01, 2)),
        (MessageType.REG_READ, uvbp.pack_reg_read(0x02, 4)),
        (MessageType.REG_READ, uvbp.pack_reg_read(0x1C, 8)),
        (MessageType.REG_READ, uvbp.pack_reg_read(0x20, 1)),
        (MessageType.REG_READ, uvbp.pack_reg_read(0x00, 3)),
        (MessageType.REG_READ, uvbp.pack_reg_read(0x00, 0)),
        (MessageType.REG_WRITE, uvbp.pack_reg_write(0x06, 4, 0x40)),
        (MessageType.REG_WRITE, uvbp.pack_reg_write(0x03, 2, 1)),
        (MessageType.REG_WRITE, uvbp.pack_reg_write(0x18, 16, 1)),
        (MessageType.REG_READ, bytes(4)),
        (MessageType.REG_WRITE, bytes(8)),
        (MessageType.RESET, b"x"),
        (MessageType.HELLO, uvbp.pack_hello()),
        (MessageType.DMA_READ, uvbp.pack_dma_read(0, 4)),
        (MessageType.DMA_WRITE, uvbp.pack_dma_write(0, b"x")),
    ],
)
def test_bad_request_keeps_the_session(backend: Backend, msg_type: int, payload: bytes) -> None:
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.reg_write(2, 0x04, 4, 0x100)
    vmm.send(_frame(msg_type, 77, payload))
    vmm.expect_error(msg_type, 77, ErrorCode.BAD_MESSAGE)
    assert vmm.reg_read(78, 0x04, 4) == 0x100  # nothing changed, the session goes on
    assert vmm.reg_read(79, 0x00, 2) == 0x0EF1
    vmm.close()


def test_one_and_eight_byte_accesses_pass_through(backend: Backend) -> None:
    with backend.client() as client:
        assert client.read(0x00, 1) == 0xF1
        assert client.read(0x1C, 4) == 0
        client.write(0x04, 4, 0x100)
        assert client.read(0x04, 4) == 0x100
        # split like QEMU's memory core: MAGIC (4 bytes at 0) and BUFFER_SIZE (4 bytes at 4)
        assert client.read(0x00, 8) == 0x100 << 32 | 0x0EF1
        client.write(0x08, 8, 0x1234_5678_0020_0000)
        assert (client.read(0x08, 4), client.read(0x0C, 4)) == (0x0020_0000, 0x1234_5678)


def test_internal_error_is_answered_and_the_session_continues(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(offset: int, width: int) -> int:
        raise RuntimeError("bug")

    with backend.client() as client:
        monkeypatch.setattr(backend.device, "read", broken)
        with pytest.raises(RemoteError) as info:
            client.read(0x00, 2)
        assert info.value.code == ErrorCode.INTERNAL_ERROR
        monkeypatch.undo()
        assert client.read(0x00, 2) == 0x0EF1


# --- busy ---------------------------------------------------------------------------------


def test_second_connection_is_busy(backend: Backend) -> None:
    with backend.client() as first:
        second = RawVmm(backend.socket_path)
        second.send(_frame(MessageType.HELLO, 77, uvbp.pack_hello()))
        assert "busy" in second.expect_error(MessageType.HELLO, 77, ErrorCode.BUSY)
        second.expect_closed()
        second.close()
        assert first.read(0x00, 2) == 0x0EF1  # the first session is not disturbed
        with pytest.raises(BackendBusyError):
            backend.client()
        assert first.read(0x00, 2) == 0x0EF1


def test_busy_answer_carries_any_first_message_type(backend: Backend) -> None:
    with backend.client():
        second = RawVmm(backend.socket_path)
        second.send(_frame(MessageType.REG_READ, 0xABCDEF, uvbp.pack_reg_read(0, 2)))
        second.expect_error(MessageType.REG_READ, 0xABCDEF, ErrorCode.BUSY)
        second.expect_closed()
        second.close()


def test_silent_second_connection_is_closed_after_the_timeout(backend: Backend) -> None:
    assert BUSY_TIMEOUT == 5.0
    with backend.client() as first:
        second = RawVmm(backend.socket_path)
        start = time.monotonic()
        second.expect_closed()
        waited = time.monotonic() - start
        assert 0.3 <= waited < 4.0  # the fixture's busy_timeout is 0.5 s
        second.close()
        assert first.read(0x00, 2) == 0x0EF1


def test_default_busy_timeout(short_dir: Path) -> None:
    device = UefiVarsDevice(DeviceConfig(), VarStore(), None)
    server = UvbpServer(device, unix_path=short_dir / "s.sock")
    assert server.busy_timeout == 5.0
    server.close()


# --- DMA ----------------------------------------------------------------------------------


def test_dma_error_reply_ends_the_command_with_0x10(backend: Backend) -> None:
    memory = bytearray(0x1000)
    request = get_variable_request("Lang", EFI_GLOBAL_VARIABLE)
    memory[: len(request)] = request
    before = bytes(memory)
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.reg_write(2, 0x04, 4, 0x1000)
    vmm.reg_write(3, 0x08, 4, DMA_ADDR)
    vmm.send(_frame(MessageType.REG_WRITE, 4, uvbp.pack_reg_write(0x02, 2, 2)))
    read = vmm.parsed()
    assert read.type == MessageType.DMA_READ
    vmm.send(_reply(MessageType.DMA_READ, read.id, bytes(memory[:4096])))
    write = vmm.parsed()
    assert write.type == MessageType.DMA_WRITE
    vmm.send(_frame(MessageType.DMA_WRITE, write.id, uvbp.pack_error(ErrorCode.DMA_FAILED, "no RAM"), 3))
    assert vmm.frame() == _reply(MessageType.REG_WRITE, 4)
    assert vmm.reg_read(5, 0x02, 2) == 0x10
    assert bytes(memory) == before  # nothing was written
    # the session continues and the next command works
    vmm.send(_frame(MessageType.REG_WRITE, 6, uvbp.pack_reg_write(0x02, 2, 2)))
    read = vmm.parsed()
    vmm.send(_reply(MessageType.DMA_READ, read.id, bytes(memory[:4096])))
    write = vmm.parsed()
    vmm.send(_reply(MessageType.DMA_WRITE, write.id))
    assert vmm.frame() == _reply(MessageType.REG_WRITE, 6)
    assert vmm.reg_read(7, 0x02, 2) == 0
    vmm.close()


def test_refused_dma_reads_end_the_command_with_0x10(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.reg_write(2, 0x04, 4, 0x10000)
    vmm.reg_write(3, 0x08, 4, 0xDEAD0000)
    vmm.send(_frame(MessageType.REG_WRITE, 4, uvbp.pack_reg_write(0x02, 2, 2)))
    asked = []
    while True:
        frame = vmm.parsed()
        if frame.type == MessageType.REG_WRITE:
            assert frame.flags == 1 and frame.id == 4 and frame.payload == b""
            break
        assert frame.type == MessageType.DMA_READ
        asked.append(uvbp.parse_dma_read(frame))
        vmm.send(
            _frame(MessageType.DMA_READ, frame.id, uvbp.pack_error(ErrorCode.DMA_FAILED, "outside RAM"), 3)
        )
    # the read-ahead, then the exact header read QEMU would do
    assert asked == [(0xDEAD0000, 4096), (0xDEAD0000, 24)]
    assert vmm.reg_read(5, 0x02, 2) == 0x10
    vmm.close()


def test_client_memory_outside_ram_gives_0x10_and_memory_untouched(backend: Backend) -> None:
    with backend.client(memory_size=0x1000) as client:
        client.write(0x04, 4, 0x1000)
        client.write(0x08, 4, 0x4000_0000)  # not the client's RAM
        client.write(0x02, 2, 2)
        assert client.read(0x02, 2) == 0x10
        assert client.dma_refused >= 1
        assert bytes(client.memory.data) == bytes(0x1000)


def test_small_vmm_ram_falls_back_to_exact_reads(backend: Backend) -> None:
    with backend.client(memory_size=0x200) as client:
        variables = VariableClient(GuestSession(client, "dma"))
        result = variables.get_variable("Lang", EFI_GLOBAL_VARIABLE)
        assert (result.status, result.data) == (EFI_SUCCESS, b"eng\0")
        assert client.dma_refused == 1  # the 4096-byte read-ahead did not fit, and is not tried again
        assert variables.get_variable("Lang", EFI_GLOBAL_VARIABLE).data == b"eng\0"
        assert client.dma_refused == 1


def test_vmm_without_dma_gets_0x11_and_pio_works(backend: Backend) -> None:
    with backend.client(serve_dma=False) as client:
        with pytest.raises(DeviceStatusError) as info:
            VariableClient(GuestSession(client, "dma")).get_payload_size()
        assert info.value.status == 0x11
        assert client.dma_reads == client.dma_writes == 0  # the backend asked for nothing
        pio = VariableClient(GuestSession(client, "pio"))
        assert pio.get_variable("Lang", EFI_GLOBAL_VARIABLE).data == b"eng\0"
        assert pio.set_variable("Pio", VENDOR, BS_RT, b"\x05").status == EFI_SUCCESS
        assert pio.get_variable("Pio", VENDOR).data == b"\x05"


def test_wrong_dma_reply_is_a_protocol_error(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.reg_write(2, 0x04, 4, 0x1000)
    vmm.reg_write(3, 0x08, 4, DMA_ADDR)
    vmm.send(_frame(MessageType.REG_WRITE, 4, uvbp.pack_reg_write(0x02, 2, 2)))
    read = vmm.parsed()
    vmm.send(_reply(MessageType.DMA_READ, read.id + 100, bytes(4096)))
    vmm.expect_error(MessageType.DMA_READ, read.id + 100, ErrorCode.BAD_MESSAGE)
    vmm.expect_closed()
    vmm.close()
    with backend.client() as client:
        assert client.read(0x04, 4) == 0x1000
        assert client.read(0x02, 2) == 0x10  # the broken command ended with ERR_UNKNOWN


def test_short_dma_read_reply_is_a_protocol_error(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.reg_write(2, 0x04, 4, 0x1000)
    vmm.send(_frame(MessageType.REG_WRITE, 3, uvbp.pack_reg_write(0x02, 2, 2)))
    read = vmm.parsed()
    vmm.send(_reply(MessageType.DMA_READ, read.id, bytes(10)))
    vmm.expect_error(MessageType.DMA_READ, read.id, ErrorCode.BAD_MESSAGE)
    vmm.expect_closed()
    vmm.close()


def test_vmm_disconnecting_during_dma(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.reg_write(2, 0x04, 4, 0x1000)
    vmm.send(_frame(MessageType.REG_WRITE, 3, uvbp.pack_reg_write(0x02, 2, 2)))
    assert vmm.parsed().type == MessageType.DMA_READ
    vmm.close()
    with backend.client() as client:
        assert client.read(0x02, 2) == 0x10
        assert VariableClient(GuestSession(client)).get_variable("Lang", EFI_GLOBAL_VARIABLE).data == b"eng\0"


def _start_get_variable(vmm: RawVmm, memory: bytearray) -> uvbp.Frame:
    """HELLO, program the buffer, DMA_MM; serve the DMA_READ; return the DMA_WRITE request."""
    vmm.hello()
    vmm.reg_write(2, 0x04, 4, 0x1000)
    vmm.reg_write(3, 0x08, 4, DMA_ADDR)
    vmm.send(_frame(MessageType.REG_WRITE, 4, uvbp.pack_reg_write(0x02, 2, 2)))
    read = vmm.parsed()
    assert read.type == MessageType.DMA_READ
    vmm.send(_reply(MessageType.DMA_READ, read.id, bytes(memory[:4096])))
    write = vmm.parsed()
    assert write.type == MessageType.DMA_WRITE and write.flags == 0
    return write


def _lang_request_memory() -> bytearray:
    memory = bytearray(0x1000)
    request = get_variable_request("Lang", EFI_GLOBAL_VARIABLE)
    memory[: len(request)] = request
    return memory


def test_the_reg_write_reply_waits_for_the_dma_write_reply(backend: Backend) -> None:
    """The nesting rule: the command's reply comes only after its DMA replies, so that
    guest memory and CMD_STS hold the result when it arrives."""
    vmm = RawVmm(backend.socket_path)
    write = _start_get_variable(vmm, _lang_request_memory())
    readable, _, _ = select.select([vmm.sock], [], [], 0.3)
    assert not readable  # no REG_WRITE reply while the DMA_WRITE is unanswered
    vmm.send(_reply(MessageType.DMA_WRITE, write.id))
    assert vmm.frame() == _reply(MessageType.REG_WRITE, 4)
    assert vmm.reg_read(5, 0x02, 2) == 0
    vmm.close()


def test_dma_write_error_then_goodbye_leaves_0x10_for_the_next_session(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    write = _start_get_variable(vmm, _lang_request_memory())
    error = uvbp.pack_error(ErrorCode.DMA_FAILED, "no RAM")
    vmm.send(_frame(MessageType.DMA_WRITE, write.id, error, 3))
    assert vmm.frame() == _reply(MessageType.REG_WRITE, 4)
    vmm.send(_frame(MessageType.GOODBYE, 5))
    vmm.expect_closed()
    vmm.close()
    with backend.client() as client:
        assert client.read(0x02, 2) == 0x10


def test_vmm_disconnecting_before_answering_the_dma_write(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    _start_get_variable(vmm, _lang_request_memory())
    vmm.close()  # neither the DMA_WRITE reply nor the REG_WRITE reply
    with backend.client() as client:
        assert client.read(0x02, 2) == 0x10  # the command ended with ERR_UNKNOWN
        assert VariableClient(GuestSession(client)).get_variable("Lang", EFI_GLOBAL_VARIABLE).data == b"eng\0"


def test_a_request_instead_of_the_dma_write_reply_is_a_protocol_error(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    _start_get_variable(vmm, _lang_request_memory())
    vmm.send(_frame(MessageType.REG_READ, 5, uvbp.pack_reg_read(0x02, 2)))
    vmm.expect_error(MessageType.REG_READ, 5, ErrorCode.BAD_MESSAGE)
    vmm.expect_closed()  # and no REG_WRITE reply before the ERROR
    vmm.close()
    with backend.client() as client:
        assert client.read(0x02, 2) == 0x10


def test_messages_split_into_small_pieces(backend: Backend) -> None:
    """Frames arriving a few bytes at a time, and several frames in one piece."""
    memory = _lang_request_memory()
    vmm = RawVmm(backend.socket_path)
    stream = _frame(MessageType.HELLO, 1, uvbp.pack_hello()) + _frame(
        MessageType.REG_WRITE, 2, uvbp.pack_reg_write(0x04, 4, 0x1000)
    )
    for index in range(0, len(stream), 5):
        vmm.send(stream[index : index + 5])
        time.sleep(0.001)
    assert vmm.parsed().type == MessageType.HELLO
    assert vmm.frame() == _reply(MessageType.REG_WRITE, 2)
    both = _frame(MessageType.REG_WRITE, 3, uvbp.pack_reg_write(0x08, 4, DMA_ADDR)) + _frame(
        MessageType.REG_WRITE, 4, uvbp.pack_reg_write(0x02, 2, 2)
    )
    vmm.send(both)  # two requests at once: answered in order (a VMM may not, but the backend copes)
    assert vmm.frame() == _reply(MessageType.REG_WRITE, 3)
    read = vmm.parsed()
    assert read.type == MessageType.DMA_READ
    reply = _reply(MessageType.DMA_READ, read.id, bytes(memory[:4096]))
    for start in (0, 7, 16, 1000, 4000):
        stop = {0: 7, 7: 16, 16: 1000, 1000: 4000, 4000: len(reply)}[start]
        vmm.send(reply[start:stop])
        time.sleep(0.001)
    write = vmm.parsed()
    assert write.type == MessageType.DMA_WRITE
    vmm.send(_reply(MessageType.DMA_WRITE, write.id))
    assert vmm.frame() == _reply(MessageType.REG_WRITE, 4)
    assert vmm.reg_read(5, 0x02, 2) == 0
    vmm.close()


# --- Channel waits ---------------------------------------------------------------------------


@pytest.mark.parametrize("spin", [0, 64])
def test_channel_fill_outcomes(spin: int) -> None:
    ours, theirs = socket.socketpair()
    wake_r, wake_w = socket.socketpair()
    try:
        channel = Channel(ours, spin=spin)
        channel.watch(wake_r.fileno())
        assert channel.fill(0) == "timeout"
        start = time.monotonic()
        assert channel.fill(0.05) == "timeout"
        assert time.monotonic() - start >= 0.04
        later = threading.Timer(0.05, theirs.sendall, (_frame(MessageType.REG_READ, 1, bytes(8)),))
        later.start()
        assert channel.fill(TIMEOUT) == "data"  # while sleeping in poll
        later.join()
        assert channel.next_frame() == uvbp.Frame(MessageType.REG_READ, 0, 1, bytes(8))
        theirs.sendall(_frame(MessageType.GOODBYE, 2)[:10])
        assert channel.fill(TIMEOUT) == "data"  # already there: no wait
        assert channel.next_frame() is None and channel.decoder.buffered == 10
        wake_w.send(b"x")
        assert channel.fill(None) == "wake"
        wake_r.recv(1)
        theirs.sendall(_frame(MessageType.GOODBYE, 2)[10:])
        theirs.close()
        assert channel.fill(None) == "data"
        assert channel.next_frame() == uvbp.Frame(MessageType.GOODBYE, 0, 2, b"")
        assert channel.fill(None) == "eof" and channel.eof
        assert channel.fill(None) == "eof"
    finally:
        for sock in (ours, theirs, wake_r, wake_w):
            sock.close()


def test_channel_stops_spinning_when_the_cpu_is_contended(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long sched_yield means another task got the CPU: that wait sleeps; when it keeps
    happening, the next waits sleep at once."""
    from uefivars_gui.live import server as server_module

    yields: list[float] = []
    slow = [True]
    now = [0.0]

    def fake_yield() -> None:
        yields.append(now[0])
        if slow[0]:
            now[0] += 0.002  # as if a busy task had run for a time slice

    monkeypatch.setattr(server_module, "_yield", fake_yield)
    monkeypatch.setattr(server_module, "_clock", lambda: now[0])
    ours, theirs = socket.socketpair()
    try:
        channel = Channel(ours, spin=64)
        for strike in range(1, server_module._STRIKES):
            assert channel.fill(0) == "timeout"
            assert len(yields) == strike  # one long yield, then that wait stopped spinning
            assert channel._backoff == 0
        assert channel.fill(0) == "timeout"
        assert len(yields) == server_module._STRIKES
        assert channel._backoff == server_module._BACKOFF_WAITS  # contended: sleep at once
        slow[0] = False
        for _ in range(3):
            assert channel.fill(0) == "timeout"
        assert len(yields) == server_module._STRIKES
        assert channel._backoff == server_module._BACKOFF_WAITS - 3
        theirs.sendall(_frame(MessageType.GOODBYE, 1))
        assert channel.fill(TIMEOUT) == "data"  # sleeping in poll still receives
        channel._backoff = 0
        assert channel.fill(0) == "timeout"
        assert len(yields) == server_module._STRIKES + 64  # quick yields: spinning again
    finally:
        ours.close()
        theirs.close()


def test_isolated_long_yields_do_not_stop_spinning(monkeypatch: pytest.MonkeyPatch) -> None:
    from uefivars_gui.live import server as server_module

    calls = [0]
    now = [0.0]

    def fake_yield() -> None:
        calls[0] += 1
        if calls[0] % 100 == 1:
            now[0] += 0.001

    monkeypatch.setattr(server_module, "_yield", fake_yield)
    monkeypatch.setattr(server_module, "_clock", lambda: now[0])
    monkeypatch.setattr(server_module, "_STRIKE_WINDOW", 4)
    ours, theirs = socket.socketpair()
    try:
        channel = Channel(ours, spin=64)
        for _ in range(20):  # one long yield every other wait or so: never 3 within 4 waits
            assert channel.fill(0) == "timeout"
            assert channel._backoff == 0
    finally:
        ours.close()
        theirs.close()


def test_channel_sends_a_large_frame_to_a_slow_reader() -> None:
    ours, theirs = socket.socketpair()
    try:
        channel = Channel(ours)
        payload = bytes(range(256)) * 4096  # 1 MiB: more than the socket buffer takes at once
        received = bytearray()

        def read_slowly() -> None:
            while len(received) < len(payload) + 16:
                time.sleep(0.001)
                received.extend(theirs.recv(65536))

        reader = threading.Thread(target=read_slowly)
        reader.start()
        channel.send_frame(MessageType.DMA_WRITE, 9, payload)
        reader.join(TIMEOUT)
        assert bytes(received) == _frame(MessageType.DMA_WRITE, 9, payload)
    finally:
        ours.close()
        theirs.close()


# --- device state, reset, saving -------------------------------------------------------------


def test_reconnect_keeps_device_state_and_reset_clears_it(backend: Backend) -> None:
    with backend.client() as first:
        variables = VariableClient(GuestSession(first))
        assert variables.set_variable("Volatile", VENDOR, BS_RT, b"\x2a").status == EFI_SUCCESS
        assert variables.end_of_dxe() == 0
    with backend.client() as second:
        assert second.read(0x04, 4) == 0x10000  # registers survive too
        variables = VariableClient(GuestSession(second, initialize=False, buffer_addr=DMA_ADDR))
        assert variables.get_variable("Volatile", VENDOR).data == b"\x2a"
        assert backend.device.end_of_dxe
        second.reset()
        assert not backend.device.end_of_dxe
        variables = VariableClient(GuestSession(second))
        assert variables.get_variable("Volatile", VENDOR, 8).status == EFI_NOT_FOUND
        assert variables.get_variable("Persisted", VENDOR).data == b"\x01\x02\x03"


def test_reset_reply_bytes(backend: Backend) -> None:
    vmm = RawVmm(backend.socket_path)
    vmm.hello()
    vmm.send(_frame(MessageType.RESET, 0x42))
    assert vmm.frame() == bytes.fromhex("55564250 0600 0100 42000000 00000000")
    vmm.close()


def test_nv_changes_are_saved_atomically(backend: Backend) -> None:
    path = backend.json_path
    with backend.client() as client:
        variables = VariableClient(GuestSession(client))
        inode = path.stat().st_ino
        old_content = path.read_bytes()
        with open(path, "rb") as old_file:
            assert variables.set_variable("Volatile", VENDOR, BS_RT, b"\x01").status == EFI_SUCCESS
            assert path.stat().st_ino == inode  # nothing non-volatile changed: not saved
            assert variables.set_variable("Saved", VENDOR, NV_BS_RT, b"\x99").status == EFI_SUCCESS
            # saved before the reply, by rename: a new inode, the old file intact
            assert path.stat().st_ino != inode
            assert old_file.read() == old_content
        saved = qemu_json.decode(path.read_bytes()).store
        assert saved.get(VENDOR, "Saved") is not None and saved.get(VENDOR, "Saved").data == b"\x99"  # type: ignore[union-attr]
        assert saved.get(VENDOR, "Volatile") is None  # only NV variables are persisted
        assert path.read_bytes() == qemu_json.encode(
            VarStore(v for v in backend.device.store if v.attributes & 1)
        )
        inode = path.stat().st_ino
        assert variables.delete_variable("Saved", VENDOR).status == EFI_SUCCESS
        assert path.stat().st_ino != inode
        assert qemu_json.decode(path.read_bytes()).store.get(VENDOR, "Saved") is None
    assert not list(path.parent.glob(".vars.json.*"))  # no temporary files left behind


def test_stop_sends_goodbye_saves_and_removes_the_socket(short_dir: Path) -> None:
    running = _start(short_dir)
    client = running.client()
    assert VariableClient(GuestSession(client)).set_variable("Late", VENDOR, NV_BS_RT, b"1").status == 0
    running.stop()
    assert client.wait_goodbye(TIMEOUT)
    assert not running.socket_path.exists()
    assert qemu_json.decode(running.json_path.read_bytes()).store.get(VENDOR, "Late") is not None
    with pytest.raises(ConnectionClosedError):
        client.read(0, 2)


def test_socket_mode_is_0600(backend: Backend) -> None:
    st = os.stat(backend.socket_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_existing_paths(short_dir: Path, backend: Backend) -> None:
    device = UefiVarsDevice(DeviceConfig(), VarStore(), None)
    with pytest.raises(UsageError, match="another backend"):
        UvbpServer(device, unix_path=backend.socket_path).start(reset=False)
    assert backend.socket_path.exists()
    regular = short_dir / "file"
    regular.write_text("keep me")
    with pytest.raises(UsageError, match="not a socket"):
        UvbpServer(device, unix_path=regular).start(reset=False)
    assert regular.read_text() == "keep me"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(short_dir / "stale.sock"))
    stale.close()  # a socket file nobody listens on: replaced
    server = UvbpServer(device, unix_path=short_dir / "stale.sock")
    server.start(reset=False)
    server.close()
    assert not (short_dir / "stale.sock").exists()


# --- TCP -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0.0.0.0:5959", "192.168.1.10:1", "[::]:1", "10.0.0.1:80"])
def test_tcp_refuses_non_loopback(text: str) -> None:
    with pytest.raises(UsageError, match="refusing to listen"):
        parse_tcp_address(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:0", ("127.0.0.1", 0)), ("localhost:5959", ("127.0.0.1", 5959)), ("[::1]:7", ("::1", 7))],
)
def test_tcp_loopback_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_tcp_address(text) == expected


@pytest.mark.parametrize("text", ["5959", "example.org:1", "127.0.0.1:x", "127.0.0.1:70000"])
def test_tcp_bad_addresses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_tcp_address(text)


def test_tcp_server_refuses_any_address() -> None:
    device = UefiVarsDevice(DeviceConfig(), VarStore(), None)
    with pytest.raises(UsageError, match="refusing to listen on 0.0.0.0"):
        UvbpServer(device, tcp=("0.0.0.0", 0))


def test_tcp_loopback_session(short_dir: Path) -> None:
    running = _start(short_dir, tcp=("127.0.0.1", 0))
    try:
        assert running.server.tcp_address is not None
        host, port = running.server.tcp_address
        with UvbpClient.connect_tcp(host, port, timeout=TIMEOUT) as client:
            data = VariableClient(GuestSession(client)).get_variable("Lang", EFI_GLOBAL_VARIABLE).data
            assert data == b"eng\0"
            with pytest.raises(BackendBusyError):  # one session across both sockets
                running.client()
    finally:
        running.stop()


# --- `uefivars serve` in its own process -----------------------------------------------------


@dataclass
class Served:
    proc: subprocess.Popen[str]
    socket_path: Path
    store_path: Path
    banner: str

    def stop(self, signal_it: bool = True) -> tuple[int, str]:
        if signal_it and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


def _serve(store: Path, sock: Path, *extra: str) -> Served:
    proc = subprocess.Popen(
        [sys.executable, "-m", "uefivars_gui.cli.serve", str(store), "--socket", str(sock), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        proc.kill()
        pytest.fail("uefivars serve did not start within 30 s")
    banner = proc.stdout.readline()
    if not banner:
        proc.wait(5)
        assert proc.stderr is not None
        pytest.fail(f"uefivars serve exited: {proc.stderr.read()}")
    return Served(proc, sock, store, banner)


@pytest.fixture
def served(short_dir: Path, ms_store: Path) -> Iterator[Served]:
    store = short_dir / "vars.json"
    shutil.copyfile(ms_store, store)
    running = _serve(store, short_dir / "uvbp.sock")
    yield running
    if running.proc.poll() is None:
        running.proc.kill()
        running.proc.wait()


@pytest.mark.parametrize("mode", ["dma", "pio"])
def test_guest_drivers_against_uefivars_serve(served: Served, mode: str) -> None:
    assert str(served.socket_path) in served.banner and "uefi-vars-x64" in served.banner
    assert stat.S_IMODE(os.stat(served.socket_path).st_mode) == 0o600
    before = served.store_path.stat().st_ino
    with UvbpClient.connect_unix(served.socket_path, timeout=TIMEOUT) as client:
        session = GuestSession(client, "dma" if mode == "dma" else "pio")
        variables = VariableClient(session)
        assert variables.get_variable("SecureBoot", EFI_GLOBAL_VARIABLE).data == b"\x01"
        names = variables.enumerate_variables()
        assert (EFI_GLOBAL_VARIABLE, "PK") in names and len(names) > 10
        assert variables.set_variable("Served", VENDOR, NV_BS_RT, b"abc").status == EFI_SUCCESS
        assert variables.get_variable("Served", VENDOR).data == b"abc"
        assert (VENDOR, "Served") in variables.enumerate_variables()
        after_set = served.store_path.stat().st_ino
        assert after_set != before  # saved by rename, before the reply
        saved = qemu_json.decode(served.store_path.read_bytes()).store
        assert saved.get(VENDOR, "Served") is not None
        assert variables.delete_variable("Served", VENDOR).status == EFI_SUCCESS
        assert variables.get_variable("Served", VENDOR, 8).status == EFI_NOT_FOUND
        assert served.store_path.stat().st_ino != after_set
        assert qemu_json.decode(served.store_path.read_bytes()).store.get(VENDOR, "Served") is None
        assert (client.dma_reads > 0) == (mode == "dma")
    code, stderr = served.stop()
    assert code == 0
    assert "session 1" in stderr


def test_sigterm_saves_says_goodbye_and_removes_the_socket(served: Served) -> None:
    client = UvbpClient.connect_unix(served.socket_path, timeout=TIMEOUT)
    variables = VariableClient(GuestSession(client))
    assert variables.set_variable("Volatile", VENDOR, BS_RT, b"v").status == EFI_SUCCESS
    served.proc.send_signal(signal.SIGTERM)
    assert client.wait_goodbye(TIMEOUT)
    code, stderr = served.stop(signal_it=False)
    assert code == 0
    assert not served.socket_path.exists()
    assert "GOODBYE" in stderr
    saved = qemu_json.decode(served.store_path.read_bytes())
    assert saved.store.get(EFI_GLOBAL_VARIABLE, "PK") is not None


def test_reconnect_to_uefivars_serve_keeps_state(served: Served) -> None:
    with UvbpClient.connect_unix(served.socket_path, timeout=TIMEOUT) as client:
        assert VariableClient(GuestSession(client)).set_variable("V", VENDOR, BS_RT, b"1").status == 0
    with UvbpClient.connect_unix(served.socket_path, timeout=TIMEOUT) as client:
        assert VariableClient(GuestSession(client)).get_variable("V", VENDOR).data == b"1"
    assert served.stop()[0] == 0


def test_use_pio_flag(short_dir: Path, ms_store: Path) -> None:
    store = short_dir / "vars.json"
    shutil.copyfile(ms_store, store)
    running = _serve(store, short_dir / "pio.sock", "--use-pio", "--flavour", "sysbus")
    try:
        assert "uefi-vars-sysbus" in running.banner
        with UvbpClient.connect_unix(running.socket_path, timeout=TIMEOUT) as client:
            assert client.hello_reply is not None and client.hello_reply.device_flags == 1
            session = GuestSession(client)
            assert session.mode == "pio"
            assert VariableClient(session).get_variable("SecureBoot", EFI_GLOBAL_VARIABLE).data == b"\x01"
    finally:
        assert running.stop()[0] == 0


# --- the command line refuses what it must -----------------------------------------------------


def _serve_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from uefivars_gui.cli import serve

    code = serve.main(argv)
    return code, capsys.readouterr().err


def test_cli_refuses_to_overwrite_a_flash_image(short_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = short_dir / "vars.fd"
    shutil.copyfile(FD_STORE, image)
    code, err = _serve_main([str(image), "--socket", str(short_dir / "s.sock")], capsys)
    assert code == 2 and "--save-as" in err
    assert image.read_bytes() == FD_STORE.read_bytes()
    code, err = _serve_main(
        [str(FD_STORE), "--socket", str(short_dir / "s.sock"), "--save-as", str(image)], capsys
    )
    assert code == 2 and "not a JSON store" in err


def test_cli_refuses_non_loopback_tcp(short_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _serve_main(
        ["x.json", "--socket", str(short_dir / "s.sock"), "--tcp", "0.0.0.0:5959"], capsys
    )
    assert code == 2 and "refusing to listen on 0.0.0.0" in err
    assert not (short_dir / "s.sock").exists()


def test_cli_needs_a_socket(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _serve_main(["x.json"], capsys)
    assert code == 2 and "--socket" in err


def test_cli_register_adds_the_subcommand() -> None:
    import argparse

    from uefivars_gui.cli import serve

    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "s.json", "--socket", "/tmp/x", "--size", "64K", "--use-pio"])
    assert (args.handler_module, args.size, args.use_pio, args.flavour) == ("serve", 65536, True, "x64")


def test_cli_pcap_capture(short_dir: Path, ms_store: Path) -> None:
    pcap = pytest.importorskip("uefivars_gui.codec.pcap")
    pytest.importorskip("uefivars_gui.live.capture")
    store = short_dir / "vars.json"
    shutil.copyfile(ms_store, store)
    capture = short_dir / "mm.pcap"
    running = _serve(store, short_dir / "p.sock", "--pcap", str(capture))
    try:
        with UvbpClient.connect_unix(running.socket_path, timeout=TIMEOUT) as client:
            session = GuestSession(client)
            VariableClient(session).get_variable("SecureBoot", EFI_GLOBAL_VARIABLE, 4)
            request, reply = session.last_request, session.last_reply
    finally:
        assert running.stop()[0] == 0
    records = pcap.decode_pcap(capture.read_bytes()).records
    # RESET at start, then REQUEST and REPLY of GET_PAYLOAD_SIZE and of GET_VARIABLE
    assert [r.kind for r in records] == [1, 2, 3, 2, 3]
    assert records[3].data == request and records[4].data == reply


def test_cli_new_json_store_is_created(short_dir: Path) -> None:
    store = short_dir / "new.json"
    running = _serve(store, short_dir / "n.sock")
    try:
        assert "new empty store" in running.banner
        deadline = time.monotonic() + TIMEOUT
        while not store.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        saved = qemu_json.decode(store.read_bytes()).store  # written at the machine-start reset
        assert [v.name for v in saved] == ["CustomMode", "VendorKeysNv"]
    finally:
        assert running.stop()[0] == 0


def test_cli_host_policies_lock_a_variable(short_dir: Path, ms_store: Path) -> None:
    store = short_dir / "vars.json"
    shutil.copyfile(ms_store, store)
    policies = short_dir / "host.json"
    policies.write_text(
        json.dumps([{"namespace": str(VENDOR), "name": "Pinned", "lock_policy_type": "LOCK_NOW"}])
    )
    running = _serve(store, short_dir / "pol.sock", "--policies", str(policies))
    try:
        with UvbpClient.connect_unix(running.socket_path, timeout=TIMEOUT) as client:
            variables = VariableClient(GuestSession(client))
            assert variables.set_variable("Pinned", VENDOR, NV_BS_RT, b"fw").status == EFI_SUCCESS
            variables.end_of_dxe()
            assert variables.set_variable("Pinned", VENDOR, NV_BS_RT, b"os").status == EFI_WRITE_PROTECTED
            assert variables.get_variable("Pinned", VENDOR).data == b"fw"
    finally:
        assert running.stop()[0] == 0


def test_cli_bad_policy_file_is_a_clean_error(short_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = short_dir / "p.json"
    bad.write_text("{nonsense")
    code, err = _serve_main(
        [str(short_dir / "x.json"), "--socket", str(short_dir / "s.sock"), "--policies", str(bad)], capsys
    )
    assert code == 2 and "Traceback" not in err and "JSON" in err
    assert not (short_dir / "x.json").exists() and not (short_dir / "s.sock").exists()


def test_random_bytes_never_break_the_backend(backend: Backend) -> None:
    import random

    rng = random.Random(1234)
    for round_number in range(40):
        vmm = RawVmm(backend.socket_path)
        if round_number % 2:
            vmm.hello()
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        if round_number % 4 == 3:
            blob = b"UVBP" + blob  # past the magic, into type/flags/length checks
        vmm.send(blob)
        vmm.sock.shutdown(socket.SHUT_WR)
        try:
            while vmm.sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        vmm.close()
    with backend.client() as client:
        assert VariableClient(GuestSession(client)).get_variable("Lang", EFI_GLOBAL_VARIABLE).data == b"eng\0"
