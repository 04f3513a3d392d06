"""The wheel, built from a copy of the tree and installed into a fresh virtualenv, works:
both commands start, package data (certificates, icons) is found inside the installed
package, and the desktop files are installed as data files.

How it stays fast and offline-proof: the wheel is installed with ``--no-deps --no-index``
into a venv created ``--without-pip``, and the dependencies (PySide6 alone is 270 MB) come
from this project's venv through a ``.pth`` line naming its site-packages. A ``.pth`` path
is *appended* to ``sys.path`` and the ``.pth`` files inside it are not processed, so the
project's editable install (a ``.pth`` pointing at the source tree) stays invisible and
the installed wheel is what gets imported — the test checks that too. PYTHONPATH would
instead come *before* the venv's own site-packages. The wheel is built without build
isolation when this venv can (setuptools>=70.1, or setuptools>=68 with wheel), otherwise
with it (pip then fetches setuptools from the index).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest

from uefivars_gui import __version__

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent.parent
STORE = ROOT / "tests" / "data" / "ovmf" / "OVMF_VARS_4M.ms.fd"
APP_ID = "io.github.uefivars_gui"


@dataclass(frozen=True, slots=True)
class Installed:
    venv: Path
    wheel: Path
    env: dict[str, str]
    work: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), cwd=self.work, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def python(self, code: str) -> str:
        result = self.run(self.bin("python"), "-c", code)
        assert result.returncode == 0, result.stderr
        return result.stdout


def _version(dist: str) -> tuple[int, ...]:
    try:
        text = metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ()
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def _can_build_offline() -> bool:
    setuptools = _version("setuptools")
    return setuptools >= (70, 1) or (setuptools >= (68,) and _version("wheel") >= (0, 38))


def _copy_tree(dest: Path) -> None:
    """What an sdist holds, without caches and build leftovers of the working tree."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("uefivars_gui", "packaging"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)


def _build_wheel(src: Path, out: Path) -> Path:
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(src)]
    if _can_build_offline():
        command[4:4] = ["--no-build-isolation"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        if "--no-build-isolation" not in command:
            pytest.skip(
                "cannot build the wheel: this venv lacks setuptools>=68 with wheel for an offline build "
                f"and the isolated build failed (index unreachable?): {result.stderr.strip()[-400:]}"
            )
        pytest.fail(f"building the wheel failed:\n{result.stdout}\n{result.stderr}")
    wheels = list(out.glob("uefivars_gui-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    src, out, venv, work = base / "src", base / "dist", base / "venv", base / "work"
    for path in (src, out, work):
        path.mkdir()
    _copy_tree(src)
    wheel = _build_wheel(src, out)

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz-uefivars-test-dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "UEFIVARS", "QT_"))
    }
    env |= {
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONNOUSERSITE": "1",
        "HOME": str(work),  # QSettings and recent files of the GUI go here
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_RUNTIME_DIR": str(work),
        "QT_QPA_PLATFORM": "offscreen",
    }
    return Installed(venv, wheel, env, work)


def test_the_installed_package_is_imported(installed: Installed) -> None:
    location = installed.python("import uefivars_gui; print(uefivars_gui.__file__)").strip()
    assert Path(location).is_relative_to(installed.venv), location
    assert not Path(location).is_relative_to(ROOT), location


def test_uefivars_version_and_show(installed: Installed) -> None:
    version = installed.run(installed.bin("uefivars"), "--version")
    assert version.returncode == 0, version.stderr
    assert __version__ in version.stdout + version.stderr
    shown = installed.run(installed.bin("uefivars"), "show", str(STORE))
    assert shown.returncode == 0, shown.stderr
    for name in ("PK", "KEK", "db", "dbx", "Boot0000"):
        assert name in shown.stdout


def test_certificates_are_found_in_the_installed_package(installed: Installed) -> None:
    code = (
        "from pathlib import Path\n"
        "from uefivars_gui.ops.profiles import CERTIFICATES, certificates_root\n"
        "root = Path(str(certificates_root()))\n"
        "sizes = [len(c.der) for c in CERTIFICATES.values()]\n"
        "print(root, len(sizes), min(sizes))\n"
    )
    root, count, smallest = installed.python(code).split()
    assert Path(root).is_relative_to(installed.venv), root
    assert int(count) >= 10 and int(smallest) > 500  # DER certificates, all of them readable


def test_gui_starts_offscreen_on_a_store_and_quits(installed: Installed) -> None:
    env = dict(installed.env, UEFIVARS_GUI_QUIT_AFTER_MS="300")
    result = subprocess.run(
        [installed.bin("uefivars-gui"), str(STORE)],
        cwd=installed.work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "store opened (21 variables), icon found" in result.stderr, result.stderr
    icons = installed.python(
        "from uefivars_gui.qt.mainwindow import ICONS; print(ICONS); print(*sorted(p.name for p in ICONS.glob('*.svg')))"
    ).splitlines()
    assert Path(icons[0]).is_relative_to(installed.venv), icons[0]
    assert "app.svg" in icons[1].split()


def test_gui_reports_a_store_it_cannot_open(installed: Installed) -> None:
    env = dict(installed.env, UEFIVARS_GUI_QUIT_AFTER_MS="100")
    broken = installed.work / "broken.json"
    broken.write_text("{ not json")
    result = subprocess.run(
        [installed.bin("uefivars-gui"), str(broken)],
        cwd=installed.work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "NOT opened" in result.stderr


def test_desktop_files_are_installed_as_data_files(installed: Installed) -> None:
    share = installed.venv / "share"
    assert (share / "applications" / f"{APP_ID}.desktop").is_file()
    assert (share / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    assert (share / "mime" / "packages" / f"{APP_ID}.mime.xml").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
