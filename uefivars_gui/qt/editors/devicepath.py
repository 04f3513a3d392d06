"""Device paths: the edk2 text form (editable, parsed by core.devicepath) and the node tree."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ...core import devicepath
from ...core.devicepath import DevicePath
from ...core.fields import Field
from ...core.typed import DevicePathValue, TypedValue
from ...errors import DecodeError
from ..fieldtree import FieldTree
from .base import MessageLabel, TypedEditor


class DevicePathWidget(QWidget):
    """Text line + inline parse errors + the node tree (spans in variable-data offsets)."""

    #: A path the user typed that parsed.
    path_committed = Signal(tuple)
    field_selected = Signal(int, int)

    def __init__(self, label: str = "&Device path:", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLineEdit(self)
        self.text.setAccessibleName("Device path text")
        self.text.setPlaceholderText("e.g. PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)")
        self.text.editingFinished.connect(self._on_finished)
        self.error = MessageLabel(self, "Device path error")
        self.tree = FieldTree(self)
        self.tree.setAccessibleName("Device path nodes")
        self.tree.field_selected.connect(self.field_selected)
        self.tree.setMinimumHeight(6 * self.tree.fontMetrics().height())
        caption = QLabel(label, self)
        caption.setBuddy(self.text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(caption)
        row.addWidget(self.text, 1)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.tree, 1)
        self._shown_text = ""

    def set_path(self, text: str, fields: Field | None, problem: str | None = None) -> None:
        """Show ``text`` and the node tree ``fields``; ``problem`` when the bytes do not decode."""
        self._shown_text = text
        if self.text.text() != text:
            self.text.setText(text)
            self.text.setCursorPosition(0)
        self.tree.set_root(fields)
        self.error.set_text(problem or "")

    def set_read_only(self, read_only: bool) -> None:
        self.text.setReadOnly(read_only)

    def _on_finished(self) -> None:
        if self.text.isReadOnly():
            return
        text = self.text.text().strip()
        if text == self._shown_text:
            self.error.clear()
            return
        try:
            path = devicepath.parse_text(text)
            devicepath.encode(path)
        except DecodeError as exc:
            self.error.set_text(str(exc))
            if exc.offset is not None:
                self.text.setCursorPosition(exc.offset)
            return
        self.error.clear()
        self.path_committed.emit(path)


class DevicePathEditor(TypedEditor):
    """ConIn/ConOut/ErrOut, VMMBootOrder####: a (multi-instance) device path."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = DevicePathWidget("&Device path:", self)
        self.path.path_committed.connect(self._on_path)
        self.path.field_selected.connect(self.field_selected)
        self.instances = QLabel(self)
        self.instances.setAccessibleName("Instances")
        layout = QVBoxLayout(self)
        layout.addWidget(self.path, 1)
        layout.addWidget(self.instances)
        layout.addWidget(self.error)

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, DevicePathValue)
        self.path.set_path(devicepath.to_text(value.path), value.fields())
        count = len(value.instances)
        self.instances.setText(f"{count} instance{'s' if count != 1 else ''}")

    def update_read_only(self, read_only: bool) -> None:
        self.path.set_read_only(read_only)

    def select_offset(self, offset: int) -> None:
        self.path.tree.blockSignals(True)
        self.path.tree.select_deepest(offset)
        self.path.tree.blockSignals(False)

    def _on_path(self, path: DevicePath) -> None:
        new = DevicePathValue(tuple(path))
        if self.commit(new):
            self.show_value(new)
