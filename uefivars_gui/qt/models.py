"""Item models over a :class:`~.document.Document`. They only translate: decoding lives
in core/, changes arrive as document signals and become row signals.

* :class:`VariableTableModel` — one row per variable, in store order, plus (on demand)
  the deleted and superseded records of a flash image as greyed, read-only rows.
* :class:`NamespaceGroupModel` — a proxy with one parent row per namespace (GUID).
* :class:`VariableFilterProxy` — filter-as-you-type over name, GUID, attributes and the
  decoded value; sorting.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from uuid import UUID

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractProxyModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    SignalInstance,
)
from PySide6.QtGui import QColor, QFont

from ..codec.edk2 import VariableRecord
from ..core.attributes import format_attributes
from ..core.guid import guid_label
from ..core.typed import decode_any
from ..core.variable import Variable, VariableKey
from .document import Document

_Index = QModelIndex | QPersistentModelIndex
_DISPLAY = Qt.ItemDataRole.DisplayRole
_SUMMARY_WIDTH = 160
#: Time per event-loop turn spent decoding previews ahead of need.
PREFETCH_SLICE_S = 0.006


class VariableColumn(IntEnum):
    NAME = 0
    NAMESPACE = 1
    ATTRIBUTES = 2
    SIZE = 3
    TIME = 4
    VALUE = 5


HEADERS = {
    VariableColumn.NAME: "Name",
    VariableColumn.NAMESPACE: "Namespace",
    VariableColumn.ATTRIBUTES: "Attributes",
    VariableColumn.SIZE: "Size",
    VariableColumn.TIME: "Timestamp",
    VariableColumn.VALUE: "Value",
}


class Role(IntEnum):
    """Custom data roles shared by the variable models."""

    VARIABLE = Qt.ItemDataRole.UserRole + 1  # Variable | None
    KEY = Qt.ItemDataRole.UserRole + 2  # (guid, name) of a live variable, else None
    RECORD = Qt.ItemDataRole.UserRole + 3  # VariableRecord of a history row, else None
    IS_HISTORY = Qt.ItemDataRole.UserRole + 4  # True for deleted/superseded records
    GUID = Qt.ItemDataRole.UserRole + 5  # namespace UUID
    SORT = Qt.ItemDataRole.UserRole + 6  # a sortable value for the column
    FILTER = Qt.ItemDataRole.UserRole + 7  # the text filtering matches against
    IS_GROUP = Qt.ItemDataRole.UserRole + 8  # True for namespace parent rows


def clip(text: str, width: int = _SUMMARY_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def value_summary(var: Variable) -> str:
    """The one-line decoded preview of a variable (typed when known, hex otherwise)."""
    return clip(decode_any(var).summary())


def _record_name(record: VariableRecord) -> str:
    if record.variable is not None:
        return record.variable.name
    text = record.name_bytes.decode("utf-16-le", errors="replace").rstrip("\0")
    return text or "(no name)"


def _time_text(var: Variable | None) -> str:
    if var is None or var.timestamp is None or var.timestamp.is_zero:
        return ""
    return str(var.timestamp)


# Plain ints: data() runs for every painted cell, and enum conversions are not free.
_NAME, _NAMESPACE, _ATTRIBUTES, _SIZE, _TIME, _VALUE = (int(c) for c in VariableColumn)
_COLUMNS = len(VariableColumn)
_R_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_R_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_R_FONT = int(Qt.ItemDataRole.FontRole)
_R_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_R_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_R_VARIABLE, _R_KEY, _R_RECORD, _R_IS_HISTORY, _R_GUID, _R_SORT, _R_FILTER, _R_IS_GROUP = (
    int(r) for r in Role
)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_NO_FLAGS = Qt.ItemFlag.NoItemFlags
_GROUP_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class VariableTableModel(QAbstractTableModel):
    """One row per live variable, then (when shown) one greyed, read-only row per history
    record of a flash image.

    Rows are in store order, or sorted by :meth:`sort` (the model sorts itself with
    Python keys: far cheaper than a proxy asking ``data()`` for every comparison); the
    document's order never changes by sorting. Decoded previews are computed lazily (or
    prefetched in the background) and cached per Variable.
    """

    def __init__(self, document: Document | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document: Document | None = None
        #: The live variables in store order (a mirror of the document).
        self._live: list[Variable] = []
        #: When sorted: view row -> index into _live, its inverse, and the sort keys.
        self._order: list[int] | None = None
        self._where: list[int] = []
        self._keys: list[object] = []
        self._sort_column = -1
        self._descending = False
        self._history: list[VariableRecord] = []
        self._history_shown: list[VariableRecord] = []
        self._show_history = False
        #: Caches keyed by id() (the Variable is kept alongside, so the id stays its own).
        self._summaries: dict[int, tuple[Variable, str]] = {}
        self._filter_texts: dict[int, tuple[Variable, str]] = {}
        self._prefetch_queue: list[Variable] = []
        #: The colour of deleted-record rows (the view sets its palette's disabled text).
        self.history_foreground: QColor | None = None
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setInterval(0)
        self._prefetch_timer.timeout.connect(self._prefetch_step)
        if document is not None:
            self.set_document(document)

    # -- wiring ------------------------------------------------------------------------------
    def set_document(self, document: Document | None) -> None:
        if self._document is not None:
            for signal, slot in self._connections():
                signal.disconnect(slot)
        self.beginResetModel()
        self._document = document
        self._summaries.clear()
        self._filter_texts.clear()
        self._read_document()
        self.endResetModel()
        if document is not None:
            for signal, slot in self._connections():
                signal.connect(slot)

    def _connections(self) -> list[tuple[SignalInstance, Callable[..., None]]]:
        doc = self._document
        assert doc is not None
        return [
            (doc.variable_inserted, self._on_inserted),
            (doc.variable_removed, self._on_removed),
            (doc.variable_replaced, self._on_replaced),
            (doc.store_reset, self._on_reset),
            (doc.bulk_started, self._on_bulk_started),
            (doc.bulk_finished, self._on_bulk_finished),
            (doc.origin_changed, self._on_origin_changed),
        ]

    def _read_document(self) -> None:
        doc = self._document
        self._live = list(doc) if doc is not None else []
        self._history = list(doc.history) if doc is not None else []
        self._apply_sort()

    def prefetch_summaries(self) -> None:
        """Decode every preview (and filter text) in idle time, a few milliseconds per
        event-loop turn, so that the first filter or sort by value does not wait. Runs
        on the UI thread: a worker would fight the UI for the GIL on every paint."""
        self._prefetch_queue = list(reversed(self._live))
        if self._prefetch_queue:
            self._prefetch_timer.start()

    def _prefetch_step(self) -> None:
        queue = self._prefetch_queue
        deadline = time.perf_counter() + PREFETCH_SLICE_S
        while queue and time.perf_counter() < deadline:
            self._filter_text(queue.pop())
        if not queue:
            self._prefetch_timer.stop()

    @property
    def prefetching(self) -> bool:
        return bool(self._prefetch_queue)

    @property
    def show_history(self) -> bool:
        return self._show_history

    def set_show_history(self, show: bool) -> None:
        if show == self._show_history:
            return
        first = len(self._live)
        if self._history:
            if show:
                self.beginInsertRows(QModelIndex(), first, first + len(self._history) - 1)
                self._show_history = True
                self.endInsertRows()
            else:
                self.beginRemoveRows(QModelIndex(), first, first + len(self._history) - 1)
                self._show_history = False
                self.endRemoveRows()
        self._show_history = show

    @property
    def history_count(self) -> int:
        return len(self._history)

    # -- sorting -----------------------------------------------------------------------------------
    @property
    def sort_column(self) -> int:
        return self._sort_column

    def _sort_key(self, var: Variable, column: int) -> object:
        if column == _NAME:
            return var.name.casefold()
        if column == _NAMESPACE:
            return guid_label(var.guid).casefold()
        if column == _ATTRIBUTES:
            return int(var.attributes)
        if column == _SIZE:
            return var.size
        if column == _TIME:
            return _time_text(var)
        return self.summary(var).casefold()

    def _record_key(self, record: VariableRecord, column: int) -> object:
        if record.variable is not None:
            return self._sort_key(record.variable, column)
        if column == _NAME:
            return _record_name(record).casefold()
        if column == _NAMESPACE:
            return guid_label(record.header.vendor_guid).casefold()
        if column == _ATTRIBUTES:
            return int(record.header.attributes)
        if column == _SIZE:
            return record.header.data_size
        return ""

    def _apply_sort(self) -> None:
        column, reverse = self._sort_column, self._descending
        if column < 0:
            self._order, self._where, self._keys = None, [], []
            self._history_shown = list(self._history)
            return
        keys = [self._sort_key(var, column) for var in self._live]
        order = sorted(range(len(keys)), key=lambda i: keys[i], reverse=reverse)  # type: ignore[arg-type, return-value]
        self._order = order
        self._keys = [keys[i] for i in order]
        self._reindex()
        self._history_shown = sorted(
            self._history,
            key=lambda r: self._record_key(r, column),  # type: ignore[arg-type, return-value]
            reverse=reverse,
        )

    def _reindex(self) -> None:
        if self._order is None:
            return
        where = [0] * len(self._order)
        for row, live in enumerate(self._order):
            where[live] = row
        self._where = where

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows by ``column`` (-1: store order), keeping selections."""
        self.layoutAboutToBeChanged.emit()  # first: listeners make persistent indexes now
        identities = [(p, self._identity(p.row())) for p in self.persistentIndexList()]
        self._sort_column = column if 0 <= column < _COLUMNS else -1
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._apply_sort()
        self.changePersistentIndexList(
            [p for p, _ in identities],
            [self._index_of_identity(ident, p.column()) for p, ident in identities],
        )
        self.layoutChanged.emit()

    def _identity(self, row: int) -> object:
        if row < len(self._live):
            return self._live_index(row)
        record = self.record(row)
        return record if record is not None else None

    def _index_of_identity(self, identity: object, column: int) -> QModelIndex:
        if isinstance(identity, int):
            row = self._where[identity] if self._order is not None else identity
            return self.index(row, column)
        if identity is not None and self._show_history:
            for offset, record in enumerate(self._history_shown):
                if record is identity:
                    return self.index(len(self._live) + offset, column)
        return QModelIndex()

    def _live_index(self, row: int) -> int:
        return self._order[row] if self._order is not None else row

    def _view_row(self, live: int) -> int:
        return self._where[live] if self._order is not None else live

    def _insert_position(self, key: object) -> int:
        """Where a row with sort ``key`` goes (after equal keys)."""
        keys, low, high = self._keys, 0, len(self._keys)
        while low < high:
            mid = (low + high) // 2
            if (keys[mid] >= key) if self._descending else (keys[mid] <= key):  # type: ignore[operator]
                low = mid + 1
            else:
                high = mid
        return low

    # -- document events -----------------------------------------------------------------------
    def _on_inserted(self, live: int, var: Variable) -> None:
        if self._order is None:
            self.beginInsertRows(QModelIndex(), live, live)
            self._live.insert(live, var)
            self.endInsertRows()
            return
        key = self._sort_key(var, self._sort_column)
        row = self._insert_position(key)
        self.beginInsertRows(QModelIndex(), row, row)
        self._live.insert(live, var)
        self._order = [i + 1 if i >= live else i for i in self._order]
        self._order.insert(row, live)
        self._keys.insert(row, key)
        self._reindex()
        self.endInsertRows()

    def _on_removed(self, live: int, _var: Variable) -> None:
        row = self._view_row(live)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._live[live]
        if self._order is not None:
            del self._order[row]
            del self._keys[row]
            self._order = [i - 1 if i > live else i for i in self._order]
            self._reindex()
        self.endRemoveRows()

    def _on_replaced(self, live: int, _old: Variable, new: Variable) -> None:
        self._live[live] = new
        row = self._view_row(live)
        if self._order is not None:
            key = self._sort_key(new, self._sort_column)
            if key != self._keys[row]:
                del self._keys[row]
                target = self._insert_position(key)
                self._keys.insert(row, key)
                if target != row:
                    self.beginMoveRows(
                        QModelIndex(), row, row, QModelIndex(), target if target < row else target + 1
                    )
                    del self._order[row]
                    del self._keys[row]
                    self._order.insert(target, live)
                    self._keys.insert(target, key)
                    self._reindex()
                    self.endMoveRows()
                    row = target
                else:
                    self._keys[row] = key
        self.dataChanged.emit(self.index(row, 0), self.index(row, _COLUMNS - 1))

    def _on_reset(self) -> None:
        self.beginResetModel()
        self._read_document()
        self.endResetModel()

    def _on_bulk_started(self) -> None:
        self.beginResetModel()

    def _on_bulk_finished(self) -> None:
        self._read_document()
        self.endResetModel()

    def _on_origin_changed(self) -> None:
        doc = self._document
        history = list(doc.history) if doc is not None else []
        if history == self._history:
            return
        shown = self._show_history
        self.set_show_history(False)
        self._history = history
        self._apply_sort()
        self.set_show_history(shown)

    # -- lookups --------------------------------------------------------------------------------
    def is_history_row(self, row: int) -> bool:
        return row >= len(self._live)

    def variable(self, row: int) -> Variable | None:
        if 0 <= row < len(self._live):
            return self._live[self._live_index(row)]
        record = self.record(row)
        return record.variable if record is not None else None

    def record(self, row: int) -> VariableRecord | None:
        index = row - len(self._live)
        if self._show_history and 0 <= index < len(self._history_shown):
            return self._history_shown[index]
        return None

    def guid_at(self, row: int) -> UUID | None:
        if 0 <= row < len(self._live):
            return self._live[self._live_index(row)].guid
        record = self.record(row)
        return record.header.vendor_guid if record is not None else None

    def row_of(self, key: VariableKey) -> int:
        """The row of a live variable, -1 if there is none."""
        if self._document is None or key not in self._document.store:
            return -1
        return self._view_row(self._document.row_of(key))

    def summary(self, var: Variable) -> str:
        entry = self._summaries.get(id(var))
        if entry is None or entry[0] is not var:
            entry = self._summaries[id(var)] = (var, value_summary(var))
        return entry[1]

    def _filter_text(self, var: Variable) -> str:
        entry = self._filter_texts.get(id(var))
        if entry is None or entry[0] is not var:
            text = "\n".join(
                (
                    var.name,
                    str(var.guid),
                    guid_label(var.guid),
                    format_attributes(var.attributes),
                    self.summary(var),
                )
            )
            entry = self._filter_texts[id(var)] = (var, text)
        return entry[1]

    # -- QAbstractItemModel ---------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid():
            return 0
        return len(self._live) + (len(self._history) if self._show_history else 0)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else _COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> object:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == _R_DISPLAY and 0 <= section < _COLUMNS:
            return HEADERS[VariableColumn(section)]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else _NO_FLAGS

    def data(self, index: _Index, role: int = _DISPLAY) -> object:
        row = index.row()
        column = index.column()
        live = self._live
        if 0 <= row < len(live) and 0 <= column < _COLUMNS:
            return self._live_data(live[self._order[row] if self._order is not None else row], column, role)
        record = self.record(row)
        if record is None or not 0 <= column < _COLUMNS:
            return None
        return self._history_data(record, column, role)

    def _live_data(self, var: Variable, column: int, role: int) -> object:
        if role == _R_DISPLAY:
            if column == _NAME:
                return var.name
            if column == _NAMESPACE:
                return guid_label(var.guid)
            if column == _ATTRIBUTES:
                return format_attributes(var.attributes)
            if column == _SIZE:
                return var.size
            if column == _TIME:
                return _time_text(var)
            return self.summary(var)
        if role == _R_ALIGN:
            return _RIGHT if column == _SIZE else None
        if role < _R_VARIABLE and role != _R_TOOLTIP:
            return None  # decoration, font, colours...: the defaults
        if role == _R_TOOLTIP:
            if column == _NAMESPACE:
                return str(var.guid)
            if column == _VALUE:
                return self.summary(var)
            if column == _ATTRIBUTES:
                return f"0x{int(var.attributes):08x}"
            return None
        if role == _R_VARIABLE:
            return var
        if role == _R_KEY:
            return var.key
        if role == _R_GUID:
            return var.guid
        if role == _R_SORT:
            return self._sort_key(var, column)
        if role == _R_FILTER:
            return self._filter_text(var)
        if role in (_R_IS_HISTORY, _R_IS_GROUP):
            return False
        return None

    def _history_data(self, record: VariableRecord, column: int, role: int) -> object:
        var = record.variable
        if role == _R_DISPLAY:
            if var is not None and column != _NAME:
                value = self._live_data(var, column, role)
                return f"[{record.status.value}] {value}" if column == _VALUE else value
            if column == _NAME:
                return _record_name(record)
            if column == _NAMESPACE:
                return guid_label(record.header.vendor_guid)
            if column == _ATTRIBUTES:
                return format_attributes(record.header.attributes)
            if column == _SIZE:
                return record.header.data_size
            if column == _VALUE:
                return f"[{record.status.value}]"
            return ""
        if role == _R_FILTER:
            base = (
                self._filter_text(var)
                if var is not None
                else f"{_record_name(record)}\n{record.header.vendor_guid}"
            )
            return f"{base}\n{record.status.value}"
        if role == _R_SORT:
            return self._record_key(record, column)
        if role == _R_TOOLTIP:
            return f"{record.state_name} record at offset 0x{record.offset:x} (read only)"
        if role == _R_FOREGROUND:
            return self.history_foreground
        if role == _R_FONT:
            font = QFont()
            font.setItalic(True)
            return font
        if role == _R_ALIGN:
            return _RIGHT if column == _SIZE else None
        if role == _R_VARIABLE:
            return var
        if role == _R_RECORD:
            return record
        if role == _R_IS_HISTORY:
            return True
        if role == _R_GUID:
            return record.header.vendor_guid
        if role == _R_IS_GROUP:
            return False
        return None


# --- grouping by namespace ------------------------------------------------------------------


@dataclass(eq=False)
class _Group:
    ident: int
    guid: UUID
    #: Source rows, ascending (the children keep store order).
    rows: list[int] = field(default_factory=list)


class NamespaceGroupModel(QAbstractProxyModel):
    """A two-level proxy: one parent row per namespace (in order of first appearance),
    its variables below. Follows row insertions, removals and resets of the source."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._groups: list[_Group] = []
        self._by_guid: dict[UUID, _Group] = {}
        self._by_ident: dict[int, _Group] = {}
        self._position: dict[int, int] = {}
        self._group_of_row: list[_Group | None] = []
        self._next_ident = 1
        self._columns = 0

    def setSourceModel(self, source: QAbstractItemModel) -> None:  # noqa: N802
        old = self.sourceModel()
        if old is not None:
            old.rowsInserted.disconnect(self._on_rows_inserted)
            old.rowsAboutToBeRemoved.disconnect(self._on_rows_about_to_be_removed)
            old.rowsRemoved.disconnect(self._on_rows_removed)
            old.dataChanged.disconnect(self._on_data_changed)
            old.modelAboutToBeReset.disconnect(self._begin_reset)
            old.modelReset.disconnect(self._on_reset)
            old.layoutAboutToBeChanged.disconnect(self._begin_reset)
            old.layoutChanged.disconnect(self._on_reset)
            old.rowsAboutToBeMoved.disconnect(self._begin_reset)
            old.rowsMoved.disconnect(self._on_reset)
        self.beginResetModel()
        super().setSourceModel(source)
        self._columns = source.columnCount()
        self._rebuild()
        self.endResetModel()
        source.rowsInserted.connect(self._on_rows_inserted)
        source.rowsAboutToBeRemoved.connect(self._on_rows_about_to_be_removed)
        source.rowsRemoved.connect(self._on_rows_removed)
        source.dataChanged.connect(self._on_data_changed)
        source.modelAboutToBeReset.connect(self._begin_reset)
        source.modelReset.connect(self._on_reset)
        source.layoutAboutToBeChanged.connect(self._begin_reset)
        source.layoutChanged.connect(self._on_reset)
        source.rowsAboutToBeMoved.connect(self._begin_reset)
        source.rowsMoved.connect(self._on_reset)

    # -- bookkeeping -----------------------------------------------------------------------------
    def _guid_at(self, row: int) -> UUID:
        source = self.sourceModel()
        guid = (
            source.guid_at(row)
            if isinstance(source, VariableTableModel)
            else source.data(source.index(row, 0), Role.GUID)
        )
        assert isinstance(guid, UUID)
        return guid

    def _new_group(self, guid: UUID) -> _Group:
        group = _Group(self._next_ident, guid)
        self._next_ident += 1
        return group

    def _rebuild(self) -> None:
        self._groups, self._by_guid, self._by_ident = [], {}, {}
        source = self.sourceModel()
        count = source.rowCount() if source is not None else 0
        for row in range(count):
            guid = self._guid_at(row)
            group = self._by_guid.get(guid)
            if group is None:
                group = self._by_guid[guid] = self._new_group(guid)
                self._by_ident[group.ident] = group
                self._groups.append(group)
            group.rows.append(row)
        self._reindex()

    def _reindex(self) -> None:
        self._position = {group.ident: i for i, group in enumerate(self._groups)}
        count = self.sourceModel().rowCount() if self.sourceModel() is not None else 0
        self._group_of_row = [None] * count
        for group in self._groups:
            for row in group.rows:
                self._group_of_row[row] = group

    def _begin_reset(self, *_args: object) -> None:
        self.beginResetModel()

    def _on_reset(self, *_args: object) -> None:
        self._rebuild()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting happens in the source (children keep the source's order)."""
        self.sourceModel().sort(column, order)

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            return
        count = last - first + 1
        for group in self._groups:
            group.rows = [row + count if row >= first else row for row in group.rows]
        for row in range(first, last + 1):
            guid = self._guid_at(row)
            existing = self._by_guid.get(guid)
            if existing is None:
                group = self._new_group(guid)
                group.rows.append(row)
                position = len(self._groups)
                self.beginInsertRows(QModelIndex(), position, position)
                self._groups.append(group)
                self._by_guid[guid] = group
                self._by_ident[group.ident] = group
                self._position[group.ident] = position
                self.endInsertRows()
            else:
                pos = bisect_left(existing.rows, row)
                self.beginInsertRows(self._group_index(existing), pos, pos)
                existing.rows.insert(pos, row)
                self.endInsertRows()
        self._reindex()

    def _on_rows_about_to_be_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            return
        for row in range(last, first - 1, -1):
            group = self._group_of_row[row]
            if group is None:
                continue
            pos = bisect_left(group.rows, row)
            if len(group.rows) == 1:
                position = self._position[group.ident]
                self.beginRemoveRows(QModelIndex(), position, position)
                del self._groups[position]
                del self._by_guid[group.guid]
                del self._by_ident[group.ident]
                self._position = {g.ident: i for i, g in enumerate(self._groups)}
                self.endRemoveRows()
            else:
                self.beginRemoveRows(self._group_index(group), pos, pos)
                del group.rows[pos]
                self.endRemoveRows()
            self._group_of_row[row] = None

    def _on_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            return
        count = last - first + 1
        for group in self._groups:
            group.rows = [row - count if row > last else row for row in group.rows]
        self._reindex()

    def _on_data_changed(
        self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Sequence[int] = ()
    ) -> None:
        last_column = self.columnCount() - 1
        for row in range(top_left.row(), bottom_right.row() + 1):
            group = self._group_of_row[row] if row < len(self._group_of_row) else None
            if group is None:
                continue
            if self._guid_at(row) != group.guid:  # a variable moved to another namespace
                self._begin_reset()
                self._on_reset()
                return
            pos = bisect_left(group.rows, row)
            parent = self._group_index(group)
            self.dataChanged.emit(
                self.index(pos, 0, parent), self.index(pos, last_column, parent), list(roles)
            )

    def _group_index(self, group: _Group, column: int = 0) -> QModelIndex:
        return self.createIndex(self._position[group.ident], column, 0)

    def _group_at(self, index: _Index) -> _Group | None:
        """The group a child index belongs to (None for a top-level index)."""
        ident = index.internalId()
        return self._by_ident.get(ident) if ident else None

    # -- QAbstractProxyModel ------------------------------------------------------------------
    def mapToSource(self, proxy: _Index) -> QModelIndex:  # noqa: N802
        ident = proxy.internalId()
        if not ident:
            return QModelIndex()
        group = self._by_ident.get(ident)
        row = proxy.row()
        if group is None or not 0 <= row < len(group.rows):
            return QModelIndex()
        return self.sourceModel().index(group.rows[row], proxy.column())

    def mapFromSource(self, source: _Index) -> QModelIndex:  # noqa: N802
        if not source.isValid() or source.row() >= len(self._group_of_row):
            return QModelIndex()
        group = self._group_of_row[source.row()]
        if group is None:
            return QModelIndex()
        return self.createIndex(bisect_left(group.rows, source.row()), source.column(), group.ident)

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if row < 0 or not 0 <= column < self._columns:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._groups) else QModelIndex()
        if parent.internalId() or parent.column() != 0:
            return QModelIndex()
        group = self._groups[parent.row()] if parent.row() < len(self._groups) else None
        if group is None or row >= len(group.rows):
            return QModelIndex()
        return self.createIndex(row, column, group.ident)

    def parent(self, child: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        if not child.isValid():
            return QModelIndex()
        group = self._group_at(child)
        return QModelIndex() if group is None else self._group_index(group)

    def sibling(self, row: int, column: int, index: _Index) -> QModelIndex:
        return self.index(row, column, self.parent(index))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() or parent.column() != 0 or parent.row() >= len(self._groups):
            return 0
        return len(self._groups[parent.row()].rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return self._columns

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008, N802
        return self.rowCount(parent) > 0

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY) -> object:  # noqa: N802
        source = self.sourceModel()
        return source.headerData(section, orientation, role) if source is not None else None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if not index.internalId():
            return _GROUP_FLAGS
        if isinstance(self.sourceModel(), VariableTableModel):
            return _ROW_FLAGS  # the same for every row: no need to map the index
        return self.sourceModel().flags(self.mapToSource(index))

    def data(self, index: _Index, role: int = _DISPLAY) -> object:
        if not index.isValid():
            return None
        if index.internalId():
            return self.sourceModel().data(self.mapToSource(index), role)
        if index.row() >= len(self._groups):
            return None
        group = self._groups[index.row()]
        column = VariableColumn(index.column())
        label = guid_label(group.guid)
        count = len(group.rows)
        if role in (_DISPLAY, Role.SORT):
            if column is VariableColumn.NAME:
                return label
            if column is VariableColumn.NAMESPACE:
                return str(group.guid) if label != str(group.guid) else ""
            if column is VariableColumn.SIZE:
                return count if role == Role.SORT else None
            if column is VariableColumn.VALUE:
                return f"{count} variable{'s' if count != 1 else ''}"
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(group.guid)
        if role == Qt.ItemDataRole.FontRole and column is VariableColumn.NAME:
            font = QFont()
            font.setBold(True)
            return font
        if role == Role.FILTER:
            return f"{label}\n{group.guid}"
        if role == Role.GUID:
            return group.guid
        if role == Role.IS_GROUP:
            return True
        if role == Role.IS_HISTORY:
            return False
        return None


# --- filtering and sorting -----------------------------------------------------------------


def filter_pattern(text: str) -> str:
    """A regular expression matching texts that contain every word of ``text``."""
    words = text.split()
    if not words:
        return ""
    if len(words) == 1:
        return re.escape(words[0])
    # anchored, so each lookahead scans the text once (not once per start position)
    return "\\A" + "".join(f"(?=[\\s\\S]*?{re.escape(word)})" for word in words)


class VariableFilterProxy(QSortFilterProxyModel):
    """Filter-as-you-type (every word must appear in the name, GUID, namespace name,
    attributes or decoded value; case-insensitive). Namespace rows stay while any of their
    variables matches. Sorting is forwarded to the source models."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setFilterRole(Role.FILTER)
        self.setFilterKeyColumn(0)
        self.setAutoAcceptChildRows(True)
        self.setDynamicSortFilter(True)

    @property
    def filter_text(self) -> str:
        return self._text

    def setSourceModel(self, source: QAbstractItemModel) -> None:  # noqa: N802
        # recursion (a namespace row stays while a child matches) costs a rowCount() per
        # rejected row: only worth it when there are children
        self.setRecursiveFilteringEnabled(isinstance(source, NamespaceGroupModel))
        super().setSourceModel(source)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is done by the source model (Python keys computed once per row, not a
        ``data()`` call per comparison); this proxy keeps the source's order."""
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)

    def set_filter_text(self, text: str) -> None:
        self._text = text
        expression = QRegularExpression(
            filter_pattern(text), QRegularExpression.PatternOption.CaseInsensitiveOption
        )
        self.setFilterRegularExpression(expression)
