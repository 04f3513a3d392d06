"""Differences between two variable stores, keyed by (GUID, name)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..core.store import VarStore
from ..core.variable import Variable


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class VariableChange:
    kind: ChangeKind
    before: Variable | None
    after: Variable | None

    @property
    def variable(self) -> Variable:
        var = self.after or self.before
        assert var is not None
        return var

    @property
    def changed_members(self) -> tuple[str, ...]:
        """Which members differ (for CHANGED): attributes, data, timestamp, digest."""
        if self.before is None or self.after is None:
            return ()
        return tuple(
            member
            for member in ("attributes", "data", "timestamp", "digest")
            if getattr(self.before, member) != getattr(self.after, member)
        )


def diff_stores(before: VarStore, after: VarStore) -> list[VariableChange]:
    """Variables removed, added and changed from ``before`` to ``after``, in store order
    (removed ones first, in ``before``'s order; then ``after``'s order)."""
    changes: list[VariableChange] = []
    for var in before:
        if var.key not in after:
            changes.append(VariableChange(ChangeKind.REMOVED, var, None))
    for var in after:
        old = before.get(*var.key)
        if old is None:
            changes.append(VariableChange(ChangeKind.ADDED, None, var))
        elif old != var:
            changes.append(VariableChange(ChangeKind.CHANGED, old, var))
    return changes
