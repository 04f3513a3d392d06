"""BootOrder / DriverOrder / SysPrepOrder: a reorderable list of the load options it names."""

from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core import scalars
from ...core.loadoption import LoadOption
from ...core.scalars import UInt16Array
from ...core.typed import TypedValue, decode_variable
from ...errors import DecodeError
from .base import Lookup, TypedEditor, warning_icon

_Index = QModelIndex | QPersistentModelIndex

#: int: the option number of a row.
NUMBER_ROLE = Qt.ItemDataRole.UserRole + 1


class LoadOrderModel(QAbstractListModel):
    """One row per entry of the order; moves rows (drag and drop, up/down) with ``moveRows``."""

    #: The numbers after a move or removal.
    order_changed = Signal(tuple)

    def __init__(
        self,
        numbers: tuple[int, ...] = (),
        prefix: str = "Boot",
        lookup: Lookup | None = None,
        warning: QIcon | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._numbers = list(numbers)
        self._prefix = prefix
        self._lookup = lookup
        self._warning = warning if warning is not None else QIcon()
        self._editable = True
        self._cache: dict[int, tuple[str, str | None]] = {}

    def numbers(self) -> tuple[int, ...]:
        return tuple(self._numbers)

    def set_numbers(self, numbers: tuple[int, ...], prefix: str = "Boot") -> None:
        self.beginResetModel()
        self._numbers = list(numbers)
        self._prefix = prefix
        self._cache = {}
        self.endResetModel()

    def set_lookup(self, lookup: Lookup | None) -> None:
        self.beginResetModel()
        self._lookup = lookup
        self._cache = {}
        self.endResetModel()

    def set_editable(self, editable: bool) -> None:
        self._editable = editable

    def name(self, number: int) -> str:
        return f"{self._prefix}{number:04X}"

    def describe(self, number: int) -> tuple[str, str | None]:
        """(description text, problem or None) of one entry."""
        cached = self._cache.get(number)
        if cached is not None:
            return cached
        name = self.name(number)
        result: tuple[str, str | None]
        if self._lookup is None:
            result = ("", None)
        else:
            try:
                target = self._lookup(name)
            except (KeyError, LookupError):
                target = None
            if target is None:
                result = ("(missing)", f"{name} does not exist in this store")
            else:
                option = decode_variable(target)
                if isinstance(option, LoadOption):
                    result = (option.description + ("" if option.active else " (inactive)"), None)
                else:
                    result = ("(not a load option)", f"{name} does not decode as a load option")
        self._cache[number] = result
        return result

    # --- Qt overrides ---

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._numbers)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._numbers):
            return None
        number = self._numbers[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            description, _ = self.describe(number)
            return f"{self.name(number)}  {description}".rstrip()
        if role == Qt.ItemDataRole.ToolTipRole:
            description, problem = self.describe(number)
            return problem or f"{self.name(number)}: {description}"
        if role == Qt.ItemDataRole.DecorationRole:
            _, problem = self.describe(number)
            return self._warning if problem else None
        if role == NUMBER_ROLE:
            return number
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled if self._editable else Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if self._editable:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        return flags

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def moveRows(
        self,
        source_parent: _Index,
        source_row: int,
        count: int,
        destination_parent: _Index,
        destination_child: int,
    ) -> bool:
        if source_parent.isValid() or destination_parent.isValid() or count <= 0:
            return False
        if not (source_row >= 0 and source_row + count <= len(self._numbers)):
            return False
        if not 0 <= destination_child <= len(self._numbers):
            return False
        if source_row <= destination_child <= source_row + count:
            return False  # a no-op move (Qt refuses it too)
        if not self.beginMoveRows(
            QModelIndex(), source_row, source_row + count - 1, QModelIndex(), destination_child
        ):
            return False
        moving = self._numbers[source_row : source_row + count]
        del self._numbers[source_row : source_row + count]
        target = destination_child if destination_child < source_row else destination_child - count
        self._numbers[target:target] = moving
        self.endMoveRows()
        self.order_changed.emit(tuple(self._numbers))
        return True

    def removeRows(self, row: int, count: int, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid() or count <= 0 or row < 0 or row + count > len(self._numbers):
            return False
        self.beginRemoveRows(QModelIndex(), row, row + count - 1)
        del self._numbers[row : row + count]
        self.endRemoveRows()
        self.order_changed.emit(tuple(self._numbers))
        return True

    def append(self, numbers: tuple[int, ...]) -> None:
        if not numbers:
            return
        first = len(self._numbers)
        self.beginInsertRows(QModelIndex(), first, first + len(numbers) - 1)
        self._numbers.extend(numbers)
        self.endInsertRows()
        self.order_changed.emit(tuple(self._numbers))


class LoadOrderEditor(TypedEditor):
    """The order as a list (drag and drop, Move up/down, Remove, Add by number)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._prefix = "Boot"
        self.model = LoadOrderModel(warning=warning_icon(self), parent=self)
        self.model.order_changed.connect(self._on_order_changed)
        self.list = QListView(self)
        self.list.setModel(self.model)
        self.list.setAccessibleName("Boot order")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setDragEnabled(True)
        self.list.setAcceptDrops(True)
        self.list.setDropIndicatorShown(True)
        self.list.selectionModel().currentChanged.connect(self._on_current)

        self.up = QPushButton("Move &up", self)
        self.up.setToolTip("Move the selected entry up (Ctrl+Up)")
        self.up.clicked.connect(lambda: self.move_selected(-1))
        self.down = QPushButton("Move &down", self)
        self.down.setToolTip("Move the selected entry down (Ctrl+Down)")
        self.down.clicked.connect(lambda: self.move_selected(1))
        self.remove = QPushButton("&Remove", self)
        self.remove.setToolTip("Remove the selected entry from the order (the option itself stays)")
        self.remove.clicked.connect(self.remove_selected)
        self.add_edit = QLineEdit(self)
        self.add_edit.setAccessibleName("Entries to add")
        self.add_edit.setPlaceholderText("e.g. 0003 or Boot0003, Boot0004")
        self.add_edit.returnPressed.connect(self.add_entered)
        self.add = QPushButton("Add", self)
        self.add.clicked.connect(self.add_entered)
        self.list.installEventFilter(self)  # Ctrl+Up/Down move, Delete removes

        self.caption = QLabel("Boot &order (first is tried first):", self)
        self.caption.setBuddy(self.list)
        buttons = QVBoxLayout()
        for button in (self.up, self.down, self.remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.list, 1)
        body.addLayout(buttons)
        add_row = QHBoxLayout()
        add_label = QLabel("Add &entries:", self)
        add_label.setBuddy(self.add_edit)
        add_row.addWidget(add_label)
        add_row.addWidget(self.add_edit, 1)
        add_row.addWidget(self.add)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addLayout(body, 1)
        layout.addLayout(add_row)
        layout.addWidget(self.error)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.list and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            control = event.modifiers() & Qt.KeyboardModifier.ControlModifier
            if control and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                self.move_selected(-1 if event.key() == Qt.Key.Key_Up else 1)
                return True
            if event.matches(QKeySequence.StandardKey.Delete):
                self.remove_selected()
                return True
        return super().eventFilter(watched, event)

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, UInt16Array)
        self._prefix = value.prefix
        self.caption.setText(f"{value.prefix} &order (first is tried first):")
        self.list.setAccessibleName(f"{value.prefix} order")
        if self.model.numbers() != value.values:
            self.model.set_numbers(value.values, value.prefix)
        self._update_buttons()

    def set_context(self, lookup: Lookup | None) -> None:
        self.model.set_lookup(lookup)
        super().set_context(lookup)

    def update_read_only(self, read_only: bool) -> None:
        self.model.set_editable(not read_only)
        self.list.setDragEnabled(not read_only)
        self.list.setAcceptDrops(not read_only)
        self.add_edit.setReadOnly(read_only)
        self._update_buttons()

    def select_offset(self, offset: int) -> None:
        row = offset // 2
        if 0 <= row < self.model.rowCount():
            self.list.blockSignals(True)
            self.list.selectionModel().blockSignals(True)
            self.list.setCurrentIndex(self.model.index(row))
            self.list.selectionModel().blockSignals(False)
            self.list.blockSignals(False)
            self.list.viewport().update()
            self._update_buttons()

    # --- actions ---

    def selected_row(self) -> int | None:
        index = self.list.currentIndex()
        return index.row() if index.isValid() else None

    def move_selected(self, step: int) -> bool:
        row = self.selected_row()
        if row is None or self._read_only:
            return False
        target = row + step
        if not 0 <= target < self.model.rowCount():
            return False
        destination = target + 1 if step > 0 else target
        if not self.model.moveRows(QModelIndex(), row, 1, QModelIndex(), destination):
            return False
        self.list.setCurrentIndex(self.model.index(target))
        return True

    def remove_selected(self) -> bool:
        row = self.selected_row()
        if row is None or self._read_only:
            return False
        removed = self.model.removeRow(row)
        if removed and self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(min(row, self.model.rowCount() - 1)))
        return removed

    def add_entered(self) -> None:
        if self._read_only:
            return
        text = self.add_edit.text().strip()
        if not text:
            return
        try:
            numbers = scalars.parse_uint16_array(text, self._prefix).values
        except DecodeError as exc:
            self.show_error(str(exc))
            return
        self.add_edit.clear()
        self.model.append(numbers)

    def _on_order_changed(self, numbers: tuple[int, ...]) -> None:
        self.commit(UInt16Array(tuple(numbers), self._prefix))
        self._update_buttons()

    def _on_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self.field_selected.emit(2 * current.row(), 2)
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.selected_row()
        editable = not self._read_only
        count = self.model.rowCount()
        self.up.setEnabled(editable and row is not None and row > 0)
        self.down.setEnabled(editable and row is not None and row < count - 1)
        self.remove.setEnabled(editable and row is not None)
        self.add.setEnabled(editable)
