"""What every typed editor shares: the commit protocol, inline messages, the lookup type.

A typed editor shows one :class:`~uefivars_gui.core.typed.TypedValue`. When the user
finishes a change it builds the new value with core functions and calls
:meth:`TypedEditor.commit`, which encodes it and emits ``data_changed(bytes)`` when the
bytes differ (an edit that changes nothing emits nothing). Selecting a part of the value
emits ``field_selected(offset, length)`` (offsets into the variable data) so the host can
highlight those bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStyle, QWidget

from ...core.typed import TypedValue
from ...core.variable import Variable
from ...errors import UefiVarsError

#: ``lookup("Boot0001")``: the variable of that name in the same store (global namespace), or None.
Lookup = Callable[[str], Variable | None]


def warning_icon(widget: QWidget) -> QIcon:
    return widget.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)


class MessageLabel(QWidget):
    """An inline warning/error line (icon + word-wrapped text); hidden when empty."""

    def __init__(self, parent: QWidget | None = None, accessible_name: str = "Message") -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self._icon.setPixmap(warning_icon(self).pixmap(size, size))
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self._text = QLabel(self)
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._text.setAccessibleName(accessible_name)
        layout.addWidget(self._icon)
        layout.addWidget(self._text, 1)
        self.setAccessibleName(accessible_name)
        self.hide()

    def text(self) -> str:
        return self._text.text() if not self.isHidden() else ""

    def set_messages(self, messages: list[str] | tuple[str, ...]) -> None:
        self.set_text("\n".join(messages))

    def set_text(self, text: str) -> None:
        self._text.setText(text)
        self.setAccessibleDescription(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        self.set_text("")


class TypedEditor(QWidget):
    """Base of the typed editors (see the module docstring)."""

    #: The value's new bytes after a committed change.
    data_changed = Signal(bytes)
    #: (offset, length) in the variable data of the part the user selected.
    field_selected = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._read_only = False
        self._context: Lookup | None = None
        self._variable: Variable | None = None
        self._value: TypedValue | None = None
        self._data = b""
        self.error = MessageLabel(self, "Error")

    # --- host API ---

    def set_value(self, variable: Variable, value: TypedValue) -> None:
        """Show ``value`` (the decoded ``variable.data``)."""
        self._variable = variable
        self._value = value
        self._data = variable.data
        self.error.clear()
        self.show_value(value)

    def value(self) -> TypedValue | None:
        return self._value

    def set_read_only(self, read_only: bool) -> None:
        self._read_only = read_only
        self.update_read_only(read_only)

    def is_read_only(self) -> bool:
        return self._read_only

    def set_context(self, lookup: Lookup | None) -> None:
        self._context = lookup
        if self._value is not None:
            self.show_value(self._value)

    def select_offset(self, offset: int) -> None:
        """Select the part of the view holding byte ``offset`` (default: nothing to do)."""

    # --- for subclasses ---

    def show_value(self, value: TypedValue) -> None:
        raise NotImplementedError

    def update_read_only(self, read_only: bool) -> None:
        """Enable or disable the editing widgets."""

    def lookup(self, name: str) -> Variable | None:
        if self._context is None:
            return None
        try:
            return self._context(name)
        except (KeyError, LookupError):
            return None

    def commit(self, value: TypedValue) -> bool:
        """Encode ``value``; emit ``data_changed`` when its bytes differ. False on errors."""
        if self._read_only:
            return False
        try:
            data = value.to_bytes()
        except (UefiVarsError, ValueError, OverflowError) as exc:
            self.error.set_text(str(exc))
            return False
        self.error.clear()
        self._value = value
        if data == self._data:
            return True
        self._data = data
        if self._variable is not None:
            self._variable = self._variable.evolve(data=data)
        self.data_changed.emit(data)
        return True

    def show_error(self, text: str) -> None:
        self.error.set_text(text)
