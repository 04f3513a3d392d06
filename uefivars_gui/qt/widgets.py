"""Small Qt pieces the pages share: a read-only table of rows with an IntEnum of columns,
and the flat, column-sized tree view that shows one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import IntEnum
from typing import Generic, TypeVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtWidgets import QBoxLayout, QHeaderView, QPushButton, QTreeView, QWidget

Index = QModelIndex | QPersistentModelIndex
DISPLAY = Qt.ItemDataRole.DisplayRole

Row = TypeVar("Row")
Column = TypeVar("Column", bound=IntEnum)


class RowTableModel(QAbstractTableModel, Generic[Row, Column]):
    """One row per item of :attr:`_rows`, one column per member of ``columns``, read-only.

    Subclasses answer :meth:`cell` for a valid index of a row that exists."""

    def __init__(
        self, columns: type[Column], headers: Mapping[Column, str], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._columns = columns
        self._headers = headers
        self._rows: list[Row] = []

    def set_rows(self, rows: Iterable[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_item(self, row: int) -> Row:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> object:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == DISPLAY and 0 <= section < len(self._columns):
            return self._headers[self._columns(section)]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: Index, role: int = DISPLAY) -> object:
        if (
            not index.isValid()
            or not 0 <= index.row() < len(self._rows)
            or index.column() >= len(self._columns)
        ):
            return None
        return self.cell(index.row(), self._columns(index.column()), role)

    def cell(self, row: int, column: Column, role: int) -> object:
        raise NotImplementedError


def flat_view(
    model: QAbstractItemModel,
    accessible_name: str,
    widths: Iterable[tuple[int, int]],
    parent: QWidget | None = None,
) -> QTreeView:
    """A tree view showing ``model`` as a flat list: alternating rows, the given
    (column, width) sizes, interactive resizing, the last column stretched."""
    view = QTreeView(parent)
    view.setAccessibleName(accessible_name)
    view.setModel(model)
    view.setRootIsDecorated(False)
    view.setUniformRowHeights(True)
    view.setAlternatingRowColors(True)
    header = view.header()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in widths:
        header.resizeSection(column, width)
    header.setStretchLastSection(True)
    return view


def action_button(
    text: str, tip: str, slot: Callable[[], object], layout: QBoxLayout, parent: QWidget
) -> QPushButton:
    """A push button added to ``layout`` whose tool tip is also its accessible name;
    clicking it calls ``slot()``."""
    button = QPushButton(text, parent)
    button.setToolTip(tip)
    button.setAccessibleName(tip)
    button.clicked.connect(lambda _checked=False: slot())
    layout.addWidget(button)
    return button
