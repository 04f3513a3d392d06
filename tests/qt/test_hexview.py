"""HexView / HexModel: display, overwrite and insert/delete editing, highlight, byte clicks."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractItemView

from uefivars_gui.qt.hexview import ASCII_COLUMN, HIGHLIGHT_ROLE, OFFSET_ROLE, HexModel, HexView

_CHECKED_MODELS: list[object] = []


def check_model(qtmodeltester, model) -> None:  # type: ignore[no-untyped-def]
    """qtmodeltester with its Python checks (a failure raises) and the model kept alive."""
    _CHECKED_MODELS.append(model)
    qtmodeltester.check(model, force_py=True)


@pytest.fixture
def view(qtbot):  # type: ignore[no-untyped-def]
    widget = HexView()
    qtbot.addWidget(widget)
    widget.resize(900, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_model_passes_qabstractitemmodeltester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = HexModel(bytes(range(256)) + b"tail")
    model.set_highlight(10, 40)
    check_model(qtmodeltester, model)
    model.set_read_only(True)
    check_model(qtmodeltester, model)
    check_model(qtmodeltester, HexModel(b""))


def test_rows_columns_and_text() -> None:
    model = HexModel(b"AB\x00\x7f" + bytes(range(0x20, 0x40)))
    assert model.rowCount() == 3
    assert model.columnCount() == 32
    assert model.headerData(1, Qt.Orientation.Vertical) == "00000010"
    assert model.headerData(0xF, Qt.Orientation.Horizontal) == "F"
    assert model.index(0, 0).data() == "41"
    assert model.index(0, ASCII_COLUMN).data() == "A"
    assert model.index(0, ASCII_COLUMN + 2).data() == "."  # NUL
    assert model.index(0, ASCII_COLUMN + 3).data() == "."  # DEL
    assert model.index(1, 3).data(OFFSET_ROLE) == 19
    # cells past the end are empty and disabled
    assert model.index(2, 5).data() is None
    assert model.flags(model.index(2, 5)) == Qt.ItemFlag.NoItemFlags
    assert "offset 1 (0x1): 0x42" in model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)


def test_overwrite_through_set_data_emits_the_buffer() -> None:
    model = HexModel(b"\x00\x01\x02")
    edits: list[bytes] = []
    model.data_edited.connect(edits.append)
    assert model.setData(model.index(0, 1), "ff")
    assert model.setData(model.index(0, ASCII_COLUMN + 2), "Z")
    assert not model.setData(model.index(0, 0), "zz")
    assert not model.setData(model.index(0, 0), "100")
    assert model.setData(model.index(0, 0), "00")  # unchanged: accepted, nothing emitted
    assert edits == [b"\x00\xff\x02", b"\x00\xffZ"]


def test_typing_hex_digits_overwrites_and_moves_on(view: HexView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_bytes(bytes(20))
    edits: list[bytes] = []
    view.data_edited.connect(edits.append)
    view.setFocus()
    view.select_byte(15)
    qtbot.keyClicks(view, "4")
    qtbot.keyClicks(view.focusWidget(), "f")
    assert view.bytes()[15] == 0x4F
    # the editor moved on to the next byte, on the next row of the hex pane
    assert view.current_offset() == 16
    qtbot.keyClicks(view.focusWidget(), "a0")
    assert view.bytes()[15:17] == b"\x4f\xa0"
    assert edits[-1] == view.bytes()


def test_insert_append_and_delete_actions(view: HexView) -> None:
    view.set_bytes(b"\x01\x02\x03\x04")
    edits: list[bytes] = []
    view.data_edited.connect(edits.append)
    view.select_byte(1)
    view.insert_action.trigger()
    assert view.bytes() == b"\x01\x00\x02\x03\x04"
    view.append_action.trigger()
    assert view.bytes() == b"\x01\x00\x02\x03\x04\x00"
    model = view.hex_model()
    view.selectionModel().select(model.index(0, 2), view.selectionModel().SelectionFlag.ClearAndSelect)
    view.selectionModel().select(model.index(0, 3), view.selectionModel().SelectionFlag.Select)
    assert view.selected_span() == (2, 2)
    view.delete_action.trigger()
    assert view.bytes() == b"\x01\x00\x04\x00"
    assert edits[-1] == b"\x01\x00\x04\x00"
    assert len(edits) == 3


def test_insert_and_delete_keys(view: HexView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_bytes(b"\x01\x02\x03")
    view.activateWindow()
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=1000)
    view.select_byte(1)
    qtbot.keyClick(view, Qt.Key.Key_Insert)
    assert view.bytes() == b"\x01\x00\x02\x03"
    view.select_byte(3)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert view.bytes() == b"\x01\x00\x02"


def test_read_only_refuses_edits(view: HexView) -> None:
    view.set_bytes(b"abc")
    view.set_read_only(True)
    model = view.hex_model()
    assert not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable
    assert not model.setData(model.index(0, 0), "00")
    assert not view.insert_action.isEnabled()
    assert not view.delete_action.isEnabled()
    view.select_byte(0)
    view.delete_selection()
    assert view.bytes() == b"abc"
    view.set_read_only(False)
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable


def test_highlight_marks_bytes_in_both_panes(view: HexView) -> None:
    view.set_bytes(bytes(64))
    view.highlight(14, 4)
    model = view.hex_model()
    assert view.highlighted() == (14, 4)
    marked = {
        model.index(r, c).data(OFFSET_ROLE)
        for r in range(4)
        for c in range(32)
        if model.index(r, c).data(HIGHLIGHT_ROLE)
    }
    assert marked == {14, 15, 16, 17}
    assert model.index(1, ASCII_COLUMN + 1).data(HIGHLIGHT_ROLE)
    brush = model.index(0, 14).data(Qt.ItemDataRole.BackgroundRole)
    assert brush.color().rgb() == view.palette().color(QPalette.ColorRole.Highlight).rgb()  # from the palette
    assert model.index(0, 13).data(Qt.ItemDataRole.BackgroundRole) is None
    view.highlight(0, 0)
    assert view.highlighted() == (0, 0)
    assert not model.index(0, 14).data(HIGHLIGHT_ROLE)


def test_clicking_a_byte_reports_its_offset(view: HexView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_bytes(bytes(range(48)))
    model = view.hex_model()
    for index, offset in (
        (model.index(1, 3), 19),
        (model.index(2, ASCII_COLUMN + 5), 37),
        (model.index(2, ASCII_COLUMN + 5), 37),
    ):
        with qtbot.waitSignal(view.byte_clicked) as blocker:
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())
        assert blocker.args == [offset]


def test_keyboard_navigation_reports_bytes_too(view: HexView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_bytes(bytes(40))
    view.select_byte(15)
    clicked: list[int] = []
    view.byte_clicked.connect(clicked.append)
    index = view.moveCursor(QAbstractItemView.CursorAction.MoveNext, Qt.KeyboardModifier.NoModifier)
    assert view.hex_model().offset_of(index) == 16
    view.setCurrentIndex(index)
    assert clicked == [16]
    previous = view.moveCursor(QAbstractItemView.CursorAction.MovePrevious, Qt.KeyboardModifier.NoModifier)
    assert view.hex_model().offset_of(previous) == 15


def test_64_kib_stays_fast(view: HexView, qtbot) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 256
    start = time.perf_counter()
    view.set_bytes(data)
    view.highlight(60000, 3000)
    view.repaint()
    view.select_byte(65535)
    view.repaint()
    assert time.perf_counter() - start < 2.0
    assert view.hex_model().rowCount() == 4096
    assert view.hex_model().index_of(65535).isValid()
    assert not view.hex_model().index_of(65536).isValid()
    assert view.hex_model().offset_of(QModelIndex()) is None
