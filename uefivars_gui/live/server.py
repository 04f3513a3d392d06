"""The UVBP/1 backend: the device engine behind a socket (backend-protocol.md).

:class:`UvbpServer` owns one :class:`~uefivars_gui.device.engine.UefiVarsDevice` and
serves one VMM session at a time over a Unix socket (mode 0600) and/or a loopback TCP
port. Register accesses arrive as REG_READ / REG_WRITE; for a DMA command the engine's
guest memory is :class:`VmmMemory`, which sends DMA_READ / DMA_WRITE to the VMM and waits
for their replies (the nesting rule). The device state lives as long as the server: a VMM
that reconnects finds registers, boot phase, policies and volatile variables as it left
them.

Whenever QEMU would rewrite its JSON file (a non-volatile change, a reset) the store is
saved atomically through the ``saver`` callback, before the VMM gets the reply; it is
saved once more when the server stops.

Threads: everything that touches the device runs on the thread that called
:meth:`UvbpServer.serve_forever`. A second connection while a session is active is
answered "busy" (ERROR code 3) by a short-lived helper thread that never touches the
device. :meth:`UvbpServer.request_stop` is safe to call from a signal handler or another
thread.

Waiting for a peer first tries to receive for a few microseconds (yielding the CPU between
attempts) before sleeping in ``poll()``: on small VMs waking a sleeping process costs far
more than a message, and this keeps a DMA round trip at a few microseconds (``spin=0``
turns it off).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import select
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from ..core.attributes import NV
from ..core.store import VarStore
from ..device.engine import GuestMemoryError, UefiVarsDevice
from ..device.log import LogRecord, PcapRecord, PersistNeeded
from ..errors import UefiVarsError, UsageError
from . import uvbp
from .atomic import atomic_write
from .uvbp import ErrorCode, Frame, MessageType, ProtocolError

__all__ = [
    "BUSY_TIMEOUT",
    "DEFAULT_SPIN",
    "Channel",
    "JsonStoreSaver",
    "UvbpServer",
    "VmmMemory",
    "parse_tcp_address",
]

log = logging.getLogger(__name__)

#: A second connection that sends nothing for this long is closed.
BUSY_TIMEOUT = 5.0
#: Non-blocking receive attempts before sleeping in poll().
DEFAULT_SPIN = 64
#: A sched_yield() that lasts this long (seconds) gave the CPU to another busy task for
#: a time slice: that wait stops spinning and sleeps ...
_CONTENDED_YIELD = 200e-6
#: ... and when it happens this often within _STRIKE_WINDOW waits, the CPU is contended:
#: the next _BACKOFF_WAITS waits sleep at once (a waking sleeper preempts busy tasks,
#: a yielding spinner hands them its time slice).
_STRIKES = 3
_STRIKE_WINDOW = 256
_BACKOFF_WAITS = 1024
#: Bytes read ahead by the first DMA_READ of a command (within the programmed buffer).
DEFAULT_READ_AHEAD = 4096
#: Largest data chunk of one DMA_READ / DMA_WRITE.
DMA_CHUNK = 65536
_MASK64 = (1 << 64) - 1
_LINGER = 1.0
_LINGER_BYTES = 1 << 20
_MAX_BUSY_THREADS = 8
_STOP_GRACE = 2.0
_REPLY = int(uvbp.Flags.REPLY)
_ERROR_REPLY = int(uvbp.Flags.REPLY | uvbp.Flags.ERROR)
_REG_READ = int(MessageType.REG_READ)
_REG_WRITE = int(MessageType.REG_WRITE)
_SIZE_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF, 8: _MASK64}
#: Every (offset, size) a REG_READ / REG_WRITE may carry (uvbp.valid_access).
_VALID_ACCESSES = frozenset(
    (offset, size) for size in uvbp.ACCESS_SIZES for offset in range(0, uvbp.REGION_SIZE, size)
)
_pack_frame = uvbp.pack_frame
_unpack_reg_read = struct.Struct("<II").unpack
_unpack_reg_write = struct.Struct("<IIQ").unpack
_pack_u64 = struct.Struct("<Q").pack
_pack_dma_read = struct.Struct("<QI").pack

Wait = Literal["data", "eof", "timeout", "wake"]
_yield: Callable[[], None] = getattr(os, "sched_yield", lambda: None)
_clock = time.perf_counter


class _Broken(GuestMemoryError):
    """A DMA could not be completed because the session broke (the command ends 0x10)."""


# --- channel ----------------------------------------------------------------------------


class Channel:
    """One UVBP connection on a non-blocking socket: framed send, buffered receive.

    Shared by the server and :class:`~uefivars_gui.live.uvbp_client.UvbpClient`. A
    message costs one ``send`` (header and payload in one buffer); received bytes go
    straight into the decoder's buffer (one ``recv_into``, no intermediate copy).
    """

    def __init__(self, sock: socket.socket, *, spin: int = DEFAULT_SPIN) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.spin = spin
        self.decoder = uvbp.FrameDecoder()
        #: The next complete frame already received (ProtocolError on a bad header).
        self.next_frame: Callable[[], Frame | None] = self.decoder.next_frame
        self._sock_send = sock.send
        self._recv_into = sock.recv_into
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._wake_fd: int | None = None
        #: waits left that sleep at once (the CPU was contended)
        self._backoff = 0
        #: long yields seen, and waits left before that count restarts
        self._strikes = 0
        self._strike_window = _STRIKE_WINDOW
        self.eof = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def watch(self, wake_fd: int) -> None:
        """Also return from waits when ``wake_fd`` becomes readable ("wake")."""
        if self._wake_fd is None:
            self._poll.register(wake_fd, select.POLLIN)
            self._wake_fd = wake_fd

    def send(self, data: bytes, timeout: float | None = 30.0) -> None:
        """All of ``data``; OSError (or TimeoutError) when the peer does not take it."""
        try:
            sent = self._sock_send(data)
        except BlockingIOError:
            sent = 0
        if sent != len(data):
            self._send_rest(data, sent, timeout)

    def _send_rest(self, data: bytes, sent: int, timeout: float | None) -> None:
        view = memoryview(data)[sent:]
        deadline = None if timeout is None else time.monotonic() + timeout
        out_poll = select.poll()
        out_poll.register(self.sock, select.POLLOUT)
        while view:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("the peer does not read")
            out_poll.poll(None if remaining is None else max(1, int(remaining * 1000)))
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                sent = 0
            view = view[sent:]

    def send_frame(self, msg_type: int, msg_id: int, payload: bytes = b"", flags: int = 0) -> None:
        data = _pack_frame(msg_type, msg_id, payload, flags)
        try:
            sent = self._sock_send(data)
        except BlockingIOError:
            sent = 0
        if sent != len(data):
            self._send_rest(data, sent, 30.0)

    def send_error(self, msg_type: int, msg_id: int, code: int, message: str) -> None:
        self.send_frame(msg_type, msg_id, uvbp.pack_error(code, message), uvbp.FLAGS_MASK)

    def _take(self) -> bool | None:
        """One non-blocking receive: True data, False end of stream, None nothing yet."""
        decoder = self.decoder
        try:
            count = self._recv_into(decoder.reserve())
        except BlockingIOError:
            return None
        except (ConnectionResetError, ConnectionAbortedError):
            count = 0
        if not count:
            self.eof = True
            return False
        decoder.commit(count)
        return True

    def fill(self, timeout: float | None) -> Wait:
        """Receive what is there, waiting up to ``timeout`` seconds (None: forever).

        Before sleeping it tries to receive ``spin`` times, yielding the CPU before each
        attempt: a peer on another CPU answers without the cost of waking us, one on the
        same CPU gets to run at once (we are usually here just after sending it a
        message). Receiving is the test: one system call per attempt, none more once the
        data is there. A yield that lasts long handed the CPU to another task: that wait
        sleeps, and when it keeps happening (the CPU is contended, and every yield would
        cost a time slice) the next waits sleep at once.
        """
        if self.eof:
            return "eof"
        decoder = self.decoder
        recv_into = self._recv_into
        room = decoder.reserve()
        spins = self.spin
        if self._backoff:
            self._backoff -= 1
            spins = 0
        elif spins:
            self._strike_window -= 1
            if not self._strike_window:
                self._strike_window = _STRIKE_WINDOW
                self._strikes = 0
        while True:
            if spins:  # we come here just after sending: let the peer run first
                before = _clock()
                _yield()
                if _clock() - before > _CONTENDED_YIELD:
                    spins = 0
                    self._strikes += 1
                    if self._strikes >= _STRIKES:
                        self._strikes = 0
                        self._backoff = _BACKOFF_WAITS
            try:
                count = recv_into(room)
            except BlockingIOError:
                if not spins:
                    break
                spins -= 1
                continue
            except (ConnectionResetError, ConnectionAbortedError):
                count = 0
            if not count:
                self.eof = True
                return "eof"
            decoder.commit(count)
            return "data"
        poll = self._poll.poll
        deadline: float | None = None
        while True:
            if timeout is None:
                events = poll(None)
            else:
                if deadline is None:
                    deadline = time.monotonic() + timeout
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout"
                events = poll(int(remaining * 1000) + 1)
            if events:
                wake = self._wake_fd
                if wake is not None:
                    for fd, _ in events:
                        if fd == wake:
                            return "wake"
                got = self._take()
                if got is not None:
                    return "data" if got else "eof"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _linger_close(sock: socket.socket, limit: float = _LINGER) -> None:
    """Close after our last message reached the peer: FIN, drain its input briefly, close.

    Closing with unread input makes the kernel reset the connection, which can destroy
    the ERROR reply we just sent before the peer reads it.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(True)
        deadline = time.monotonic() + limit
        drained = 0
        while drained < _LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                break
            drained += len(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sock.close()


# --- guest memory over the session ------------------------------------------------------


class VmmMemory:
    """The engine's :class:`~uefivars_gui.device.engine.GuestMemory` for one session.

    ``read``/``write`` send DMA_READ/DMA_WRITE and wait for the replies; an ERROR reply
    (code 4, "DMA failed") raises :class:`GuestMemoryError`, which ends the command with
    CMD_STS 0x10. The first read of a command reads up to ``read_ahead`` bytes of the
    programmed buffer at once, so header and message usually cost one round trip; if the
    VMM refuses that longer read, the exact read is retried.
    """

    def __init__(self, server: UvbpServer, session: _Session, read_ahead: int = DEFAULT_READ_AHEAD) -> None:
        self._server = server
        self._session = session
        self.read_ahead = read_ahead
        self._cache_addr = 0
        self._cache = b""
        #: (address, length) of a read-ahead the VMM refused: not tried again
        self._refused: tuple[int, int] | None = None

    def begin_command(self) -> None:
        self._cache = b""

    def read(self, addr: int, length: int) -> bytes:
        if length <= 0:
            return b""
        cache = self._cache
        start = addr - self._cache_addr
        if cache and start >= 0 and start + length <= len(cache):
            return cache[start : start + length]
        want = self._read_ahead_length(addr, length)
        if want > length and self._refused != (addr, want):
            try:
                data = self._read(addr, want)
            except _Broken:
                raise
            except GuestMemoryError:
                self._refused = (addr, want)
            else:
                self._cache_addr, self._cache = addr, data
                return data[:length]
        return self._read(addr, length)

    def _read_ahead_length(self, addr: int, length: int) -> int:
        if self.read_ahead <= length:
            return length
        regs = self._server.device.registers
        if addr != regs.dma_address:  # only the command's first read, at the buffer's start
            return length
        room = min(regs.buf_size, _MASK64 + 1 - addr)
        return max(length, min(self.read_ahead, room, DMA_CHUNK))

    def _read(self, addr: int, length: int) -> bytes:
        if length <= DMA_CHUNK:
            payload = _pack_dma_read(addr & _MASK64, length)
            return self._server._dma(self._session, MessageType.DMA_READ, payload, length)
        parts: list[bytes] = []
        done = 0
        while done < length:
            chunk = min(DMA_CHUNK, length - done)
            where = (addr + done) & _MASK64
            payload = uvbp.pack_dma_read(where, chunk)
            parts.append(self._server._dma(self._session, MessageType.DMA_READ, payload, chunk))
            done += chunk
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def write(self, addr: int, data: bytes) -> None:
        self._cache = b""
        if len(data) <= DMA_CHUNK:  # the usual case: one message, one copy of the data
            if data:
                payload = _pack_u64(addr & _MASK64) + data
                self._server._dma(self._session, MessageType.DMA_WRITE, payload, 0)
            return
        for done in range(0, len(data), DMA_CHUNK):
            where = (addr + done) & _MASK64
            payload = uvbp.pack_dma_write(where, bytes(data[done : done + DMA_CHUNK]))
            self._server._dma(self._session, MessageType.DMA_WRITE, payload, 0)


# --- saving -----------------------------------------------------------------------------


class JsonStoreSaver:
    """Save the non-volatile variables as QEMU's JSON, atomically (temp file + rename).

    A save whose bytes equal the last save is skipped (no rename, no fsync).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._last: bytes | None = None
        self.saves = 0

    def __call__(self, store: VarStore) -> None:
        from ..codec import qemu_json

        persistent = VarStore(var for var in store if var.attributes & NV)
        data = qemu_json.encode(persistent)
        if data == self._last:
            return
        atomic_write(self.path, data)
        self._last = data
        self.saves += 1


# --- sessions ---------------------------------------------------------------------------


class _Session:
    def __init__(self, number: int, channel: Channel, peer: str) -> None:
        self.number = number
        self.channel = channel
        self.peer = peer
        self.started = time.monotonic()
        self.hello_done = False
        self.serves_dma = False
        self.next_id = 1
        self.memory: VmmMemory | None = None
        #: set when the session must end after the current request
        self.fatal: ProtocolError | None = None
        self.ended: str | None = None
        #: an ERROR was sent before closing: close gently so that the VMM can read it
        self.linger = False
        self.requests = 0
        self.commands = 0
        self.dma = 0
        self.dma_errors = 0
        self.errors = 0

    def take_id(self) -> int:
        value = self.next_id
        self.next_id = (value + 1) & 0xFFFFFFFF or 1
        return value

    def summary(self) -> str:
        seconds = time.monotonic() - self.started
        dma = "" if self.serves_dma else " (VMM serves no DMA)"
        return (
            f"session {self.number} ({self.peer}){dma}: {self.requests} requests, {self.commands} commands, "
            f"{self.dma} DMA ({self.dma_errors} failed), {self.errors} errors, {seconds:.1f} s; "
            f"ended: {self.ended or 'closed'}"
        )


def _peer_name(sock: socket.socket) -> str:
    if sock.family == socket.AF_UNIX:
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid, uid, _ = struct.unpack("3i", creds)
            return f"unix pid {pid} uid {uid}"
        except OSError:
            return "unix"
    try:
        host, port = sock.getpeername()[:2]
        return f"tcp {host}:{port}"
    except OSError:
        return "tcp"


def parse_tcp_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) of a loopback address; UsageError otherwise."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise UsageError(f"TCP address {text!r}: expected HOST:PORT, e.g. 127.0.0.1:5959")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"TCP address {text!r}: bad port {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"TCP address {text!r}: port {port} out of range")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(
            f"TCP address {text!r}: give a loopback IP address (127.0.0.1 or ::1), not a host name"
        ) from None
    if not address.is_loopback:
        raise UsageError(
            f"refusing to listen on {host}: UVBP has no authentication, so TCP is bound to a loopback "
            "address only (127.0.0.0/8 or ::1); use the Unix socket or an SSH tunnel for remote VMMs"
        )
    return str(address), port


# --- the server -------------------------------------------------------------------------


class UvbpServer:
    """The backend. ``start()`` binds, ``serve_forever()`` runs until ``request_stop()``.

    ``saver(store)`` persists the store (e.g. :class:`JsonStoreSaver`); ``pcap(record)``
    receives every :class:`~uefivars_gui.device.log.PcapRecord`. ``info`` goes into the
    HELLO reply.
    """

    def __init__(
        self,
        device: UefiVarsDevice,
        *,
        unix_path: str | os.PathLike[str] | None = None,
        tcp: tuple[str, int] | None = None,
        saver: Callable[[VarStore], object] | None = None,
        pcap: Callable[[PcapRecord], object] | None = None,
        info: Mapping[str, object] | None = None,
        busy_timeout: float = BUSY_TIMEOUT,
        dma_timeout: float | None = 60.0,
        spin: int = DEFAULT_SPIN,
        read_ahead: int = DEFAULT_READ_AHEAD,
    ) -> None:
        if unix_path is None and tcp is None:
            raise UsageError("the backend needs a Unix socket path or a TCP address")
        if tcp is not None:
            parse_tcp_address(f"[{tcp[0]}]:{tcp[1]}" if ":" in tcp[0] else f"{tcp[0]}:{tcp[1]}")
        self.device = device
        self.unix_path = Path(unix_path) if unix_path is not None else None
        self._tcp_request = tcp
        self.tcp_address: tuple[str, int] | None = None
        self.saver = saver
        self.pcap = pcap
        self.info = dict(info or {})
        self.busy_timeout = busy_timeout
        self.dma_timeout = dma_timeout
        self.spin = spin
        self.read_ahead = read_ahead
        self.sessions = 0
        self.session: _Session | None = None
        self._listeners: list[socket.socket] = []
        self._unix_inode: tuple[int, int] | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stop = False
        self._stop_time: float | None = None
        self._persist_pending = False
        self._busy_slots = threading.BoundedSemaphore(_MAX_BUSY_THREADS)
        self._started = False
        self._closed = False
        device.listeners.append(self._on_record)

    # -- life cycle ---------------------------------------------------------------------
    def start(self, *, reset: bool = True) -> None:
        """Bind the sockets; with ``reset`` run the device's hard reset (machine start)."""
        try:
            if self.unix_path is not None:
                self._listen_unix(self.unix_path)
            if self._tcp_request is not None:
                self._listen_tcp(*self._tcp_request)
        except BaseException:
            self._close_listeners()
            raise
        self._started = True
        if reset:
            self.reset_device()

    def _listen_unix(self, path: Path) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            if not stat.S_ISSOCK(st.st_mode):
                raise UsageError(f"{path}: exists and is not a socket; refusing to replace it")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.settimeout(1.0)
                probe.connect(str(path))
            except OSError:
                os.unlink(path)  # a stale socket of a backend that died
            else:
                raise UsageError(f"{path}: another backend is listening there")
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(path))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EINVAL or "too long" in str(exc):
                raise UsageError(f"{path}: socket path too long (at most 107 bytes)") from None
            raise UsageError(f"{path}: cannot create the socket: {exc.strerror or exc}") from None
        # Not listening yet, so nobody can connect before the mode is 0600.
        os.chmod(path, 0o600)
        st = os.stat(path)
        self._unix_inode = (st.st_dev, st.st_ino)
        sock.listen(8)
        sock.setblocking(False)
        self._listeners.append(sock)

    def _listen_tcp(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(8)
        except OSError as exc:
            sock.close()
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        sock.setblocking(False)
        self.tcp_address = sock.getsockname()[:2]
        self._listeners.append(sock)

    def request_stop(self) -> None:
        """Ask ``serve_forever`` to end (safe in a signal handler and from other threads).

        A command waiting for a DMA reply gets a few more seconds to complete; then the
        VMM gets GOODBYE, the store is saved and the socket file removed."""
        if self._stop_time is None:
            self._stop_time = time.monotonic()
        self._stop = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def serve_forever(self) -> None:
        """Serve sessions until :meth:`request_stop`; then GOODBYE, save, remove the socket."""
        if not self._started:
            self.start()
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        by_fd: dict[int, socket.socket] = {}
        for listener in self._listeners:
            poller.register(listener, select.POLLIN)
            by_fd[listener.fileno()] = listener
        try:
            while not self._stop:
                session = self.session
                if session is not None:
                    if self._drain_frames(session):
                        poller.unregister(session.channel.fileno())
                        self._end_session(session)
                        continue
                    if self._stop:
                        break
                    if session.channel.fill(0) != "timeout":
                        continue  # data or end of stream: drain again
                for fd, _ in poller.poll():
                    if fd == self._wake_r.fileno():
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    elif fd in by_fd:
                        self._accept(by_fd[fd], poller)
                    elif self.session is not None and fd == self.session.channel.fileno():
                        self.session.channel.fill(0)
        finally:
            self._shutdown()

    def _accept(self, listener: socket.socket, poller: select.poll) -> None:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError as exc:
            log.warning("accept failed: %s", exc)
            return
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = _peer_name(conn)
        if self.session is not None or self._stop:
            self._reject_busy(conn, peer)
            return
        self.sessions += 1
        channel = Channel(conn, spin=self.spin)
        channel.watch(self._wake_r.fileno())
        session = _Session(self.sessions, channel, peer)
        self.session = session
        poller.register(conn, select.POLLIN)

    # -- busy -------------------------------------------------------------------------
    def _reject_busy(self, conn: socket.socket, peer: str) -> None:
        if not self._busy_slots.acquire(blocking=False):
            log.info("connection from %s refused: busy (too many waiting connections)", peer)
            with contextlib.suppress(OSError):
                conn.close()
            return
        thread = threading.Thread(target=self._busy_worker, args=(conn, peer), name="uvbp-busy", daemon=True)
        thread.start()

    def _busy_worker(self, conn: socket.socket, peer: str) -> None:
        try:
            received = bytearray()
            deadline = time.monotonic() + self.busy_timeout
            while len(received) < uvbp.HEADER_SIZE:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                conn.settimeout(remaining)
                chunk = conn.recv(4096)
                if not chunk:
                    log.info("connection from %s closed while another session is active", peer)
                    conn.close()
                    return
                received += chunk
            try:
                header = uvbp.parse_header(received)
            except ProtocolError as exc:
                code, msg_type, msg_id, text = ErrorCode.BAD_MESSAGE, exc.msg_type, exc.msg_id, exc.message
            else:
                code, msg_type, msg_id = ErrorCode.BUSY, header.type, header.id
                text = "busy: another VMM session is active"
            conn.settimeout(self.busy_timeout)
            conn.sendall(uvbp.pack_frame(msg_type, msg_id, uvbp.pack_error(code, text), uvbp.FLAGS_MASK))
            log.info("connection from %s refused: busy (another VMM session is active)", peer)
            _linger_close(conn)
        except (TimeoutError, OSError):
            log.info(
                "connection from %s closed: nothing sent within %.0f s while busy", peer, self.busy_timeout
            )
            with contextlib.suppress(OSError):
                conn.close()
        finally:
            self._busy_slots.release()

    # -- session ----------------------------------------------------------------------
    def _drain_frames(self, session: _Session) -> bool:
        """Handle every complete frame received; True when the session is over."""
        channel = session.channel
        while session.ended is None and session.fatal is None and not self._stop:
            try:
                frame = channel.next_frame()
            except ProtocolError as exc:
                session.fatal = exc
                break
            if frame is None:
                if channel.eof and channel.decoder.buffered:
                    session.fatal = self._truncated(channel)
                break
            session.requests += 1
            try:
                self._handle(session, frame)
            except OSError as exc:
                session.ended = session.ended or f"connection lost ({exc})"
            except Exception as exc:  # a bug of ours: answer and keep serving
                log.exception("internal error handling %s", frame.describe())
                session.errors += 1
                with contextlib.suppress(OSError):
                    channel.send_error(frame.type, frame.id, ErrorCode.INTERNAL_ERROR, repr(exc))
            self.device.drain_log()
        fatal = session.fatal
        if fatal is not None and not session.linger:
            session.errors += 1
            session.linger = True
            with contextlib.suppress(OSError):
                channel.send_error(fatal.msg_type, fatal.msg_id, ErrorCode.BAD_MESSAGE, fatal.message)
            session.ended = session.ended or f"protocol error: {fatal.message}"
        if session.ended is None and channel.eof and not channel.decoder.buffered:
            session.ended = "VMM disconnected"
        return session.ended is not None

    @staticmethod
    def _truncated(channel: Channel) -> ProtocolError:
        pending = channel.decoder.buffered
        if pending < uvbp.HEADER_SIZE:
            return ProtocolError(
                f"truncated header: {pending} of {uvbp.HEADER_SIZE} bytes, then end of stream"
            )
        try:
            header = channel.decoder.peek_header()
        except ProtocolError as exc:
            return exc
        assert header is not None
        return ProtocolError(
            f"truncated message: end of stream after {pending - uvbp.HEADER_SIZE} of {header.length} payload bytes",
            header.type,
            header.id,
        )

    def _handle(self, session: _Session, frame: Frame) -> None:
        msg_type, flags, msg_id, payload = frame
        if not flags and session.hello_done:  # the usual register accesses first
            if msg_type == _REG_READ:
                if len(payload) == 8:
                    offset, size = _unpack_reg_read(payload)
                    if (offset, size) in _VALID_ACCESSES:
                        value = self.device.read(offset, size)
                        session.channel.send_frame(_REG_READ, msg_id, _pack_u64(value & _MASK64), _REPLY)
                        return
            elif msg_type == _REG_WRITE and len(payload) == 16:
                offset, size, value = _unpack_reg_write(payload)
                if (offset, size) in _VALID_ACCESSES:
                    self._reg_write(session, frame, offset, size, value)
                    return
        channel = session.channel
        if flags:
            session.fatal = ProtocolError(
                f"unexpected {frame.describe()}: no request of the backend is outstanding",
                frame.type,
                frame.id,
            )
            return
        if not session.hello_done:
            self._hello(session, frame)
            return
        try:
            if msg_type == MessageType.REG_READ:
                offset, size = uvbp.parse_reg_read(frame)
                self._check_access(frame, offset, size)
                value = self.device.read(offset, size)
                channel.send_frame(msg_type, frame.id, uvbp.pack_u64(value), _REPLY)
            elif msg_type == MessageType.REG_WRITE:
                offset, size, value = uvbp.parse_reg_write(frame)
                self._check_access(frame, offset, size)
                self._reg_write(session, frame, offset, size, value)
            elif msg_type == MessageType.RESET:
                self._expect_empty(frame)
                self.reset_device()
                channel.send_frame(msg_type, frame.id, b"", _REPLY)
            elif msg_type == MessageType.GOODBYE:
                session.ended = "GOODBYE from the VMM"
            elif msg_type == MessageType.HELLO:
                raise ProtocolError("HELLO: the session is already open", msg_type, frame.id, fatal=False)
            else:
                raise ProtocolError(
                    f"{MessageType(msg_type).name} is a backend-to-VMM request",
                    msg_type,
                    frame.id,
                    fatal=False,
                )
        except ProtocolError as exc:
            if exc.fatal:
                session.fatal = exc
                return
            session.errors += 1
            channel.send_error(frame.type, frame.id, ErrorCode.BAD_MESSAGE, exc.message)

    def _hello(self, session: _Session, frame: Frame) -> None:
        if frame.type != MessageType.HELLO:
            session.fatal = ProtocolError(
                f"the first message must be HELLO, not {frame.describe()}", frame.type, frame.id
            )
            return
        try:
            request = uvbp.parse_hello(frame)
        except ProtocolError as exc:
            session.fatal = ProtocolError(exc.message, frame.type, frame.id)
            return
        if request.version != uvbp.VERSION:
            session.errors += 1
            session.channel.send_error(
                frame.type,
                frame.id,
                ErrorCode.UNSUPPORTED_VERSION,
                f"UVBP version {request.version} is not supported; this backend speaks version {uvbp.VERSION}",
            )
            session.ended = f"unsupported version {request.version}"
            session.linger = True
            return
        session.hello_done = True
        session.serves_dma = bool(request.vmm_features & uvbp.VMM_FEATURE_DMA)
        session.memory = VmmMemory(self, session, self.read_ahead) if session.serves_dma else None
        self.device.memory = session.memory
        flags = uvbp.DEVICE_FLAG_USE_PIO if self.device.config.use_pio else 0
        info = {"backend": "uefivars-gui", **self.info}
        payload = uvbp.pack_hello_reply(flags, info)
        session.channel.send_frame(frame.type, frame.id, payload, _REPLY)

    @staticmethod
    def _check_access(frame: Frame, offset: int, size: int) -> None:
        problem = uvbp.valid_access(offset, size)
        if problem is not None:
            name = MessageType(frame.type).name
            raise ProtocolError(f"{name}: {problem}", frame.type, frame.id, fatal=False)

    @staticmethod
    def _expect_empty(frame: Frame) -> None:
        if frame.payload:
            name = MessageType(frame.type).name
            raise ProtocolError(f"{name}: payload must be empty", frame.type, frame.id, fatal=False)

    def _reg_write(self, session: _Session, frame: Frame, offset: int, size: int, value: int) -> None:
        value &= _SIZE_MASKS[size]
        if offset <= 2 < offset + size:
            session.commands += 1
            if session.memory is not None:
                session.memory.begin_command()
        self.device.write(offset, size, value)
        if self._persist_pending:
            self._persist()
        if session.fatal is not None or session.ended is not None:
            return  # the session broke during a DMA: no reply
        session.channel.send_frame(_REG_WRITE, frame.id, b"", _REPLY)

    # -- DMA (called by VmmMemory from inside the engine) --------------------------------
    def _dma(self, session: _Session, msg_type: MessageType, payload: bytes, reply_length: int) -> bytes:
        """Send one DMA request and wait for its reply (the nesting rule)."""
        if session.fatal is not None or session.ended is not None or session is not self.session:
            raise _Broken("the VMM session is gone")
        channel = session.channel
        msg_id = session.next_id
        session.next_id = (msg_id + 1) & 0xFFFFFFFF or 1
        session.dma += 1
        try:
            channel.send_frame(msg_type, msg_id, payload)
        except OSError as exc:
            session.ended = f"connection lost during DMA ({exc})"
            raise _Broken(session.ended) from None
        next_frame = channel.next_frame
        deadline: float | None = None
        while True:
            try:
                frame = next_frame()
            except ProtocolError as exc:
                session.fatal = exc
                raise _Broken(exc.message) from None
            if frame is not None:
                reply_type, flags, reply_id, data = frame
                if (
                    reply_id == msg_id
                    and flags == _REPLY
                    and reply_type == msg_type
                    and len(data) == reply_length
                ):
                    return data
                return self._dma_reply(session, msg_type, msg_id, reply_length, frame)
            if deadline is None and self.dma_timeout is not None:
                deadline = time.monotonic() + self.dma_timeout
            timeout = None if deadline is None else deadline - time.monotonic()
            if self._stop_time is not None:
                grace = self._stop_time + _STOP_GRACE - time.monotonic()
                timeout = grace if timeout is None else min(timeout, grace)
            state = channel.fill(timeout)
            if state == "eof":
                if channel.decoder.buffered:
                    session.fatal = self._truncated(channel)
                    raise _Broken(session.fatal.message)
                session.ended = "VMM disconnected during a DMA"
                raise _Broken(session.ended)
            if state == "wake":
                with contextlib.suppress(OSError):
                    self._wake_r.recv(4096)
            elif state == "timeout":
                session.ended = f"no reply to {msg_type.name} id {msg_id}"
                raise _Broken(session.ended)

    @staticmethod
    def _dma_reply(session: _Session, msg_type: MessageType, msg_id: int, length: int, frame: Frame) -> bytes:
        if frame.type == msg_type and frame.id == msg_id and frame.is_reply:
            if frame.is_error:
                session.dma_errors += 1
                code, text = uvbp.parse_error(frame)
                raise GuestMemoryError(f"{msg_type.name} refused by the VMM (code {code}): {text}")
            if len(frame.payload) != length:
                session.fatal = ProtocolError(
                    f"{msg_type.name} reply of {len(frame.payload)} bytes, expected {length}",
                    frame.type,
                    frame.id,
                )
                raise _Broken(session.fatal.message)
            return frame.payload
        if frame.type == MessageType.GOODBYE and not frame.flags:
            session.ended = "GOODBYE from the VMM during a DMA"
            raise _Broken(session.ended)
        session.fatal = ProtocolError(
            f"expected the reply to {msg_type.name} id {msg_id}, got {frame.describe()}", frame.type, frame.id
        )
        raise _Broken(session.fatal.message)

    # -- device helpers ------------------------------------------------------------------
    def reset_device(self) -> None:
        """The device's hard reset (machine start / RESET message), then save."""
        self.device.hard_reset()
        self._persist()

    def _on_record(self, record: LogRecord) -> None:
        if isinstance(record, PersistNeeded):
            self._persist_pending = True
        elif isinstance(record, PcapRecord) and self.pcap is not None:
            self.pcap(record)

    def _persist(self, force: bool = False) -> None:
        if not (self._persist_pending or force) or self.saver is None:
            return
        self._persist_pending = False
        try:
            self.saver(self.device.store)
        except (OSError, UefiVarsError) as exc:
            log.warning("saving the store failed: %s", exc)

    def save(self) -> None:
        """Save the store now (it is saved on every change and when the server stops)."""
        self._persist(force=True)

    # -- ending ------------------------------------------------------------------------
    def _end_session(self, session: _Session) -> None:
        if self.session is session:
            self.session = None
        if self.device.memory is session.memory:
            self.device.memory = None
        self._persist()
        if session.linger:
            threading.Thread(
                target=_linger_close, args=(session.channel.sock,), name="uvbp-close", daemon=True
            ).start()
        else:
            session.channel.close()
        log.info("%s", session.summary())

    def _shutdown(self) -> None:
        session = self.session
        if session is not None:
            if session.ended is None and session.fatal is None:
                with contextlib.suppress(OSError):
                    session.channel.send_frame(MessageType.GOODBYE, session.take_id())
                session.ended = "backend shut down (GOODBYE sent)"
                with contextlib.suppress(OSError):
                    session.channel.sock.setblocking(True)
                _linger_close(session.channel.sock, 0.5)
            self._end_session(session)
        self.close()

    def close(self) -> None:
        """Save, close the sockets and remove the socket file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            self._persist(force=True)
        self._close_listeners()
        for sock in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                sock.close()
        with contextlib.suppress(ValueError):
            self.device.listeners.remove(self._on_record)

    def _close_listeners(self) -> None:
        for listener in self._listeners:
            with contextlib.suppress(OSError):
                listener.close()
        self._listeners.clear()
        if self.unix_path is not None and self._unix_inode is not None:
            try:
                st = os.lstat(self.unix_path)
                if (st.st_dev, st.st_ino) == self._unix_inode:
                    os.unlink(self.unix_path)
            except OSError:
                pass
            self._unix_inode = None
