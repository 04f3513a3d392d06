"""Boot####/Driver####/SysPrep####/PlatformRecovery#### (EFI_LOAD_OPTION) and Key#### editors."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core import devicepath, loadoption, scalars
from ...core.crc import crc32
from ...core.devicepath import DevicePath
from ...core.loadoption import (
    LOAD_OPTION_ACTIVE,
    LOAD_OPTION_CATEGORY,
    LOAD_OPTION_CATEGORY_APP,
    LOAD_OPTION_CATEGORY_BOOT,
    LOAD_OPTION_FORCE_RECONNECT,
    LOAD_OPTION_HIDDEN,
    KeyOption,
    LoadOption,
)
from ...core.typed import TypedValue, decode_variable
from ...errors import DecodeError
from .base import MessageLabel, TypedEditor
from .devicepath import DevicePathWidget
from .scalar import UIntSpinBox


class OptionalDataMode:
    HEX = "hex"
    UCS2 = "ucs2"
    ASCII = "ascii"


def _guess_mode(data: bytes) -> str:
    """How to show OptionalData so that the text encodes back to the same bytes."""
    guess = scalars.guess_text(data) if data else None
    if guess is None:
        return OptionalDataMode.HEX
    encoding, text = guess
    try:
        if encoding == "ucs2":
            same = scalars.parse_ucs2(text, nul=data.endswith(b"\0\0")).to_bytes() == data
        else:
            same = scalars.parse_ascii(text, nul=data.endswith(b"\0")).to_bytes() == data
    except DecodeError:
        same = False
    if not same:
        return OptionalDataMode.HEX
    return OptionalDataMode.UCS2 if encoding == "ucs2" else OptionalDataMode.ASCII


class LoadOptionEditor(TypedEditor):
    """Description, attribute flags, device path (text and tree), optional data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.description = QLineEdit(self)
        self.description.setAccessibleName("Description")
        self.description.editingFinished.connect(self._on_description)

        self.active = QCheckBox("Ac&tive", self)
        self.hidden = QCheckBox("&Hidden", self)
        self.force_reconnect = QCheckBox("Force &reconnect", self)
        for box, bit in (
            (self.active, LOAD_OPTION_ACTIVE),
            (self.hidden, LOAD_OPTION_HIDDEN),
            (self.force_reconnect, LOAD_OPTION_FORCE_RECONNECT),
        ):
            box.setAccessibleName(box.text().replace("&", ""))
            box.clicked.connect(lambda checked, bit=bit: self._on_flag(int(bit), checked))
        self.category = QComboBox(self)
        self.category.setAccessibleName("Category")
        self.category.addItem("Boot", int(LOAD_OPTION_CATEGORY_BOOT))
        self.category.addItem("Application", int(LOAD_OPTION_CATEGORY_APP))
        self.category.activated.connect(self._on_category)
        self.raw_attributes = QLabel(self)
        self.raw_attributes.setAccessibleName("Attributes value")

        self.path = DevicePathWidget("&Device path:", self)
        self.path.path_committed.connect(self._on_path)
        self.path.field_selected.connect(self.field_selected)

        self.optional_mode = QComboBox(self)
        self.optional_mode.setAccessibleName("Optional data format")
        self.optional_mode.addItem("Hex", OptionalDataMode.HEX)
        self.optional_mode.addItem("UCS-2 text", OptionalDataMode.UCS2)
        self.optional_mode.addItem("ASCII text", OptionalDataMode.ASCII)
        self.optional_mode.activated.connect(self._on_optional_mode)
        self.optional = QLineEdit(self)
        self.optional.setAccessibleName("Optional data")
        self.optional.editingFinished.connect(self._on_optional)
        self.optional_meaning = QLabel(self)
        self.optional_meaning.setAccessibleName("Optional data meaning")
        self.optional_meaning.setWordWrap(True)
        self.optional_meaning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.optional_error = MessageLabel(self, "Optional data error")
        self._optional_shown = (OptionalDataMode.HEX, "")

        form = QFormLayout()
        label = QLabel("D&escription:", self)
        label.setBuddy(self.description)
        form.addRow(label, self.description)
        flags = QGroupBox("Attributes", self)
        flags_layout = QHBoxLayout(flags)
        flags_layout.addWidget(self.active)
        flags_layout.addWidget(self.hidden)
        flags_layout.addWidget(self.force_reconnect)
        category_label = QLabel("&Category:", flags)
        category_label.setBuddy(self.category)
        flags_layout.addWidget(category_label)
        flags_layout.addWidget(self.category)
        flags_layout.addStretch(1)
        flags_layout.addWidget(self.raw_attributes)
        optional = QGroupBox("Optional data", self)
        optional_layout = QVBoxLayout(optional)
        optional_row = QHBoxLayout()
        optional_label = QLabel("&Optional data:", optional)
        optional_label.setBuddy(self.optional)
        optional_row.addWidget(optional_label)
        optional_row.addWidget(self.optional, 1)
        optional_row.addWidget(self.optional_mode)
        optional_layout.addLayout(optional_row)
        optional_layout.addWidget(self.optional_meaning)
        optional_layout.addWidget(self.optional_error)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(flags)
        layout.addWidget(self.path, 1)
        layout.addWidget(optional)
        layout.addWidget(self.error)

    # --- showing ---

    def _option(self) -> LoadOption | None:
        return self._value if isinstance(self._value, LoadOption) else None

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, LoadOption)
        if self.description.text() != value.description:
            self.description.setText(value.description)
        self.active.setChecked(value.active)
        self.hidden.setChecked(value.hidden)
        self.force_reconnect.setChecked(bool(value.attributes & LOAD_OPTION_FORCE_RECONNECT))
        category = int(value.category)
        index = self.category.findData(category)
        if index < 0:
            self.category.addItem(f"Other (0x{category:X})", category)  # kept until another is chosen
            index = self.category.count() - 1
        self.category.setCurrentIndex(index)
        self.raw_attributes.setText(f"0x{value.attributes:08X}")
        fields = value.fields()
        path_field = fields.find("FilePathList")
        if value.file_path_error is None and value.file_path:
            self.path.set_path(devicepath.to_text(value.file_path), path_field)
        else:
            self.path.set_path("", path_field, f"The FilePathList does not decode: {value.file_path_text}")
        mode = _guess_mode(value.optional_data)
        self.optional_mode.setCurrentIndex(self.optional_mode.findData(mode))
        self._show_optional(value.optional_data, mode)

    def _show_optional(self, data: bytes, mode: str) -> None:
        if mode == OptionalDataMode.HEX:
            text = data.hex(" ").upper()
        elif mode == OptionalDataMode.UCS2:
            text = scalars.decode_ucs2_string(data).text
        else:
            text = scalars.decode_ascii_string(data).text
        if self.optional.text() != text:
            self.optional.setText(text)
        self._optional_shown = (mode, text)
        self.optional_meaning.setText(loadoption.optional_data_text(data) if data else "(none)")
        self.optional_error.clear()

    def update_read_only(self, read_only: bool) -> None:
        self.description.setReadOnly(read_only)
        for widget in (self.active, self.hidden, self.force_reconnect, self.category):
            widget.setEnabled(not read_only)
        self.path.set_read_only(read_only)
        self.optional.setReadOnly(read_only)

    def select_offset(self, offset: int) -> None:
        self.path.tree.blockSignals(True)
        if self.path.tree.select_deepest(offset) is None:
            self.path.tree.clearSelection()
        self.path.tree.blockSignals(False)

    # --- editing ---

    def _apply(self, new: LoadOption, select: str | None = None) -> None:
        if self.commit(new):
            self.show_value(new)
            if select:
                field = new.fields().find(select)
                if field is not None:
                    self.field_selected.emit(field.offset, field.length)

    def _on_description(self) -> None:
        option = self._option()
        if option is None or self._read_only or self.description.text() == option.description:
            return
        text = self.description.text()
        if "\0" in text:
            self.show_error("The description cannot contain a NUL character")
            return
        self._apply(dataclasses.replace(option, description=text), "Description")

    def _on_flag(self, bit: int, checked: bool) -> None:
        option = self._option()
        if option is not None:
            attributes = option.attributes | bit if checked else option.attributes & ~bit
            self._apply(option.with_attributes(attributes), "Attributes")

    def _on_category(self, index: int) -> None:
        option = self._option()
        category = self.category.itemData(index)
        if option is not None and category is not None:
            attributes = (option.attributes & ~LOAD_OPTION_CATEGORY) | int(category)
            self._apply(option.with_attributes(attributes), "Attributes")

    def _on_path(self, path: DevicePath) -> None:
        option = self._option()
        if option is not None:
            self._apply(option.with_file_path(tuple(path)), "FilePathList")

    def _on_optional_mode(self, index: int) -> None:
        option = self._option()
        if option is None:
            return
        mode = str(self.optional_mode.itemData(index))
        try:
            self._show_optional(option.optional_data, mode)
        except DecodeError:
            # The bytes are not text of that kind: show them as hex, typing text replaces them.
            self.optional.setText("")
            self._optional_shown = (mode, "")
            self.optional_error.set_text(
                "The optional data is not text of this kind; what you type here replaces it."
            )

    def _on_optional(self) -> None:
        option = self._option()
        if option is None or self._read_only:
            return
        mode = str(self.optional_mode.currentData())
        text = self.optional.text()
        if (mode, text) == self._optional_shown:
            return
        try:
            if mode == OptionalDataMode.HEX:
                data = bytes.fromhex(text.replace(":", " "))
            elif mode == OptionalDataMode.UCS2:
                data = scalars.parse_ucs2(text).to_bytes() if text else b""
            else:
                data = scalars.parse_ascii(text).to_bytes() if text else b""
        except (ValueError, DecodeError) as exc:
            self.optional_error.set_text(f"Not valid {self.optional_mode.currentText()}: {exc}")
            return
        if data == option.optional_data:
            self.optional_error.clear()
            return
        self._apply(dataclasses.replace(option, optional_data=data), "OptionalData")


class KeyOptionEditor(TypedEditor):
    """Key####: the key combination, the Boot#### it starts, and its CRC (checked and recomputed)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QLabel(self)
        self.combo.setAccessibleName("Keys")
        self.target = UIntSpinBox(2, self)
        self.target.set_hex(True)
        self.target.setAccessibleName("Boot option number")
        self.target.value_committed.connect(self._on_target)
        self.target_description = QLabel(self)
        self.target_description.setAccessibleName("Boot option")
        self.crc = QLabel(self)
        self.crc.setAccessibleName("Boot option CRC")
        self.crc_status = MessageLabel(self, "CRC status")
        self.recompute = QPushButton("&Recompute CRC", self)
        self.recompute.setAccessibleName("Recompute the CRC from the boot option")
        self.recompute.clicked.connect(self._on_recompute)
        form = QFormLayout()
        form.addRow("Keys:", self.combo)
        target_label = QLabel("&Boot option (Boot####):", self)
        target_label.setBuddy(self.target)
        form.addRow(target_label, self.target)
        form.addRow("", self.target_description)
        crc_row = QHBoxLayout()
        crc_row.addWidget(self.crc, 1)
        crc_row.addWidget(self.recompute)
        form.addRow("BootOptionCrc:", crc_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.crc_status)
        layout.addWidget(self.error)
        layout.addStretch(1)

    def _key(self) -> KeyOption | None:
        return self._value if isinstance(self._value, KeyOption) else None

    def show_value(self, value: TypedValue) -> None:
        assert isinstance(value, KeyOption)
        self.combo.setText(value.combo_text())
        self.target.set_value(value.boot_option)
        self.crc.setText(f"0x{value.boot_option_crc:08X}")
        target = self.lookup(value.boot_option_name)
        can_recompute = target is not None and not value.crc_matches(target.data)
        if target is None:
            self.target_description.setText(
                f"{value.boot_option_name} is not in this store" if self._context is not None else ""
            )
            self.crc_status.clear()
        else:
            option = decode_variable(target)
            description = option.description if isinstance(option, LoadOption) else "(not a load option)"
            self.target_description.setText(f'"{description}"')
            if value.crc_matches(target.data):
                self.crc_status.clear()
            else:
                self.crc_status.set_text(
                    f"The CRC does not match {value.boot_option_name} (0x{crc32(target.data):08X}): "
                    "firmware ignores this hot key."
                )
        self.recompute.setEnabled(can_recompute and not self._read_only)

    def update_read_only(self, read_only: bool) -> None:
        self.target.setReadOnly(read_only)
        if read_only:
            self.recompute.setEnabled(False)
        elif self._value is not None:
            self.show_value(self._value)

    def _on_target(self, number: int) -> None:
        key = self._key()
        if key is None or number == key.boot_option:
            return
        new = dataclasses.replace(key, boot_option=number)
        if self.commit(new):
            self.show_value(new)
            self.field_selected.emit(8, 2)

    def _on_recompute(self) -> None:
        key = self._key()
        target = self.lookup(key.boot_option_name) if key is not None else None
        if key is None or target is None:
            return
        new = dataclasses.replace(key, boot_option_crc=crc32(target.data))
        if self.commit(new):
            self.show_value(new)
            self.field_selected.emit(4, 4)
