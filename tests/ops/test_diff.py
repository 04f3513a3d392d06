from __future__ import annotations

from uuid import UUID

from uefivars_gui.core.attributes import NV_BS, NV_BS_RT
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.ops.diff import ChangeKind, diff_stores

G1, G2 = UUID(int=1), UUID(int=2)


def test_added_removed_changed_by_guid_and_name() -> None:
    before = VarStore([Variable("A", G1, NV_BS_RT, b"1"), Variable("B", G1, NV_BS_RT, b"2"), Variable("A", G2, NV_BS, b"x")])
    after = VarStore([Variable("A", G1, NV_BS, b"1"), Variable("C", G1, NV_BS_RT, b"3"), Variable("A", G2, NV_BS, b"x")])
    changes = diff_stores(before, after)
    assert [(c.kind, c.variable.name) for c in changes] == [
        (ChangeKind.REMOVED, "B"),
        (ChangeKind.CHANGED, "A"),
        (ChangeKind.ADDED, "C"),
    ]
    assert changes[1].changed_members == ("attributes",)


def test_no_changes() -> None:
    store = VarStore([Variable("A", G1, NV_BS_RT, b"1")])
    assert diff_stores(store, store.copy()) == []
