"""VarStore: an ordered collection of variables keyed by (GUID, name)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from uuid import UUID

from ..errors import AmbiguousNameError, VariableNotFoundError
from .guid import guid_label
from .variable import Variable, VariableKey


class VarStore:
    """Variables in store order. Two variables with the same name in different
    namespaces (GUIDs) are distinct; the key is always ``(guid, name)``.

    Replacing a variable keeps its position; new variables go to the end (as firmware
    appends them). Equality compares the ordered contents.
    """

    __slots__ = ("_vars",)

    def __init__(self, variables: Iterable[Variable] = ()) -> None:
        self._vars: dict[VariableKey, Variable] = {}
        for var in variables:
            self._vars[var.key] = var

    # -- reading ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._vars)

    def __iter__(self) -> Iterator[Variable]:
        return iter(list(self._vars.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._vars

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VarStore):
            return NotImplemented
        return list(self._vars.values()) == list(other._vars.values())

    def __repr__(self) -> str:
        return f"VarStore({len(self)} variables)"

    def get(self, guid: UUID, name: str) -> Variable | None:
        return self._vars.get((guid, name))

    def keys(self) -> list[VariableKey]:
        return list(self._vars)

    def named(self, name: str) -> list[Variable]:
        """All variables with this name, in any namespace."""
        return [v for v in self._vars.values() if v.name == name]

    def resolve(self, name: str, guid: UUID | None = None) -> Variable:
        """Find one variable by name, and by GUID where given or needed."""
        if guid is not None:
            var = self.get(guid, name)
            if var is None:
                raise VariableNotFoundError(f"no variable {name!r} in namespace {guid_label(guid)}")
            return var
        matches = self.named(name)
        if not matches:
            raise VariableNotFoundError(f"no variable named {name!r}")
        if len(matches) > 1:
            spaces = ", ".join(f"{guid_label(v.guid)} ({v.guid})" for v in matches)
            raise AmbiguousNameError(f"{name!r} exists in several namespaces: {spaces}; give --guid")
        return matches[0]

    def index(self, guid: UUID, name: str) -> int:
        for i, key in enumerate(self._vars):
            if key == (guid, name):
                return i
        raise VariableNotFoundError(f"no variable {name!r} in namespace {guid_label(guid)}")

    # -- changing ---------------------------------------------------------------------
    def set(self, var: Variable) -> None:
        """Insert or replace (keeping the position of a replaced variable)."""
        self._vars[var.key] = var

    def append(self, var: Variable) -> None:
        """Insert or replace, moving the variable to the end (as firmware rewrites it)."""
        self._vars.pop(var.key, None)
        self._vars[var.key] = var

    def insert(self, index: int, var: Variable) -> None:
        items = [v for k, v in self._vars.items() if k != var.key]
        items.insert(index, var)
        self._vars = {v.key: v for v in items}

    def remove(self, guid: UUID, name: str) -> Variable:
        try:
            return self._vars.pop((guid, name))
        except KeyError:
            raise VariableNotFoundError(f"no variable {name!r} in namespace {guid_label(guid)}") from None

    def discard(self, guid: UUID, name: str) -> Variable | None:
        return self._vars.pop((guid, name), None)

    def copy(self) -> VarStore:
        return VarStore(self._vars.values())
