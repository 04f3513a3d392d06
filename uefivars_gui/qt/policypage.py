"""The Policies page: an editor of variable-policy sets (``docs/policy-set-format.md``).

A table of VARIABLE_POLICY_ENTRY rows and a form for the selected one (namespace with the
well-known GUID picker, name with ``#`` wildcards or empty for the whole namespace,
min/max size, attributes must/can't have as flags, lock type and the state variable of
LOCK_ON_VAR_STATE), edk2's validation messages and the host-policy warnings, the
``explain()`` sentence of the selected entry, New/Open/Save/Save As of policy-set files
(binary ``UVPOLSET`` or JSON, chosen by the extension), import/export of one entry as raw
bytes, undo/redo on the page's own QUndoStack, and the "Would this write be allowed?"
tester, answered by the device engine's policy check (:mod:`uefivars_gui.ops.policytest`).

Thin: entries are core values, validation and the tester are core/ops calls; every edit
is a QUndoCommand on :attr:`PolicyPage.undo_stack`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QIcon, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import guid as g
from ..core.attributes import NV_BS_RT
from ..core.policy import (
    VARIABLE_POLICY_NO_MAX_SIZE,
    LockOnVarState,
    LockPolicyType,
    VariablePolicyEntry,
    decode_policy_entry,
    decode_policy_set,
    encode_policy_set,
    from_json,
    is_policy_set,
    lock_type_name,
    to_json,
)
from ..errors import DecodeError, UefiVarsError
from ..live.atomic import atomic_write
from ..ops.hostpolicy import HostPolicySet
from ..ops.policytest import WriteRequest, WriteVerdict, check_write, registration_problems
from .dialogs import known_namespaces
from .document import Document
from .editors.attributes import AttributesWidget
from .editors.policy import PolicyColumn, PolicyEntryModel, problem_text
from .widgets import DISPLAY, action_button

POLICY_FILTER = "Policy sets (*.uvpol *.json *.bin);;Binary policy set (*.uvpol *.bin);;JSON policy set (*.json);;All files (*)"
ENTRY_FILTER = "Raw VARIABLE_POLICY_ENTRY (*.bin *.entry);;All files (*)"
_U32_MAX = 0xFFFFFFFF
#: QUndoCommand.id() of mergeable entry edits.
EDIT_ENTRY_ID = 0x706F_6C69  # "poli"


def is_json_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".json"


def read_policy_set(data: bytes) -> tuple[VariablePolicyEntry, ...]:
    """Entries of a binary ``UVPOLSET`` file or of its JSON form, kept as they are (invalid
    entries included: the page flags them)."""
    if is_policy_set(data):
        return decode_policy_set(data)
    return from_json(data)


def write_policy_set(path: str | Path, entries: tuple[VariablePolicyEntry, ...]) -> None:
    """JSON for ``*.json``, the binary form otherwise; written atomically."""
    data = to_json(entries).encode() if is_json_path(path) else encode_policy_set(entries)
    atomic_write(path, data)


# --- the table model --------------------------------------------------------------------------


class PolicySetModel(PolicyEntryModel):
    """The page's entries, in registration order, changed by its undo commands."""

    def __init__(self, warning: QIcon | None = None, parent: QWidget | None = None) -> None:
        super().__init__(warning=warning, parent=parent)

    @property
    def entries(self) -> tuple[VariablePolicyEntry, ...]:
        return tuple(self._rows)

    def insert_entry(self, row: int, entry: VariablePolicyEntry) -> None:
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, entry)
        self._problems.insert(row, problem_text(entry))
        self.endInsertRows()

    def remove_entry(self, row: int) -> VariablePolicyEntry:
        self.beginRemoveRows(QModelIndex(), row, row)
        entry = self._rows.pop(row)
        self._problems.pop(row)
        self.endRemoveRows()
        return entry

    def replace_entry(self, row: int, entry: VariablePolicyEntry) -> VariablePolicyEntry:
        old = self._rows[row]
        self._rows[row] = entry
        self._problems[row] = problem_text(entry)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(PolicyColumn) - 1))
        return old

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = DISPLAY) -> object:  # noqa: N802
        if orientation == Qt.Orientation.Vertical and role == DISPLAY and 0 <= section < len(self._rows):
            return str(section)
        return super().headerData(section, orientation, role)


# --- undo commands -------------------------------------------------------------------------------


class InsertEntryCommand(QUndoCommand):
    def __init__(self, model: PolicySetModel, row: int, entry: VariablePolicyEntry, text: str) -> None:
        super().__init__(text)
        self._model = model
        self._row = row
        self._entry = entry

    def redo(self) -> None:
        self._model.insert_entry(self._row, self._entry)

    def undo(self) -> None:
        self._model.remove_entry(self._row)


class RemoveEntryCommand(QUndoCommand):
    def __init__(self, model: PolicySetModel, row: int, text: str) -> None:
        super().__init__(text)
        self._model = model
        self._row = row
        self._entry: VariablePolicyEntry | None = None

    def redo(self) -> None:
        self._entry = self._model.remove_entry(self._row)

    def undo(self) -> None:
        assert self._entry is not None
        self._model.insert_entry(self._row, self._entry)


class EditEntryCommand(QUndoCommand):
    """Replace the entry of one row; consecutive edits of the same field merge."""

    def __init__(
        self, model: PolicySetModel, row: int, new: VariablePolicyEntry, what: str, merge: bool = False
    ) -> None:
        super().__init__(f"Edit entry {row}: {what}")
        self._model = model
        self._row = row
        self._new = new
        self._old = model.entry(row)
        self._what = what
        self._merge = merge

    def redo(self) -> None:
        self._model.replace_entry(self._row, self._new)

    def undo(self) -> None:
        self._model.replace_entry(self._row, self._old)

    def id(self) -> int:
        return EDIT_ENTRY_ID if self._merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802
        if not isinstance(other, EditEntryCommand) or other._row != self._row or other._what != self._what:
            return False
        self._new = other._new
        if self._new == self._old:
            self.setObsolete(True)
        return True


# --- small widgets ---------------------------------------------------------------------------------


class NamespaceCombo(QComboBox):
    """An editable GUID picker: the well-known namespaces, or any GUID / known name typed in."""

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setAccessibleName(accessible_name)
        self.setToolTip("A well-known namespace, a GUID, or a known name (global, shim, ...)")
        for name, guid in known_namespaces():
            self.addItem(f"{name} — {guid}", guid)

    @property
    def edit(self) -> QLineEdit:
        edit = self.lineEdit()
        assert edit is not None  # editable
        return edit

    def guid(self) -> UUID | None:
        text = self.currentText()
        index = self.findText(text)
        if index >= 0:
            data = self.itemData(index)
            if isinstance(data, UUID):
                return data
        try:
            return g.parse_guid(text.split("—")[-1])
        except UefiVarsError:
            return None

    def set_guid(self, guid: UUID) -> None:
        index = self.findData(guid)
        if index >= 0:
            self.setCurrentIndex(index)
        else:
            self.setEditText(str(guid))


class FlagsEdit(QWidget):
    """Attribute bits as the shared check boxes (:class:`.editors.attributes.AttributesWidget`),
    plus the other bits of a policy mask as editable hex (0xFFFFFF80, ...)."""

    value_changed = Signal(int)

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.flags = AttributesWidget(self)
        self.flags.other.hide()  # the other bits are edited below, not just shown
        self.flags.attributes_changed.connect(self._emit)
        self.boxes = self.flags.boxes
        for box in self.boxes.values():
            box.setAccessibleName(f"{accessible_name}: {box.accessibleName()}")
        self._known = sum(self.boxes)
        layout.addWidget(self.flags)
        self.other = QLineEdit(self)
        self.other.setPlaceholderText("other bits")
        self.other.setMaximumWidth(110)
        self.other.setAccessibleName(f"{accessible_name}: other bits (hex)")
        self.other.setToolTip("Bits without a check box, as hex (0xFFFFFF80 for 'all the others')")
        self.other.editingFinished.connect(self._emit)
        layout.addWidget(self.other)
        layout.addStretch(1)

    def value(self) -> int:
        """The bits; raises ValueError when the hex field is not a number."""
        text = self.other.text().strip()
        extra = int(text, 16) if text else 0
        if not 0 <= extra <= _U32_MAX:
            raise ValueError("the other bits do not fit in 32 bits")
        return (extra & ~self._known) | (self.flags.value() & self._known)

    def set_value(self, value: int) -> None:
        self.flags.set_value(value & self._known)
        extra = value & ~self._known & _U32_MAX
        self.other.setText(f"0x{extra:X}" if extra else "")

    def _emit(self, *_args: object) -> None:
        try:
            self.value_changed.emit(self.value())
        except ValueError:
            self.value_changed.emit(-1)


def _parse_size(text: str, *, maximum_word: bool) -> int:
    stripped = text.strip().lower()
    if maximum_word and stripped in ("", "max", "-"):
        return VARIABLE_POLICY_NO_MAX_SIZE
    if not stripped:
        return 0
    value = int(stripped, 0)
    if not 0 <= value <= _U32_MAX:
        raise ValueError(f"{text.strip()} does not fit in 32 bits")
    return value


# --- the entry form ----------------------------------------------------------------------------------


class EntryForm(QGroupBox):
    """The fields of one entry. Emits ``entry_edited(entry, what)`` when the user changed
    one (``what`` names the field, for the undo text); parse problems go to ``error``."""

    entry_edited = Signal(object, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Entry", parent)
        self.setAccessibleName("Policy entry")
        self._entry: VariablePolicyEntry | None = None
        self._loading = False

        self.namespace = NamespaceCombo("Policy namespace", self)
        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("Variable name")
        self.name_edit.setPlaceholderText("empty: every variable of the namespace; # matches one hex digit")
        self.min_size = QLineEdit(self)
        self.min_size.setAccessibleName("Minimum size")
        self.min_size.setPlaceholderText("0")
        self.max_size = QLineEdit(self)
        self.max_size.setAccessibleName("Maximum size")
        self.max_size.setPlaceholderText("max")
        self.must_have = FlagsEdit("Attributes must have", self)
        self.cant_have = FlagsEdit("Attributes can't have", self)
        self.lock = QComboBox(self)
        self.lock.setAccessibleName("Lock type")
        for kind in LockPolicyType:
            self.lock.addItem(kind.name, int(kind))
        self.state_box = QGroupBox("Lock while this variable has this value (LOCK_ON_VAR_STATE)", self)
        self.state_box.setAccessibleName("Lock state variable")
        self.state_namespace = NamespaceCombo("State variable namespace", self.state_box)
        self.state_name = QLineEdit(self.state_box)
        self.state_name.setAccessibleName("State variable name")
        self.state_value = QSpinBox(self.state_box)
        self.state_value.setRange(0, 255)
        self.state_value.setDisplayIntegerBase(16)
        self.state_value.setPrefix("0x")
        self.state_value.setAccessibleName("State variable value")
        state_form = QFormLayout(self.state_box)
        state_form.addRow("Namespace:", self.state_namespace)
        state_form.addRow("Name:", self.state_name)
        state_form.addRow("Value:", self.state_value)
        self.error = QLabel(self)
        self.error.setAccessibleName("Form problem")
        self.error.setWordWrap(True)
        self.error.hide()

        form = QFormLayout(self)
        form.addRow("Names&pace:", self.namespace)
        form.addRow("&Name:", self.name_edit)
        sizes = QHBoxLayout()
        sizes.addWidget(QLabel("min", self))
        sizes.addWidget(self.min_size)
        sizes.addWidget(QLabel("max", self))
        sizes.addWidget(self.max_size)
        form.addRow("Size:", sizes)
        form.addRow("Must have:", self.must_have)
        form.addRow("Can't have:", self.cant_have)
        form.addRow("&Lock:", self.lock)
        form.addRow(self.state_box)
        form.addRow(self.error)

        self.namespace.activated.connect(lambda _i: self._edited("namespace"))
        self.namespace.edit.editingFinished.connect(lambda: self._edited("namespace"))
        self.name_edit.editingFinished.connect(lambda: self._edited("name"))
        self.min_size.editingFinished.connect(lambda: self._edited("minimum size"))
        self.max_size.editingFinished.connect(lambda: self._edited("maximum size"))
        self.must_have.value_changed.connect(lambda _v: self._edited("must-have attributes"))
        self.cant_have.value_changed.connect(lambda _v: self._edited("can't-have attributes"))
        self.lock.activated.connect(lambda _i: self._edited("lock type"))
        self.state_namespace.activated.connect(lambda _i: self._edited("state namespace"))
        self.state_namespace.edit.editingFinished.connect(lambda: self._edited("state namespace"))
        self.state_name.editingFinished.connect(lambda: self._edited("state name"))
        self.state_value.valueChanged.connect(lambda _v: self._edited("state value"))
        self.set_entry(None)

    @property
    def shown_entry(self) -> VariablePolicyEntry | None:
        """The entry the form shows (with the user's edits so far)."""
        return self._entry

    def set_entry(self, entry: VariablePolicyEntry | None) -> None:
        """Show ``entry`` (None: nothing selected, the form is disabled)."""
        self._entry = entry
        self._loading = True
        try:
            self.setEnabled(entry is not None)
            shown = entry or VariablePolicyEntry(g.EFI_GLOBAL_VARIABLE)
            self.namespace.set_guid(shown.namespace)
            self.name_edit.setText(shown.name or "")
            self.min_size.setText(str(shown.min_size))
            self.max_size.setText(
                "max" if shown.max_size == VARIABLE_POLICY_NO_MAX_SIZE else str(shown.max_size)
            )
            self.must_have.set_value(shown.attributes_must_have)
            self.cant_have.set_value(shown.attributes_cant_have)
            index = self.lock.findData(int(shown.lock_policy_type))
            if index < 0:
                self.lock.addItem(lock_type_name(shown.lock_policy_type), int(shown.lock_policy_type))
                index = self.lock.count() - 1
            self.lock.setCurrentIndex(index)
            state = shown.lock_on_var_state
            self.state_namespace.set_guid(state.namespace if state else shown.namespace)
            self.state_name.setText(state.name if state else "")
            self.state_value.setValue(state.value if state else 0)
            self._update_state_box()
            self._show_error("")
        finally:
            self._loading = False

    def entry(self) -> VariablePolicyEntry:
        """The entry the form describes; raises ValueError with a message if it cannot."""
        if self._entry is None:
            raise ValueError("no entry is selected")
        namespace = self.namespace.guid()
        if namespace is None:
            raise ValueError("the namespace is not a GUID or a known namespace name")
        try:
            min_size = _parse_size(self.min_size.text(), maximum_word=False)
        except ValueError as exc:
            raise ValueError(f"minimum size: {exc}") from None
        try:
            max_size = _parse_size(self.max_size.text(), maximum_word=True)
        except ValueError as exc:
            raise ValueError(f"maximum size: {exc}") from None
        try:
            must = self.must_have.value()
            cant = self.cant_have.value()
        except ValueError as exc:
            raise ValueError(f"attributes: the other bits are not hex ({exc})") from None
        lock = int(self.lock.currentData())
        state = None
        if lock == LockPolicyType.LOCK_ON_VAR_STATE:
            state_ns = self.state_namespace.guid()
            if state_ns is None:
                raise ValueError("the state variable's namespace is not a GUID or a known name")
            old = self._entry.lock_on_var_state
            state = LockOnVarState(
                state_ns, self.state_value.value(), self.state_name.text(), old.padding if old else 0
            )
        name = self.name_edit.text()
        return dataclasses.replace(
            self._entry,
            namespace=namespace,
            name=name if name else None,
            min_size=min_size,
            max_size=max_size,
            attributes_must_have=must,
            attributes_cant_have=cant,
            lock_policy_type=LockPolicyType(lock) if lock in LockPolicyType._value2member_map_ else lock,
            lock_on_var_state=state,
        )

    def _edited(self, what: str) -> None:
        self._update_state_box()
        if self._loading or self._entry is None:
            return
        try:
            new = self.entry()
        except ValueError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        if new != self._entry:
            self._entry = new
            self.entry_edited.emit(new, what)

    def _update_state_box(self) -> None:
        self.state_box.setEnabled(self.lock.currentData() == LockPolicyType.LOCK_ON_VAR_STATE)

    def _show_error(self, text: str) -> None:
        self.error.setText(f"⚠ {text}" if text else "")
        self.error.setVisible(bool(text))


# --- the tester ---------------------------------------------------------------------------------------


class WriteTester(QGroupBox):
    """ "Would this write be allowed?": the request, and the engine's answer."""

    #: The user asked (or changed the question): the page answers with :meth:`show_verdict`.
    question_changed = Signal()

    PHASES = ("After EndOfDxe (an OS, a UEFI tool)", "Before EndOfDxe (DXE drivers, platform code)")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Would this write be allowed?", parent)
        self.setAccessibleName("Write tester")
        self.namespace = NamespaceCombo("Tested namespace", self)
        self.namespace.set_guid(g.EFI_GLOBAL_VARIABLE)
        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("Tested variable name")
        self.name_edit.setPlaceholderText("e.g. Boot0001")
        self.attributes = FlagsEdit("Tested attributes", self)
        self.attributes.set_value(int(NV_BS_RT))
        self.data_size = QSpinBox(self)
        self.data_size.setRange(0, 0x7FFFFFFF)
        self.data_size.setValue(4)
        self.data_size.setSuffix(" bytes")
        self.data_size.setAccessibleName("Tested data size")
        self.exists = QCheckBox("The variable exists already", self)
        self.exists.setAccessibleName("Variable exists")
        self.phase = QComboBox(self)
        self.phase.addItems(list(self.PHASES))
        self.phase.setAccessibleName("Boot phase")
        self.use_store = QCheckBox("Look up LOCK_ON_VAR_STATE variables in the open store", self)
        self.use_store.setAccessibleName("Use the open store's variables")
        self.use_store.setChecked(True)
        self.check_button = QPushButton("&Check", self)
        self.check_button.setAccessibleName("Check the write")
        self.status_label = QLabel(self)
        self.status_label.setAccessibleName("EFI status")
        font = self.status_label.font()
        font.setBold(True)
        self.status_label.setFont(font)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reason_label = QLabel(self)
        self.reason_label.setAccessibleName("Why")
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout(self)
        form.addRow("Namespace:", self.namespace)
        form.addRow("Name:", self.name_edit)
        form.addRow("Attributes:", self.attributes)
        form.addRow("Data size:", self.data_size)
        form.addRow("", self.exists)
        form.addRow("Boot phase:", self.phase)
        form.addRow("", self.use_store)
        form.addRow(self.check_button)
        form.addRow("Answer:", self.status_label)
        form.addRow(self.reason_label)

        self.check_button.clicked.connect(self.question_changed)
        for signal in (
            self.namespace.currentTextChanged,
            self.name_edit.textChanged,
            self.attributes.value_changed,
            self.data_size.valueChanged,
            self.exists.toggled,
            self.phase.currentIndexChanged,
            self.use_store.toggled,
        ):
            signal.connect(lambda *_a: self.question_changed.emit())

    def request(self) -> WriteRequest:
        """The write asked about; ValueError with a message when the form is incomplete."""
        namespace = self.namespace.guid()
        if namespace is None:
            raise ValueError("the namespace is not a GUID or a known namespace name")
        name = self.name_edit.text()
        if not name:
            raise ValueError("give the variable name")
        try:
            attributes = self.attributes.value()
        except ValueError as exc:
            raise ValueError(f"attributes: {exc}") from None
        return WriteRequest(
            namespace,
            name,
            attributes,
            self.data_size.value(),
            self.exists.isChecked(),
            after_end_of_dxe=self.phase.currentIndex() == 0,
        )

    def show_verdict(self, verdict: WriteVerdict | None, problem: str = "") -> None:
        if verdict is None:
            self.status_label.setText("")
            self.reason_label.setText(problem)
            return
        self.status_label.setText(verdict.status_name)
        self.reason_label.setText("\n".join([verdict.reason, *verdict.lines()[1:]]))


# --- the page -------------------------------------------------------------------------------------------


class PolicyPage(QWidget):
    """Policy-set files: edit, validate, save, and ask the engine about writes."""

    #: A status-bar message.
    message = Signal(str)
    #: The set's file or modified state changed.
    file_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Policies page")
        self._path: Path | None = None
        self._document: Document | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        style = self.style()
        self.model = PolicySetModel(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning), self)

        self.title = QLabel(self)
        self.title.setAccessibleName("Policy set file")
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        self.new_button = self._button("&New", "Start an empty policy set", self.new_set, bar)
        self.open_button = self._button(
            "&Open…", "Open a policy-set file (binary or JSON)", self.open_dialog, bar
        )
        self.save_button = self._button("&Save", "Save the policy set", self.save, bar)
        self.save_as_button = self._button(
            "Save &As…", "Save in another file (.json: JSON, otherwise binary)", self.save_as, bar
        )
        self.undo_button = QToolButton(self)
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_button.setDefaultAction(self.undo_action)
        self.undo_button.setAccessibleName("Undo the last policy edit")
        self.redo_button = QToolButton(self)
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        self.redo_button.setDefaultAction(self.redo_action)
        self.redo_button.setAccessibleName("Redo the policy edit")
        bar.addWidget(self.undo_button)
        bar.addWidget(self.redo_button)

        self.view = QTableView(self)
        self.view.setAccessibleName("Policy entries")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        for column, width in (
            (PolicyColumn.NAMESPACE, 150),
            (PolicyColumn.NAME, 130),
            (PolicyColumn.MIN_SIZE, 65),
            (PolicyColumn.MAX_SIZE, 65),
            (PolicyColumn.MUST_HAVE, 80),
            (PolicyColumn.CANT_HAVE, 80),
            (PolicyColumn.LOCK, 130),
        ):
            self.view.horizontalHeader().resizeSection(column, width)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row)

        entry_bar = QHBoxLayout()
        self.add_button = self._button("A&dd Entry", "Add a new policy entry", self.add_entry, entry_bar)
        self.duplicate_button = self._button(
            "D&uplicate", "Copy the selected entry", self.duplicate_entry, entry_bar
        )
        self.remove_button = self._button(
            "&Remove", "Remove the selected entry", self.remove_entry, entry_bar
        )
        self.import_button = self._button(
            "&Import Entry…", "Insert one raw VARIABLE_POLICY_ENTRY from a file", self.import_entry, entry_bar
        )
        self.export_button = self._button(
            "&Export Entry…",
            "Write the selected entry as raw VARIABLE_POLICY_ENTRY bytes",
            self.export_entry,
            entry_bar,
        )
        entry_bar.addStretch(1)

        self.form = EntryForm(self)
        self.form.entry_edited.connect(self._on_form_edited)
        self.explain_label = QLabel(self)
        self.explain_label.setAccessibleName("What the selected entry does")
        self.explain_label.setWordWrap(True)
        self.explain_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.messages_label = QLabel(self)
        self.messages_label.setAccessibleName("Validation messages")
        self.messages_label.setWordWrap(True)
        self.messages_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tester = WriteTester(self)
        self.tester.question_changed.connect(self.run_tester)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.view, 1)
        left_layout.addLayout(entry_bar)
        left_layout.addWidget(self.messages_label)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.form)
        right_layout.addWidget(self.explain_label)
        right_layout.addWidget(self.tester)
        right_layout.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

        for signal in (
            self.model.rowsInserted,
            self.model.rowsRemoved,
            self.model.dataChanged,
            self.model.modelReset,
        ):
            signal.connect(self._on_model_changed)
        self._on_model_changed()
        self._update_title()

    def _button(self, text: str, tip: str, slot: Callable[[], object], layout: QHBoxLayout) -> QPushButton:
        return action_button(text, tip, slot, layout, self)

    # -- state ---------------------------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def entries(self) -> tuple[VariablePolicyEntry, ...]:
        return self.model.entries

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def set_document(self, document: Document | None) -> None:
        """The open store: the tester looks up LOCK_ON_VAR_STATE variables in it."""
        if self._document is not None:
            self._document.contents_changed.disconnect(self.run_tester)
        self._document = document
        if document is not None:
            document.contents_changed.connect(self.run_tester)
        self.tester.use_store.setEnabled(document is not None)
        self.run_tester()

    def current_row(self) -> int:
        index = self.view.currentIndex()
        return index.row() if index.isValid() else -1

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.view.setCurrentIndex(self.model.index(row, 0))
            self.view.selectRow(row)

    def _on_clean_changed(self, _clean: bool) -> None:
        # the stack announces "clean" also while it is being destroyed with the page
        with contextlib.suppress(RuntimeError):
            self._update_title()

    def _update_title(self) -> None:
        name = self._path.name if self._path is not None else "Untitled policy set"
        count = self.model.rowCount()
        modified = " (modified)" if self.is_modified else ""
        self.title.setText(f"{name}{modified} — {count} {'entry' if count == 1 else 'entries'}")
        self.file_changed.emit()

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_current()

    def _show_current(self) -> None:
        row = self.current_row()
        entry = self.model.entry(row) if 0 <= row < self.model.rowCount() else None
        self.form.set_entry(entry)
        self.explain_label.setText(
            entry.explain() if entry is not None else "Select an entry to see what it does."
        )
        has = entry is not None
        self.remove_button.setEnabled(has)
        self.duplicate_button.setEnabled(has)
        self.export_button.setEnabled(has)

    def _on_model_changed(self, *_args: object) -> None:
        row = self.current_row()
        current = self.model.entry(row) if 0 <= row < self.model.rowCount() else None
        if current != self.form.shown_entry:
            self._show_current()
        elif current is not None:
            self.explain_label.setText(current.explain())
        self.messages_label.setText("\n".join(f"⚠ {text}" for text in self.validation_messages()))
        self._update_title()
        self.run_tester()

    def validation_messages(self) -> list[str]:
        """What edk2/the device would refuse (per entry), then the host-policy warnings."""
        entries = self.model.entries
        problems = registration_problems(entries)
        return problems + HostPolicySet(entries, ()).warnings()

    # -- editing ------------------------------------------------------------------------------------------
    def _on_form_edited(self, entry: VariablePolicyEntry, what: str) -> None:
        row = self.current_row()
        if row < 0:
            return
        self.undo_stack.push(EditEntryCommand(self.model, row, entry, what))

    def add_entry(self, entry: VariablePolicyEntry | None = None) -> int:
        new = entry or VariablePolicyEntry(
            g.EFI_GLOBAL_VARIABLE, "NewVariable", lock_policy_type=LockPolicyType.LOCK_NOW
        )
        row = self.current_row() + 1 if self.current_row() >= 0 else self.model.rowCount()
        self.undo_stack.push(InsertEntryCommand(self.model, row, new, f"Add entry {row}"))
        self.select_row(row)
        return row

    def duplicate_entry(self) -> None:
        row = self.current_row()
        if row >= 0:
            self.add_entry(self.model.entry(row))

    def remove_entry(self) -> None:
        row = self.current_row()
        if row < 0:
            self.message.emit("Select an entry to remove")
            return
        self.undo_stack.push(RemoveEntryCommand(self.model, row, f"Remove entry {row}"))
        self.select_row(min(row, self.model.rowCount() - 1))

    # -- files -------------------------------------------------------------------------------------------------
    def _confirm_discard(self) -> bool:
        if not self.is_modified:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved Policy Set",
            "The policy set has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _load(self, entries: tuple[VariablePolicyEntry, ...], path: Path | None) -> None:
        self._path = path
        self.undo_stack.clear()
        self.model.set_entries(entries)
        self.undo_stack.setClean()
        self.select_row(0)
        self._show_current()
        self._update_title()

    def new_set(self) -> None:
        if self._confirm_discard():
            self._load((), None)
            self.message.emit("New policy set")

    def _start_directory(self) -> str:
        return str(self._path.parent) if self._path is not None else ""

    def open_dialog(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open Policy Set", self._start_directory(), POLICY_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        target = Path(path)
        try:
            entries = read_policy_set(target.read_bytes())
        except OSError as exc:
            return self._failed("Cannot Open Policy Set", f"{target}: cannot read: {exc.strerror or exc}")
        except UefiVarsError as exc:
            return self._failed("Cannot Open Policy Set", f"{target.name}: {exc}")
        self._load(entries, target)
        self.message.emit(f"Opened {target.name}: {len(entries)} entries")
        return True

    def save(self) -> bool:
        if self._path is None:
            return self.save_as()
        return self.save_to(self._path)

    def save_as(self) -> bool:
        start = str(self._path) if self._path is not None else "policies.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save Policy Set", start, POLICY_FILTER)
        if not path:
            self.message.emit("Save cancelled")
            return False
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        target = Path(path)
        try:
            write_policy_set(target, self.model.entries)
        except OSError as exc:
            return self._failed("Cannot Save Policy Set", f"{target}: cannot write: {exc.strerror or exc}")
        except UefiVarsError as exc:
            return self._failed("Cannot Save Policy Set", f"{target.name}: {exc}")
        self._path = target
        self.undo_stack.setClean()
        self._update_title()
        kind = "JSON" if is_json_path(target) else "binary"
        self.message.emit(f"Saved {target.name} ({kind}, {self.model.rowCount()} entries)")
        return True

    def import_entry(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import Policy Entry", self._start_directory(), ENTRY_FILTER
        )
        if path:
            self.import_entry_from(path)

    def import_entry_from(self, path: str | Path) -> bool:
        target = Path(path)
        try:
            data = target.read_bytes()
            entry, size = decode_policy_entry(data)
            if size != len(data):
                raise DecodeError(f"{len(data) - size} bytes follow the entry (Size is {size})", size)
        except OSError as exc:
            return self._failed("Cannot Import Entry", f"{target}: cannot read: {exc.strerror or exc}")
        except UefiVarsError as exc:
            return self._failed("Cannot Import Entry", f"{target.name}: {exc}")
        row = self.add_entry(entry)
        self.message.emit(f"Imported {target.name} as entry {row}")
        return True

    def export_entry(self) -> None:
        row = self.current_row()
        if row < 0:
            self.message.emit("Select an entry to export")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export Policy Entry", "policy-entry.bin", ENTRY_FILTER)
        if path:
            self.export_entry_to(row, path)

    def export_entry_to(self, row: int, path: str | Path) -> bool:
        target = Path(path)
        try:
            atomic_write(target, self.model.entry(row).encode())
        except OSError as exc:
            return self._failed("Cannot Export Entry", f"{target}: cannot write: {exc.strerror or exc}")
        except UefiVarsError as exc:
            return self._failed("Cannot Export Entry", str(exc))
        self.message.emit(f"Exported entry {row} to {target.name}")
        return True

    def _failed(self, title: str, text: str) -> bool:
        self.message.emit(text)
        QMessageBox.warning(self, title, text)
        return False

    # -- the tester ------------------------------------------------------------------------------------------------
    def run_tester(self, *_args: object) -> WriteVerdict | None:
        """Ask the engine about the tester's write; shows and returns the answer."""
        try:
            request = self.tester.request()
        except ValueError as exc:
            self.tester.show_verdict(None, str(exc))
            return None
        store = (
            self._document.store if self._document is not None and self.tester.use_store.isChecked() else None
        )
        verdict = check_write(self.model.entries, request, variables=store)
        self.tester.show_verdict(verdict)
        return verdict
