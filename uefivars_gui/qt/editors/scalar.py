"""Editors of simple values: booleans, unsigned integers (with flag bits), strings, GUID arrays."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core import scalars
from ...core.loadoption import LoadOption
from ...core.scalars import AsciiString, Boolean, GuidArray, Ucs2String, UInt, UIntStyle
from ...core.typed import TypedValue, decode_variable
from ...errors import DecodeError
from .base import TypedEditor


class UIntSpinBox(QAbstractSpinBox):
    """A spin box for unsigned integers of any width (QSpinBox stops at 2**31 - 1).

    Accepts decimal, ``0x`` hex and ``0b`` binary input (parsed by core.scalars); shows
    decimal or hex. ``value_committed`` fires on Enter, focus loss and arrow steps.
    """

    value_committed = Signal(object)  # object: Python ints beyond 32 bits

    def __init__(self, size: int = 4, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._size = size
        self._maximum = (1 << (8 * size)) - 1
        self._value = 0
        self._hex = False
        self.setAccelerated(True)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.editingFinished.connect(self._on_editing_finished)
        self._show()

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._maximum

    def set_value(self, value: int) -> None:
        self._value = min(max(value, 0), self._maximum)
        self._show()

    def set_hex(self, hex_display: bool) -> None:
        self._hex = hex_display
        self._show()

    def is_hex(self) -> bool:
        return self._hex

    def parse(self, text: str) -> int | None:
        try:
            return scalars.parse_uint(text, self._size).value
        except DecodeError:
            return None

    def _format(self, value: int) -> str:
        return f"0x{value:0{2 * self._size}X}" if self._hex else str(value)

    def _show(self) -> None:
        self.lineEdit().setText(self._format(self._value))

    def _on_editing_finished(self) -> None:
        parsed = self.parse(self.lineEdit().text())
        if parsed is not None:
            self._value = parsed
        self._show()
        self.value_committed.emit(self._value)

    # --- Qt overrides ---

    def validate(self, text: str, pos: int) -> QValidator.State:
        stripped = text.strip().replace("_", "")
        if not stripped or stripped.lower() in ("0x", "0b"):
            return QValidator.State.Intermediate
        if self.parse(stripped) is not None:
            return QValidator.State.Acceptable
        lowered = stripped.lower()
        if lowered.startswith("0x") and all(c in "0123456789abcdef" for c in lowered[2:]):
            return QValidator.State.Intermediate  # too large: let the user fix it
        if lowered.isdigit():
            return QValidator.State.Intermediate
        return QValidator.State.Invalid

    def fixup(self, text: str) -> str:
        return self._format(self._value)

    def stepBy(self, steps: int) -> None:
        current = self.parse(self.lineEdit().text())
        base = self._value if current is None else current
        self._value = min(max(base + steps, 0), self._maximum)
        self._show()
        self.value_committed.emit(self._value)

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        if self.isReadOnly():
            return QAbstractSpinBox.StepEnabledFlag.StepNone
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self._value > 0:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self._value < self._maximum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags


class BoolEditor(TypedEditor):
    """A one-byte boolean as a check box (a byte other than 0/1 is shown and kept until toggled)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox("&Enabled (1)", self)
        self.check.setAccessibleName("Boolean value")
        self.check.clicked.connect(self._on_clicked)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.check)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addStretch(1)

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, Boolean)
        self.check.setChecked(value.enabled)
        if value.value in (0, 1):
            self.note.setText("")
        else:
            self.note.setText(
                f"The byte is 0x{value.value:02X}, neither 0 nor 1 (firmware reads it as true); "
                "toggling writes 0 or 1."
            )

    def update_read_only(self, read_only: bool) -> None:
        self.check.setEnabled(not read_only)

    def _on_clicked(self, checked: bool) -> None:
        self.commit(Boolean(1 if checked else 0))
        self.field_selected.emit(0, 1)


class IntegerEditor(TypedEditor):
    """A UINT8/16/32/64: a spin box of the right width, flag check boxes, value names."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._built_for: tuple[int, UIntStyle, tuple[tuple[int, str], ...]] | None = None
        self._flag_boxes: list[tuple[int, QCheckBox]] = []
        self.spin: UIntSpinBox | None = None
        self.hex_check = QCheckBox("&Hex", self)
        self.hex_check.setAccessibleName("Show the value in hex")
        self.hex_check.toggled.connect(self._on_hex_toggled)
        self.summary = QLabel(self)
        self.summary.setAccessibleName("Meaning")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.names_combo: QComboBox | None = None
        self.key_count: QSpinBox | None = None
        self.wait_check: QCheckBox | None = None
        self.flags_box: QGroupBox | None = None
        self._form_host = QWidget(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self._form_host)
        layout.addWidget(self.summary)
        layout.addWidget(self.error)
        layout.addStretch(1)

    # --- building ---

    def _build(self, value: UInt) -> None:
        key = (value.size, value.style, value.names)
        if key == self._built_for:
            return
        self._built_for = key
        old = self._form_host
        self._form_host = QWidget(self)
        self.layout().replaceWidget(old, self._form_host)
        old.deleteLater()
        form = QFormLayout(self._form_host)
        form.setContentsMargins(0, 0, 0, 0)

        self.spin = UIntSpinBox(value.size, self._form_host)
        self.spin.setAccessibleName(f"Value (UINT{8 * value.size})")
        self.spin.value_committed.connect(self._on_spin_committed)
        row = QHBoxLayout()
        row.addWidget(self.spin, 1)
        row.addWidget(self.hex_check)
        label = QLabel(f"&Value (UINT{8 * value.size}):", self._form_host)
        label.setBuddy(self.spin)
        form.addRow(label, row)
        self.hex_check.setChecked(
            value.style
            in (
                UIntStyle.HEX,
                UIntStyle.FLAGS,
                UIntStyle.BOOT_OPTION_SUPPORT,
                UIntStyle.OPTION,
                UIntStyle.ENUM,
            )
        )
        self.spin.set_hex(self.hex_check.isChecked())

        self._flag_boxes = []
        self.flags_box = None
        self.names_combo = None
        self.key_count = None
        self.wait_check = None
        if value.style in (UIntStyle.FLAGS, UIntStyle.BOOT_OPTION_SUPPORT):
            self.flags_box = QGroupBox("Flags", self._form_host)
            self.flags_box.setAccessibleName("Flags")
            flags_layout = QVBoxLayout(self.flags_box)
            for bit, name in value.names:
                if not bit:
                    continue
                box = QCheckBox(f"{name} (0x{bit:X})", self.flags_box)
                box.setAccessibleName(name)
                box.clicked.connect(lambda checked, bit=bit: self._on_flag(bit, checked))
                flags_layout.addWidget(box)
                self._flag_boxes.append((bit, box))
            if value.style is UIntStyle.BOOT_OPTION_SUPPORT:
                self.key_count = QSpinBox(self.flags_box)
                self.key_count.setRange(0, 3)
                self.key_count.setAccessibleName("Maximum number of keys")
                self.key_count.valueChanged.connect(self._on_key_count)
                count_row = QFormLayout()
                count_label = QLabel("&Keys per Key#### (bits 8-9):", self.flags_box)
                count_label.setBuddy(self.key_count)
                count_row.addRow(count_label, self.key_count)
                flags_layout.addLayout(count_row)
            form.addRow(self.flags_box)
        elif value.style is UIntStyle.ENUM:
            self.names_combo = QComboBox(self._form_host)
            self.names_combo.setAccessibleName("Named value")
            for number, name in value.names:
                self.names_combo.addItem(f"{name} (0x{number:X})", number)
            self.names_combo.addItem("(other)", None)
            self.names_combo.activated.connect(self._on_name_chosen)
            names_label = QLabel("&Named value:", self._form_host)
            names_label.setBuddy(self.names_combo)
            form.addRow(names_label, self.names_combo)
        elif value.style is UIntStyle.TIMEOUT:
            self.wait_check = QCheckBox("Wait for a &key (0xFFFF)", self._form_host)
            self.wait_check.setAccessibleName("Wait for a key")
            self.wait_check.clicked.connect(self._on_wait)
            form.addRow(self.wait_check)
        self.update_read_only(self._read_only)

    # --- showing ---

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, UInt)
        self._build(value)
        assert self.spin is not None
        self.spin.set_value(value.value)
        for bit, box in self._flag_boxes:
            box.setChecked(value.value & bit == bit)
        if self.key_count is not None:
            self.key_count.blockSignals(True)
            self.key_count.setValue((value.value & scalars.BOOT_OPTION_SUPPORT_COUNT) >> 8)
            self.key_count.blockSignals(False)
        if self.names_combo is not None:
            index = self.names_combo.findData(value.value)
            self.names_combo.setCurrentIndex(index if index >= 0 else self.names_combo.count() - 1)
        if self.wait_check is not None:
            self.wait_check.setChecked(value.value == 0xFFFF)
        self.summary.setText(self._meaning(value))

    def _meaning(self, value: UInt) -> str:
        text = value.summary()
        if value.style is UIntStyle.OPTION:
            target = self.lookup(f"{value.prefix}{value.value:04X}")
            if target is None:
                return f"{text} (not in this store)" if self._context is not None else text
            option = decode_variable(target)
            if isinstance(option, LoadOption):
                return f'{text}: "{option.description}"'
        return text

    def update_read_only(self, read_only: bool) -> None:
        if self.spin is not None:
            self.spin.setReadOnly(read_only)
            self.spin.setButtonSymbols(
                QAbstractSpinBox.ButtonSymbols.NoButtons
                if read_only
                else QAbstractSpinBox.ButtonSymbols.UpDownArrows
            )
        for _, box in self._flag_boxes:
            box.setEnabled(not read_only)
        for widget in (self.key_count, self.names_combo, self.wait_check):
            if widget is not None:
                widget.setEnabled(not read_only)

    # --- editing ---

    def _current(self) -> UInt | None:
        return self._value if isinstance(self._value, UInt) else None

    def _set(self, number: int) -> None:
        current = self._current()
        if current is None:
            return
        new = dataclasses.replace(current, value=number)
        if self.commit(new):
            self.show_value(new)
        self.field_selected.emit(0, current.size)

    def _on_spin_committed(self, number: int) -> None:
        self._set(number)

    def _on_hex_toggled(self, checked: bool) -> None:
        if self.spin is not None:
            self.spin.set_hex(checked)

    def _on_flag(self, bit: int, checked: bool) -> None:
        current = self._current()
        if current is not None:
            self._set(current.value | bit if checked else current.value & ~bit)

    def _on_key_count(self, count: int) -> None:
        current = self._current()
        if current is not None:
            self._set((current.value & ~scalars.BOOT_OPTION_SUPPORT_COUNT) | (count << 8))

    def _on_name_chosen(self, index: int) -> None:
        assert self.names_combo is not None
        number = self.names_combo.itemData(index)
        if number is not None:
            self._set(int(number))

    def _on_wait(self, checked: bool) -> None:
        self._set(0xFFFF if checked else 0)


class _PlainTextEdit(QPlainTextEdit):
    """A QPlainTextEdit with ``editing_finished`` on focus loss and Ctrl+Return."""

    editing_finished = Signal()

    def focusOutEvent(self, event: object) -> None:  # type: ignore[override]
        super().focusOutEvent(event)  # type: ignore[arg-type]
        self.editing_finished.emit()

    def keyPressEvent(self, event: object) -> None:  # type: ignore[override]
        from PySide6.QtGui import QKeyEvent

        if (
            isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.editing_finished.emit()
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]


class TextValueEditor(TypedEditor):
    """UCS-2 and ASCII strings, GUID arrays: anything with ``edit_text()`` / ``with_text()``.

    A string that spans lines (SbatLevel) gets a multi-line box (Ctrl+Return or leaving
    it applies); others a line edit (Return or leaving it applies).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLineEdit(self)
        self.line.setAccessibleName("Text")
        self.line.editingFinished.connect(self._on_finished)
        self.multi = _PlainTextEdit(self)
        self.multi.setAccessibleName("Text")
        self.multi.editing_finished.connect(self._on_finished)
        self.multi.hide()
        self.label = QLabel("&Text:", self)
        self.label.setBuddy(self.line)
        self.terminated = QCheckBox("&NUL-terminated", self)
        self.terminated.setAccessibleName("NUL-terminated")
        self.terminated.clicked.connect(self._on_terminated)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.label)
        row.addWidget(self.line, 1)
        layout.addLayout(row)
        layout.addWidget(self.multi, 1)
        layout.addWidget(self.terminated)
        layout.addWidget(self.hint)
        layout.addWidget(self.error)
        layout.addStretch(0)

    def _text_widget_text(self) -> str:
        return self.multi.toPlainText() if self.multi.isVisibleTo(self) else self.line.text()

    def show_value(self, value: TypedValue) -> None:
        text = value.edit_text()  # type: ignore[attr-defined]
        multi = "\n" in text
        self.multi.setVisible(multi)
        self.line.setVisible(not multi)
        self.label.setBuddy(self.multi if multi else self.line)
        if multi:
            if self.multi.toPlainText() != text:
                self.multi.setPlainText(text)
        elif self.line.text() != text:
            self.line.setText(text)
        is_string = isinstance(value, Ucs2String | AsciiString)
        self.terminated.setVisible(is_string)
        if is_string:
            self.terminated.setChecked(value.terminated)  # type: ignore[union-attr]
        if isinstance(value, AsciiString):
            self.hint.setText("ASCII text.")
        elif isinstance(value, Ucs2String):
            self.hint.setText("UCS-2 text.")
        elif isinstance(value, GuidArray):
            self.hint.setText("GUIDs or well-known GUID names, separated by commas.")
        else:
            self.hint.setText("")

    def update_read_only(self, read_only: bool) -> None:
        self.line.setReadOnly(read_only)
        self.multi.setReadOnly(read_only)
        self.terminated.setEnabled(not read_only)

    def _on_finished(self) -> None:
        value = self._value
        if value is None or self._read_only:
            return
        text = self._text_widget_text()
        if text == value.edit_text():  # type: ignore[attr-defined]
            self.error.clear()
            return
        try:
            new = value.with_text(text)  # type: ignore[attr-defined]
        except DecodeError as exc:
            self.show_error(str(exc))
            if exc.offset is not None and not self.multi.isVisibleTo(self):
                self.line.setCursorPosition(exc.offset)
            return
        if self.commit(new):
            self.field_selected.emit(0, len(new.to_bytes()))

    def _on_terminated(self, checked: bool) -> None:
        value = self._value
        if isinstance(value, Ucs2String | AsciiString):
            self.commit(dataclasses.replace(value, terminated=checked))
