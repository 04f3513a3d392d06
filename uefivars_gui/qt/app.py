"""`uefivars-gui [STORE]`: the desktop application's entry point.

Sets up QApplication (names for QSettings, the icon, HiDPI rounding, the system palette
— Qt 6 follows the platform theme, so no colour is set here), installs the error dialog
as ``sys.excepthook`` and opens the store named on the command line.

For smoke tests of an installed build: with ``UEFIVARS_GUI_QUIT_AFTER_MS=N`` in the
environment the application quits N milliseconds after its window is shown and the store
named on the command line is open, prints one line about what it found to stderr, and
exits with status 0 — or 1 when the store could not be opened or the application icon
could not be loaded (package data missing). ``QT_QPA_PLATFORM=offscreen`` makes that work
without a display.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .mainwindow import MainWindow

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]

#: The desktop entry (packaging/io.github.uefivars_gui.desktop) and AppStream id.
DESKTOP_FILE_NAME = "io.github.uefivars_gui"
#: See the module documentation.
QUIT_AFTER_ENV = "UEFIVARS_GUI_QUIT_AFTER_MS"


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


def quit_after_ms(environ: Mapping[str, str] = os.environ) -> int | None:
    """The delay of :data:`QUIT_AFTER_ENV`, or None when it is unset or not a number >= 0."""
    text = environ.get(QUIT_AFTER_ENV, "").strip()
    if not text:
        return None
    try:
        delay = int(text)
    except ValueError:
        delay = -1
    if delay < 0:
        print(
            f"uefivars-gui: ignoring {QUIT_AFTER_ENV}={text!r} (not a number of milliseconds)",
            file=sys.stderr,
        )
        return None
    return delay


def when_ready(window: MainWindow, opening: bool, then: Callable[[bool], None]) -> None:
    """Call ``then(opened)`` once, when the event loop runs the shown window and the store
    being opened (if ``opening``) is open (True) or has failed to open (False)."""
    from PySide6.QtCore import QTimer

    done = False

    def finish(opened: bool) -> None:
        nonlocal done
        if done:
            return
        done = True
        window.document_opened.disconnect(on_opened)
        window.operation_failed.disconnect(on_failed)
        QTimer.singleShot(0, lambda: then(opened))

    def on_opened(_document: object) -> None:
        finish(True)

    def on_failed(_message: str) -> None:
        finish(False)

    window.document_opened.connect(on_opened)
    window.operation_failed.connect(on_failed)
    if not opening:
        finish(True)


def _quit_with_report(window: MainWindow, store: str | None, opened: bool) -> None:
    from PySide6.QtWidgets import QApplication

    from .mainwindow import icon

    icon_found = not icon("app").pixmap(32, 32).isNull()
    code = 0 if opened and icon_found else 1
    if not store:
        what = "no store given"
    elif opened and window.document is not None:
        what = f"store opened ({len(window.document)} variables)"
    else:
        what = f"store {store!r} NOT opened"
    print(
        f"uefivars-gui: {QUIT_AFTER_ENV}: {what}, icon {'found' if icon_found else 'MISSING'}, "
        f"window {window.windowTitle()!r}; exit status {code}",
        file=sys.stderr,
    )
    QApplication.exit(code)


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


def main(
    argv: Sequence[str] | None = None, *, on_ready: Callable[[MainWindow, bool], None] | None = None
) -> int:
    """Run the application. ``on_ready(window, opened)`` is called once the window is shown
    and the store on the command line is open (scripts/screenshots.py drives the real
    application through it)."""
    from PySide6.QtCore import Qt, QTimer
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
    app.setDesktopFileName(DESKTOP_FILE_NAME)
    app.setWindowIcon(icon("app"))
    args = parse_args(app.arguments()[1:])
    window = MainWindow()
    install_excepthook(lambda: window)
    window.show()
    delay = quit_after_ms()
    if on_ready is not None or delay is not None:

        def ready(opened: bool) -> None:
            if on_ready is not None:
                on_ready(window, opened)
            if delay is not None:
                QTimer.singleShot(delay, lambda: _quit_with_report(window, args.store, opened))

        when_ready(window, bool(args.store), ready)
    if args.store:
        window.open_path(args.store)
    code = app.exec()
    from .document import BackgroundTask

    BackgroundTask.wait_all(5.0)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
