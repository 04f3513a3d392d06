"""The item models: qtmodeltester on each, and their following of document changes."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS_RT
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.ops.check import check_store
from uefivars_gui.ops.diff import diff_stores
from uefivars_gui.qt.checkview import CheckModel
from uefivars_gui.qt.diffview import DiffModel
from uefivars_gui.qt.document import Document
from uefivars_gui.qt.models import (
    NamespaceGroupModel,
    Role,
    VariableColumn,
    VariableFilterProxy,
    VariableTableModel,
    filter_pattern,
)

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
QEMU_JSON = DATA / "qemu" / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json"
OTHER_GUID = UUID("11111111-2222-3333-4444-555555555555")

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def var(name: str, guid: UUID = g.EFI_GLOBAL_VARIABLE, data: bytes = b"\x01") -> Variable:
    return Variable(name, guid, NV_BS_RT, data)


@pytest.fixture
def document(qapp) -> Document:
    return Document.open(MS_FD)


def names(model, parent: QModelIndex = QModelIndex()) -> list[str]:  # noqa: B008
    return [model.index(row, VariableColumn.NAME, parent).data() for row in range(model.rowCount(parent))]


def test_table_model_rows_columns_and_roles(qtmodeltester, document: Document) -> None:
    model = VariableTableModel(document)
    qtmodeltester.check(model)
    assert model.rowCount() == len(document) == 21
    assert model.columnCount() == len(VariableColumn)
    first = next(iter(document))
    assert names(model)[0] == first.name
    index = model.index(0, VariableColumn.NAMESPACE)
    assert index.data() == g.guid_label(first.guid)
    assert index.data(Qt.ItemDataRole.ToolTipRole) == str(first.guid)
    assert model.index(0, VariableColumn.SIZE).data() == first.size
    assert model.index(0, 0).data(Role.VARIABLE) == first
    assert model.index(0, 0).data(Role.KEY) == first.key
    boot = model.row_of((g.EFI_GLOBAL_VARIABLE, "Boot0000"))
    assert "UiApp" in model.index(boot, VariableColumn.VALUE).data()
    assert model.headerData(VariableColumn.ATTRIBUTES, Qt.Orientation.Horizontal) == "Attributes"


def test_table_model_history_rows_are_greyed_and_read_only(qtmodeltester, document: Document) -> None:
    model = VariableTableModel(document)
    qtmodeltester.check(model)
    assert model.history_count == 18
    model.set_show_history(True)
    assert model.rowCount() == 21 + 18
    row = 21
    index = model.index(row, VariableColumn.NAME)
    assert index.data(Role.IS_HISTORY) is True
    assert index.data(Role.KEY) is None
    assert index.data(Role.RECORD).status.value in (
        "deleted",
        "history",
        "incomplete",
        "invalid",
        "in-transition",
    )
    assert index.data(Qt.ItemDataRole.ForegroundRole) is None  # until the view gives its colour
    model.history_foreground = QColor(128, 128, 128)
    assert index.data(Qt.ItemDataRole.ForegroundRole) == QColor(128, 128, 128)
    assert index.data(Qt.ItemDataRole.FontRole).italic()
    assert not model.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert "read only" in index.data(Qt.ItemDataRole.ToolTipRole)
    model.set_show_history(False)
    assert model.rowCount() == 21


def test_table_model_follows_document_changes(qtmodeltester, document: Document) -> None:
    model = VariableTableModel(document)
    model.set_show_history(True)
    qtmodeltester.check(model)
    document.add_variable(var("Test"))
    assert names(model)[21] == "Test"
    assert model.rowCount() == 22 + 18
    document.replace_variable((g.EFI_GLOBAL_VARIABLE, "Test"), var("Test", data=b"\x02\x03"))
    assert model.index(21, VariableColumn.SIZE).data() == 2
    document.delete_variables([(g.EFI_GLOBAL_VARIABLE, "Test"), (g.EFI_GLOBAL_VARIABLE, "Timeout")])
    assert "Test" not in names(model) and "Timeout" not in names(model)
    document.undo_stack.undo()
    assert names(model)[: len(document)] == [v.name for v in document]
    many = [var(f"Bulk{i:03d}") for i in range(100)]
    document.set_variables(many, "Add 100")  # large: one reset
    assert model.rowCount() == len(document) + 18
    document.undo_stack.undo()
    assert model.rowCount() == len(document) + 18


def test_group_model(qtmodeltester, document: Document) -> None:
    table = VariableTableModel(document)
    group = NamespaceGroupModel()
    group.setSourceModel(table)
    qtmodeltester.check(group)
    namespaces = list(dict.fromkeys(v.guid for v in document))
    assert group.rowCount() == len(namespaces)
    for row, guid in enumerate(namespaces):
        parent = group.index(row, 0)
        assert parent.data(Role.IS_GROUP) is True
        assert parent.data(Role.GUID) == guid
        assert parent.data() == g.guid_label(guid)
        children = names(group, parent)
        assert children == [v.name for v in document if v.guid == guid]
        child = group.index(0, 0, parent)
        assert group.parent(child) == parent
        assert group.mapFromSource(group.mapToSource(child)) == child

    # a new namespace appears, and goes when its last variable goes
    document.add_variable(var("Lonely", OTHER_GUID))
    assert group.rowCount() == len(namespaces) + 1
    assert names(group, group.index(len(namespaces), 0)) == ["Lonely"]
    document.add_variable(var("Another"))  # into an existing group
    global_row = namespaces.index(g.EFI_GLOBAL_VARIABLE)
    assert names(group, group.index(global_row, 0))[-1] == "Another"
    document.delete_variables([(OTHER_GUID, "Lonely")])
    assert group.rowCount() == len(namespaces)
    # history rows group by their vendor GUID too
    table.set_show_history(True)
    total = sum(group.rowCount(group.index(row, 0)) for row in range(group.rowCount()))
    assert total == table.rowCount()
    # a variable moving namespace (the key changes)
    document.replace_variable((g.EFI_GLOBAL_VARIABLE, "Another"), var("Another", OTHER_GUID))
    assert names(group, group.index(group.rowCount() - 1, 0)) == ["Another"]
    document.undo_stack.undo()
    table.set_show_history(False)
    assert sum(group.rowCount(group.index(row, 0)) for row in range(group.rowCount())) == len(document)


def test_filter_proxy_flat_and_grouped(qtmodeltester, document: Document) -> None:
    table = VariableTableModel(document)
    proxy = VariableFilterProxy()
    proxy.setSourceModel(table)
    qtmodeltester.check(proxy)
    proxy.set_filter_text("boot0")  # names, and values naming Boot0000 (Key####)
    assert sorted(names(proxy)) == ["Boot0000", "Boot0001", "Key0000", "Key0001"]
    proxy.set_filter_text("d719b2cb")  # the image-security GUID
    assert sorted(names(proxy)) == ["db", "dbx"]
    proxy.set_filter_text("global RT|AT")  # every word must match
    assert sorted(names(proxy)) == ["KEK", "PK"]
    proxy.set_filter_text("UiApp")  # decoded value text
    assert names(proxy) == ["Boot0000"]
    proxy.set_filter_text("")
    assert proxy.rowCount() == len(document)
    proxy.sort(VariableColumn.NAME, Qt.SortOrder.AscendingOrder)
    assert names(proxy) == sorted(names(proxy), key=str.lower)
    proxy.sort(VariableColumn.SIZE, Qt.SortOrder.DescendingOrder)
    sizes = [proxy.index(row, VariableColumn.SIZE).data() for row in range(proxy.rowCount())]
    assert sizes == sorted(sizes, reverse=True)
    proxy.sort(-1)
    assert names(proxy) == [v.name for v in document]

    group = NamespaceGroupModel()
    group.setSourceModel(table)
    proxy.setSourceModel(group)
    proxy.set_filter_text("dbx")
    assert proxy.rowCount() == 1
    parent = proxy.index(0, 0)
    assert parent.data() == "EfiImageSecurityDatabase"
    assert names(proxy, parent) == ["dbx"]
    proxy.set_filter_text("EfiImageSecurity")  # a namespace name shows all its children
    assert sorted(names(proxy, proxy.index(0, 0))) == ["db", "dbx"]
    document.add_variable(var("dbxNew", g.EFI_IMAGE_SECURITY_DATABASE))
    assert "dbxNew" in names(proxy, proxy.index(0, 0))


def test_filter_pattern() -> None:
    assert filter_pattern("") == ""
    assert filter_pattern("  ") == ""
    assert filter_pattern("a.b") == "a\\.b"
    assert filter_pattern("a b") == "\\A(?=[\\s\\S]*?a)(?=[\\s\\S]*?b)"


def test_diff_model(qtmodeltester, document: Document) -> None:
    other = document.store.copy()
    other.remove(g.EFI_GLOBAL_VARIABLE, "Lang")
    other.set(var("Timeout", data=b"\x05\x00"))
    other.set(var("Extra", OTHER_GUID))
    model = DiffModel()
    qtmodeltester.check(model)
    model.set_changes(diff_stores(other, document.store))
    assert model.rowCount() == 3
    texts = {model.index(r, 1).data(): [model.index(r, c).data() for c in range(6)] for r in range(3)}
    assert texts["Extra"][0].endswith("removed")
    assert texts["Lang"][0].endswith("added")
    assert texts["Timeout"][0].endswith("changed")
    assert texts["Timeout"][3] == "data"
    assert texts["Timeout"][4].startswith("5 s") and texts["Timeout"][5].startswith("0 s")  # typed summaries


def test_check_model(qtmodeltester, document: Document) -> None:
    model = CheckModel()
    qtmodeltester.check(model)
    report = check_store(document.store, document.origin)
    model.set_report(report)
    assert model.rowCount() == len(report.findings)
    severities = [model.finding(row).severity for row in range(model.rowCount())]
    assert severities == sorted(severities, reverse=True)
    with_key = next(row for row in range(model.rowCount()) if model.finding(row).variable)
    assert model.index(with_key, 2).data(Qt.ItemDataRole.UserRole + 1) == model.finding(with_key).variable
    model.set_report(None)
    assert model.rowCount() == 0


def test_models_on_a_json_store(qtmodeltester, qapp) -> None:
    document = Document.open(QEMU_JSON)
    table = VariableTableModel(document)
    qtmodeltester.check(table)
    assert table.history_count == 0
    table.set_show_history(True)
    assert table.rowCount() == len(document)
    empty = VariableTableModel(Document(VarStore()))
    qtmodeltester.check(empty)
    assert empty.rowCount() == 0


def test_sorted_table_follows_document_changes(qtmodeltester, document: Document) -> None:
    table = VariableTableModel(document)
    table.set_show_history(True)
    proxy = VariableFilterProxy()
    proxy.setSourceModel(table)
    qtmodeltester.check(proxy)
    persistent = QPersistentModelIndex(proxy.index(0, 0))  # certdb, first in store order
    proxy.sort(VariableColumn.NAME, Qt.SortOrder.AscendingOrder)
    live = names(proxy)[: len(document)]
    assert live == sorted(live, key=str.casefold)
    assert persistent.data() == "certdb"  # selections follow the sort

    def live_names() -> list[str]:
        return names(proxy)[: len(document)]

    document.add_variable(var("Aaa"))
    document.add_variable(var("zzz"))
    assert live_names()[0] == "Aaa" and live_names()[-1] == "zzz"
    document.replace_variable((g.EFI_GLOBAL_VARIABLE, "Aaa"), var("Mmm"))  # moves down
    assert live_names() == sorted(live_names(), key=str.casefold)
    document.replace_variable((g.EFI_GLOBAL_VARIABLE, "Mmm"), var("Mmm", data=b"\x09"))  # same place
    document.delete_variables([(g.EFI_GLOBAL_VARIABLE, "zzz"), (g.EFI_GLOBAL_VARIABLE, "Timeout")])
    assert "zzz" not in live_names() and live_names() == sorted(live_names(), key=str.casefold)
    document.undo_stack.undo()
    assert live_names() == sorted(live_names(), key=str.casefold) and "Timeout" in live_names()

    proxy.sort(VariableColumn.SIZE, Qt.SortOrder.DescendingOrder)
    sizes = [proxy.index(r, VariableColumn.SIZE).data() for r in range(len(document))]
    assert sizes == sorted(sizes, reverse=True)
    history_sizes = [
        proxy.index(r, VariableColumn.SIZE).data() for r in range(len(document), proxy.rowCount())
    ]
    assert history_sizes == sorted(history_sizes, reverse=True)  # history rows stay last, sorted too
    document.add_variable(var("Big", data=b"\x00" * 5000))
    assert live_names()[0] == "Big"

    group = NamespaceGroupModel()
    group.setSourceModel(table)
    proxy.setSourceModel(group)
    global_row = next(
        r for r in range(proxy.rowCount()) if proxy.index(r, 0).data(Role.GUID) == g.EFI_GLOBAL_VARIABLE
    )
    children = names(proxy, proxy.index(global_row, 0))
    assert children[0] == "Big"
    proxy.sort(-1)
    assert table.sort_column == -1
    proxy.setSourceModel(table)
    assert live_names() == [v.name for v in document]
