"""Fixtures of the conformance suite: our engine and QEMU 10.0.2's device, side by side.

Every test gets a :class:`~sequences.Pair` for each of the four combinations of flavour
(x86_64 q35 ``uefi-vars-x64``, aarch64 virt ``uefi-vars-sysbus``) and transfer mode (DMA,
PIO), both started from the same JSON store. QEMU missing or older than 10 skips loudly.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # --import-mode=importlib: make sequences.py importable
    sys.path.insert(0, str(_HERE))

from sequences import TALLY, EngineSide, Pair, QemuSide  # noqa: E402

from uefivars_gui.codec import qemu_json  # noqa: E402
from uefivars_gui.core.store import VarStore  # noqa: E402
from uefivars_gui.crypto.engine_verifier import EngineVerifier  # noqa: E402
from uefivars_gui.device import BytearrayMemory, DeviceConfig, UefiVarsDevice  # noqa: E402
from uefivars_gui.device.status import DEFAULT_STORAGE_SIZE  # noqa: E402
from uefivars_gui.live.engine_target import EngineTarget  # noqa: E402
from uefivars_gui.live.guest import GuestSession  # noqa: E402
from uefivars_gui.live.qtest import ARCHES, QemuError, QemuQtest, find_qemu, qemu_version  # noqa: E402

#: The suite pins QEMU 10.0.x: newer QEMU already behaves like the engine in several of
#: the documented differences, and the tests assert them.
MIN_QEMU = (10, 0, 0)
MAX_QEMU = (10, 1, 0)
DATA = _HERE.parent / "data"
MS_STORE = DATA / "qemu" / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json"
SMALL_STORE = DATA / "conformance" / "small.json"

Mode = Literal["dma", "pio"]
COMBOS: list[tuple[str, Mode]] = [
    ("x86_64", "dma"),
    ("x86_64", "pio"),
    ("aarch64", "dma"),
    ("aarch64", "pio"),
]
COMBO_IDS = [f"{arch}-{mode}" for arch, mode in COMBOS]
_HOW = "`make test` installs it via scripts/install-qemu.sh (Debian 12: QEMU 10.0.2 from bookworm-backports)"


def require_qemu(arch: str) -> str:
    """Path of qemu-system-<arch> 10.0.x, or skip saying what is missing."""
    binary = f"qemu-system-{arch}"
    path = find_qemu(arch)
    if path is None:
        pytest.skip(
            f"CONFORMANCE TESTS SKIPPED: {binary} not found (PATH or $UEFIVARS_QEMU_{arch.upper()}); {_HOW}"
        )
    try:
        version = qemu_version(path)
    except QemuError as exc:
        pytest.skip(f"CONFORMANCE TESTS SKIPPED: {binary} at {path} is unusable ({exc}); {_HOW}")
    if not MIN_QEMU <= version < MAX_QEMU:
        found = ".".join(map(str, version))
        pytest.skip(
            f"CONFORMANCE TESTS SKIPPED: {binary} at {path} is {found}; this suite compares against "
            f"QEMU 10.0.x (its intended differences are those of 10.0.2); {_HOW}"
        )
    return path


def engine_store(store: Path | None) -> VarStore:
    if store is None or store.stat().st_size == 0:
        return VarStore()
    return qemu_json.decode(store.read_bytes()).store


@dataclass(frozen=True)
class Properties:
    """Device properties given to both QEMU (``-device ...``) and the engine (DeviceConfig)."""

    size: int | None = None
    force_secure_boot: bool = False
    disable_custom_mode: bool = False


def start_engine(arch: str, mode: Mode, store: Path | None, props: Properties = Properties()) -> EngineSide:
    """The engine on ``store``, after the hard reset QEMU does at machine start."""
    layout = ARCHES[arch]
    config = DeviceConfig(
        size=props.size if props.size is not None else DEFAULT_STORAGE_SIZE,
        use_pio=mode == "pio",
        force_secure_boot=props.force_secure_boot,
        disable_custom_mode=props.disable_custom_mode,
        flavour="x64" if arch == "x86_64" else "sysbus",
        log_register_accesses=False,
        emit_pcap=False,
        strict=True,
    )
    memory = BytearrayMemory(0x20000, base=layout.dma_buffer_addr)
    device = UefiVarsDevice(config, engine_store(store), memory, EngineVerifier())
    device.hard_reset()
    return EngineSide(device, GuestSession(EngineTarget(device)))


def start_qemu(
    arch: str,
    mode: Mode,
    store: Path | None,
    workdir: Path,
    props: Properties = Properties(),
    started: list[QemuQtest] | None = None,
) -> QemuSide:
    """QEMU on a private copy of ``store`` (None: an empty file), with QMP for resets."""
    binary = require_qemu(arch)
    workdir.mkdir(parents=True, exist_ok=True)
    jsonfile = workdir / "vars.json"
    if store is None:
        jsonfile.write_bytes(b"")
    else:
        shutil.copyfile(store, jsonfile)
    qemu = QemuQtest(
        arch,
        jsonfile,
        qemu=binary,
        use_pio=mode == "pio",
        size=props.size,
        force_secure_boot=props.force_secure_boot,
        disable_custom_mode=props.disable_custom_mode,
        qmp=True,
    )
    if started is not None:
        started.append(qemu)
    qemu.start()
    return QemuSide(qemu, GuestSession(qemu), jsonfile)


def start_pair(
    arch: str,
    mode: Mode,
    store: Path | None,
    workdir: Path,
    props: Properties = Properties(),
    started: list[QemuQtest] | None = None,
) -> Pair:
    """QEMU and the engine on the same starting store; the registers compared after init."""
    theirs = start_qemu(arch, mode, store, workdir, props, started)
    pair = Pair(start_engine(arch, mode, store, props), theirs, mode, f"{arch}-{mode}")
    pair.register_reads()
    return pair


PairFactory = Callable[..., Pair]


@pytest.fixture(params=COMBOS, ids=COMBO_IDS)
def combo(request: pytest.FixtureRequest) -> tuple[str, Mode]:
    arch, mode = request.param
    require_qemu(arch)
    return arch, mode


@pytest.fixture
def pair_factory(combo: tuple[str, Mode], tmp_path: Path) -> Iterator[PairFactory]:
    """``pair_factory(store=None, **device_properties)``: a started Pair for this combo."""
    started: list[QemuQtest] = []
    count = 0

    def make(store: Path | None = None, **props: object) -> Pair:
        nonlocal count
        count += 1
        workdir = tmp_path / f"pair{count}"
        return start_pair(combo[0], combo[1], store, workdir, Properties(**props), started)  # type: ignore[arg-type]

    yield make
    for qemu in started:
        qemu.close()


@pytest.fixture
def pair(pair_factory: PairFactory) -> Pair:
    """Both devices on an empty store (setup mode)."""
    return pair_factory(None)


@pytest.fixture
def ms_pair(pair_factory: PairFactory) -> Pair:
    """Both devices on Debian's OVMF_VARS_4M.ms as QEMU 10.0.2 rewrote it (user mode)."""
    return pair_factory(MS_STORE)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        items = ", ".join(f"{key}: {value}" for key, value in sorted(TALLY.items()))
        terminalreporter.write_line(f"conformance (engine vs QEMU 10.0.2): {items}")
