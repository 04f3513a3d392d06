"""The open store as a document: its variables, where it came from, and its undo history.

The document owns a private copy of the decoded :class:`VarStore` and changes it only
through :mod:`.commands` pushed on its ``QUndoStack``, so every change can be undone.
It knows nothing of widgets: item models and views listen to its signals (napari's
habit: the model emits events, the Qt models translate them into row signals).

Long work (reading, decoding, encoding a large store) runs through
:func:`run_in_background` so the event loop stays responsive.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..cli.storefile import read_bytes, save_store
from ..codec import registry
from ..codec.base import StoreDocument, StoreFormat
from ..codec.edk2 import FlashImage, VariableRecord
from ..core.guid import guid_label
from ..core.store import VarStore
from ..core.variable import Variable, VariableKey
from ..errors import DecodeError, UefiVarsError, UsageError

#: Bulk commands touching more variables than this reset the item models instead of
#: announcing every row (cheaper for the views and their proxies).
BULK_RESET_THRESHOLD = 64


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A store file as read from disk: its bytes' digest and the decoded document."""

    path: Path
    digest: str
    document: StoreDocument


def load_file(path: str | Path) -> LoadedFile:
    """Read and decode a store file (runs in a worker thread)."""
    data = read_bytes(path)
    try:
        document = registry.decode(data)
    except DecodeError as exc:
        raise DecodeError(
            exc.message, exc.offset, what=f"{path}" + (f": {exc.what}" if exc.what else "")
        ) from None
    return LoadedFile(Path(path), digest_of(data), document)


class ChangedOnDiskError(UefiVarsError):
    """The file is not what we last read or wrote: saving would overwrite someone else's change."""


def save_file(
    path: str | Path,
    store: VarStore,
    fmt: StoreFormat,
    origin: object,
    layout: str | None = None,
    *,
    expected_digest: str | None = None,
) -> LoadedFile:
    """Save atomically, then read the file back (runs in a worker thread).

    With ``expected_digest``, refuse (:class:`ChangedOnDiskError`) when the file on disk
    is no longer the version last read or written. The file read back gives the new
    ``origin`` (a template for the next save) and the digest the file watcher compares
    against to ignore our own write.
    """
    if expected_digest is not None and Path(path).exists():
        current = digest_of(read_bytes(path))
        if current != expected_digest:
            raise ChangedOnDiskError(
                f"{Path(path).name} was changed on disk by another program since it was read; "
                "review the change (Reload or Keep Mine) before saving"
            )
    save_store(path, store, fmt, origin, layout=layout)
    return load_file(path)


# --- background work ----------------------------------------------------------------------


class BackgroundTask:
    """Run ``work`` on a worker thread; deliver its result (or exception) to ``on_done`` /
    ``on_error`` on the UI thread.

    Results are collected by a timer on the UI thread rather than by a signal emitted
    from the worker: the work never touches Qt, and no Qt object crosses threads.
    """

    POLL_MS = 10
    _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="uefivars-gui")
    _pending: list[BackgroundTask] = []
    _timer: QTimer | None = None

    def __init__(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self._work = work
        self._on_done = on_done
        self._on_error = on_error
        self._future: Future[Any] | None = None

    def start(self) -> None:
        self._future = self._executor.submit(self._work)
        BackgroundTask._pending.append(self)
        timer = BackgroundTask._timer
        if timer is None:
            timer = BackgroundTask._timer = QTimer()
            timer.setInterval(self.POLL_MS)
            timer.timeout.connect(BackgroundTask.deliver_finished)
        if not timer.isActive():
            timer.start()

    @property
    def done(self) -> bool:
        return self._future is not None and self._future.done()

    def _deliver(self) -> None:
        assert self._future is not None
        exc = self._future.exception()
        if exc is not None:
            self._on_error(exc)
        else:
            self._on_done(self._future.result())

    @classmethod
    def deliver_finished(cls) -> None:
        """Hand the results of finished tasks to their callbacks (UI thread)."""
        finished = [task for task in cls._pending if task.done]
        cls._pending = [task for task in cls._pending if not task.done]
        if not cls._pending and cls._timer is not None:
            cls._timer.stop()
        for task in finished:
            task._deliver()

    @classmethod
    def pending(cls) -> int:
        return len(cls._pending)

    @classmethod
    def wait_all(cls, timeout: float | None = None) -> None:
        """Wait for the running tasks and deliver their results (tests, shutting down)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while cls._pending:
            futures = [task._future for task in cls._pending if task._future is not None]
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0)
            wait(futures, remaining)
            cls.deliver_finished()
            if deadline is not None and time.monotonic() >= deadline:
                return


def run_in_background(
    work: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[BaseException], None]
) -> BackgroundTask:
    task = BackgroundTask(work, on_done, on_error)
    task.start()
    return task


# --- the document -------------------------------------------------------------------------


class Document(QObject):
    """An open variable store: ordered variables keyed by (GUID, name), the file it
    came from (path, format, codec origin) and an undo stack."""

    #: A variable was inserted at ``row``.
    variable_inserted = Signal(int, object)
    #: The variable at ``row`` was removed (it is passed along).
    variable_removed = Signal(int, object)
    #: The variable at ``row`` was replaced (old, new); the key may have changed.
    variable_replaced = Signal(int, object, object)
    #: Everything changed (reload, bulk command): re-read the whole store.
    store_reset = Signal()
    #: A bulk change is starting / has finished (listeners may reset once).
    bulk_started = Signal()
    bulk_finished = Signal()
    #: After any change to the variables (per row, or once for a large bulk change).
    contents_changed = Signal()
    #: Path, format or origin changed (saved, reloaded): history records may differ.
    origin_changed = Signal()
    modified_changed = Signal(bool)

    def __init__(
        self,
        store: VarStore | None = None,
        *,
        path: str | Path | None = None,
        fmt: StoreFormat = StoreFormat.JSON,
        origin: object = None,
        digest: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store.copy() if store is not None else VarStore()
        self._path = Path(path) if path is not None else None
        self._format = fmt
        self._origin = origin
        self._digest = digest
        self._disk_differs = False
        self._bulk_depth = 0
        self._was_modified = False
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._update_modified)

    @classmethod
    def from_loaded(cls, loaded: LoadedFile, parent: QObject | None = None) -> Document:
        doc = loaded.document
        return cls(
            doc.store,
            path=loaded.path,
            fmt=doc.format,
            origin=doc.origin,
            digest=loaded.digest,
            parent=parent,
        )

    @classmethod
    def open(cls, path: str | Path, parent: QObject | None = None) -> Document:
        """Open synchronously (small files, scripts and tests)."""
        return cls.from_loaded(load_file(path), parent)

    # -- reading ----------------------------------------------------------------------------
    @property
    def store(self) -> VarStore:
        """The variables. Read only: change them through the verbs below."""
        return self._store

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def format(self) -> StoreFormat:
        return self._format

    @property
    def origin(self) -> object:
        return self._origin

    @property
    def digest(self) -> str | None:
        """SHA-256 of the file as last read or written (None for a new document)."""
        return self._digest

    @property
    def display_name(self) -> str:
        return self._path.name if self._path is not None else "Untitled"

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean() or self._disk_differs

    @property
    def history(self) -> tuple[VariableRecord, ...]:
        """Records of a flash image that no longer count (deleted, superseded, ...)."""
        return self._origin.history if isinstance(self._origin, FlashImage) else ()

    def __len__(self) -> int:
        return len(self._store)

    def __iter__(self) -> Iterator[Variable]:
        return iter(self._store)

    def get(self, key: VariableKey) -> Variable | None:
        return self._store.get(*key)

    def row_of(self, key: VariableKey) -> int:
        return self._store.index(*key)

    # -- verbs (each pushes one undoable command) ---------------------------------------------
    def replace_variable(self, old_key: VariableKey, new: Variable, text: str | None = None) -> bool:
        """Replace the variable ``old_key`` by ``new`` (same position). False if nothing changes."""
        from .commands import ReplaceVariableCommand

        old = self._require(old_key)
        if old == new:
            return False
        if new.key != old_key and new.key in self._store:
            raise UsageError(f"a variable {new.name!r} already exists in {guid_label(new.guid)}")
        self.undo_stack.push(ReplaceVariableCommand(self, old_key, new, text))
        return True

    def add_variable(self, var: Variable, index: int | None = None) -> None:
        from .commands import InsertVariableCommand

        if var.key in self._store:
            raise UsageError(f"a variable {var.name!r} already exists in {guid_label(var.guid)}")
        row = len(self._store) if index is None else index
        self.undo_stack.push(InsertVariableCommand(self, row, var, f"Add {var.name}"))

    def duplicate_variable(self, key: VariableKey, new_name: str) -> Variable:
        """Copy ``key`` under ``new_name`` (same namespace), right after the original."""
        from .commands import InsertVariableCommand

        original = self._require(key)
        name = new_name.strip()
        if not name:
            raise UsageError("the new variable needs a name")
        copy = original.evolve(name=name)
        if copy.key in self._store:
            raise UsageError(f"a variable {name!r} already exists in {guid_label(original.guid)}")
        row = self.row_of(key) + 1
        self.undo_stack.push(InsertVariableCommand(self, row, copy, f"Duplicate {original.name} as {name}"))
        return copy

    def delete_variables(self, keys: Iterable[VariableKey]) -> int:
        """Delete variables; several make one undoable step."""
        from .commands import RemoveVariableCommand, RemoveVariablesCommand

        wanted = [key for key in dict.fromkeys(keys) if key in self._store]
        if not wanted:
            return 0
        if len(wanted) == 1:
            var = self._require(wanted[0])
            self.undo_stack.push(RemoveVariableCommand(self, wanted[0], f"Delete {var.name}"))
            return 1
        self.undo_stack.push(RemoveVariablesCommand(self, wanted, f"Delete {len(wanted)} variables"))
        return len(wanted)

    def set_variables(self, variables: Iterable[Variable], text: str) -> int:
        """Insert or replace several variables as one undoable step (new ones go last)."""
        from .commands import BulkCommand, InsertVariableCommand, ReplaceVariableCommand

        changes = [var for var in variables if self._store.get(*var.key) != var]
        if not changes:
            return 0
        children: list[QUndoCommand] = []
        appended = len(self._store)
        for var in changes:
            if var.key in self._store:
                children.append(ReplaceVariableCommand(self, var.key, var, text))
            else:
                children.append(InsertVariableCommand(self, appended, var))
                appended += 1
        self.undo_stack.push(BulkCommand(self, text, children))
        return len(changes)

    def reload(self, loaded: LoadedFile) -> None:
        """Take the file's content (undoable: undo brings the edits back) and its origin."""
        from .commands import ReplaceStoreCommand

        self._origin = loaded.document.origin
        self._format = loaded.document.format
        self._path = loaded.path
        self._digest = loaded.digest
        self._disk_differs = False
        if loaded.document.store != self._store:
            self.undo_stack.push(ReplaceStoreCommand(self, loaded.document.store, "Reload from disk"))
        self.undo_stack.setClean()
        self.origin_changed.emit()
        self._update_modified()

    def keep_mine(self, disk_digest: str) -> None:
        """The file changed on disk and the user keeps this version: it now differs from
        the file until saved."""
        self._digest = disk_digest
        self._disk_differs = True
        self._update_modified()

    def mark_saved(self, saved: LoadedFile, clean_index: int) -> None:
        """The store as it was at undo index ``clean_index`` is now ``saved``."""
        self._path = saved.path
        self._format = saved.document.format
        self._origin = saved.document.origin
        self._digest = saved.digest
        self._disk_differs = False
        if self.undo_stack.index() == clean_index:
            self.undo_stack.setClean()
        self.origin_changed.emit()
        self._update_modified()

    # -- primitives (for commands only) ------------------------------------------------------
    def apply_insert(self, row: int, var: Variable) -> None:
        if row >= len(self._store):
            self._store.set(var)  # appends (cheaper than insert)
        else:
            self._store.insert(row, var)
        if not self._bulk_depth:
            self.variable_inserted.emit(row, var)
            self.contents_changed.emit()

    def apply_remove(self, key: VariableKey) -> tuple[int, Variable]:
        row = self.row_of(key)
        var = self._store.remove(*key)
        if not self._bulk_depth:
            self.variable_removed.emit(row, var)
            self.contents_changed.emit()
        return row, var

    def apply_remove_many(self, keys: Iterable[VariableKey]) -> list[tuple[int, Variable]]:
        """Remove several variables; returns (row, variable) in ascending row order."""
        wanted = set(keys)
        removed = [(row, var) for row, var in enumerate(self._store) if var.key in wanted]
        with self.bulk(len(removed)):
            for row, var in reversed(removed):
                self._store.remove(*var.key)
                if not self._bulk_depth:
                    self.variable_removed.emit(row, var)
                    self.contents_changed.emit()
        return removed

    def apply_insert_many(self, items: Iterable[tuple[int, Variable]]) -> None:
        """Put variables back at their rows (ascending), as ``apply_remove_many`` gave them."""
        items = sorted(items, key=lambda item: item[0])
        with self.bulk(len(items)):
            if self._bulk_depth:
                variables = list(self._store)
                for row, var in items:
                    variables.insert(row, var)
                self._store = VarStore(variables)
            else:
                for row, var in items:
                    self.apply_insert(row, var)

    def apply_replace(self, old_key: VariableKey, new: Variable) -> Variable:
        old = self._require(old_key)
        row = self.row_of(old_key)
        if new.key == old_key:
            self._store.set(new)
        else:
            self._store.remove(*old_key)
            self._store.insert(row, new)
        if not self._bulk_depth:
            self.variable_replaced.emit(row, old, new)
            self.contents_changed.emit()
        return old

    def apply_store(self, store: VarStore) -> VarStore:
        old, self._store = self._store, store.copy()
        self.store_reset.emit()
        self.contents_changed.emit()
        return old

    @contextmanager
    def bulk(self, size: int) -> Iterator[None]:
        """Row signals are replaced by one reset when ``size`` is large."""
        large = size > BULK_RESET_THRESHOLD
        if large:
            if not self._bulk_depth:
                self.bulk_started.emit()
            self._bulk_depth += 1
        try:
            yield
        finally:
            if large:
                self._bulk_depth -= 1
                if not self._bulk_depth:
                    self.bulk_finished.emit()
                    self.contents_changed.emit()

    # -- internals ---------------------------------------------------------------------------
    def _require(self, key: VariableKey) -> Variable:
        var = self._store.get(*key)
        if var is None:
            raise UsageError(f"no variable {key[1]!r} in {guid_label(key[0])}")
        return var

    def _update_modified(self, *_args: object) -> None:
        modified = self.is_modified
        if modified != self._was_modified:
            self._was_modified = modified
            self.modified_changed.emit(modified)
