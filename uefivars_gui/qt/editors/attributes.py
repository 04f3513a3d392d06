"""Variable attribute check boxes, and the warnings (from core.typed) shown beside them."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from ...core.attributes import AP, AT, AW, BS, HR, NV, RT, Attributes
from ...core.typed import attribute_warnings, check_variable
from ...core.variable import Variable

#: (bit, check box text, accessible name, tool tip)
ATTRIBUTE_BOXES: tuple[tuple[Attributes, str, str, str], ...] = (
    (NV, "NV", "Non-volatile", "EFI_VARIABLE_NON_VOLATILE: kept across resets"),
    (BS, "BS", "Boot-service access", "EFI_VARIABLE_BOOTSERVICE_ACCESS: readable before ExitBootServices"),
    (RT, "RT", "Runtime access", "EFI_VARIABLE_RUNTIME_ACCESS: readable by the OS (needs BS)"),
    (
        HR,
        "HR",
        "Hardware error record",
        "EFI_VARIABLE_HARDWARE_ERROR_RECORD: only for HwErrRec#### in EfiHardwareErrorVariable",
    ),
    (
        AW,
        "AW",
        "Authenticated write access, deprecated",
        "EFI_VARIABLE_AUTHENTICATED_WRITE_ACCESS: deprecated count-based authentication",
    ),
    (
        AT,
        "AT",
        "Time-based authenticated write access",
        "EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS: writes must be signed "
        "(Secure Boot keys, private authenticated variables)",
    ),
    (
        AP,
        "AP (not stored)",
        "Append write, not stored",
        "EFI_VARIABLE_APPEND_WRITE: a SetVariable flag, never stored",
    ),
)

_BOXED_BITS = int(NV | BS | RT | HR | AW | AT | AP)


def variable_warnings(variable: Variable) -> list[str]:
    """Everything to say about a variable, as sentences: core.typed.attribute_warnings for
    its attributes, then what core.typed.check_variable adds (size, data, unknown names)."""
    phrases = attribute_warnings(int(variable.attributes), variable.guid, variable.name)
    phrases += [text for text in check_variable(variable) if text not in phrases]
    return [text[0].upper() + text[1:] + ("" if text.endswith(".") else ".") for text in phrases]


class AttributesWidget(QWidget):
    """One check box per attribute bit; bits without a box (0x80, ...) are kept."""

    #: The new attribute value after the user toggled a box.
    attributes_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value = 0
        self.boxes: dict[int, QCheckBox] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for bit, text, name, tooltip in ATTRIBUTE_BOXES:
            box = QCheckBox(text, self)
            box.setAccessibleName(name)
            box.setToolTip(tooltip)
            box.clicked.connect(lambda checked, bit=int(bit): self._on_clicked(bit, checked))
            layout.addWidget(box)
            self.boxes[int(bit)] = box
        self.other = QLabel(self)
        self.other.setAccessibleName("Other attribute bits")
        layout.addWidget(self.other)
        layout.addStretch(1)
        self.setAccessibleName("Attributes")

    def value(self) -> int:
        return self._value

    def set_value(self, attributes: int) -> None:
        self._value = int(attributes)
        for bit, box in self.boxes.items():
            box.setChecked(bool(self._value & bit))
        other = self._value & ~_BOXED_BITS
        self.other.setText(f"other bits: 0x{other:X}" if other else "")

    def set_read_only(self, read_only: bool) -> None:
        for box in self.boxes.values():
            box.setEnabled(not read_only)

    def _on_clicked(self, bit: int, checked: bool) -> None:
        value = self._value | bit if checked else self._value & ~bit
        if value != self._value:
            self._value = value
            self.attributes_changed.emit(value)
