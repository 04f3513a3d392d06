"""Dialogs: adding a variable, and the error dialog for unexpected exceptions."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Collection, Iterable
from types import TracebackType
from uuid import UUID

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ..core import guid as g
from ..core import scalars
from ..core.attributes import NV_BS_RT, Attributes
from ..core.typed import attribute_warnings
from ..core.variable import Variable, VariableKey
from ..errors import UefiVarsError
from .editors.attributes import AttributesWidget

#: GUIDs of KNOWN_GUIDS that are not variable namespaces (signature types, MM
#: handlers, events, flash structures) and so are not offered as a namespace.
_NOT_NAMESPACES = {
    g.SMM_VARIABLE_PROTOCOL,
    g.VAR_CHECK_POLICY_MMI_HANDLER,
    g.END_OF_DXE_EVENT_GROUP,
    g.EVENT_READY_TO_BOOT,
    g.EVENT_EXIT_BOOT_SERVICES,
    g.SYSTEM_NV_DATA_FV,
    g.AUTHENTICATED_VARIABLE,
    g.VARIABLE,
    g.FTW_WORKING_BLOCK_SIGNATURE,
    g.EFI_CERT_TYPE_PKCS7,
    g.EFI_CERT_TYPE_RSA2048_SHA256,
}


def known_namespaces() -> list[tuple[str, UUID]]:
    """Well-known variable namespaces (readable name, GUID), by name."""
    return sorted(
        (name, guid)
        for guid, name in g.KNOWN_GUIDS.items()
        if guid not in _NOT_NAMESPACES and not name.startswith("EfiCert")
    )


#: Initial value kinds of the Add dialog: label -> parser of the text to bytes.
VALUE_KINDS: dict[str, Callable[[str], bytes]] = {
    "Hex bytes": lambda text: bytes.fromhex("".join(text.split()).removeprefix("0x")),
    "UCS-2 string": lambda text: scalars.parse_ucs2(text).to_bytes(),
    "ASCII string": lambda text: scalars.parse_ascii(text).to_bytes(),
    "Boolean": lambda text: scalars.parse_bool(text).to_bytes(),
    "UINT8": lambda text: scalars.parse_uint(text, 1).to_bytes(),
    "UINT16": lambda text: scalars.parse_uint(text, 2).to_bytes(),
    "UINT32": lambda text: scalars.parse_uint(text, 4).to_bytes(),
    "UINT64": lambda text: scalars.parse_uint(text, 8).to_bytes(),
}


class AddVariableDialog(QDialog):
    """Name, namespace (GUID picker with the well-known list), attributes with warnings
    for combinations firmware rejects, and an initial value."""

    def __init__(
        self,
        existing: Collection[VariableKey] = (),
        store_namespaces: Iterable[UUID] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add Variable")
        self._existing = set(existing)

        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("Variable name")
        self.name_edit.setPlaceholderText("e.g. Boot0005")

        self.namespace_combo = QComboBox(self)
        self.namespace_combo.setEditable(True)
        self.namespace_combo.setAccessibleName("Namespace GUID")
        self.namespace_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.namespace_combo.setToolTip("A well-known namespace, a GUID, or a known name (global, shim, ...)")
        seen: set[UUID] = set()
        for guid in store_namespaces:
            if guid not in seen:
                seen.add(guid)
                self.namespace_combo.addItem(f"{g.guid_label(guid)} — {guid}", guid)
        if seen:
            self.namespace_combo.insertSeparator(self.namespace_combo.count())
        for name, guid in known_namespaces():
            if guid not in seen:
                self.namespace_combo.addItem(f"{name} — {guid}", guid)
        self.namespace_combo.setCurrentIndex(self.namespace_combo.findData(g.EFI_GLOBAL_VARIABLE))

        self.attribute_boxes = AttributesWidget(self)
        self.attribute_boxes.set_value(NV_BS_RT)

        self.kind_combo = QComboBox(self)
        self.kind_combo.setAccessibleName("Value kind")
        self.kind_combo.addItems(list(VALUE_KINDS))
        self.value_edit = QLineEdit(self)
        self.value_edit.setAccessibleName("Initial value")
        self.value_edit.setPlaceholderText("the value (edit it in the details pane afterwards)")
        value_row = QHBoxLayout()
        value_row.addWidget(self.kind_combo)
        value_row.addWidget(self.value_edit, 1)

        self.warning_label = QLabel(self)
        self.warning_label.setWordWrap(True)
        self.warning_label.setAccessibleName("Warnings")
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setAccessibleName("Problems")

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("&Name:", self.name_edit)
        form.addRow("Names&pace:", self.namespace_combo)
        form.addRow("Attributes:", self.attribute_boxes)
        value_label = QLabel("&Value:", self)  # a layout gets no buddy from addRow: set it here
        value_label.setBuddy(self.value_edit)
        form.addRow(value_label, value_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.warning_label)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        self.name_edit.textChanged.connect(self._validate)
        self.namespace_combo.currentTextChanged.connect(self._validate)
        self.attribute_boxes.attributes_changed.connect(self._validate)
        self.kind_combo.currentTextChanged.connect(self._validate)
        self.value_edit.textChanged.connect(self._validate)
        self._validate()

    # -- reading the form ----------------------------------------------------------------
    def guid(self) -> UUID | None:
        text = self.namespace_combo.currentText()
        index = self.namespace_combo.findText(text)
        if index >= 0:
            data = self.namespace_combo.itemData(index)
            if isinstance(data, UUID):
                return data
        try:
            return g.parse_guid(text.split("—")[-1])
        except UefiVarsError:
            return None

    def set_guid(self, guid: UUID) -> None:
        index = self.namespace_combo.findData(guid)
        if index >= 0:
            self.namespace_combo.setCurrentIndex(index)
        else:
            self.namespace_combo.setEditText(str(guid))

    def value_bytes(self) -> bytes:
        text = self.value_edit.text()
        if not text.strip() and self.kind_combo.currentText() == "Hex bytes":
            return b""
        return VALUE_KINDS[self.kind_combo.currentText()](text)

    def variable(self) -> Variable:
        """The variable the form describes (raises if the form is not valid)."""
        guid = self.guid()
        if guid is None:
            raise UefiVarsError("not a GUID")
        return Variable(
            self.name_edit.text().strip(), guid, Attributes(self.attribute_boxes.value()), self.value_bytes()
        )

    def problems(self) -> list[str]:
        """What stops the form from being accepted."""
        problems: list[str] = []
        name = self.name_edit.text().strip()
        guid = self.guid()
        if not name:
            problems.append("Give the variable a name.")
        if guid is None:
            problems.append("The namespace is not a GUID or a known namespace name.")
        if name and guid is not None and (guid, name) in self._existing:
            problems.append(f"{name} already exists in {g.guid_label(guid)}.")
        try:
            self.value_bytes()
        except (UefiVarsError, ValueError) as exc:
            problems.append(f"Value: {exc}")
        return problems

    def _validate(self, *_args: object) -> None:
        guid = self.guid()
        warnings = attribute_warnings(self.attribute_boxes.value(), guid, self.name_edit.text().strip())
        try:
            empty = not self.value_bytes()
        except (UefiVarsError, ValueError):
            empty = False
        if empty:
            warnings.append("an empty value: firmware treats a zero-size write as a delete")
        self.warning_label.setText("\n".join(f"⚠ {w}" for w in warnings))
        self.warning_label.setVisible(bool(warnings))
        problems = self.problems()
        self.error_label.setText("\n".join(problems))
        self.error_label.setVisible(bool(problems) and bool(self.name_edit.text()))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problems)


class ErrorDialog(QDialog):
    """Shown for exceptions nobody expected: what happened, with the traceback to copy."""

    def __init__(
        self,
        exc_type: type[BaseException],
        exc: BaseException,
        tb: TracebackType | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unexpected error — uefivars-gui")
        self.details = "".join(traceback.format_exception(exc_type, exc, tb))
        icon = QLabel(self)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical).pixmap(48, 48))
        message = QLabel(
            f"<b>Something went wrong that should not have.</b><br>{type(exc).__name__}: {exc}<br><br>"
            "Your open store was not changed by this error; saving it is still possible. "
            "Please report the details below.",
            self,
        )
        message.setWordWrap(True)
        message.setTextFormat(Qt.TextFormat.RichText)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = message
        self.details_view = QPlainTextEdit(self.details, self)
        self.details_view.setReadOnly(True)
        self.details_view.setAccessibleName("Error details")
        self.details_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        copy_button = QPushButton("&Copy Details", self)
        copy_button.clicked.connect(self.copy_details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.addButton(copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        top = QGridLayout()
        top.addWidget(icon, 0, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(message, 0, 1)
        top.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(buttons)
        self.resize(640, 420)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)
