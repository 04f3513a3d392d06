"""Variable policy entries (a DUMP reply or a policy set): a read-only table."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import QModelIndex, QObject, Qt
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
from ..widgets import DISPLAY, RowTableModel
from .base import TypedEditor, warning_icon


class PolicyColumn(IntEnum):
    NAMESPACE = 0
    NAME = 1
    MIN_SIZE = 2
    MAX_SIZE = 3
    MUST_HAVE = 4
    CANT_HAVE = 5
    LOCK = 6
    STATE = 7
    EXPLANATION = 8


POLICY_HEADERS = {
    PolicyColumn.NAMESPACE: "Namespace",
    PolicyColumn.NAME: "Name",
    PolicyColumn.MIN_SIZE: "Min size",
    PolicyColumn.MAX_SIZE: "Max size",
    PolicyColumn.MUST_HAVE: "Must have",
    PolicyColumn.CANT_HAVE: "Can't have",
    PolicyColumn.LOCK: "Lock",
    PolicyColumn.STATE: "Lock state",
    PolicyColumn.EXPLANATION: "Meaning",
}


def policy_text(entry: VariablePolicyEntry, column: PolicyColumn) -> str:
    """The text of one cell of a policy-entry table."""
    if column is PolicyColumn.NAMESPACE:
        return guid_label(entry.namespace)
    if column is PolicyColumn.NAME:
        return entry.name if entry.name is not None else "(whole namespace)"
    if column is PolicyColumn.MIN_SIZE:
        return str(entry.min_size)
    if column is PolicyColumn.MAX_SIZE:
        return "max" if entry.max_size == VARIABLE_POLICY_NO_MAX_SIZE else str(entry.max_size)
    if column is PolicyColumn.MUST_HAVE:
        return format_attributes(entry.attributes_must_have)
    if column is PolicyColumn.CANT_HAVE:
        return format_attributes(entry.attributes_cant_have)
    if column is PolicyColumn.LOCK:
        return lock_type_name(entry.lock_policy_type)
    if column is PolicyColumn.STATE:
        state = entry.lock_on_var_state
        if state is None:
            return ""
        return f"{state.name} in {guid_label(state.namespace)} == 0x{state.value:02x}"
    return entry.explain()


class PolicyEntryModel(RowTableModel[VariablePolicyEntry, PolicyColumn]):
    """One row per VARIABLE_POLICY_ENTRY; entries edk2 would refuse carry a warning icon.
    From a PolicyTableValue the rows also know their byte spans (``entry_span``)."""

    def __init__(
        self,
        value: PolicyTableValue | None = None,
        warning: QIcon | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(PolicyColumn, POLICY_HEADERS, parent)
        self._warning = warning if warning is not None else QIcon()
        self._spans: list[tuple[int, int]] = []
        self._problems: list[str] = []
        if value is not None:
            self.set_value(value)

    def set_value(self, value: PolicyTableValue) -> None:
        self._spans = [(child.offset, child.length) for child in value.fields().children]
        self.set_entries(value.entries)

    def set_entries(self, entries: tuple[VariablePolicyEntry, ...] | list[VariablePolicyEntry]) -> None:
        self._problems = [problem_text(entry) for entry in entries]
        self.set_rows(entries)

    def entry(self, row: int) -> VariablePolicyEntry:
        return self.row_item(row)

    def entry_span(self, row: int) -> tuple[int, int]:
        return self._spans[row]

    def cell(self, row: int, column: PolicyColumn, role: int) -> object:
        entry = self._rows[row]
        problem = self._problems[row]
        if role == DISPLAY:
            return policy_text(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if problem:
                return f"edk2 would refuse this entry: {problem}"
            return str(entry.namespace) if column is PolicyColumn.NAMESPACE else entry.explain()
        if role == Qt.ItemDataRole.DecorationRole and column is PolicyColumn.NAMESPACE and problem:
            return self._warning
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and problem:
            return f"Problem: {problem}"
        return None


def problem_text(entry: VariablePolicyEntry) -> str:
    return "; ".join(entry.validate())


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
