"""The details pane of one variable: header, attributes, typed view, field tree and bytes.

Edits in any part (attribute boxes, the typed editor, the hex view) change a *pending*
variable and refresh the other parts at once (Wireshark's linked panes: selecting a field
highlights its bytes, clicking a byte selects the deepest field containing it). Apply
(button or Ctrl+Return) emits ``variable_edited(Variable)`` with the pending variable
when its bytes or attributes differ from the one the host set; Revert drops the pending
changes. ``set_auto_apply(True)`` emits after every committed edit instead.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.attributes import Attributes
from ...core.fields import Field
from ...core.guid import guid_name
from ...core.typed import (
    KIND_DECODERS,
    HexValue,
    SignatureDatabaseValue,
    TypedValue,
    decode_as,
    decode_variable,
)
from ...core.variable import Variable
from ...crypto.x509 import describe_x509
from ..fieldtree import FieldTree
from ..hexview import HexView
from .attributes import AttributesWidget, variable_warnings
from .base import Lookup, MessageLabel, TypedEditor
from .devicepath import DevicePathEditor
from .hexvalue import HexValueEditor
from .loadoption import KeyOptionEditor, LoadOptionEditor
from .order import LoadOrderEditor
from .policy import PolicyTableEditor
from .scalar import BoolEditor, IntegerEditor, TextValueEditor, _PlainTextEdit
from .siglist import SignatureListEditor

_EDITORS: dict[str, type[TypedEditor]] = {
    "bool": BoolEditor,
    "uint8": IntegerEditor,
    "uint16": IntegerEditor,
    "uint32": IntegerEditor,
    "uint64": IntegerEditor,
    "ucs2": TextValueEditor,
    "ascii": TextValueEditor,
    "guid[]": TextValueEditor,
    "uint16[]": LoadOrderEditor,
    "loadoption": LoadOptionEditor,
    "keyoption": KeyOptionEditor,
    "devicepath": DevicePathEditor,
    "siglist": SignatureListEditor,
    "policy": PolicyTableEditor,
    "hex": HexValueEditor,
}


def editor_class_for(value: TypedValue) -> type[TypedEditor]:
    """The typed editor for a value's ``kind`` (the hex fallback for anything else)."""
    return _EDITORS.get(value.kind, HexValueEditor)


def decode_for_view(variable: Variable, kind: str | None = None) -> TypedValue:
    """The typed value shown for ``variable``: by (GUID, name), or as ``kind``; hex otherwise."""
    if kind is None:
        value = decode_variable(variable, describe_x509=describe_x509)
        return HexValue(variable.data) if value is None else value
    value = decode_as(kind, variable.data)
    if isinstance(value, SignatureDatabaseValue):
        return SignatureDatabaseValue(value.database, describe_x509)
    return value


class VariableEditor(QWidget):
    """The details pane (see the module docstring).

    Host API: :meth:`set_variable`, :meth:`set_context`, signal ``variable_edited``;
    also :meth:`apply`, :meth:`revert`, :meth:`has_pending_changes`, ``pending_changed``.
    """

    #: The edited Variable (same name and GUID; new data and/or attributes).
    variable_edited = Signal(object)
    #: True when there are changes not applied yet.
    pending_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Variable details")
        self._original: Variable | None = None
        self._pending: Variable | None = None
        self._read_only = False
        self._auto_apply = False
        self._context: Lookup | None = None
        self._kind: str | None = None
        self._value: TypedValue | None = None
        self._root: Field | None = None
        self._reference_time: dt.datetime | None = None
        self._from_byte_click = False
        self.editor: TypedEditor | None = None

        # header
        self.name_label = QLabel(self)
        font = QFont(self.name_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.name_label.setFont(font)
        self.name_label.setAccessibleName("Variable name")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.namespace_label = QLabel(self)
        self.namespace_label.setAccessibleName("Namespace")
        self.namespace_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.size_label = QLabel(self)
        self.size_label.setAccessibleName("Size")
        self.time_label = QLabel(self)
        self.time_label.setAccessibleName("Timestamp")
        self.state_label = QLabel(self)
        self.state_label.setAccessibleName("State")
        self.view_as = QComboBox(self)
        self.view_as.setAccessibleName("Decode as")
        self.view_as.setToolTip("Show the data as another type")
        self.view_as.addItem("Automatic", None)
        for kind in KIND_DECODERS:
            self.view_as.addItem(kind, kind)
        self.view_as.activated.connect(self._on_view_as)
        header = QGridLayout()
        header.addWidget(self.name_label, 0, 0, 1, 3)
        header.addWidget(self.state_label, 0, 3, Qt.AlignmentFlag.AlignRight)
        header.addWidget(QLabel("Namespace:", self), 1, 0)
        header.addWidget(self.namespace_label, 1, 1, 1, 3)
        header.addWidget(QLabel("Size:", self), 2, 0)
        header.addWidget(self.size_label, 2, 1)
        header.addWidget(QLabel("Time:", self), 2, 2, Qt.AlignmentFlag.AlignRight)
        header.addWidget(self.time_label, 2, 3)
        view_label = QLabel("Vie&w as:", self)
        view_label.setBuddy(self.view_as)
        header.addWidget(view_label, 3, 0)
        header.addWidget(self.view_as, 3, 1)
        header.setColumnStretch(1, 1)
        header.setColumnStretch(3, 1)

        # attributes and warnings
        self.attributes = AttributesWidget(self)
        self.attributes.attributes_changed.connect(self._on_attributes)
        attributes_box = QGroupBox("Attributes", self)
        attributes_layout = QVBoxLayout(attributes_box)
        attributes_layout.addWidget(self.attributes)
        self.warnings = MessageLabel(self, "Warnings")
        attributes_layout.addWidget(self.warnings)
        attributes_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        # typed view / field tree above the bytes
        self.typed_host = QWidget(self)
        self.typed_host.setAccessibleName("Typed value")
        self._typed_layout = QVBoxLayout(self.typed_host)
        self._typed_layout.setContentsMargins(0, 0, 0, 0)
        self.field_tree = FieldTree(self)
        self.tabs = QTabWidget(self)
        self.typed_scroll = QScrollArea(self)
        self.typed_scroll.setWidgetResizable(True)
        self.typed_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.typed_scroll.setWidget(self.typed_host)
        self.tabs.addTab(self.typed_scroll, "Va&lue")
        self.tabs.addTab(self.field_tree, "&Fields")
        self.tabs.setAccessibleName("Value views")
        self.hex_view = HexView(self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(self.hex_view)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        # apply / revert
        self.apply_button = QPushButton("&Apply", self)
        self.apply_button.setToolTip("Write the changes to the store (Ctrl+Return)")
        self.apply_button.clicked.connect(self.apply)
        self.revert_button = QPushButton("Re&vert", self)
        self.revert_button.setToolTip("Drop the changes not applied yet")
        self.revert_button.clicked.connect(self.revert)
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.apply)
        buttons = QHBoxLayout()
        self.pending_label = QLabel(self)
        self.pending_label.setAccessibleName("Pending changes")
        buttons.addWidget(self.pending_label, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(attributes_box)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(buttons)

        self.field_tree.field_selected.connect(self._on_tree_field)
        self.hex_view.byte_clicked.connect(self._on_byte_clicked)
        self.hex_view.data_edited.connect(self._on_hex_edited)
        self.set_variable(None)

    # --- host API ---

    def set_variable(self, variable: Variable | None, read_only: bool = False) -> None:
        """Show ``variable`` (None clears the pane); pending changes are dropped.

        Setting the variable this editor just emitted (the host echoing the applied
        change back) keeps the widgets as they are.
        """
        if (
            variable is not None
            and self._pending is not None
            and variable == self._pending
            and read_only == self._read_only
        ):
            self._original = variable
            self._update_pending_state()
            return
        same_key = variable is not None and self._original is not None and variable.key == self._original.key
        if not same_key:
            self._kind = None
            self.view_as.setCurrentIndex(0)
        self._original = variable
        self._pending = variable
        self._read_only = read_only
        self._show_all()

    def variable(self) -> Variable | None:
        """The variable as edited so far (pending changes included)."""
        return self._pending

    def original_variable(self) -> Variable | None:
        return self._original

    def is_read_only(self) -> bool:
        return self._read_only

    def set_context(self, lookup: Lookup | None) -> None:
        """How to find other variables of the same store by name (Boot#### for BootOrder...)."""
        self._context = lookup
        if self.editor is not None:
            self.editor.set_context(lookup)

    def set_auto_apply(self, auto_apply: bool) -> None:
        self._auto_apply = auto_apply
        self._update_pending_state()

    def set_decode_as(self, kind: str | None) -> None:
        """Show the data as ``kind`` (a key of core.typed.KIND_DECODERS); None: automatic."""
        self._kind = kind
        index = self.view_as.findData(kind) if kind is not None else 0
        self.view_as.setCurrentIndex(max(index, 0))
        if self._pending is not None:
            self._show_typed(rebuild=True)
            self._show_fields()

    def set_reference_time(self, at: dt.datetime | None) -> None:
        """The moment certificates are checked against (None: now)."""
        self._reference_time = at
        if isinstance(self.editor, SignatureListEditor):
            self.editor.set_reference_time(at)

    def value(self) -> TypedValue | None:
        return self._value

    def has_pending_changes(self) -> bool:
        original, pending = self._original, self._pending
        if original is None or pending is None:
            return False
        return original.data != pending.data or original.attributes != pending.attributes

    def apply(self) -> bool:
        """Emit ``variable_edited`` with the pending variable; False when nothing changed."""
        self._finish_focused_edit()
        if self._read_only or not self.has_pending_changes():
            return False
        assert self._pending is not None
        self._original = self._pending
        self._update_pending_state()
        self.variable_edited.emit(self._pending)
        return True

    def revert(self) -> None:
        if self._original is not None and self.has_pending_changes():
            self._pending = self._original
            self._show_all()

    # --- showing ---

    def _show_all(self) -> None:
        variable = self._pending
        enabled = variable is not None
        for widget in (self.attributes, self.tabs, self.hex_view, self.view_as):
            widget.setEnabled(enabled)
        self._show_header()
        if variable is None:
            self.attributes.set_value(0)
            self.warnings.clear()
            self._set_editor(None)
            self._value = None
            self._root = None
            self.field_tree.set_root(None)
            self.hex_view.set_bytes(b"")
            self._update_pending_state()
            return
        self.attributes.set_value(int(variable.attributes))
        self.attributes.set_read_only(self._read_only)
        self.hex_view.set_read_only(self._read_only)
        self._show_typed(rebuild=True)
        self._show_fields()
        self.hex_view.set_bytes(variable.data)
        self._show_warnings()
        self._update_pending_state()

    def _show_header(self) -> None:
        variable = self._pending
        if variable is None:
            self.name_label.setText("No variable selected")
            for label in (self.namespace_label, self.size_label, self.time_label, self.state_label):
                label.setText("")
            return
        self.name_label.setText(variable.name)
        known = guid_name(variable.guid)
        self.namespace_label.setText(f"{known} ({variable.guid})" if known else str(variable.guid))
        self.size_label.setText(f"{variable.size} bytes (0x{variable.size:X})")
        stamp = variable.timestamp
        self.time_label.setText("—" if stamp is None or stamp.is_zero else f"{stamp} UTC")
        self.state_label.setText("read-only" if self._read_only else "")

    def _show_warnings(self) -> None:
        if self._pending is None:
            self.warnings.clear()
        else:
            self.warnings.set_messages(variable_warnings(self._pending))

    def _show_typed(self, rebuild: bool) -> None:
        """Decode the pending data and show it in the right typed editor."""
        assert self._pending is not None
        value = decode_for_view(self._pending, self._kind)
        self._value = value
        wanted = editor_class_for(value)
        if rebuild or self.editor is None or type(self.editor) is not wanted:
            self._set_editor(wanted)
        assert self.editor is not None
        self.editor.set_value(self._pending, value)
        auto = decode_for_view(self._pending) if self._kind is not None else value
        self.view_as.setItemText(0, f"Automatic ({auto.kind})")

    def _set_editor(self, editor_class: type[TypedEditor] | None) -> None:
        if self.editor is not None:
            self._typed_layout.removeWidget(self.editor)
            self.editor.hide()
            self.editor.deleteLater()
            self.editor = None
        if editor_class is None:
            return
        editor = editor_class(self.typed_host)
        if isinstance(editor, SignatureListEditor):
            editor.set_reference_time(self._reference_time)
        editor.set_context(self._context)
        editor.set_read_only(self._read_only)
        editor.data_changed.connect(self._on_typed_changed)
        editor.field_selected.connect(self._on_typed_field)
        self._typed_layout.addWidget(editor, 1)
        self.editor = editor

    def _show_fields(self) -> None:
        assert self._value is not None
        self._root = self._value.fields()
        self.field_tree.set_root(self._root)

    def _update_pending_state(self) -> None:
        pending = self.has_pending_changes()
        editable = self._pending is not None and not self._read_only
        self.apply_button.setVisible(editable and not self._auto_apply)
        self.revert_button.setVisible(editable and not self._auto_apply)
        self.apply_button.setEnabled(pending)
        self.revert_button.setEnabled(pending)
        self.pending_label.setText("Changes not applied yet" if pending else "")
        self.pending_changed.emit(pending)

    # --- edits ---

    def _set_pending(self, variable: Variable) -> None:
        self._pending = variable
        self._show_header()
        self._show_warnings()
        self._update_pending_state()
        if self._auto_apply:
            self.apply()

    def _on_attributes(self, attributes: int) -> None:
        if self._pending is None or self._read_only:
            return
        self._set_pending(self._pending.evolve(attributes=Attributes(attributes)))

    def _on_typed_changed(self, data: bytes) -> None:
        if self._pending is None or self._read_only:
            return
        variable = self._pending.evolve(data=bytes(data))
        self._pending = variable
        self._value = decode_for_view(variable, self._kind)
        self._show_fields()
        self.hex_view.set_bytes(variable.data)
        self._set_pending(variable)

    def _on_hex_edited(self, data: bytes) -> None:
        if self._pending is None or self._read_only:
            return
        variable = self._pending.evolve(data=bytes(data))
        self._pending = variable
        self._show_typed(rebuild=False)
        self._show_fields()
        self._set_pending(variable)

    def _on_view_as(self, index: int) -> None:
        kind = self.view_as.itemData(index)
        self.set_decode_as(None if kind is None else str(kind))

    def _finish_focused_edit(self) -> None:
        """Commit a text edit that still has the focus (Ctrl+Return inside a line edit)."""
        focused = self.focusWidget()
        if focused is None or not self.isAncestorOf(focused):
            return
        if isinstance(focused, QLineEdit | QAbstractSpinBox):
            focused.editingFinished.emit()
        elif isinstance(focused, _PlainTextEdit):
            focused.editing_finished.emit()

    # --- linked selection ---

    def _on_tree_field(self, offset: int, length: int) -> None:
        self.hex_view.highlight(offset, length, scroll=not self._from_byte_click)
        if not self._from_byte_click and self.editor is not None:
            self.editor.select_offset(offset)

    def _on_typed_field(self, offset: int, length: int) -> None:
        self.hex_view.highlight(offset, length)
        root = self._root
        if root is None:
            return
        match = None
        for field in root.walk():
            if field.offset == offset and field.length == length:
                match = field  # the deepest one wins (walk is pre-order)
        if match is not None:
            self.field_tree.blockSignals(True)
            self.field_tree.select_field(match)
            self.field_tree.blockSignals(False)

    def _on_byte_clicked(self, offset: int) -> None:
        self._from_byte_click = True
        try:
            field = self.field_tree.select_deepest(offset)
            if field is None:
                self.hex_view.highlight(0, 0)
            if self.editor is not None:
                self.editor.select_offset(offset)
        finally:
            self._from_byte_click = False
