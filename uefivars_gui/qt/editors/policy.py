"""Variable policy entries (a DUMP reply or a policy set): a read-only table."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ...core.attributes import format_attributes
from ...core.guid import guid_label
from ...core.policy import (
    VARIABLE_POLICY_NO_MAX_SIZE,
    VariablePolicyEntry,
    lock_type_name,
)
from ...core.typed import PolicyTableValue, TypedValue
from .base import TypedEditor, warning_icon

_Index = QModelIndex | QPersistentModelIndex


class PolicyColumn(IntEnum):
    NAMESPACE = 0
    NAME = 1
    MIN_SIZE = 2
    MAX_SIZE = 3
    MUST_HAVE = 4
    CANT_HAVE = 5
    LOCK = 6
    EXPLANATION = 7


_HEADERS = {
    PolicyColumn.NAMESPACE: "Namespace",
    PolicyColumn.NAME: "Name",
    PolicyColumn.MIN_SIZE: "Min size",
    PolicyColumn.MAX_SIZE: "Max size",
    PolicyColumn.MUST_HAVE: "Must have",
    PolicyColumn.CANT_HAVE: "Can't have",
    PolicyColumn.LOCK: "Lock",
    PolicyColumn.EXPLANATION: "Meaning",
}


def _attributes(value: int) -> str:
    return format_attributes(value) if value else "-"


class PolicyEntryModel(QAbstractTableModel):
    """One row per VARIABLE_POLICY_ENTRY; spans come from PolicyTableValue.fields()."""

    def __init__(
        self,
        value: PolicyTableValue | None = None,
        warning: QIcon | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._warning = warning if warning is not None else QIcon()
        self._entries: list[VariablePolicyEntry] = []
        self._spans: list[tuple[int, int]] = []
        self._problems: list[str] = []
        if value is not None:
            self.set_value(value)

    def set_value(self, value: PolicyTableValue) -> None:
        self.beginResetModel()
        self._entries = list(value.entries)
        self._spans = [(child.offset, child.length) for child in value.fields().children]
        self._problems = ["; ".join(entry.validate()) for entry in self._entries]
        self.endResetModel()

    def entry(self, row: int) -> VariablePolicyEntry:
        return self._entries[row]

    def entry_span(self, row: int) -> tuple[int, int]:
        return self._spans[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(PolicyColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(PolicyColumn)
        ):
            return _HEADERS[PolicyColumn(section)]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        problem = self._problems[index.row()]
        column = PolicyColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column is PolicyColumn.NAMESPACE:
                return guid_label(entry.namespace)
            if column is PolicyColumn.NAME:
                return entry.name if entry.name is not None else "(whole namespace)"
            if column is PolicyColumn.MIN_SIZE:
                return str(entry.min_size)
            if column is PolicyColumn.MAX_SIZE:
                return "-" if entry.max_size == VARIABLE_POLICY_NO_MAX_SIZE else str(entry.max_size)
            if column is PolicyColumn.MUST_HAVE:
                return _attributes(entry.attributes_must_have)
            if column is PolicyColumn.CANT_HAVE:
                return _attributes(entry.attributes_cant_have)
            if column is PolicyColumn.LOCK:
                return lock_type_name(entry.lock_policy_type)
            return entry.explain()
        if role == Qt.ItemDataRole.ToolTipRole:
            if problem:
                return f"Warning: {problem}"
            if column is PolicyColumn.NAMESPACE:
                return str(entry.namespace)
            if column is PolicyColumn.EXPLANATION:
                return entry.explain()
            return None
        if role == Qt.ItemDataRole.DecorationRole and column is PolicyColumn.NAMESPACE and problem:
            return self._warning
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and problem:
            return f"Warning: {problem}"
        return None


class PolicyTableEditor(TypedEditor):
    """Read-only: policies are shown, not edited here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = PolicyEntryModel(warning=warning_icon(self), parent=self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Variable policies")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(
            PolicyColumn.EXPLANATION, QHeaderView.ResizeMode.Stretch
        )
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        self.count = QLabel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.count)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, PolicyTableValue)
        self.model.set_value(value)
        self.count.setText(value.summary())

    def select_offset(self, offset: int) -> None:
        for row in range(self.model.rowCount()):
            start, length = self.model.entry_span(row)
            if start <= offset < start + length:
                selection = self.table.selectionModel()
                selection.blockSignals(True)
                self.table.selectRow(row)
                selection.blockSignals(False)
                self.table.viewport().update()
                return

    def _on_row(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self.field_selected.emit(*self.model.entry_span(current.row()))
