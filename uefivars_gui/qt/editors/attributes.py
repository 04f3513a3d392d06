"""Variable attribute check boxes and the warnings about combinations firmware rejects."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from ...core.attributes import AP, AT, AW, BS, HR, NV, RT, Attributes
from ...core.typed import check_variable
from ...core.variable import Variable

#: (bit, check box text, accessible name / tool tip)
ATTRIBUTE_BOXES: tuple[tuple[Attributes, str, str], ...] = (
    (NV, "NV", "Non-volatile (EFI_VARIABLE_NON_VOLATILE)"),
    (BS, "BS", "Boot-service access (EFI_VARIABLE_BOOTSERVICE_ACCESS)"),
    (RT, "RT", "Runtime access (EFI_VARIABLE_RUNTIME_ACCESS)"),
    (HR, "HR", "Hardware error record (EFI_VARIABLE_HARDWARE_ERROR_RECORD)"),
    (AW, "AW", "Authenticated write access, deprecated (EFI_VARIABLE_AUTHENTICATED_WRITE_ACCESS)"),
    (AT, "AT", "Time-based authenticated write access (EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS)"),
    (AP, "AP (not stored)", "Append write: a SetVariable flag, never stored (EFI_VARIABLE_APPEND_WRITE)"),
)

_KNOWN_BITS = int(NV | BS | RT | HR | AW | AT | AP)


def attribute_warnings(attributes: int) -> list[str]:
    """Combinations that SetVariable refuses or that make no sense in a store.

    (HR outside HwErrRec#### and differences from the well-known table come from
    core.typed.check_variable, see :func:`variable_warnings`.)
    """
    problems: list[str] = []
    if attributes & RT and not attributes & BS:
        problems.append("RT without BS: firmware refuses runtime access without boot-service access.")
    if attributes & (NV | BS | RT) == NV:
        problems.append(
            "NV alone: a non-volatile variable needs BS (and usually RT) access; firmware refuses it."
        )
    if attributes & AT and attributes & AW:
        problems.append("AT together with AW: firmware refuses both authentication kinds at once.")
    elif attributes & AW:
        problems.append(
            "AW (authenticated write access) is deprecated: edk2 refuses to create such variables."
        )
    if attributes & AP:
        problems.append("AP (append write) is a SetVariable flag: stores do not keep it.")
    unknown = attributes & ~_KNOWN_BITS
    if unknown:
        problems.append(f"Unknown or unsupported attribute bits 0x{unknown:X} are set.")
    return problems


def variable_warnings(variable: Variable) -> list[str]:
    """:func:`attribute_warnings` plus what core.typed.check_variable objects to."""
    problems = attribute_warnings(int(variable.attributes))
    for text in check_variable(variable):
        sentence = text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
        if sentence not in problems:
            problems.append(sentence)
    return problems


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
        for bit, text, description in ATTRIBUTE_BOXES:
            box = QCheckBox(text, self)
            box.setAccessibleName(description)
            box.setToolTip(description)
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
        other = self._value & ~_KNOWN_BITS
        self.other.setText(f"other bits: 0x{other:X}" if other else "")

    def set_read_only(self, read_only: bool) -> None:
        for box in self.boxes.values():
            box.setEnabled(not read_only)

    def _on_clicked(self, bit: int, checked: bool) -> None:
        value = self._value | bit if checked else self._value & ~bit
        if value != self._value:
            self._value = value
            self.attributes_changed.emit(value)
