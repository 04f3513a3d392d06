"""`uefivars-gui [STORE]`: the desktop application's entry point."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from .. import __version__
    from .mainwindow import MainWindow

    args = list(sys.argv if argv is None else argv)
    app = QApplication(args)
    app.setApplicationName("uefivars-gui")
    app.setOrganizationName("uefivars-gui")
    app.setApplicationVersion(__version__)
    window = MainWindow()
    window.show()
    if len(args) > 1:
        window.open_path(args[1])
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
