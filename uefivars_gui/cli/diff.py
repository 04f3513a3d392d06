"""`uefivars diff`."""

from __future__ import annotations

import argparse

from ..core.attributes import format_attributes
from ..core.guid import guid_label
from ..ops.diff import ChangeKind, diff_stores
from .render import clip, typed_fields, typed_summary
from .storefile import open_store

_MARK = {ChangeKind.ADDED: "+", ChangeKind.REMOVED: "-", ChangeKind.CHANGED: "~"}


def run_diff(args: argparse.Namespace) -> int:
    a = open_store(args.a)
    b = open_store(args.b)
    changes = diff_stores(a.store, b.store)
    for change in changes:
        var = change.variable
        print(f"{_MARK[change.kind]} {var.name} ({guid_label(var.guid)}) {change.kind.value}")
        if change.kind is ChangeKind.CHANGED:
            assert change.before is not None and change.after is not None
            for member in change.changed_members:
                if member == "attributes":
                    before, after = format_attributes(change.before.attributes), format_attributes(change.after.attributes)
                elif member == "data":
                    if args.verbose:
                        before = "\n" + typed_fields(change.before).render()
                        after = "\n" + typed_fields(change.after).render()
                    else:
                        before, after = clip(typed_summary(change.before)), clip(typed_summary(change.after))
                        if before == after:
                            before, after = f"{change.before.size} bytes", f"{change.after.size} bytes (other bytes)"
                else:
                    before, after = str(getattr(change.before, member)), str(getattr(change.after, member))
                print(f"    {member}: {before}")
                print(f"    {' ' * len(member)}→ {after}")
        elif args.verbose:
            print("    " + typed_fields(var).render().replace("\n", "\n    "))
        else:
            print(f"    {format_attributes(var.attributes)}, {var.size} bytes: {clip(typed_summary(var))}")
    if not changes:
        print("no differences")
        return 0
    return 1
