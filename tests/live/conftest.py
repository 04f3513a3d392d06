"""Fixtures for the live tests: QEMU >= 10 with the uefi-vars device, or a loud skip."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from uefivars_gui.live.qtest import QemuError, QemuQtest, find_qemu, qemu_version

MIN_QEMU = (10, 0, 0)
DATA = Path(__file__).resolve().parent.parent / "data" / "qemu"
#: The store as QEMU 10.0.2 rewrote OVMF_VARS_4M.ms on start (copied from shared testdata).
MS_STORE = DATA / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json"

_HOW = "`make test` installs it via scripts/install-qemu.sh (Debian 12: QEMU 10.0.2 from bookworm-backports)"


def require_qemu(arch: str) -> str:
    """Path of qemu-system-<arch> >= 10, or skip the test saying what is missing."""
    binary = f"qemu-system-{arch}"
    path = find_qemu(arch)
    if path is None:
        override = "UEFIVARS_QEMU_" + arch.upper()
        pytest.skip(f"QEMU TESTS SKIPPED: {binary} not found (PATH, or ${override} if set); {_HOW}")
    try:
        version = qemu_version(path)
    except QemuError as exc:
        pytest.skip(f"QEMU TESTS SKIPPED: {binary} at {path} is unusable ({exc}); {_HOW}")
    if version < MIN_QEMU:
        found = ".".join(map(str, version))
        pytest.skip(
            f"QEMU TESTS SKIPPED: {binary} at {path} is {found}, the uefi-vars device needs >= 10.0; {_HOW}"
        )
    return path


@pytest.fixture(scope="session")
def qemu_binary() -> Callable[[str], str]:
    """``qemu_binary(arch)``: the path of qemu-system-<arch> >= 10, or a loud skip."""
    return require_qemu


@pytest.fixture(scope="session")
def qemu_x86_64() -> str:
    return require_qemu("x86_64")


@pytest.fixture(scope="session")
def qemu_aarch64() -> str:
    return require_qemu("aarch64")


@pytest.fixture(scope="session")
def ms_store() -> Path:
    if not MS_STORE.exists():
        pytest.fail(f"test data missing: {MS_STORE} (copy it from /work/shared/testdata/qemu/)")
    return MS_STORE


StoreCopy = Callable[[], Path]


@pytest.fixture(scope="module")
def store_copy(tmp_path_factory: pytest.TempPathFactory, ms_store: Path) -> StoreCopy:
    """Make a fresh private copy of the MS store (QEMU rewrites its jsonfile in place)."""

    def make() -> Path:
        target = tmp_path_factory.mktemp("store") / "vars.json"
        shutil.copyfile(ms_store, target)
        return target

    return make


QemuFactory = Callable[..., QemuQtest]


@pytest.fixture(scope="module")
def qemu_factory(request: pytest.FixtureRequest) -> Iterator[QemuFactory]:
    """Start QemuQtest instances (QEMU checked first); all are terminated at module end."""
    started: list[QemuQtest] = []

    def start(arch: str = "x86_64", jsonfile: Path | None = None, **options: object) -> QemuQtest:
        path = require_qemu(arch)
        qemu = QemuQtest(arch, jsonfile, qemu=path, **options)  # type: ignore[arg-type]
        started.append(qemu)
        return qemu.start()

    yield start
    for qemu in started:
        qemu.close()
