"""Drive QEMU's real uefi-vars device without a guest, through the qtest chardev.

Debian's QEMU has no qtest accelerator, so QEMU runs with TCG and the CPU held stopped
(``-S``) while the qtest text protocol on a unix socket reads and writes MMIO registers
and guest RAM. :class:`QemuQtest` launches one such QEMU and implements the
:class:`~uefivars_gui.live.guest.Target` protocol for it, so a
:class:`~uefivars_gui.live.guest.GuestSession` can play the firmware against it.

QEMU is always terminated (SIGTERM, then SIGKILL) when the object is closed, when the
``with`` block ends, when starting fails, and as a last resort when the object is
garbage-collected or the interpreter exits.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from ..errors import UefiVarsError

__all__ = [
    "ARCHES",
    "MachineLayout",
    "QemuError",
    "QemuQtest",
    "QtestError",
    "find_qemu",
    "qemu_version",
]

Arch = Literal["x86_64", "aarch64"]


@dataclass(frozen=True, slots=True)
class MachineLayout:
    """Where things are on one QEMU machine type."""

    binary: str
    machine_args: tuple[str, ...]
    device: str
    #: Register base of the device (fixed on x86; first platform-bus slot on arm virt).
    reg_base: int
    #: A guest RAM address free for the DMA buffer.
    dma_buffer_addr: int


ARCHES: dict[str, MachineLayout] = {
    "x86_64": MachineLayout(
        binary="qemu-system-x86_64",
        machine_args=("-machine", "q35", "-accel", "tcg"),
        device="uefi-vars-x64",
        reg_base=0xFEF10000,
        dma_buffer_addr=0x00200000,
    ),
    "aarch64": MachineLayout(
        binary="qemu-system-aarch64",
        machine_args=("-machine", "virt", "-cpu", "max", "-accel", "tcg"),
        device="uefi-vars-sysbus",
        reg_base=0x0C000000,
        dma_buffer_addr=0x40200000,
    ),
}

_ALIASES = {"x64": "x86_64", "x86-64": "x86_64", "amd64": "x86_64", "arm64": "aarch64"}
_COMMON_ARGS = ("-S", "-m", "256", "-nodefaults", "-display", "none", "-no-user-config")
_VERSION_RE = re.compile(r"version (\d+)\.(\d+)(?:\.(\d+))?")
#: Commands sent in one write before their replies are collected (keeps both socket
#: buffers far from full, so neither side can block the other).
_BURST_CHUNK = 256


class QemuError(UefiVarsError):
    """QEMU could not be found, started or talked to."""


class QtestError(QemuError):
    """QEMU answered a qtest command with FAIL or ERR."""


def _layout(arch: str) -> MachineLayout:
    key = _ALIASES.get(arch, arch)
    try:
        return ARCHES[key]
    except KeyError:
        raise QemuError(f"unsupported architecture {arch!r} (known: {', '.join(ARCHES)})") from None


def find_qemu(arch: str) -> str | None:
    """Path of ``qemu-system-<arch>``: ``$UEFIVARS_QEMU_<ARCH>`` if set, else from PATH."""
    layout = _layout(arch)
    override = os.environ.get("UEFIVARS_QEMU_" + layout.binary.removeprefix("qemu-system-").upper())
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which(layout.binary)


@functools.cache
def qemu_version(path: str) -> tuple[int, int, int]:
    """(major, minor, micro) from ``PATH -version``; QemuError if it cannot be run or parsed."""
    try:
        proc = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QemuError(f"cannot run {path} -version: {exc}") from exc
    match = _VERSION_RE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise QemuError(
            f"{path} -version did not report a version (exit {proc.returncode}): "
            f"{(proc.stdout + proc.stderr).strip()[:300]}"
        )
    major, minor, micro = match.groups()
    return int(major), int(minor), int(micro or 0)


def _qemu_opt(value: str) -> str:
    """Escape a QEMU option value (commas are doubled)."""
    return value.replace(",", ",,")


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _stop_process(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


def _cleanup(proc: subprocess.Popen[bytes] | None, sock: socket.socket | None, tmpdir: str) -> None:
    """Finalizer: must not reference the QemuQtest object."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
    if proc is not None:
        with contextlib.suppress(Exception):
            _stop_process(proc, 5.0)
    shutil.rmtree(tmpdir, ignore_errors=True)


class QemuQtest:
    """One QEMU process with a uefi-vars device, driven over qtest.

    Implements the guest :class:`~uefivars_gui.live.guest.Target` protocol: register
    ``offset`` values are relative to the device's register base; memory addresses are
    guest physical. ``dma_buffer_addr`` suggests a RAM address for the DMA buffer.
    """

    def __init__(
        self,
        arch: str = "x86_64",
        jsonfile: str | os.PathLike[str] | None = None,
        *,
        use_pio: bool = False,
        force_secure_boot: bool = False,
        disable_custom_mode: bool = False,
        size: int | None = None,
        qemu: str | None = None,
        qmp: bool = False,
        trace_file: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        start_timeout: float = 10.0,
        io_timeout: float = 30.0,
    ) -> None:
        self.layout = _layout(arch)
        self.arch = _ALIASES.get(arch, arch)
        binary = qemu if qemu is not None else find_qemu(self.arch)
        if binary is None:
            raise QemuError(f"{self.layout.binary} not found on PATH (run scripts/install-qemu.sh)")
        self.binary = binary
        self.jsonfile = Path(jsonfile) if jsonfile is not None else None
        self.use_pio = use_pio
        self.force_secure_boot = force_secure_boot
        self.disable_custom_mode = disable_custom_mode
        self.size = size
        self.qmp_enabled = qmp
        self.trace_file = Path(trace_file) if trace_file is not None else None
        self.extra_args = tuple(extra_args)
        self.start_timeout = start_timeout
        self.io_timeout = io_timeout
        self.reg_base = self.layout.reg_base
        self.dma_buffer_addr = self.layout.dma_buffer_addr
        self._tmpdir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._rbuf = bytearray()
        self._qmp: Any = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        #: Number of qtest commands sent (for cost accounting in tests and benchmarks).
        self.commands_sent = 0

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def device_arg(self) -> str:
        """The ``-device`` value."""
        parts = [self.layout.device]
        if self.jsonfile is not None:
            parts.append("jsonfile=" + _qemu_opt(str(self.jsonfile)))
        if self.use_pio:
            parts.append("use-pio=on")
        if self.force_secure_boot:
            parts.append("force-secure-boot=on")
        if self.disable_custom_mode:
            parts.append("disable-custom-mode=on")
        if self.size is not None:
            parts.append(f"size={self.size}")
        return ",".join(parts)

    def argv(self, qtest_sock: str, qmp_sock: str | None = None) -> list[str]:
        """The full QEMU command line for the given socket paths."""
        args = [self.binary, *self.layout.machine_args, *_COMMON_ARGS, "-device", self.device_arg]
        args += ["-qtest", f"unix:{_qemu_opt(qtest_sock)},server=on,wait=off", "-qtest-log", "none"]
        if qmp_sock is not None:
            args += ["-qmp", f"unix:{_qemu_opt(qmp_sock)},server=on,wait=off"]
        if self.trace_file is not None:
            args += ["-trace", f"enable=uefi_*,file={_qemu_opt(str(self.trace_file))}"]
        args += list(self.extra_args)
        return args

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> Self:
        """Launch QEMU and connect to its qtest socket (and QMP if enabled)."""
        if self._proc is not None:
            raise QemuError("QEMU already started")
        self._tmpdir = tempfile.mkdtemp(prefix="uefivars-qtest-")
        qtest_sock = os.path.join(self._tmpdir, "qtest.sock")
        qmp_sock = os.path.join(self._tmpdir, "qmp.sock") if self.qmp_enabled else None
        stderr_path = os.path.join(self._tmpdir, "stderr.log")
        with open(stderr_path, "wb") as stderr:
            try:
                self._proc = subprocess.Popen(
                    self.argv(qtest_sock, qmp_sock),
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    close_fds=True,
                )
            except OSError as exc:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None
                raise QemuError(f"cannot start {self.binary}: {exc}") from exc
        self._finalizer = weakref.finalize(self, _cleanup, self._proc, None, self._tmpdir)
        try:
            self._sock = self._connect(qtest_sock)
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _cleanup, self._proc, self._sock, self._tmpdir)
            self._await_machine()
            if qmp_sock is not None:
                self._connect_qmp(qmp_sock)
        except BaseException:
            self.close()
            raise
        return self

    def _await_machine(self) -> None:
        """QEMU opens the qtest socket before it builds the machine, and answers only once
        the machine (with our device and its JSON store) is up: one round trip tells a
        started QEMU from one that is about to exit over a bad store or option."""
        try:
            self.command(self._reg_cmd(self._READ, 0, 2))
        except QemuError as exc:
            assert self._proc is not None
            try:
                code = self._proc.wait(2)
            except subprocess.TimeoutExpired:
                raise exc from None  # still running: the round trip itself failed
            raise QemuError(f"QEMU exited with status {code} while starting:\n{self.stderr_text()}") from None

    def _connect(self, path: str) -> socket.socket:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        delay = 0.005
        while True:
            code = self._proc.poll()
            if code is not None:
                raise QemuError(f"QEMU exited with status {code} while starting:\n{self.stderr_text()}")
            if os.path.exists(path):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(path)
                except OSError:
                    sock.close()
                else:
                    sock.settimeout(self.io_timeout)
                    return sock
            if time.monotonic() > deadline:
                raise QemuError(
                    f"QEMU did not open its qtest socket within {self.start_timeout:g} s:\n{self.stderr_text()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _connect_qmp(self, path: str) -> None:
        from qemu.qmp.legacy import QEMUMonitorProtocol

        deadline = time.monotonic() + self.start_timeout
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise QemuError(f"QEMU did not open its QMP socket:\n{self.stderr_text()}")
            time.sleep(0.005)
        monitor = QEMUMonitorProtocol(path)
        monitor.connect()
        self._qmp = monitor

    def stderr_text(self) -> str:
        """What QEMU wrote to stdout/stderr so far (for error messages)."""
        if self._tmpdir is None:
            return ""
        try:
            text = Path(self._tmpdir, "stderr.log").read_text(errors="replace")
        except OSError:
            return ""
        return text.strip() or "(no output)"

    def close(self) -> None:
        """Terminate QEMU (SIGTERM, then SIGKILL) and remove the temp dir. Idempotent."""
        if self._qmp is not None:
            with contextlib.suppress(Exception):
                self._qmp.close()
            self._qmp = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        if self._proc is not None:
            with contextlib.suppress(Exception):
                _stop_process(self._proc, 5.0)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    def __enter__(self) -> Self:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- qtest protocol --------------------------------------------------------------------

    def _send(self, lines: Iterable[str]) -> int:
        if self._sock is None:
            raise QemuError("not connected to QEMU (start() it first)")
        data = "".join(line + "\n" for line in lines).encode("ascii")
        count = data.count(b"\n")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise self._io_error("sending to", exc) from exc
        self.commands_sent += count
        return count

    def _readline(self) -> str:
        assert self._sock is not None
        while True:
            end = self._rbuf.find(b"\n")
            if end >= 0:
                line = bytes(self._rbuf[:end]).decode("ascii", "replace")
                del self._rbuf[: end + 1]
                if line.startswith("IRQ "):
                    continue  # asynchronous interrupt notices; we intercept none
                return line
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                raise self._io_error("reading from", exc) from exc
            if not chunk:
                raise self._io_error("reading from", None)
            self._rbuf += chunk

    def _io_error(self, what: str, exc: BaseException | None) -> QemuError:
        state = "running" if self.running else f"exited with status {self.returncode}"
        reason = f": {exc}" if exc is not None else ": connection closed"
        return QemuError(f"error {what} QEMU's qtest socket{reason} (QEMU {state})\n{self.stderr_text()}")

    def _reply(self, command: str) -> str:
        line = self._readline()
        if line == "OK":
            return ""
        if line.startswith("OK "):
            return line[3:]
        raise QtestError(f"qtest command {command.split(' ', 3)[:3]} failed: {line}")

    def command(self, line: str) -> str:
        """Send one raw qtest command; return the text after ``OK``."""
        self._send([line])
        return self._reply(line)

    def commands(self, lines: Sequence[str]) -> list[str]:
        """Pipeline several commands; return each reply's text after ``OK``."""
        out: list[str] = []
        for start in range(0, len(lines), _BURST_CHUNK):
            chunk = lines[start : start + _BURST_CHUNK]
            self._send(chunk)
            out.extend(self._reply(line) for line in chunk)
        return out

    # -- Target protocol -----------------------------------------------------------------

    _READ = {1: "readb", 2: "readw", 4: "readl", 8: "readq"}
    _WRITE = {1: "writeb", 2: "writew", 4: "writel", 8: "writeq"}

    def _reg_cmd(self, table: dict[int, str], offset: int, width: int) -> str:
        try:
            verb = table[width]
        except KeyError:
            raise ValueError(f"access width must be 1, 2, 4 or 8, not {width}") from None
        return f"{verb} 0x{self.reg_base + offset:x}"

    def read(self, offset: int, width: int) -> int:
        return int(self.command(self._reg_cmd(self._READ, offset, width)), 16)

    def write(self, offset: int, width: int, value: int) -> None:
        self.command(f"{self._reg_cmd(self._WRITE, offset, width)} 0x{value & ((1 << (8 * width)) - 1):x}")

    def read_burst(self, offset: int, width: int, count: int) -> list[int]:
        line = self._reg_cmd(self._READ, offset, width)
        return [int(text, 16) for text in self.commands([line] * count)]

    def write_burst(self, offset: int, width: int, values: Sequence[int]) -> None:
        prefix = self._reg_cmd(self._WRITE, offset, width)
        mask = (1 << (8 * width)) - 1
        self.commands([f"{prefix} 0x{value & mask:x}" for value in values])

    def mem_read(self, addr: int, length: int) -> bytes:
        if length == 0:
            return b""
        data = base64.b64decode(self.command(f"b64read 0x{addr:x} 0x{length:x}"))
        if len(data) != length:
            raise QtestError(f"b64read returned {len(data)} bytes, asked for {length}")
        return data

    def mem_write(self, addr: int, data: bytes) -> None:
        if not data:
            return
        encoded = base64.b64encode(data).decode("ascii")
        self.command(f"b64write 0x{addr:x} 0x{len(data):x} {encoded}")

    # -- QMP and version -------------------------------------------------------------------

    def qmp(self, command: str, **arguments: object) -> Any:
        """Run a QMP command (needs ``qmp=True``); returns its ``return`` value."""
        if self._qmp is None:
            raise QemuError("QMP is not enabled: create QemuQtest(..., qmp=True)")
        return self._qmp.cmd(command, **arguments)

    def version(self) -> tuple[int, int, int]:
        """QEMU's version: via QMP ``query-version`` when enabled, else ``-version``."""
        if self._qmp is not None:
            info = self.qmp("query-version")["qemu"]
            return int(info["major"]), int(info["minor"]), int(info["micro"])
        return qemu_version(self.binary)

    def system_reset(self) -> None:
        """Machine reset through QMP: the device does its hard reset (and rewrites the JSON)."""
        self.qmp("system_reset")
