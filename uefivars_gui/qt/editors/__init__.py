"""The details pane of one variable and its typed editors.

:class:`VariableEditor` is what hosts embed; the typed editors (one per value kind of
core.typed) live in the sibling modules.
"""

from __future__ import annotations

from .variable import VariableEditor, decode_for_view, editor_class_for

__all__ = ["VariableEditor", "decode_for_view", "editor_class_for"]
