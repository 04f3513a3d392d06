"""`uefivars apply`: apply a signed update to a store through the device engine (exit 1 if rejected)."""

from __future__ import annotations

import argparse

from ..ops.apply import apply_update
from ..ops.verify import parse_guid_option
from .storefile import open_store, read_bytes, save_store
from .verify import add_update_arguments, print_verdict


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "apply",
        help="apply a signed update to a store (only if the firmware would accept it)",
        description=(
            "Run the update through the device engine's SetVariable, exactly as `uefivars verify` does, and if "
            "it is accepted save the changed variables (atomically; everything else stays as it was). A rejected "
            "update leaves the store untouched (exit 1)."
        ),
    )
    add_update_arguments(p)
    p.add_argument("--output", "-o", metavar="OUT", help="write the result here instead of changing STORE")
    p.set_defaults(handler_module="apply")


def run(args: argparse.Namespace) -> int:
    opened = open_store(args.store)
    data = read_bytes(args.update)
    verdict = apply_update(
        opened.store, args.var, data, guid=parse_guid_option(args.guid, args.var), append=args.append
    )
    print_verdict(verdict)
    if not verdict.accepted:
        print(f"{args.store}: not changed")
        return 1
    target = args.output or args.store
    save_store(target, opened.store, opened.format, opened.document.origin)
    print(f"{target}: saved")
    return 0
