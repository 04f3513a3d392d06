"""`uefivars verify`: would this store accept this signed update, and why (exit 0 yes, 1 no)."""

from __future__ import annotations

import argparse

from ..ops.verify import UpdateVerdict, parse_guid_option, verify_update
from .storefile import open_store, read_bytes


def add_update_arguments(p: argparse.ArgumentParser) -> None:
    """STORE UPDATE --var NAME [--guid G] [--append] (shared with `uefivars apply`)."""
    p.add_argument("store", metavar="STORE", help="variable store file (QEMU JSON, edk2 .fd or AWS)")
    p.add_argument("update", metavar="UPDATE", help="the signed update (.auth, DBXUpdate .bin)")
    p.add_argument("--var", required=True, metavar="NAME", help="variable name (PK, KEK, db, dbx, dbt, ...)")
    p.add_argument(
        "--guid", "-g", metavar="G", help="vendor GUID (default: from the name for PK/KEK/db/dbx/dbt)"
    )
    p.add_argument(
        "--append", action="store_true", help="send it as an APPEND_WRITE (as Microsoft's DBX/KEK updates)"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "verify",
        help="check whether a store would accept a signed update",
        description=(
            "Run the update through the device engine's SetVariable on a copy of the store (as a booted OS "
            "meets the firmware: after EndOfDxe, before ExitBootServices) and say whether it is accepted and "
            "why. Exit 0 accepted, 1 rejected."
        ),
    )
    add_update_arguments(p)
    p.set_defaults(handler_module="verify")


def print_verdict(verdict: UpdateVerdict) -> None:
    for line in verdict.lines():
        print(line)


def run(args: argparse.Namespace) -> int:
    opened = open_store(args.store)
    data = read_bytes(args.update)
    verdict = verify_update(
        opened.store, args.var, data, guid=parse_guid_option(args.guid, args.var), append=args.append
    )
    print_verdict(verdict)
    return 0 if verdict.accepted else 1
