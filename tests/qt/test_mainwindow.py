"""The main window end to end (offscreen): opening every sample, the variable table and
its toggles, editing with undo, saving in every format, external changes, closing with
unsaved changes, and the Diff and Check pages. Dialogs are patched where they are used."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from uuid import UUID

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QDialog, QMessageBox

from uefivars_gui.cli.storefile import open_store, save_store
from uefivars_gui.codec import registry
from uefivars_gui.codec.base import StoreFormat
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS, NV_BS_RT
from uefivars_gui.core.variable import Variable
from uefivars_gui.qt import app as app_module
from uefivars_gui.qt import mainwindow
from uefivars_gui.qt.document import BackgroundTask
from uefivars_gui.qt.mainwindow import MainWindow
from uefivars_gui.qt.models import Role, VariableColumn

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
MS_JSON = DATA / "ovmf" / "OVMF_VARS_4M.ms.virt-fw-vars-26.10.json"
QEMU_JSON = DATA / "qemu" / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json"
MS_AWS = DATA / "aws" / "OVMF_VARS_4M.ms.virt-fw-vars-26.10.aws"
SAMPLES = sorted(
    [
        *DATA.glob("ovmf/*.fd"),
        *DATA.glob("ovmf/*.json"),
        *DATA.glob("qemu/*.json"),
        *DATA.glob("aws/*.aws"),
        *DATA.glob("aws/*.json"),
    ]
)
GLOBAL = g.EFI_GLOBAL_VARIABLE
Button = QMessageBox.StandardButton

# Qt warnings (a model handed the wrong index, ...) fail the tests; the offscreen
# platform's note about size hints does not.
pytestmark = [pytest.mark.qt_log_level_fail("WARNING"), pytest.mark.qt_log_ignore("propagateSizeHints")]


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    # the window gets its own file; anything else asking QSettings lands in tmp too
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "config"))
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def messages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """QMessageBox.warning/critical as used by the main window, recorded instead of shown."""
    shown: list[tuple[str, str]] = []

    def record(_parent: object, title: str, text: str, *_args: object) -> Button:
        shown.append((title, text))
        return Button.Ok

    monkeypatch.setattr(mainwindow.QMessageBox, "warning", record)
    monkeypatch.setattr(mainwindow.QMessageBox, "critical", record)
    return shown


@pytest.fixture
def window(qtbot, settings: QSettings, monkeypatch: pytest.MonkeyPatch, messages):
    # pytest-qt closes the window after the test: unsaved changes are discarded then
    monkeypatch.setattr(mainwindow.QMessageBox, "question", lambda *a, **k: Button.Discard)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    BackgroundTask.wait_all(10)


def open_file(qtbot, window: MainWindow, path: Path) -> None:
    with qtbot.waitSignal(window.document_opened, timeout=10000):
        window.open_path(path)


def save_and_wait(qtbot, window: MainWindow, action) -> None:
    with qtbot.waitSignal(window.document_saved, timeout=10000):
        assert action() is True


def copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    shutil.copyfile(path, target)
    return target


def shown_names(window: MainWindow) -> list[str]:
    proxy = window.proxy
    return [proxy.index(row, VariableColumn.NAME).data() for row in range(proxy.rowCount())]


# --- opening --------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_open_every_sample(qtbot, window: MainWindow, sample: Path) -> None:
    expected = open_store(sample).store
    open_file(qtbot, window, sample)
    doc = window.document
    assert doc is not None and doc.store == expected
    assert window.proxy.rowCount() == len(expected)
    assert window.windowTitle() == f"{sample.name}[*] — uefivars-gui"
    assert not window.isWindowModified()
    assert window.statusBar().currentMessage().startswith(f"Opened {sample.name}")
    assert str(sample.resolve()) in window.recent_files()


def test_open_failure_is_reported(qtbot, window: MainWindow, tmp_path: Path, messages) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not a store")
    with qtbot.waitSignal(window.operation_failed, timeout=5000):
        window.open_path(bad)
    assert messages and messages[0][0] == "Cannot Open Store"
    assert window.document is not None and window.document.path is None  # the empty store stays


def test_drop_a_file_opens_it(qtbot, window: MainWindow) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(QEMU_JSON))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.document_opened, timeout=5000):
        window.dropEvent(event)
    assert window.document.path == QEMU_JSON


def test_command_line_arguments() -> None:
    assert app_module.parse_args([]).store is None
    assert app_module.parse_args(["vars.json"]).store == "vars.json"


# --- the table ------------------------------------------------------------------------------


def test_filter_sort_group_and_deleted_records(qtbot, window: MainWindow) -> None:
    open_file(qtbot, window, MS_FD)
    window.filter_edit.setText("EfiImageSecurity")
    assert sorted(shown_names(window)) == ["db", "dbx"]
    assert "2 of 21" in window.statusBar().currentMessage()
    window.filter_edit.clear()
    assert window.proxy.rowCount() == 21

    window.view.sortByColumn(VariableColumn.NAME, Qt.SortOrder.AscendingOrder)
    assert shown_names(window) == sorted(shown_names(window), key=str.lower)
    window.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    assert shown_names(window) == [v.name for v in window.document]

    window.group_action.setChecked(True)
    namespaces = list(dict.fromkeys(v.guid for v in window.document))
    assert window.proxy.rowCount() == len(namespaces)
    assert window.view.isExpanded(window.proxy.index(0, 0))
    window.filter_edit.setText("dbx")
    assert window.proxy.rowCount() == 1
    assert window._count_shown() == 1
    window.filter_edit.clear()
    assert window.select_variable((GLOBAL, "Timeout"))
    window.group_action.setChecked(False)
    assert window.proxy.rowCount() == 21
    assert window.current_key() == (GLOBAL, "Timeout")  # the selection survives the toggle

    window.deleted_action.setChecked(True)
    assert window.proxy.rowCount() == 21 + 18
    assert "18 deleted" in window.statusBar().currentMessage()
    history = window.proxy.index(21, 0)
    assert history.data(Role.IS_HISTORY)
    window.view.setCurrentIndex(history)
    assert window.details.read_only
    assert window.details.current == history.data(Role.VARIABLE)
    assert not window.delete_action.isEnabled()
    window.group_action.setChecked(True)  # grouping with history rows
    total = sum(window.proxy.rowCount(window.proxy.index(r, 0)) for r in range(window.proxy.rowCount()))
    assert total == 21 + 18
    window.deleted_action.setChecked(False)
    window.group_action.setChecked(False)
    assert window.proxy.rowCount() == 21


def test_toggles_and_layout_are_remembered(qtbot, window: MainWindow, settings: QSettings) -> None:
    open_file(qtbot, window, MS_FD)
    window.group_action.setChecked(True)
    window.deleted_action.setChecked(True)
    window.save_settings()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.group_action.isChecked() and again.deleted_action.isChecked()
    assert again.recent_files()[0] == str(MS_FD.resolve())
    assert [a.toolTip() for a in again.recent_menu.actions()][0] == str(MS_FD.resolve())


# --- editing --------------------------------------------------------------------------------


class FakeAddDialog:
    DialogCode = QDialog.DialogCode
    variable_to_add = Variable("NewVar", UUID("11111111-2222-3333-4444-555555555555"), NV_BS_RT, b"\x2a")

    def __init__(self, existing, namespaces, parent) -> None:
        self.existing = set(existing)

    def exec(self) -> QDialog.DialogCode:
        return QDialog.DialogCode.Accepted

    def variable(self) -> Variable:
        return self.variable_to_add


def test_add_duplicate_delete_with_undo_redo(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_file(qtbot, window, QEMU_JSON)
    doc = window.document
    original = doc.store.copy()
    monkeypatch.setattr(mainwindow, "AddVariableDialog", FakeAddDialog)
    window.add_action.trigger()
    new_key = FakeAddDialog.variable_to_add.key
    assert new_key in doc.store and window.current_key() == new_key
    assert window.isWindowModified()
    assert window.statusBar().currentMessage().startswith("Added NewVar")
    window.undo_action.trigger()
    assert doc.store == original and not window.isWindowModified()
    window.redo_action.trigger()
    assert new_key in doc.store

    assert window.select_variable((GLOBAL, "Timeout"))
    monkeypatch.setattr(mainwindow.QInputDialog, "getText", lambda *a, **k: ("TimeoutCopy", True))
    window.duplicate_action.trigger()
    copy_var = doc.get((GLOBAL, "TimeoutCopy"))
    assert copy_var is not None and copy_var.data == doc.get((GLOBAL, "Timeout")).data
    assert doc.row_of((GLOBAL, "TimeoutCopy")) == doc.row_of((GLOBAL, "Timeout")) + 1

    # delete two rows: one undo step
    window.view.clearSelection()
    for key in ((GLOBAL, "TimeoutCopy"), new_key):
        index = window._proxy_index(key)
        window.view.selectionModel().select(
            index,
            window.view.selectionModel().SelectionFlag.Select
            | window.view.selectionModel().SelectionFlag.Rows,
        )
    assert window.delete_action.isEnabled()
    window.delete_action.trigger()
    assert new_key not in doc.store and (GLOBAL, "TimeoutCopy") not in doc.store
    assert doc.undo_stack.undoText() == "Delete 2 variables"
    window.undo_action.trigger()
    assert new_key in doc.store and (GLOBAL, "TimeoutCopy") in doc.store
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert doc.store == original and not window.isWindowModified()


def test_edit_through_the_details_pane_then_undo(qtbot, window: MainWindow) -> None:
    open_file(qtbot, window, MS_FD)
    doc = window.document
    key = (GLOBAL, "Timeout")
    window.select_variable(key)
    before = doc.get(key)
    assert window.details.current == before
    edited = before.with_data(b"\x05\x00")
    window.details.editor.variable_edited.emit(edited)
    assert doc.get(key) == edited
    assert window.isWindowModified()
    assert window.proxy.index(window._proxy_index(key).row(), VariableColumn.VALUE).data().startswith("5 s")
    window.undo_action.trigger()
    assert doc.get(key) == before and not window.isWindowModified()
    assert window.details.current == before


def test_attribute_change_from_the_pane(qtbot, window: MainWindow) -> None:
    open_file(qtbot, window, QEMU_JSON)
    key = (GLOBAL, "Timeout")
    window.select_variable(key)
    var = window.document.get(key)
    window.details.variable_changed.emit(key, var.evolve(attributes=NV_BS))
    assert window.document.get(key).attributes == NV_BS
    assert window.proxy.index(window._proxy_index(key).row(), VariableColumn.ATTRIBUTES).data() == "NV|BS"


# --- saving ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", [MS_FD, QEMU_JSON, MS_JSON, MS_AWS], ids=lambda p: p.name)
def test_unchanged_store_saves_byte_identical(
    qtbot, window: MainWindow, tmp_path: Path, sample: Path
) -> None:
    path = copy(sample, tmp_path)
    open_file(qtbot, window, path)
    save_and_wait(qtbot, window, window.save)
    assert path.read_bytes() == sample.read_bytes()
    assert not window.isWindowModified()
    assert window.statusBar().currentMessage().startswith(f"Saved {path.name}")


@pytest.mark.parametrize("sample", [MS_FD, QEMU_JSON, MS_AWS], ids=lambda p: p.name)
def test_changed_store_saves_and_reloads_equal(
    qtbot, window: MainWindow, tmp_path: Path, sample: Path
) -> None:
    path = copy(sample, tmp_path)
    open_file(qtbot, window, path)
    doc = window.document
    doc.replace_variable((GLOBAL, "Timeout"), doc.get((GLOBAL, "Timeout")).with_data(b"\x07\x00"))
    doc.add_variable(Variable("Added", GLOBAL, NV_BS_RT, b"hello"))
    doc.delete_variables([(GLOBAL, "Lang")])
    assert window.isWindowModified()
    save_and_wait(qtbot, window, window.save)
    assert not window.isWindowModified()
    assert open_store(path).store == doc.store
    window.undo_action.trigger()  # undo after save: modified again
    assert window.isWindowModified()


def test_save_as_other_formats(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_file(qtbot, window, QEMU_JSON)
    doc = window.document
    target = tmp_path / "converted.fd"
    monkeypatch.setattr(mainwindow.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    asked: list[list[str]] = []

    def get_item(_parent, _title, _label, items, *_args):
        asked.append(items)
        return items[0], True  # 4M

    monkeypatch.setattr(mainwindow.QInputDialog, "getItem", get_item)
    save_and_wait(qtbot, window, window.save_as)
    assert asked and asked[0][0].startswith("4M")
    assert doc.path == target and doc.format is StoreFormat.EDK2
    assert window.windowTitle().startswith("converted.fd[*]")
    saved = open_store(target)
    assert saved.format is StoreFormat.EDK2
    assert [v.key for v in saved.store] == [v.key for v in doc.store]
    assert [v.data for v in saved.store] == [v.data for v in doc.store]

    # flash image -> AWS, chosen by the filter (no extension typed)
    aws_target = tmp_path / "converted"
    monkeypatch.setattr(
        mainwindow.QFileDialog, "getSaveFileName", lambda *a, **k: (str(aws_target), "AWS uefi-data (*.aws)")
    )
    save_and_wait(qtbot, window, window.save_as)
    assert doc.path == tmp_path / "converted.aws" and doc.format is StoreFormat.AWS
    assert [v.data for v in open_store(doc.path).store] == [v.data for v in doc.store]


def test_full_flash_store_explains_the_missing_bytes(
    qtbot, window: MainWindow, tmp_path: Path, messages
) -> None:
    path = copy(MS_FD, tmp_path)
    open_file(qtbot, window, path)
    window.document.add_variable(Variable("Huge", GLOBAL, NV_BS_RT, b"\x00" * 300_000))
    with qtbot.waitSignal(window.operation_failed, timeout=10000) as blocker:
        assert window.save()
    text = blocker.args[0]
    assert "do not fit" in text and "4M" in text
    missing = int(text.split(": ")[1].split(" bytes")[0])
    assert missing > 0
    assert messages[-1] == ("Cannot Save", text)
    assert path.read_bytes() == MS_FD.read_bytes()  # the file was not touched
    assert window.isWindowModified()


# --- closing --------------------------------------------------------------------------------


def test_close_with_unsaved_changes_asks(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy(QEMU_JSON, tmp_path)
    open_file(qtbot, window, path)
    window.document.delete_variables([(GLOBAL, "Timeout")])
    answers = [Button.Cancel]
    asked: list[str] = []

    def question(_parent, title, text, *args):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(mainwindow.QMessageBox, "question", question)
    assert not window.close()
    assert window.isVisible() and len(asked) == 1 and "unsaved changes" in asked[0]

    answers.append(Button.Save)
    with qtbot.waitSignal(window.document_saved, timeout=10000):
        window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert (GLOBAL, "Timeout") not in open_store(path).store


def test_close_discarding_changes(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = copy(QEMU_JSON, tmp_path)
    open_file(qtbot, window, path)
    window.document.delete_variables([(GLOBAL, "Timeout")])
    monkeypatch.setattr(mainwindow.QMessageBox, "question", lambda *a, **k: Button.Discard)
    assert window.close()
    assert path.read_bytes() == QEMU_JSON.read_bytes()


def test_opening_another_file_asks_about_unsaved_changes(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_file(qtbot, window, QEMU_JSON)
    window.document.delete_variables([(GLOBAL, "Timeout")])
    monkeypatch.setattr(mainwindow.QMessageBox, "question", lambda *a, **k: Button.Cancel)
    window.open_path(MS_FD)
    assert window.document.path == QEMU_JSON
    monkeypatch.setattr(mainwindow.QMessageBox, "question", lambda *a, **k: Button.Discard)
    open_file(qtbot, window, MS_FD)
    assert window.document.path == MS_FD


# --- external changes ------------------------------------------------------------------------


def rewrite_on_disk(path: Path, change) -> None:
    opened = open_store(path)
    store = opened.store.copy()
    change(store)
    save_store(path, store, opened.format, opened.document.origin)


def test_external_change_bar_reload(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = copy(QEMU_JSON, tmp_path)
    open_file(qtbot, window, path)
    doc = window.document
    mine = doc.store.copy()
    rewrite_on_disk(path, lambda s: s.set(s.get(GLOBAL, "Timeout").with_data(b"\x09\x00")))
    qtbot.waitUntil(window.change_bar.isVisible, timeout=10000)
    text = window.change_bar.message.text()
    assert "1 changed (Timeout)" in text
    assert doc.store == mine  # nothing taken silently
    window.change_bar.reload_button.click()
    assert not window.change_bar.isVisible()
    assert doc.get((GLOBAL, "Timeout")).data == b"\x09\x00"
    assert not window.isWindowModified()
    window.undo_action.trigger()  # the reload can be undone
    assert doc.store == mine and window.isWindowModified()


def test_external_change_bar_keep_mine_and_half_written_files(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    path = copy(QEMU_JSON, tmp_path)
    open_file(qtbot, window, path)
    doc = window.document
    doc.delete_variables([(GLOBAL, "Lang")])
    with path.open("r+b") as handle:  # QEMU rewrites in place: first a torn write
        handle.write(b'{"version": 2, "variables": [')
        handle.truncate()
    qtbot.wait(400)
    assert not window.change_bar.isVisible()  # still retrying
    opened = open_store(QEMU_JSON)
    store = opened.store.copy()
    store.append(Variable("FromGuest", GLOBAL, NV_BS_RT, b"\x01"))
    with path.open("r+b") as handle:
        handle.write(registry.encode(store, StoreFormat.JSON, opened.document.origin))
        handle.truncate()
    qtbot.waitUntil(window.change_bar.isVisible, timeout=10000)
    text = window.change_bar.message.text()
    assert "FromGuest" in text and "unsaved changes" in text
    window.change_bar.keep_button.click()
    assert not window.change_bar.isVisible()
    assert (GLOBAL, "FromGuest") not in doc.store and window.isWindowModified()

    # our own save re-arms the watch (atomic replace) and is not reported as a change
    save_and_wait(qtbot, window, window.save)
    qtbot.wait(500)
    assert not window.change_bar.isVisible()
    rewrite_on_disk(path, lambda s: s.set(Variable("Again", GLOBAL, NV_BS_RT, b"\x02")))
    qtbot.waitUntil(window.change_bar.isVisible, timeout=10000)
    assert "Again" in window.change_bar.message.text()


def test_saving_never_overwrites_a_change_made_on_disk(
    qtbot, window: MainWindow, tmp_path: Path, messages
) -> None:
    path = copy(QEMU_JSON, tmp_path)
    open_file(qtbot, window, path)
    window.watcher.pause()  # the change lands before the watcher looks at it
    window.document.delete_variables([(GLOBAL, "Lang")])
    rewrite_on_disk(path, lambda s: s.set(Variable("ByQemu", GLOBAL, NV_BS_RT, b"\x01")))
    disk = path.read_bytes()
    with qtbot.waitSignal(window.operation_failed, timeout=10000) as blocker:
        window.save()
    assert "changed on disk" in blocker.args[0]
    assert path.read_bytes() == disk
    qtbot.waitUntil(window.change_bar.isVisible, timeout=10000)  # and now says what changed
    assert "ByQemu" in window.change_bar.message.text()
    window.change_bar.keep_button.click()
    save_and_wait(qtbot, window, window.save)  # kept deliberately: now it may be overwritten
    saved = open_store(path).store
    assert (GLOBAL, "ByQemu") not in saved and (GLOBAL, "Lang") not in saved


# --- pages ----------------------------------------------------------------------------------


def test_diff_page_against_another_file(qtbot, window: MainWindow) -> None:
    open_file(qtbot, window, QEMU_JSON)
    page = window.diff_page
    with qtbot.waitSignal(page.message, timeout=10000):
        page.compare_with(MS_JSON)
    counts = page.model.counts()
    assert sum(counts.values()) == page.model.rowCount() > 0
    assert "From " in page.summary_label.text()
    row = next(r for r in range(page.model.rowCount()) if page.model.change(r).after is not None)
    key = page.model.change(row).variable.key
    with qtbot.waitSignal(page.variable_activated):
        page.view.doubleClicked.emit(page.model.index(row, 0))
    assert window.pages.currentWidget() is window.variables_page
    assert window.current_key() == key

    # the diff follows edits of the open store; "Compare with Saved" shows unsaved changes
    with qtbot.waitSignal(page.message, timeout=10000):
        page.compare_with_saved()
    assert page.model.rowCount() == 0
    window.document.delete_variables([(GLOBAL, "Timeout")])
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5000)
    assert page.model.index(0, 0).data().endswith("removed")


def test_check_page_selects_the_variable_of_a_finding(qtbot, window: MainWindow) -> None:
    open_file(qtbot, window, MS_FD)
    page = window.check_page
    with qtbot.waitSignal(page.report_ready, timeout=10000):
        window.pages.setCurrentWidget(page)
    assert page.model.rowCount() > 0
    row = next(r for r in range(page.model.rowCount()) if page.model.finding(r).variable)
    key = page.model.finding(row).variable
    page.view.doubleClicked.emit(page.model.index(row, 2))
    assert window.pages.currentWidget() is window.variables_page
    assert window.current_key() == key
    window.filter_edit.setText("nothing matches this")
    window.pages.setCurrentWidget(page)
    page.view.doubleClicked.emit(page.model.index(row, 2))
    assert window.filter_edit.text() == "" and window.current_key() == key


def test_add_page_is_extensible(window: MainWindow) -> None:
    from PySide6.QtWidgets import QLabel

    index = window.add_page("Secure Boot", QLabel("later"))
    assert window.pages.tabText(index) == "Secure Boot"


# --- the error dialog ----------------------------------------------------------------------


def test_excepthook_shows_the_error_dialog(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    from uefivars_gui.qt import dialogs

    shown: list[str] = []
    monkeypatch.setattr(dialogs.ErrorDialog, "exec", lambda self: shown.append(self.details) or 0)
    previous = app_module.install_excepthook()
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = previous
    assert shown and "RuntimeError: boom" in shown[0]
