"""The Policies page (offscreen): building entries with the form, validation messages,
undo/redo, saving and loading both file forms, single-entry import/export, and the
"would this write be allowed?" tester. Dialogs are patched where they are used."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from PySide6.QtWidgets import QMessageBox

from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS
from uefivars_gui.core.policy import LockPolicyType, VariablePolicyEntry, decode_policy_set, is_policy_set
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.qt import policypage
from uefivars_gui.qt.document import Document
from uefivars_gui.qt.policypage import PolicyColumn, PolicyPage

pytestmark = [pytest.mark.qt_log_level_fail("WARNING"), pytest.mark.qt_log_ignore("propagateSizeHints")]

GLOBAL = g.EFI_GLOBAL_VARIABLE
VENDOR = UUID("11111111-2222-3333-4444-555555555555")


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(
        policypage.QMessageBox, "warning", lambda _p, title, text, *a: shown.append(f"{title}: {text}")
    )
    monkeypatch.setattr(
        policypage.QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard
    )
    return shown


@pytest.fixture
def page(qtbot, warnings: list[str]) -> PolicyPage:
    widget = PolicyPage()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _type(edit, text: str) -> None:  # noqa: ANN001
    edit.setText(text)
    edit.editingFinished.emit()


def test_build_entries_with_the_form_and_undo(qtbot, qtmodeltester, page: PolicyPage) -> None:
    row = page.add_entry()
    assert row == 0 and page.current_row() == 0
    form = page.form
    _type(form.name_edit, "Boot####")
    _type(form.min_size, "6")
    _type(form.max_size, "0x100")
    form.must_have.boxes[1].click()  # NV
    form.must_have.boxes[2].click()  # BS
    form.lock.setCurrentIndex(form.lock.findData(int(LockPolicyType.LOCK_ON_CREATE)))
    form.lock.activated.emit(form.lock.currentIndex())
    entry = page.entries[0]
    assert entry.name == "Boot####" and entry.min_size == 6 and entry.max_size == 0x100
    assert entry.attributes_must_have == int(NV_BS)
    assert entry.lock_policy_type == LockPolicyType.LOCK_ON_CREATE
    assert (
        "Locks every variable named Boot#### in EfiGlobalVariable once it exists" in page.explain_label.text()
    )
    assert page.model.index(0, PolicyColumn.NAME).data() == "Boot####"
    assert page.model.index(0, PolicyColumn.MUST_HAVE).data() == "NV|BS"

    # a namespace-wide LOCK_ON_VAR_STATE entry
    page.add_entry()
    assert page.current_row() == 1
    form.namespace.set_guid(VENDOR)
    form.namespace.lineEdit().editingFinished.emit()
    _type(form.name_edit, "")
    form.lock.setCurrentIndex(form.lock.findData(int(LockPolicyType.LOCK_ON_VAR_STATE)))
    form.lock.activated.emit(form.lock.currentIndex())
    assert form.state_box.isEnabled()
    form.state_namespace.set_guid(VENDOR)
    _type(form.state_name, "Lock")
    form.state_value.setValue(1)
    entry = page.entries[1]
    assert entry.namespace == VENDOR and entry.name is None
    assert entry.lock_on_var_state is not None
    assert (entry.lock_on_var_state.name, entry.lock_on_var_state.value) == ("Lock", 1)
    assert page.model.index(1, PolicyColumn.NAME).data() == "(whole namespace)"
    assert "while Lock in" in page.explain_label.text()
    qtmodeltester.check(page.model)

    # undo walks back field by field; the form follows
    assert page.is_modified
    page.undo_stack.undo()  # state value
    assert page.entries[1].lock_on_var_state.value == 0
    assert form.state_value.value() == 0
    while page.undo_stack.canUndo():
        page.undo_stack.undo()
    assert page.entries == () and not page.is_modified
    page.undo_stack.redo()
    assert len(page.entries) == 1 and page.entries[0].name == "NewVariable"


def test_form_errors_do_not_change_the_entry(page: PolicyPage) -> None:
    page.add_entry()
    before = page.entries[0]
    _type(page.form.min_size, "lots")
    assert "minimum size" in page.form.error.text()
    assert page.entries[0] == before
    page.form.namespace.setEditText("not a namespace")
    page.form.namespace.lineEdit().editingFinished.emit()
    assert "namespace" in page.form.error.text()
    assert page.entries[0] == before


def test_validation_messages(page: PolicyPage) -> None:
    page.add_entry(VariablePolicyEntry(GLOBAL, "Bad", max_size=0))
    page.add_entry(VariablePolicyEntry(GLOBAL, "Free"))
    page.add_entry(VariablePolicyEntry(GLOBAL, "Free", lock_policy_type=LockPolicyType.LOCK_NOW))
    text = page.messages_label.text()
    assert "entry 0: MaxSize is 0" in text
    assert "entry 2:" in text and "ALREADY_STARTED" in text
    assert "NO_LOCK without size or attribute rules restricts nothing" in text
    assert (
        page.model.index(0, PolicyColumn.NAME)
        .data(policypage.Qt.ItemDataRole.ToolTipRole)
        .startswith("edk2 would refuse")
    )
    assert (
        not page.model.index(0, PolicyColumn.NAMESPACE)
        .data(policypage.Qt.ItemDataRole.DecorationRole)
        .isNull()
    )
    page.select_row(0)
    page.remove_entry()
    page.select_row(1)
    page.remove_entry()
    assert "MaxSize" not in page.messages_label.text() and "ALREADY" not in page.messages_label.text()


ENTRIES = (
    VariablePolicyEntry(
        GLOBAL, "Boot####", min_size=6, attributes_must_have=7, lock_policy_type=LockPolicyType.LOCK_ON_CREATE
    ),
    VariablePolicyEntry(GLOBAL, "Locked", lock_policy_type=LockPolicyType.LOCK_NOW),
    VariablePolicyEntry(VENDOR, None, attributes_cant_have=0xFFFFFFFC),
)


@pytest.mark.parametrize("suffix", [".json", ".uvpol"])
def test_save_and_open_round_trip(
    page: PolicyPage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    for entry in ENTRIES:
        page.add_entry(entry)
    target = tmp_path / f"set{suffix}"
    monkeypatch.setattr(policypage.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    assert page.save()  # no path yet: Save As
    assert not page.is_modified and page.path == target
    data = target.read_bytes()
    assert is_policy_set(data) == (suffix != ".json")
    if suffix != ".json":
        assert decode_policy_set(data) == ENTRIES
    else:
        assert b'"uefivars-policy-set"' in data
    assert target.name in page.title.text()

    page.new_set()
    assert page.entries == () and page.path is None
    monkeypatch.setattr(policypage.QFileDialog, "getOpenFileName", lambda *a, **k: (str(target), ""))
    page.open_dialog()
    assert page.entries == ENTRIES and page.path == target and not page.is_modified
    assert page.current_row() == 0 and page.form.name_edit.text() == "Boot####"


def test_open_failure_is_reported(page: PolicyPage, tmp_path: Path, warnings: list[str]) -> None:
    bad = tmp_path / "bad.uvpol"
    bad.write_bytes(b"UVPOLSET\x01\x00\x00\x00\x05\x00\x00\x00")
    assert not page.open_path(bad)
    assert warnings and "Cannot Open Policy Set" in warnings[0]


def test_import_and_export_a_single_entry(page: PolicyPage, tmp_path: Path, warnings: list[str]) -> None:
    page.add_entry(ENTRIES[0])
    raw = tmp_path / "entry.bin"
    assert page.export_entry_to(0, raw)
    assert raw.read_bytes() == ENTRIES[0].encode()
    assert page.import_entry_from(raw)
    assert page.entries == (ENTRIES[0], ENTRIES[0])
    raw.write_bytes(ENTRIES[0].encode() + b"xx")
    assert not page.import_entry_from(raw)
    assert "follow the entry" in warnings[-1]


def test_tester_lock_now(page: PolicyPage) -> None:
    page.add_entry(VariablePolicyEntry(GLOBAL, "Locked", lock_policy_type=LockPolicyType.LOCK_NOW))
    tester = page.tester
    tester.namespace.set_guid(GLOBAL)
    tester.name_edit.setText("Locked")
    tester.phase.setCurrentIndex(0)  # after EndOfDxe
    verdict = page.run_tester()
    assert verdict is not None and verdict.status_name == "EFI_WRITE_PROTECTED"
    assert tester.status_label.text() == "EFI_WRITE_PROTECTED"
    assert "LOCK_NOW" in tester.reason_label.text() and "entry 0" in tester.reason_label.text()
    tester.phase.setCurrentIndex(1)  # before EndOfDxe: answered on change
    assert tester.status_label.text() == "EFI_SUCCESS"
    assert "before EndOfDxe" in tester.reason_label.text()
    tester.name_edit.setText("")
    assert tester.status_label.text() == "" and "name" in tester.reason_label.text()


def test_tester_uses_the_open_store_for_lock_on_var_state(qtbot, page: PolicyPage) -> None:
    from uefivars_gui.core.policy import LockOnVarState

    page.add_entry(
        VariablePolicyEntry(
            VENDOR,
            "Guarded",
            lock_policy_type=LockPolicyType.LOCK_ON_VAR_STATE,
            lock_on_var_state=LockOnVarState(VENDOR, 1, "Lock"),
        )
    )
    document = Document(VarStore([Variable("Lock", VENDOR, NV_BS, b"\x01")]))
    page.set_document(document)
    page.tester.namespace.set_guid(VENDOR)
    page.tester.name_edit.setText("Guarded")
    assert page.tester.status_label.text() == "EFI_WRITE_PROTECTED"
    page.tester.use_store.setChecked(False)
    assert page.tester.status_label.text() == "EFI_SUCCESS"
    page.tester.use_store.setChecked(True)
    document.set_variables([Variable("Lock", VENDOR, NV_BS, b"\x00")], "unlock")
    assert page.tester.status_label.text() == "EFI_SUCCESS"
    page.set_document(None)
    document.deleteLater()
