"""FieldTree / FieldTreeModel over core.fields.Field."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt

from uefivars_gui.codec import edk2
from uefivars_gui.core.fields import Field
from uefivars_gui.core.typed import decode_variable
from uefivars_gui.core.variable import Variable
from uefivars_gui.crypto.x509 import describe_x509
from uefivars_gui.qt.fieldtree import FIELD_ROLE, FieldColumn, FieldTree, FieldTreeModel

_CHECKED_MODELS: list[object] = []


def check_model(qtmodeltester, model) -> None:  # type: ignore[no-untyped-def]
    """qtmodeltester with its Python checks (a failure raises) and the model kept alive."""
    _CHECKED_MODELS.append(model)
    qtmodeltester.check(model, force_py=True)


DATA = Path(__file__).resolve().parents[1] / "data"

TREE = Field(
    "Root",
    0,
    12,
    "root text",
    (
        Field("A", 0, 4, "a", (Field("A.lo", 0, 2, "lo"), Field("A.hi", 2, 2, "hi", warning="odd value"))),
        Field("B", 4, 8, "b"),
    ),
)


@pytest.fixture(scope="module")
def variables() -> dict[str, Variable]:
    image = edk2.decode((DATA / "ovmf" / "OVMF_VARS_4M.ms.fd").read_bytes())
    return {v.name: v for v in image.store}


@pytest.fixture
def tree(qtbot):  # type: ignore[no-untyped-def]
    widget = FieldTree()
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_models_of_real_trees_pass_the_tester(qtmodeltester, variables: dict[str, Variable]) -> None:  # type: ignore[no-untyped-def]
    for name in ("Boot0001", "KEK", "ConOut", "Key0000"):
        value = decode_variable(variables[name], describe_x509=describe_x509)
        assert value is not None
        check_model(qtmodeltester, FieldTreeModel(value.fields()))
    check_model(qtmodeltester, FieldTreeModel(TREE))
    check_model(qtmodeltester, FieldTreeModel(None))


def test_columns_and_warnings(tree: FieldTree) -> None:
    tree.set_root(TREE)
    model = tree.field_model()
    root = model.index(0, 0)
    assert model.rowCount() == 1
    assert [model.index(0, c).data() for c in FieldColumn] == ["Root", "root text", "0x0", "12"]
    a = model.index(0, 0, root)
    hi = model.index(1, FieldColumn.NAME, a)
    assert hi.data() == "A.hi"
    assert hi.data(FIELD_ROLE) is TREE.children[0].children[1]
    assert hi.data(Qt.ItemDataRole.ToolTipRole) == "Warning: odd value"
    assert not hi.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert model.index(0, FieldColumn.NAME, a).data(Qt.ItemDataRole.DecorationRole) is None
    assert model.parent(hi) == a
    assert model.parent(root) == QModelIndex()
    # the root and its children are expanded
    assert tree.isExpanded(root)


def test_select_deepest_selects_and_reports_the_span(tree: FieldTree, qtbot) -> None:  # type: ignore[no-untyped-def]
    tree.set_root(TREE)
    with qtbot.waitSignal(tree.field_selected) as blocker:
        field = tree.select_deepest(3)
    assert field is TREE.children[0].children[1]
    assert blocker.args == [2, 2]
    assert tree.current_field() is field
    assert tree.isExpanded(tree.field_model().index_for(TREE.children[0]))
    assert tree.select_deepest(7) is TREE.children[1]
    assert tree.select_deepest(99) is None
    assert tree.current_field() is None


def test_clicking_a_field_reports_its_span(tree: FieldTree, qtbot, variables: dict[str, Variable]) -> None:  # type: ignore[no-untyped-def]
    value = decode_variable(variables["Boot0001"])
    assert value is not None
    root = value.fields()
    tree.set_root(root)
    description = root.find("Description")
    assert description is not None
    index = tree.field_model().index_for(description)
    with qtbot.waitSignal(tree.field_selected) as blocker:
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualRect(index).center())
    assert blocker.args == [description.offset, description.length]


def test_empty_root(tree: FieldTree) -> None:
    tree.set_root(TREE)
    tree.set_root(None)
    assert tree.field_model().rowCount() == 0
    assert tree.root() is None
    assert tree.select_deepest(0) is None
