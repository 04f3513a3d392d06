"""The decoded-field pane: a tree over :class:`~uefivars_gui.core.fields.Field`.

Columns name / value / offset / length; a field the decoder flagged carries a warning
icon and its warning as tool tip. Selecting a field emits ``field_selected(offset,
length)``; :meth:`FieldTree.select_deepest` selects the innermost field containing a
byte (``Field.deepest_at``), which is how a click in the hex pane finds its field.
"""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTreeView, QWidget

from ..core.fields import Field

_Index = QModelIndex | QPersistentModelIndex

#: The Field object of an index.
FIELD_ROLE = Qt.ItemDataRole.UserRole + 1


class FieldColumn(IntEnum):
    NAME = 0
    VALUE = 1
    OFFSET = 2
    LENGTH = 3


_HEADERS = {
    FieldColumn.NAME: "Field",
    FieldColumn.VALUE: "Value",
    FieldColumn.OFFSET: "Offset",
    FieldColumn.LENGTH: "Length",
}


class _Node:
    __slots__ = ("children", "field", "parent", "row")

    def __init__(self, field: Field, parent: _Node | None, row: int) -> None:
        self.field = field
        self.parent = parent
        self.row = row
        self.children: list[_Node] = []


class FieldTreeModel(QAbstractItemModel):
    """A read-only tree of one Field root (shown as the single top-level row)."""

    def __init__(
        self, root: Field | None = None, warning_icon: QIcon | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._warning_icon = warning_icon if warning_icon is not None else QIcon()
        self._top: list[_Node] = []
        self._by_id: dict[int, _Node] = {}
        self._root: Field | None = None
        if root is not None:
            self._build(root)

    # --- our API ---

    def root(self) -> Field | None:
        return self._root

    def set_root(self, root: Field | None) -> None:
        self.beginResetModel()
        self._top = []
        self._by_id = {}
        self._root = None
        if root is not None:
            self._build(root)
        self.endResetModel()

    def field(self, index: _Index) -> Field | None:
        node = self._node(index)
        return node.field if node is not None else None

    def index_for(self, field: Field, column: int = 0) -> QModelIndex:
        """The index of ``field`` (by identity: an object from this model's tree)."""
        node = self._by_id.get(id(field))
        if node is None:
            return QModelIndex()
        return self.createIndex(node.row, column, node)

    def _build(self, root: Field) -> None:
        self._root = root
        top = _Node(root, None, 0)
        self._top = [top]
        stack = [top]
        while stack:
            node = stack.pop()
            self._by_id[id(node.field)] = node
            node.children = [_Node(child, node, row) for row, child in enumerate(node.field.children)]
            stack.extend(node.children)

    def _node(self, index: _Index) -> _Node | None:
        if not index.isValid():
            return None
        node = index.internalPointer()
        return node if isinstance(node, _Node) else None

    def _children(self, parent: _Index) -> list[_Node]:
        if not parent.isValid():
            return self._top
        node = self._node(parent)
        return node.children if node is not None and parent.column() == 0 else []

    # --- Qt overrides ---

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        children = self._children(parent)
        if not 0 <= row < len(children) or not 0 <= column < len(FieldColumn):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: _Index | None = None) -> QModelIndex | QObject:  # type: ignore[override]
        if index is None:
            return super().parent()
        node = self._node(index)
        if node is None or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.parent.row, 0, node.parent)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(self._children(parent))

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(FieldColumn)

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return bool(self._children(parent))

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(FieldColumn)
        ):
            return _HEADERS[FieldColumn(section)]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if self._node(index) is None:
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        node = self._node(index)
        if node is None:
            return None
        field = node.field
        column = FieldColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if column is FieldColumn.NAME:
                return field.name
            if column is FieldColumn.VALUE:
                return field.text
            if column is FieldColumn.OFFSET:
                return f"0x{field.offset:X}"
            return str(field.length)
        if role == Qt.ItemDataRole.ToolTipRole:
            if field.warning:
                return f"Warning: {field.warning}"
            if column is FieldColumn.VALUE and field.text:
                return field.text
            if column is FieldColumn.OFFSET:
                return f"{field.offset} (0x{field.offset:X})"
            return None
        if role == Qt.ItemDataRole.DecorationRole and column is FieldColumn.NAME and field.warning:
            return self._warning_icon
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and field.warning:
            return f"Warning: {field.warning}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (FieldColumn.OFFSET, FieldColumn.LENGTH):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == FIELD_ROLE:
            return field
        return None


class FieldTree(QTreeView):
    """The field pane; see the module docstring."""

    #: (offset, length) of the field the user (or select_deepest) selected.
    field_selected = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self._model = FieldTreeModel(warning_icon=icon, parent=self)
        self.setModel(self._model)
        self.setAccessibleName("Decoded fields")
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(FieldColumn.NAME, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(FieldColumn.VALUE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(FieldColumn.OFFSET, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(FieldColumn.LENGTH, QHeaderView.ResizeMode.ResizeToContents)
        self.setColumnWidth(FieldColumn.NAME, 220)
        self.selectionModel().currentChanged.connect(self._on_current_changed)

    def field_model(self) -> FieldTreeModel:
        return self._model

    def set_root(self, root: Field | None) -> None:
        """Show ``root`` with its first two levels expanded."""
        self._model.set_root(root)
        if root is not None:
            self.expandToDepth(0)

    def root(self) -> Field | None:
        return self._model.root()

    def current_field(self) -> Field | None:
        return self._model.field(self.currentIndex())

    def select_field(self, field: Field) -> bool:
        index = self._model.index_for(field)
        if not index.isValid():
            return False
        parent = index.parent()
        while parent.isValid():
            self.expand(parent)
            parent = parent.parent()
        self.setCurrentIndex(index)
        self.scrollTo(index)
        return True

    def select_deepest(self, offset: int) -> Field | None:
        """Select the innermost field containing byte ``offset``; None (and no selection) if none."""
        root = self._model.root()
        field = root.deepest_at(offset) if root is not None else None
        if field is None:
            self.clearSelection()
            self.setCurrentIndex(QModelIndex())
            return None
        self.select_field(field)
        return field

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        field = self._model.field(current)
        if field is not None:
            self.field_selected.emit(field.offset, field.length)
