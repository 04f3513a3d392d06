"""The document and its undo commands, the file watcher, and the dialogs (no main window)."""

from __future__ import annotations

import shutil
from pathlib import Path
from uuid import UUID

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from uefivars_gui.cli.storefile import open_store, save_store
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import AT, AW, BS, HR, NV, NV_BS_RT, RT
from uefivars_gui.core.variable import Variable
from uefivars_gui.errors import UsageError
from uefivars_gui.qt.dialogs import AddVariableDialog, ErrorDialog, attribute_warnings, known_namespaces
from uefivars_gui.qt.document import BackgroundTask, Document, load_file, run_in_background
from uefivars_gui.qt.filewatch import FileWatcher

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
QEMU_JSON = DATA / "qemu" / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json"
GLOBAL = g.EFI_GLOBAL_VARIABLE
OTHER = UUID("11111111-2222-3333-4444-555555555555")


def var(name: str, data: bytes = b"\x01", guid: UUID = GLOBAL) -> Variable:
    return Variable(name, guid, NV_BS_RT, data)


@pytest.fixture
def doc(qapp) -> Document:
    return Document.open(QEMU_JSON)


# --- document and commands --------------------------------------------------------------------


def test_document_knows_its_file(doc: Document) -> None:
    assert doc.path == QEMU_JSON and doc.display_name == QEMU_JSON.name
    assert doc.store == open_store(QEMU_JSON).store
    assert not doc.is_modified and doc.history == ()
    assert Document.open(MS_FD).history  # a flash image's deleted records
    assert Document().display_name == "Untitled"


def test_document_does_not_change_the_decoded_origin(doc: Document) -> None:
    image = Document.open(MS_FD)
    before = list(image.origin.store)
    image.delete_variables([(GLOBAL, "Timeout")])
    assert list(image.origin.store) == before


def test_edits_merge_into_one_undo_step(doc: Document, qtbot) -> None:
    key = (GLOBAL, "Timeout")
    original = doc.get(key)
    modified: list[bool] = []
    doc.modified_changed.connect(modified.append)
    assert doc.replace_variable(key, original.with_data(b"\x01\x00"))
    assert doc.replace_variable(key, original.with_data(b"\x02\x00"))
    assert not doc.replace_variable(key, original.with_data(b"\x02\x00"))  # no change, no command
    assert doc.undo_stack.count() == 1 and doc.get(key).data == b"\x02\x00"
    assert modified == [True]
    doc.undo_stack.undo()
    assert doc.get(key) == original and modified == [True, False]


def test_replace_keeps_the_position_even_for_a_new_key(doc: Document) -> None:
    row = doc.row_of((GLOBAL, "Timeout"))
    renamed = doc.get((GLOBAL, "Timeout")).evolve(name="Timeout2")
    doc.replace_variable((GLOBAL, "Timeout"), renamed)
    assert doc.row_of(renamed.key) == row
    with pytest.raises(UsageError):
        doc.replace_variable(renamed.key, renamed.evolve(name="Lang"))  # exists already
    doc.undo_stack.undo()
    assert doc.row_of((GLOBAL, "Timeout")) == row


def test_add_duplicate_delete_and_undo(doc: Document) -> None:
    original = doc.store.copy()
    doc.add_variable(var("New"))
    assert list(doc)[-1].name == "New"
    with pytest.raises(UsageError):
        doc.add_variable(var("New"))
    copy = doc.duplicate_variable((GLOBAL, "Lang"), "Lang2")
    assert doc.row_of(copy.key) == doc.row_of((GLOBAL, "Lang")) + 1
    with pytest.raises(UsageError):
        doc.duplicate_variable((GLOBAL, "Lang"), "Timeout")
    with pytest.raises(UsageError):
        doc.duplicate_variable((GLOBAL, "Lang"), "  ")
    assert (
        doc.delete_variables([(GLOBAL, "New"), copy.key, (GLOBAL, "PlatformLang"), (OTHER, "Missing")]) == 3
    )
    assert doc.undo_stack.undoText() == "Delete 3 variables"
    doc.undo_stack.undo()
    assert [v.name for v in doc][-1] == "New" and copy.key in doc.store
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.store == original and not doc.is_modified
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    assert (GLOBAL, "New") not in doc.store


def test_large_bulk_change_resets_once(doc: Document) -> None:
    resets: list[str] = []
    rows: list[int] = []
    doc.bulk_started.connect(lambda: resets.append("start"))
    doc.bulk_finished.connect(lambda: resets.append("end"))
    doc.variable_inserted.connect(lambda row, _var: rows.append(row))
    assert doc.set_variables([var(f"V{i}") for i in range(100)], "Add 100") == 100
    assert resets == ["start", "end"] and rows == []
    doc.set_variables([var("A"), var("B")], "Add 2")  # small: row signals
    assert len(rows) == 2 and resets == ["start", "end"]
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert resets == ["start", "end", "start", "end"]
    assert doc.store == open_store(QEMU_JSON).store


def test_reload_keep_mine_and_mark_saved(doc: Document, tmp_path: Path) -> None:
    path = tmp_path / "vars.json"
    shutil.copyfile(QEMU_JSON, path)
    doc = Document.open(path)
    doc.delete_variables([(GLOBAL, "Lang")])
    mine = doc.store.copy()
    store = open_store(path).store.copy()
    store.set(var("FromDisk"))
    save_store(path, store, doc.format, doc.origin)
    loaded = load_file(path)
    doc.reload(loaded)
    assert doc.store == store and not doc.is_modified and doc.digest == loaded.digest
    doc.undo_stack.undo()
    assert doc.store == mine and doc.is_modified
    doc.undo_stack.redo()
    assert not doc.is_modified
    doc.keep_mine("other digest")
    assert doc.is_modified  # differs from the file until saved
    clean_index = doc.undo_stack.index()
    doc.add_variable(var("AfterSaveStarted"))
    doc.mark_saved(loaded, clean_index)  # an edit happened while saving: still modified
    assert doc.is_modified
    doc.undo_stack.undo()
    doc.mark_saved(loaded, doc.undo_stack.index())
    assert not doc.is_modified


def test_background_task_delivers_result_and_error(qapp) -> None:
    results: list[object] = []
    run_in_background(lambda: 6 * 7, results.append, results.append)
    run_in_background(lambda: 1 / 0, results.append, results.append)
    BackgroundTask.wait_all(5)
    assert results[0] == 42 and isinstance(results[1], ZeroDivisionError)
    assert BackgroundTask.pending() == 0


# --- file watcher --------------------------------------------------------------------------------


def test_file_watcher_reports_changes_but_not_known_content(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "vars.json"
    shutil.copyfile(QEMU_JSON, path)
    loaded = load_file(path)
    watcher = FileWatcher(settle_ms=20, retry_ms=20, max_attempts=5)
    watcher.watch(path, loaded.digest)
    store = loaded.document.store.copy()
    store.set(var("Changed"))
    with qtbot.waitSignal(watcher.changed, timeout=5000) as blocker:
        save_store(path, store, loaded.document.format, loaded.document.origin)  # atomic replace
    assert (GLOBAL, "Changed") in blocker.args[0].document.store
    # the same bytes again: not a change
    with qtbot.assertNotEmitted(watcher.changed, wait=300):
        path.write_bytes(path.read_bytes())
    # garbage that never becomes a store
    with qtbot.waitSignal(watcher.unreadable, timeout=5000):
        path.write_text("{ torn")
    watcher.pause()
    with qtbot.assertNotEmitted(watcher.changed, wait=200):
        shutil.copyfile(QEMU_JSON, path)
    watcher.watch(None, None)


# --- dialogs ---------------------------------------------------------------------------------------


def test_attribute_warnings() -> None:
    assert attribute_warnings(NV_BS_RT) == []
    assert any("RT without BS" in w for w in attribute_warnings(NV | RT))
    assert any("NV alone" in w for w in attribute_warnings(NV))
    assert any("AT together with AW" in w for w in attribute_warnings(NV_BS_RT | AT | AW))
    assert any("HR outside HwErrRec" in w for w in attribute_warnings(NV_BS_RT | HR, GLOBAL, "Foo"))
    assert not any(
        "HR" in w for w in attribute_warnings(NV_BS_RT | HR, g.EFI_HARDWARE_ERROR_VARIABLE, "HwErrRec0001")
    )
    assert any(
        "differ from the expected NV|BS|RT|AT" in w for w in attribute_warnings(NV_BS_RT, GLOBAL, "PK")
    )
    assert attribute_warnings(BS | RT, GLOBAL, "BootCurrent") == []


def test_known_namespaces_are_variable_namespaces() -> None:
    guids = {guid for _name, guid in known_namespaces()}
    assert GLOBAL in guids and g.SHIM_LOCK in guids
    assert g.EFI_CERT_X509 not in guids and g.SYSTEM_NV_DATA_FV not in guids


def test_add_variable_dialog(qtbot) -> None:
    dialog = AddVariableDialog({(GLOBAL, "Taken")}, [OTHER])
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # no name yet
    assert dialog.guid() == GLOBAL
    dialog.name_edit.setText("Taken")
    assert not ok.isEnabled() and "already exists" in dialog.error_label.text()
    dialog.name_edit.setText("MyVar")
    dialog.kind_combo.setCurrentText("UCS-2 string")
    dialog.value_edit.setText("hi")
    assert ok.isEnabled()
    assert dialog.variable() == Variable("MyVar", GLOBAL, NV_BS_RT, "hi\0".encode("utf-16-le"))
    assert "not a known name" not in dialog.warning_label.text()
    dialog.attribute_boxes.boxes[int(BS)].click()
    assert "RT without BS" in dialog.warning_label.text()
    assert ok.isEnabled()  # a warning, not an error
    dialog.namespace_combo.setEditText("not a guid")
    assert not ok.isEnabled() and dialog.guid() is None
    dialog.set_guid(OTHER)
    assert dialog.guid() == OTHER
    dialog.namespace_combo.setEditText("shim")  # a known short name
    assert dialog.guid() == g.SHIM_LOCK
    dialog.kind_combo.setCurrentText("UINT16")
    dialog.value_edit.setText("70000")
    assert not ok.isEnabled() and "Value" in dialog.error_label.text()
    dialog.kind_combo.setCurrentText("Hex bytes")
    dialog.value_edit.setText("")
    assert ok.isEnabled() and "empty value" in dialog.warning_label.text()


def test_error_dialog_shows_the_traceback(qtbot) -> None:
    try:
        raise ValueError("broken")
    except ValueError as exc:
        dialog = ErrorDialog(type(exc), exc, exc.__traceback__)
    qtbot.addWidget(dialog)
    assert "ValueError: broken" in dialog.details
    assert "broken" in dialog.message.text()
    dialog.copy_details()
