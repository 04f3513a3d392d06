"""The Check page: the health report of :func:`~uefivars_gui.ops.check.check_store` for the
open store, re-run (in the background, on a copy) after changes while the page is shown.
Double-clicking a finding selects its variable."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStyle, QVBoxLayout, QWidget

from ..core.guid import guid_label
from ..ops.check import Finding, Report, Severity, check_store
from .document import Document, run_in_background
from .widgets import DISPLAY, RowTableModel, flat_view

#: Role giving the (guid, name) key a finding concerns (or None).
KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class CheckColumn(IntEnum):
    SEVERITY = 0
    VARIABLE = 1
    MESSAGE = 2


_HEADERS = {
    CheckColumn.SEVERITY: "Severity",
    CheckColumn.VARIABLE: "Variable",
    CheckColumn.MESSAGE: "Finding",
}
_SEVERITY_TEXT = {Severity.ERROR: "Error", Severity.WARNING: "Warning", Severity.INFO: "Note"}


class CheckModel(RowTableModel[Finding, CheckColumn]):
    """One row per finding, problems first."""

    def __init__(self, icons: dict[Severity, QIcon] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(CheckColumn, _HEADERS, parent)
        self._icons = icons or {}

    def set_report(self, report: Report | None) -> None:
        findings = list(report.findings) if report is not None else []
        self.set_rows(sorted(findings, key=lambda f: -f.severity))

    def finding(self, row: int) -> Finding:
        return self.row_item(row)

    def cell(self, row: int, column: CheckColumn, role: int) -> object:
        finding = self.row_item(row)
        if role == DISPLAY:
            if column is CheckColumn.SEVERITY:
                return _SEVERITY_TEXT[finding.severity]
            if column is CheckColumn.VARIABLE:
                return finding.variable[1] if finding.variable else ""
            return finding.message
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is CheckColumn.VARIABLE and finding.variable:
                return f"{finding.variable[1]} in {guid_label(finding.variable[0])} ({finding.variable[0]})"
            if column is CheckColumn.MESSAGE:
                return finding.message
            return None
        if role == Qt.ItemDataRole.DecorationRole and column is CheckColumn.SEVERITY:
            return self._icons.get(finding.severity)
        if role == KEY_ROLE:
            return finding.variable
        return None


class CheckPage(QWidget):
    """The report for the open store, kept up to date while visible."""

    variable_activated = Signal(object)
    message = Signal(str)
    #: A report was shown (for tests and the status bar).
    report_ready = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._document: Document | None = None
        self._dirty = True
        self._running = False
        style = self.style()
        icons = {
            Severity.ERROR: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            Severity.WARNING: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            Severity.INFO: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation),
        }
        self.model = CheckModel(icons, self)
        self.summary_label = QLabel("No store is open.", self)
        self.summary_label.setAccessibleName("Check summary")
        self.rerun_button = QPushButton("&Run Again", self)
        self.rerun_button.setAccessibleName("Run the check again")
        self.rerun_button.clicked.connect(self.run_check)
        self.view = flat_view(
            self.model, "Findings", ((CheckColumn.SEVERITY, 110), (CheckColumn.VARIABLE, 170)), self
        )
        self.view.setWordWrap(True)
        self.view.doubleClicked.connect(self._on_double_clicked)
        top = QHBoxLayout()
        top.addWidget(self.summary_label, 1)
        top.addWidget(self.rerun_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self._maybe_run)

    def set_document(self, document: Document | None) -> None:
        if self._document is not None:
            self._document.contents_changed.disconnect(self._on_changed)
            self._document.origin_changed.disconnect(self._on_changed)
        self._document = document
        self.model.set_report(None)
        if document is not None:
            document.contents_changed.connect(self._on_changed)
            document.origin_changed.connect(self._on_changed)
        self._on_changed()

    def _on_changed(self) -> None:
        self._dirty = True
        self._timer.start()

    def _maybe_run(self) -> None:
        if self.isVisible():
            self.run_check()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self._dirty:
            self.run_check()

    def run_check(self) -> None:
        """Check a copy of the store in the background."""
        document = self._document
        if document is None:
            self.summary_label.setText("No store is open.")
            return
        if self._running:
            self._timer.start()
            return
        self._dirty = False
        self._running = True
        self.summary_label.setText("Checking…")
        store, origin = document.store.copy(), document.origin
        run_in_background(lambda: check_store(store, origin), self._on_report, self._on_failed)

    def _on_report(self, report: Report) -> None:
        self._running = False
        self.model.set_report(report)
        counts = {severity: 0 for severity in Severity}
        for finding in report.findings:
            counts[finding.severity] += 1
        self.summary_label.setText(
            f"{counts[Severity.ERROR]} errors, {counts[Severity.WARNING]} warnings, {counts[Severity.INFO]} notes"
        )
        self.report_ready.emit(report)
        if self._dirty:
            self._timer.start()

    def _on_failed(self, exc: BaseException) -> None:
        self._running = False
        self.summary_label.setText(f"The check failed: {exc}")
        raise exc

    def _on_double_clicked(self, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        if key is None:
            self.message.emit("This finding is about the whole store")
            return
        self.variable_activated.emit(key)
