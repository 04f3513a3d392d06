#!/usr/bin/env python3
"""Screenshots of the real application for the README and the AppStream metainfo.

    make screenshots            # or: .venv/bin/python scripts/screenshots.py [--out DIR]

Starts ``uefivars-gui`` (its real ``main``) on tests/data/ovmf/OVMF_VARS_4M.ms.fd in a
virtual X server (Xvfb through xvfb-run, Qt's xcb platform plugin: a real window, real
fonts), drives it from inside through ``main(on_ready=...)`` and saves ``QWidget.grab()``
of the main window for each page into docs/screenshots/. A fresh settings directory keeps
the user's own window geometry and toggles out of the pictures.

Needs (Debian): xvfb xauth, the xcb libraries of docs/environment (libxcb-cursor0 ...)
and fonts-dejavu-core. ``--no-xvfb`` uses the current $DISPLAY instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "tests" / "data" / "ovmf" / "OVMF_VARS_4M.ms.fd"
OTHER = ROOT / "tests" / "data" / "ovmf" / "OVMF_VARS_4M.snakeoil.fd"
OUT = ROOT / "docs" / "screenshots"
SIZE = (1440, 900)
#: Widths of the variable table and the details pane.
SPLIT = (580, 860)
SCREEN = "1600x1000x24"
CHILD_ENV = "UEFIVARS_SCREENSHOTS_CHILD"
TIMEOUT_MS = 60_000
#: Pages the script knows how to show; those the window does not have are skipped.
PAGES = ("Diff", "Check", "Secure Boot", "Policies")

EFI_GLOBAL_VARIABLE = UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
EFI_IMAGE_SECURITY_DATABASE = UUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")


def run_under_xvfb(argv: list[str]) -> int:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        print("screenshots: xvfb-run not found (Debian: apt-get install xvfb xauth)", file=sys.stderr)
        return 2
    env = dict(os.environ, **{CHILD_ENV: "1"})
    command = [xvfb_run, "--auto-servernum", f"--server-args=-screen 0 {SCREEN} -dpi 96 -nolisten tcp"]
    return subprocess.call([*command, sys.executable, str(Path(__file__).resolve()), *argv], env=env)


class Driver:
    """Runs steps one after another on the event loop, each when the window is idle."""

    def __init__(self, window: object, out: Path) -> None:
        from PySide6.QtCore import QTimer

        self.window = window
        self.out = out
        self.steps: list[Callable[[], None]] = []
        self.saved: list[Path] = []
        self.failed = False
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next)

    def then(self, step: Callable[[], None]) -> None:
        self.steps.append(step)

    def start(self) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        def give_up() -> None:
            modal = QApplication.activeModalWidget()
            print(
                f"screenshots: gave up after {TIMEOUT_MS} ms"
                + (f" (a dialog is open: {modal.windowTitle()!r})" if modal is not None else ""),
                file=sys.stderr,
            )
            QApplication.exit(1)

        QTimer.singleShot(TIMEOUT_MS, give_up)
        self._timer.start(600)

    def _next(self) -> None:
        from PySide6.QtWidgets import QApplication

        if self.window.is_busy or QApplication.activeModalWidget() is not None:  # type: ignore[attr-defined]
            self._timer.start(100)
            return
        if not self.steps:
            QApplication.exit(1 if self.failed else 0)
            return
        step = self.steps.pop(0)
        try:
            step()
        except Exception as exc:  # report and go on with the other pages
            print(f"screenshots: step {step.__name__} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            self.failed = True
        self._timer.start(700)  # let background work start and the window repaint

    def grab(self, name: str) -> Callable[[], None]:
        def save() -> None:
            path = self.out / f"{name}.png"
            pixmap = self.window.grab()  # type: ignore[attr-defined]
            if not pixmap.save(str(path), "PNG"):
                raise OSError(f"cannot write {path}")
            self.saved.append(path)
            print(f"screenshots: {_shown(path)} ({pixmap.width()}x{pixmap.height()})")

        save.__name__ = f"grab_{name}"
        return save


def page_index(window: object, title: str) -> int | None:
    pages = window.pages  # type: ignore[attr-defined]
    for index in range(pages.count()):
        if pages.tabText(index).replace("&", "") == title:
            return index
    return None


def drive(window: object, opened: bool, out: Path) -> Driver:
    """Queue the screenshot steps for ``window`` (the store is open)."""
    driver = Driver(window, out)
    if not opened:
        print(f"screenshots: could not open {STORE}", file=sys.stderr)
        driver.failed = True
        driver.start()
        return driver
    w = window  # the MainWindow; attributes are used untyped here on purpose (a script)

    def select(guid: UUID, name: str) -> Callable[[], None]:
        def step() -> None:
            w.pages.setCurrentIndex(0)  # type: ignore[attr-defined]
            w.splitter.setSizes(list(SPLIT))  # type: ignore[attr-defined]
            if not w.select_variable((guid, name)):  # type: ignore[attr-defined]
                raise LookupError(f"{name} not in the store")

        step.__name__ = f"select_{name}"
        return step

    def field(name: str, tab: str) -> Callable[[], None]:
        def step() -> None:
            _select_field(w, name, tab)

        step.__name__ = f"field_{name}"
        return step

    def show_page(title: str) -> Callable[[], None]:
        def step() -> None:
            index = page_index(w, title)
            assert index is not None
            w.statusBar().clearMessage()  # type: ignore[attr-defined]
            w.pages.setCurrentIndex(index)  # type: ignore[attr-defined]
            if title == "Diff":
                w.diff_page.compare_with(OTHER)  # type: ignore[attr-defined]
            elif title == "Policies":
                _show_policies(w, out)

        step.__name__ = f"show_{title.replace(' ', '_')}"
        return step

    driver.then(select(EFI_IMAGE_SECURITY_DATABASE, "db"))
    driver.then(field("Subject", "Fields"))
    driver.then(driver.grab("variables-certificate"))
    driver.then(select(EFI_GLOBAL_VARIABLE, "Boot0000"))
    driver.then(field("FilePathList", "Value"))
    driver.then(driver.grab("variables-boot-entry"))
    for title in PAGES:
        if page_index(w, title) is None:
            print(f"screenshots: no {title} page in this build, skipped")
            continue
        driver.then(show_page(title))
        driver.then(driver.grab(title.lower().replace(" ", "-")))
    driver.start()
    return driver


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _select_field(window: object, name: str, tab: str) -> None:
    """Show the details' ``tab`` (Value or Fields) and select the first field called
    ``name`` in the field tree, so that its bytes are highlighted in the hex view."""
    editor = window.details.editor  # type: ignore[attr-defined]
    tabs = editor.tabs
    for index in range(tabs.count()):
        if tabs.tabText(index).replace("&", "") == tab:
            tabs.setCurrentIndex(index)
    root = editor.field_tree.root()
    found = next((f for f in root.walk() if f.name == name), None) if root is not None else None
    if found is None or not editor.field_tree.select_field(found):
        raise LookupError(f"no field {name!r}")
    from PySide6.QtWidgets import QAbstractItemView

    hex_view = editor.hex_view  # its rows are 16 bytes: show the field from the top
    row = max(found.offset // 16 - 1, 0)
    hex_view.scrollTo(hex_view.hex_model().index(row, 0), QAbstractItemView.ScrollHint.PositionAtTop)


#: The host-policy example of docs/policy-set-format.md.
POLICY_SET = {
    "format": "uefivars-policy-set",
    "version": 1,
    "policies": [
        {"namespace": "EfiGlobalVariable", "name": "PK", "lock_policy_type": "LOCK_NOW"},
        {"namespace": "EfiGlobalVariable", "name": "KEK", "lock_policy_type": "LOCK_NOW"},
        {"namespace": "CustomModeEnable", "name": "CustomMode", "lock_policy_type": "LOCK_NOW"},
        {"namespace": "SecureBootEnableDisable", "name": "SecureBootEnable", "lock_policy_type": "LOCK_NOW"},
        {
            "namespace": "EfiGlobalVariable",
            "name": "BootOrder",
            "lock_policy_type": "NO_LOCK",
            "min_size": 2,
            "max_size": 128,
            "attributes_must_have": "NV|BS|RT",
            "attributes_cant_have": "HR|AW|AT",
        },
    ],
}


def _show_policies(window: object, out: Path) -> None:
    """Open the example policy set (from a temporary file), select BootOrder's entry and
    ask the tester about a write to PK."""
    import json

    from PySide6.QtWidgets import QLineEdit

    page = window.policy_page  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "host-policies.json"
        path.write_text(json.dumps(POLICY_SET, indent=2))
        if not page.open_path(path):
            raise OSError("the policy page did not open the example set")
    page.select_row(4)
    for edit in page.tester.findChildren(QLineEdit):
        if edit.placeholderText().startswith("e.g."):
            edit.setText("PK")
            break


def child(out: Path) -> int:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ.pop("QT_SCALE_FACTOR", None)
    settings_home = tempfile.mkdtemp(prefix="uefivars-screenshots-")
    os.environ["XDG_CONFIG_HOME"] = settings_home  # a fresh QSettings: default geometry and toggles
    sys.path.insert(0, str(ROOT))
    from uefivars_gui.qt import app

    out.mkdir(parents=True, exist_ok=True)
    drivers: list[Driver] = []

    def on_ready(window: object, opened: bool) -> None:
        window.resize(*SIZE)  # type: ignore[attr-defined]
        window.move(0, 0)  # type: ignore[attr-defined]
        drivers.append(drive(window, opened, out))

    try:
        code = app.main(["uefivars-gui", str(STORE)], on_ready=on_ready)
    finally:
        shutil.rmtree(settings_home, ignore_errors=True)
    saved = drivers[0].saved if drivers else []
    print(f"screenshots: {len(saved)} saved in {_shown(out)}")
    return code if saved else 1


def main(argv: list[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"directory for the PNGs (default {OUT})")
    parser.add_argument("--no-xvfb", action="store_true", help="use the current $DISPLAY")
    args = parser.parse_args(args_list)
    if os.environ.get(CHILD_ENV) or args.no_xvfb:
        return child(args.out.resolve())
    return run_under_xvfb(args_list)


if __name__ == "__main__":
    sys.exit(main())
