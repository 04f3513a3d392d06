"""`uefivars show`."""

from __future__ import annotations

import argparse
import sys

from .render import table, variable_block, variable_row
from .storefile import open_store


def run_show(args: argparse.Namespace) -> int:
    opened = open_store(args.store)
    store = opened.store
    if args.json:
        from ..codec import qemu_json

        sys.stdout.write(qemu_json.encode(store).decode("utf-8") + "\n")
        return 0
    if args.verbose:
        print("\n\n".join(variable_block(var) for var in store))
    else:
        rows = [variable_row(var) for var in store]
        print(table(rows, ["NAME", "NAMESPACE", "ATTR", "SIZE", "TIME", "VALUE"]))
    if args.history:
        _print_history(opened.document.origin)
    print(f"{len(store)} variables ({opened.format.value})", file=sys.stderr)
    return 0


def _print_history(origin: object) -> None:
    from ..codec import edk2

    if not isinstance(origin, edk2.FlashImage):
        print("(no history: only flash images keep deleted records)", file=sys.stderr)
        return
    rows = []
    for record in origin.records:
        if record.is_live:
            continue
        var = record.variable
        rows.append([f"0x{record.offset:05x}", record.state_name, var.name if var else "?", str(var.size if var else 0)])
    print()
    print(f"deleted records ({len(rows)}):")
    print(table(rows, ["OFFSET", "STATE", "NAME", "SIZE"]))
