"""Item models over core values. They only translate; decoding lives in core/."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ..core.attributes import format_attributes
from ..core.guid import guid_label
from ..core.store import VarStore
from ..core.typed import decode_variable
from ..core.variable import Variable

_Index = QModelIndex | QPersistentModelIndex


class VariableColumn(IntEnum):
    NAME = 0
    NAMESPACE = 1
    ATTRIBUTES = 2
    SIZE = 3
    TIME = 4
    VALUE = 5


_HEADERS = {
    VariableColumn.NAME: "Name",
    VariableColumn.NAMESPACE: "Namespace",
    VariableColumn.ATTRIBUTES: "Attributes",
    VariableColumn.SIZE: "Size",
    VariableColumn.TIME: "Time",
    VariableColumn.VALUE: "Value",
}


class VariableTableModel(QAbstractTableModel):
    """One row per variable of a VarStore, in store order."""

    def __init__(self, store: VarStore | None = None) -> None:
        super().__init__()
        self._rows: list[Variable] = list(store or ())
        self._summaries: dict[int, str] = {}

    def set_store(self, store: VarStore) -> None:
        self.beginResetModel()
        self._rows = list(store)
        self._summaries = {}
        self.endResetModel()

    def variable(self, row: int) -> Variable:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(VariableColumn)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(VariableColumn):
            return _HEADERS[VariableColumn(section)]
        return None

    def _summary(self, row: int) -> str:
        text = self._summaries.get(row)
        if text is None:
            typed = decode_variable(self._rows[row])
            text = typed.summary() if typed is not None else ""
            self._summaries[row] = text
        return text

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        var = self._rows[index.row()]
        column = VariableColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column is VariableColumn.NAME:
                return var.name
            if column is VariableColumn.NAMESPACE:
                return guid_label(var.guid)
            if column is VariableColumn.ATTRIBUTES:
                return format_attributes(var.attributes)
            if column is VariableColumn.SIZE:
                return var.size
            if column is VariableColumn.TIME:
                return "" if var.timestamp is None or var.timestamp.is_zero else str(var.timestamp)
            return self._summary(index.row())
        if role == Qt.ItemDataRole.ToolTipRole and column is VariableColumn.NAMESPACE:
            return str(var.guid)
        if role == Qt.ItemDataRole.TextAlignmentRole and column is VariableColumn.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
