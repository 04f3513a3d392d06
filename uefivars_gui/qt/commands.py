"""Undoable changes to a :class:`~.document.Document` (QUndoCommand subclasses).

Each command calls the document's ``apply_*`` primitives and remembers what it needs to
go back; the document announces the row changes. Consecutive edits of one variable
(a typed editor emitting on every keystroke) merge into one undo step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from ..core.store import VarStore
from ..core.variable import Variable, VariableKey

if TYPE_CHECKING:
    from .document import Document

#: QUndoCommand.id() of mergeable variable edits.
EDIT_COMMAND_ID = 0x7565_6669  # "uefi"


class ReplaceVariableCommand(QUndoCommand):
    """Replace one variable (its data, attributes or even its key) in place."""

    def __init__(
        self,
        document: Document,
        old_key: VariableKey,
        new: Variable,
        text: str | None = None,
    ) -> None:
        super().__init__(text or f"Edit {new.name}")
        self._document = document
        self._old_key = old_key
        self._new = new
        self._old: Variable | None = None
        self._mergeable = text is None

    def redo(self) -> None:
        self._old = self._document.apply_replace(self._old_key, self._new)

    def undo(self) -> None:
        assert self._old is not None
        self._document.apply_replace(self._new.key, self._old)

    def id(self) -> int:
        return EDIT_COMMAND_ID if self._mergeable else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802
        if not isinstance(other, ReplaceVariableCommand) or not other._mergeable:
            return False
        if other._old_key != self._new.key:
            return False
        self._new = other._new
        self.setText(f"Edit {self._new.name}")
        if self._old == self._new:
            self.setObsolete(True)  # edited back to where it was: nothing to undo
        return True


class InsertVariableCommand(QUndoCommand):
    """Insert a new variable at a store position (Add, Duplicate)."""

    def __init__(
        self,
        document: Document,
        row: int,
        var: Variable,
        text: str | None = None,
    ) -> None:
        super().__init__(text or f"Add {var.name}")
        self._document = document
        self._row = row
        self._var = var

    def redo(self) -> None:
        self._document.apply_insert(self._row, self._var)

    def undo(self) -> None:
        self._document.apply_remove(self._var.key)


class RemoveVariableCommand(QUndoCommand):
    """Delete one variable; undo puts it back where it was."""

    def __init__(
        self,
        document: Document,
        key: VariableKey,
        text: str | None = None,
    ) -> None:
        super().__init__(text or f"Delete {key[1]}")
        self._document = document
        self._key = key
        self._row = -1
        self._var: Variable | None = None

    def redo(self) -> None:
        self._row, self._var = self._document.apply_remove(self._key)

    def undo(self) -> None:
        assert self._var is not None
        self._document.apply_insert(self._row, self._var)


class RemoveVariablesCommand(QUndoCommand):
    """Delete several variables as one step; undo puts each back at its position."""

    def __init__(self, document: Document, keys: Sequence[VariableKey], text: str) -> None:
        super().__init__(text)
        self._document = document
        self._keys = list(keys)
        self._removed: list[tuple[int, Variable]] = []

    def redo(self) -> None:
        self._removed = self._document.apply_remove_many(self._keys)

    def undo(self) -> None:
        self._document.apply_insert_many(self._removed)


class ReplaceStoreCommand(QUndoCommand):
    """Replace every variable at once (Reload from disk)."""

    def __init__(self, document: Document, store: VarStore, text: str) -> None:
        super().__init__(text)
        self._document = document
        self._other = store.copy()

    def redo(self) -> None:
        self._other = self._document.apply_store(self._other)

    def undo(self) -> None:
        self._other = self._document.apply_store(self._other)


class BulkCommand(QUndoCommand):
    """Several commands as one undo step (what ``QUndoStack.beginMacro`` builds), telling
    the document so that a large change resets the views once.

    The children are kept in a Python list rather than as Qt child commands: PySide does
    not keep the Python side of a parented QUndoCommand alive.
    """

    def __init__(self, document: Document, text: str, children: Sequence[QUndoCommand]) -> None:
        super().__init__(text)
        self._document = document
        self._children = list(children)

    def redo(self) -> None:
        with self._document.bulk(len(self._children)):
            for child in self._children:
                child.redo()

    def undo(self) -> None:
        with self._document.bulk(len(self._children)):
            for child in reversed(self._children):
                child.undo()
