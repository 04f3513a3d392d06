"""The bytes pane: offset / hex / ASCII, editable in overwrite mode, with a field highlight.

:class:`HexModel` is a table of 16 bytes per row: columns 0-15 are the hex cells,
columns 16-31 the same bytes as ASCII characters; the vertical header is the offset. One
cell per byte keeps selection, keyboard navigation and accessibility per byte, and a
64 KiB buffer is only 4096 uniform rows.

:class:`HexView` shows it: ``highlight(offset, length)`` marks the bytes of the selected
field (painted from the palette's Highlight role), ``byte_clicked(offset)`` reports the
byte the user clicked or moved to, ``data_edited(bytes)`` every committed edit (overwrite
a byte by typing two hex digits or one ASCII character, insert or delete bytes with the
view's actions).
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRegularExpression,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QFontDatabase, QKeySequence, QPalette, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

_Index = QModelIndex | QPersistentModelIndex

BYTES_PER_ROW = 16
ASCII_COLUMN = BYTES_PER_ROW
COLUMN_COUNT = 2 * BYTES_PER_ROW

#: bool: the byte lies in the highlighted span.
HIGHLIGHT_ROLE = Qt.ItemDataRole.UserRole + 1
#: int: the byte offset of the cell.
OFFSET_ROLE = Qt.ItemDataRole.UserRole + 2


def _printable(byte: int) -> bool:
    return 0x20 <= byte <= 0x7E


class HexModel(QAbstractTableModel):
    """The bytes as a table; editable unless read-only."""

    #: The whole buffer after every committed change.
    data_edited = Signal(bytes)

    def __init__(self, data: bytes = b"", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data = bytearray(data)
        self._read_only = False
        self._highlight = (0, 0)
        self._highlight_brush = QBrush()

    # --- our API ---

    def set_highlight_brush(self, brush: QBrush) -> None:
        """How highlighted bytes are painted (the view derives it from its palette)."""
        self._highlight_brush = brush
        self._emit_span_changed(*self._highlight, [Qt.ItemDataRole.BackgroundRole])

    def bytes(self) -> bytes:
        return bytes(self._data)

    def set_bytes(self, data: bytes) -> None:
        """Replace the buffer (no ``data_edited``); the highlight is dropped."""
        self.beginResetModel()
        self._data = bytearray(data)
        self._highlight = (0, 0)
        self.endResetModel()

    def is_read_only(self) -> bool:
        return self._read_only

    def set_read_only(self, read_only: bool) -> None:
        if read_only != self._read_only:
            self._read_only = read_only
            if self._data:
                self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, COLUMN_COUNT - 1))

    def offset_of(self, index: _Index) -> int | None:
        """The byte offset of a cell, None outside the data."""
        if not index.isValid():
            return None
        offset = index.row() * BYTES_PER_ROW + index.column() % BYTES_PER_ROW
        return offset if offset < len(self._data) else None

    def index_of(self, offset: int, ascii: bool = False) -> QModelIndex:
        if not 0 <= offset < len(self._data):
            return QModelIndex()
        column = offset % BYTES_PER_ROW + (ASCII_COLUMN if ascii else 0)
        return self.index(offset // BYTES_PER_ROW, column)

    def highlighted(self) -> tuple[int, int]:
        """(offset, length) of the highlighted span; length 0 for none."""
        return self._highlight

    def set_highlight(self, offset: int, length: int) -> None:
        old = self._highlight
        new = (max(offset, 0), max(length, 0)) if length > 0 else (0, 0)
        if new == old:
            return
        self._highlight = new
        for start, size in (old, new):
            self._emit_span_changed(start, size, [HIGHLIGHT_ROLE, Qt.ItemDataRole.BackgroundRole])

    def overwrite(self, offset: int, value: int) -> bool:
        """Set one byte; False when out of range, unchanged or read-only."""
        if self._read_only or not 0 <= offset < len(self._data) or not 0 <= value <= 0xFF:
            return False
        if self._data[offset] == value:
            return False
        self._data[offset] = value
        self._emit_span_changed(offset, 1, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole])
        self.data_edited.emit(bytes(self._data))
        return True

    def insert_bytes(self, offset: int, data: bytes) -> bool:
        if self._read_only or not data or not 0 <= offset <= len(self._data):
            return False
        self.beginResetModel()
        self._data[offset:offset] = data
        self.endResetModel()
        self.data_edited.emit(bytes(self._data))
        return True

    def delete_bytes(self, offset: int, length: int) -> bool:
        if self._read_only or length <= 0 or not 0 <= offset < len(self._data):
            return False
        self.beginResetModel()
        del self._data[offset : offset + length]
        self.endResetModel()
        self.data_edited.emit(bytes(self._data))
        return True

    def _emit_span_changed(self, offset: int, length: int, roles: list[int]) -> None:
        if length <= 0 or not self._data:
            return
        first = offset // BYTES_PER_ROW
        last = min((offset + length - 1) // BYTES_PER_ROW, self.rowCount() - 1)
        if first > last:
            return
        self.dataChanged.emit(self.index(first, 0), self.index(last, COLUMN_COUNT - 1), roles)

    # --- Qt overrides ---

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else (len(self._data) + BYTES_PER_ROW - 1) // BYTES_PER_ROW

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMN_COUNT

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole and 0 <= section < self.rowCount():
                return f"{section * BYTES_PER_ROW:08X}"
            if role == Qt.ItemDataRole.ToolTipRole and 0 <= section < self.rowCount():
                return f"offset {section * BYTES_PER_ROW}"
            return None
        if not 0 <= section < COLUMN_COUNT:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{section % BYTES_PER_ROW:X}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return "hex" if section < ASCII_COLUMN else "ASCII"
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if self.offset_of(index) is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        if not self._read_only:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        offset = self.offset_of(index)
        if offset is None:
            return None
        byte = self._data[offset]
        ascii = index.column() >= ASCII_COLUMN
        if role == Qt.ItemDataRole.DisplayRole:
            if ascii:
                return chr(byte) if _printable(byte) else "."
            return f"{byte:02X}"
        if role == Qt.ItemDataRole.EditRole:
            if ascii:
                return chr(byte) if _printable(byte) else ""
            return f"{byte:02X}"
        if role == HIGHLIGHT_ROLE:
            start, length = self._highlight
            return start <= offset < start + length
        if role == Qt.ItemDataRole.BackgroundRole:
            start, length = self._highlight
            return self._highlight_brush if start <= offset < start + length else None
        if role == OFFSET_ROLE:
            return offset
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            char = f" '{chr(byte)}'" if _printable(byte) else ""
            return f"offset {offset} (0x{offset:X}): 0x{byte:02X} = {byte}{char}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def setData(self, index: _Index, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:
        offset = self.offset_of(index)
        if offset is None or role != Qt.ItemDataRole.EditRole or self._read_only:
            return False
        text = str(value).strip() if value is not None else ""
        if index.column() >= ASCII_COLUMN:
            if len(text) != 1 or not _printable(ord(text)):
                return False
            byte = ord(text)
        else:
            try:
                byte = int(text, 16)
            except ValueError:
                return False
            if not 0 <= byte <= 0xFF or len(text) > 2:
                return False
        if self._data[offset] == byte:
            return True
        return self.overwrite(offset, byte)


class HexDelegate(QStyledItemDelegate):
    """Edits one byte (two hex digits or one ASCII character), moving on when it is complete."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: _Index) -> QWidget:
        editor = QLineEdit(parent)
        editor.setFrame(False)
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if index.column() >= ASCII_COLUMN:
            editor.setMaxLength(1)
            editor.setValidator(QRegularExpressionValidator(QRegularExpression("[ -~]?"), editor))
            editor.setAccessibleName("Byte as ASCII character")
            complete = 1
        else:
            editor.setMaxLength(2)
            editor.setValidator(QRegularExpressionValidator(QRegularExpression("[0-9A-Fa-f]{0,2}"), editor))
            editor.setAccessibleName("Byte in hex")
            complete = 2

        def on_edited(text: str) -> None:
            if len(text) == complete:
                self.commitData.emit(editor)
                self.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.EditNextItem)

        editor.textEdited.connect(on_edited)
        return editor

    def setEditorData(self, editor: QWidget, index: _Index) -> None:
        if isinstance(editor, QLineEdit):
            editor.setText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
            editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: _Index) -> None:
        if isinstance(editor, QLineEdit) and editor.text():
            model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)


class HexView(QTableView):
    """The hex pane; see the module docstring."""

    #: The offset of the byte the user clicked or moved the cursor to.
    byte_clicked = Signal(int)
    #: The whole buffer after a committed edit.
    data_edited = Signal(bytes)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = HexModel(parent=self)
        self._quiet = False
        self.setModel(self._model)
        self.setItemDelegate(HexDelegate(self))
        self.setAccessibleName("Bytes")
        self.setAccessibleDescription("Variable data: offset, 16 bytes in hex, the same bytes as ASCII")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.setTabKeyNavigation(False)
        metrics = self.fontMetrics()
        hex_width = metrics.horizontalAdvance("00") + 10
        ascii_width = metrics.horizontalAdvance("W") + 4
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setMinimumSectionSize(ascii_width)
        for column in range(COLUMN_COUNT):
            self.setColumnWidth(column, hex_width if column < ASCII_COLUMN else ascii_width)
        header.setHighlightSections(False)
        vertical = self.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(metrics.height() + 4)
        vertical.setHighlightSections(False)
        vertical.setFont(self.font())

        self._model.data_edited.connect(self.data_edited)
        self._update_highlight_brush()
        self.selectionModel().currentChanged.connect(self._on_current_changed)

        self.insert_action = QAction("&Insert byte", self)
        self.insert_action.setShortcut(QKeySequence(Qt.Key.Key_Insert))
        self.insert_action.setToolTip("Insert a zero byte before the current byte")
        self.insert_action.triggered.connect(self.insert_byte)
        self.append_action = QAction("&Append byte", self)
        self.append_action.setShortcut(QKeySequence("Ctrl+Shift+Insert"))
        self.append_action.setToolTip("Append a zero byte at the end")
        self.append_action.triggered.connect(self.append_byte)
        self.delete_action = QAction("&Delete bytes", self)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setToolTip("Delete the selected bytes")
        self.delete_action.triggered.connect(self.delete_selection)
        for action in (self.insert_action, self.append_action, self.delete_action):
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.addAction(action)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._update_actions()

    # --- our API ---

    def hex_model(self) -> HexModel:
        return self._model

    def bytes(self) -> bytes:
        return self._model.bytes()

    def set_bytes(self, data: bytes) -> None:
        """Show ``data``; keeps the scroll position when the size allows."""
        position = self.verticalScrollBar().value()
        self._quiet = True
        try:
            self._model.set_bytes(data)
        finally:
            self._quiet = False
        self.verticalScrollBar().setValue(position)
        self._update_actions()

    def set_read_only(self, read_only: bool) -> None:
        self._model.set_read_only(read_only)
        self._update_actions()

    def is_read_only(self) -> bool:
        return self._model.is_read_only()

    def highlight(self, offset: int, length: int, scroll: bool = True) -> None:
        """Mark ``length`` bytes from ``offset`` (0 clears) and, by default, scroll to them."""
        self._model.set_highlight(offset, length)
        if scroll and length > 0:
            index = self._model.index_of(offset)
            if index.isValid():
                self.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def highlighted(self) -> tuple[int, int]:
        return self._model.highlighted()

    def selected_span(self) -> tuple[int, int] | None:
        """(offset, length) covering the selected bytes, or None."""
        offsets = sorted(
            {
                o
                for o in (self._model.offset_of(i) for i in self.selectionModel().selectedIndexes())
                if o is not None
            }
        )
        if not offsets:
            return None
        return offsets[0], offsets[-1] - offsets[0] + 1

    def current_offset(self) -> int | None:
        return self._model.offset_of(self.currentIndex())

    def select_byte(self, offset: int) -> None:
        """Move the cursor to ``offset`` (emits ``byte_clicked`` like a user click)."""
        index = self._model.index_of(offset)
        if index.isValid():
            self.setCurrentIndex(index)

    def insert_byte(self) -> None:
        offset = self.current_offset()
        if offset is None:
            offset = len(self._model.bytes())
        if self._model.insert_bytes(offset, b"\0"):
            self.select_byte(offset)
        self._update_actions()

    def append_byte(self) -> None:
        offset = len(self._model.bytes())
        if self._model.insert_bytes(offset, b"\0"):
            self.select_byte(offset)
        self._update_actions()

    def delete_selection(self) -> None:
        span = self.selected_span()
        if span is None:
            offset = self.current_offset()
            if offset is None:
                return
            span = (offset, 1)
        if self._model.delete_bytes(*span):
            size = len(self._model.bytes())
            if size:
                self.select_byte(min(span[0], size - 1))
        self._update_actions()

    # --- internals ---

    def _update_highlight_brush(self) -> None:
        # The palette's Highlight, translucent so that the selected byte stays distinct.
        colour = self.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
        colour.setAlpha(110)
        self._model.set_highlight_brush(QBrush(colour))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._update_highlight_brush()

    def _update_actions(self) -> None:
        editable = not self._model.is_read_only()
        has_data = bool(self._model.bytes())
        self.insert_action.setEnabled(editable)
        self.append_action.setEnabled(editable)
        self.delete_action.setEnabled(editable and has_data)

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._quiet:
            return
        offset = self._model.offset_of(current)
        if offset is not None and offset != self._model.offset_of(previous):
            self.byte_clicked.emit(offset)

    def mousePressEvent(self, event: object) -> None:  # type: ignore[override]
        before = self.currentIndex()
        super().mousePressEvent(event)  # type: ignore[arg-type]
        # A click on the byte that is already current is still a click.
        if self.currentIndex() == before:
            offset = self._model.offset_of(before)
            if offset is not None:
                self.byte_clicked.emit(offset)

    def moveCursor(
        self, cursor_action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        """Next/previous wraps to the neighbouring row within the same pane (hex or ASCII)."""
        current = self.currentIndex()
        offset = self._model.offset_of(current)
        if offset is not None and cursor_action in (
            QAbstractItemView.CursorAction.MoveNext,
            QAbstractItemView.CursorAction.MovePrevious,
        ):
            step = 1 if cursor_action == QAbstractItemView.CursorAction.MoveNext else -1
            target = self._model.index_of(offset + step, ascii=current.column() >= ASCII_COLUMN)
            return target if target.isValid() else current
        return super().moveCursor(cursor_action, modifiers)
