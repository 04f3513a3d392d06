"""The Diff page: the open store compared with another store file (or with its own file
on disk: the unsaved changes). Added, removed and changed variables with typed
before/after summaries; double-click jumps to the variable."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ..core.attributes import format_attributes
from ..core.guid import guid_label
from ..core.store import VarStore
from ..core.variable import Variable, VariableKey
from ..ops.diff import ChangeKind, VariableChange, diff_stores
from .document import Document, LoadedFile, load_file, run_in_background
from .models import clip, value_summary

_Index = QModelIndex | QPersistentModelIndex
_DISPLAY = Qt.ItemDataRole.DisplayRole
STORE_FILTER = "Variable stores (*.json *.fd *.aws *.bin *.vars);;All files (*)"


class DiffColumn(IntEnum):
    CHANGE = 0
    NAME = 1
    NAMESPACE = 2
    WHAT = 3
    BEFORE = 4
    AFTER = 5


_HEADERS = {
    DiffColumn.CHANGE: "Change",
    DiffColumn.NAME: "Name",
    DiffColumn.NAMESPACE: "Namespace",
    DiffColumn.WHAT: "What differs",
    DiffColumn.BEFORE: "Before",
    DiffColumn.AFTER: "After",
}
_MARKS = {ChangeKind.ADDED: "+ added", ChangeKind.REMOVED: "− removed", ChangeKind.CHANGED: "~ changed"}

#: Role giving the key of a change's variable.
KEY_ROLE = Qt.ItemDataRole.UserRole + 1


def _describe(var: Variable | None) -> str:
    if var is None:
        return ""
    return f"{format_attributes(var.attributes)}, {var.size} bytes: {value_summary(var)}"


def change_texts(change: VariableChange) -> tuple[str, str, str]:
    """(what differs, before, after) for one change, typed where the variable is known."""
    if change.kind is not ChangeKind.CHANGED:
        return "", _describe(change.before), _describe(change.after)
    before, after = change.before, change.after
    assert before is not None and after is not None
    members = change.changed_members
    before_parts: list[str] = []
    after_parts: list[str] = []
    if "attributes" in members:
        before_parts.append(format_attributes(before.attributes))
        after_parts.append(format_attributes(after.attributes))
    if "data" in members:
        old, new = value_summary(before), value_summary(after)
        if old == new:
            old, new = f"{before.size} bytes", f"{after.size} bytes (other bytes)"
        before_parts.append(old)
        after_parts.append(new)
    if "timestamp" in members:
        before_parts.append(f"time {before.timestamp}")
        after_parts.append(f"time {after.timestamp}")
    if "digest" in members:
        before_parts.append(f"digest {(before.digest or b'').hex()[:16]}")
        after_parts.append(f"digest {(after.digest or b'').hex()[:16]}")
    return ", ".join(members), "; ".join(before_parts), "; ".join(after_parts)


class DiffModel(QAbstractTableModel):
    """One row per change of :func:`~uefivars_gui.ops.diff.diff_stores`; texts are
    computed when first shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._changes: list[VariableChange] = []
        self._texts: dict[int, tuple[str, str, str]] = {}

    def set_changes(self, changes: list[VariableChange]) -> None:
        self.beginResetModel()
        self._changes = list(changes)
        self._texts = {}
        self.endResetModel()

    def change(self, row: int) -> VariableChange:
        return self._changes[row]

    def counts(self) -> dict[ChangeKind, int]:
        counts = dict.fromkeys(ChangeKind, 0)
        for change in self._changes:
            counts[change.kind] += 1
        return counts

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._changes)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(DiffColumn)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> object:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == _DISPLAY and 0 <= section < len(DiffColumn):
            return _HEADERS[DiffColumn(section)]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def _texts_of(self, row: int) -> tuple[str, str, str]:
        texts = self._texts.get(row)
        if texts is None:
            texts = self._texts[row] = change_texts(self._changes[row])
        return texts

    def data(self, index: _Index, role: int = _DISPLAY) -> object:
        if (
            not index.isValid()
            or not 0 <= index.row() < len(self._changes)
            or index.column() >= len(DiffColumn)
        ):
            return None
        change = self._changes[index.row()]
        column = DiffColumn(index.column())
        var = change.variable
        if role in (_DISPLAY, Qt.ItemDataRole.ToolTipRole):
            if column is DiffColumn.CHANGE:
                return _MARKS[change.kind]
            if column is DiffColumn.NAME:
                return var.name
            if column is DiffColumn.NAMESPACE:
                return str(var.guid) if role == Qt.ItemDataRole.ToolTipRole else guid_label(var.guid)
            what, before, after = self._texts_of(index.row())
            text = {DiffColumn.WHAT: what, DiffColumn.BEFORE: before, DiffColumn.AFTER: after}[column]
            return text if role == Qt.ItemDataRole.ToolTipRole else clip(text, 120)
        if role == KEY_ROLE:
            return var.key
        return None


class DiffPage(QWidget):
    """Compare the open store with another file (before) — the open store is "after"."""

    #: The user wants to see this variable on the Variables page.
    variable_activated = Signal(object)
    #: A status-bar message.
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._document: Document | None = None
        self._other: VarStore | None = None
        self._other_label = ""
        self.model = DiffModel(self)

        self.compare_button = QPushButton("Compare with &File…", self)
        self.compare_button.setAccessibleName("Compare with another store file")
        self.compare_button.clicked.connect(self.choose_file)
        self.saved_button = QPushButton("Compare with &Saved", self)
        self.saved_button.setAccessibleName("Compare with the file on disk (unsaved changes)")
        self.saved_button.setToolTip("Show the unsaved changes: compare with the open file as it is on disk")
        self.saved_button.clicked.connect(self.compare_with_saved)
        self.summary_label = QLabel("Choose a store file to compare the open store with.", self)
        self.summary_label.setAccessibleName("Diff summary")
        self.summary_label.setWordWrap(True)

        self.view = QTreeView(self)
        self.view.setAccessibleName("Differences")
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionBehavior(QTreeView.SelectionBehavior.SelectRows)
        self.view.doubleClicked.connect(self._on_double_clicked)
        header = self.view.header()
        header.setStretchLastSection(True)
        for column, width in (
            (DiffColumn.CHANGE, 90),
            (DiffColumn.NAME, 160),
            (DiffColumn.NAMESPACE, 180),
            (DiffColumn.WHAT, 120),
            (DiffColumn.BEFORE, 280),
        ):
            header.resizeSection(column, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

        buttons = QHBoxLayout()
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.saved_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.view, 1)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(200)
        self._refresh_timer.timeout.connect(self.refresh)

    def set_document(self, document: Document | None) -> None:
        if self._document is not None:
            self._document.contents_changed.disconnect(self._refresh_timer.start)
            self._document.origin_changed.disconnect(self._update_buttons)
        self._document = document
        if document is not None:
            document.contents_changed.connect(self._refresh_timer.start)
            document.origin_changed.connect(self._update_buttons)
        self._other = None
        self._update_buttons()
        self.refresh()

    def _update_buttons(self) -> None:
        document = self._document
        self.saved_button.setEnabled(document is not None and document.path is not None)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Compare with store", "", STORE_FILTER)
        if path:
            self.compare_with(path)

    def compare_with_saved(self) -> None:
        if self._document is not None and self._document.path is not None:
            self.compare_with(self._document.path)

    def compare_with(self, path: str | Path) -> None:
        """Load ``path`` (in the background) and compare the open store with it."""
        self.summary_label.setText(f"Reading {path}…")
        run_in_background(lambda: load_file(path), self._on_loaded, self._on_failed)

    def _on_loaded(self, loaded: LoadedFile) -> None:
        self.compare_with_store(loaded.document.store, str(loaded.path))

    def _on_failed(self, exc: BaseException) -> None:
        self.summary_label.setText(f"Cannot compare: {exc}")
        self.message.emit(f"Cannot compare: {exc}")

    def compare_with_store(self, store: VarStore, label: str) -> None:
        self._other = store
        self._other_label = label
        self.refresh()
        self.message.emit(f"Compared with {label}")

    def refresh(self) -> None:
        if self._other is None or self._document is None:
            self.model.set_changes([])
            self.summary_label.setText(
                "No store is open."
                if self._document is None
                else "Compare the open store with another store file, or with its saved version."
            )
            return
        self.model.set_changes(diff_stores(self._other, self._document.store))
        counts = self.model.counts()
        if not any(counts.values()):
            text = f"No differences between {self._other_label} and the open store."
        else:
            text = (
                f"From {self._other_label} (before) to the open store (after): "
                f"{counts[ChangeKind.ADDED]} added, {counts[ChangeKind.REMOVED]} removed, "
                f"{counts[ChangeKind.CHANGED]} changed."
            )
        self.summary_label.setText(text)

    def _on_double_clicked(self, index: QModelIndex) -> None:
        key: VariableKey = index.data(KEY_ROLE)
        if self._document is not None and key in self._document.store:
            self.variable_activated.emit(key)
        else:
            self.message.emit(f"{key[1]} is not in the open store (it was removed)")
