"""`uefivars-gui [STORE]`: the desktop application's entry point.

Sets up QApplication (names for QSettings, the icon, HiDPI rounding, the system palette
— Qt 6 follows the platform theme, so no colour is set here), installs the error dialog
as ``sys.excepthook`` and opens the store named on the command line.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from types import TracebackType

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="uefivars-gui", description="Workbench for the UEFI variable stores of virtual machines."
    )
    parser.add_argument(
        "store", nargs="?", help="a store to open: QEMU JSON, edk2 flash image (.fd) or AWS file"
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(list(argv))


def install_excepthook(parent_getter: Callable[[], object] = lambda: None) -> ExceptHook:
    """Show unexpected exceptions in an :class:`~.dialogs.ErrorDialog` (and on stderr)
    instead of losing them. Returns the previous hook."""
    previous = sys.excepthook
    showing = False

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        nonlocal showing
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        if showing:  # an error inside the error dialog: stderr only
            return
        from PySide6.QtWidgets import QApplication, QWidget

        from .dialogs import ErrorDialog

        if QApplication.instance() is None:
            return
        showing = True
        try:
            parent = parent_getter()
            dialog = ErrorDialog(exc_type, exc, tb, parent if isinstance(parent, QWidget) else None)
            dialog.exec()
        finally:
            showing = False

    sys.excepthook = hook
    return previous


def main(argv: Sequence[str] | None = None) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from .. import __version__
    from .mainwindow import APP_NAME, MainWindow, icon

    raw = list(sys.argv if argv is None else argv)
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication(raw)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.uefivars_gui")
    app.setWindowIcon(icon("app"))
    args = parse_args(app.arguments()[1:])
    window = MainWindow()
    install_excepthook(lambda: window)
    window.show()
    if args.store:
        window.open_path(args.store)
    code = app.exec()
    from .document import BackgroundTask

    BackgroundTask.wait_all(5.0)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
