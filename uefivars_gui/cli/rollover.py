"""`uefivars rollover`: add Microsoft's 2023 certificates next to the 2011 ones, store by store."""

from __future__ import annotations

import argparse

from ..ops.rollover import rollover


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "rollover",
        help="add Microsoft's 2023 KEK/db certificates to stores that rely on the 2011 ones",
        description=(
            "For each store (or each file in a directory such as /var/lib/libvirt/qemu/nvram): report the 2011 "
            "certificates it relies on and their expiry, and add the 2023 successors (KEK 2K CA 2023, Windows "
            "UEFI CA 2023, UEFI CA 2023, Option ROM UEFI CA 2023) without touching anything else. Stores held by "
            "a running VM, full flash stores and unreadable files are reported and left untouched (exit 1)."
        ),
    )
    p.add_argument("stores", nargs="+", metavar="STORE", help="store files or directories of store files")
    p.add_argument("--dry-run", "-n", action="store_true", help="only say what would change")
    p.set_defaults(handler_module="rollover")


def run(args: argparse.Namespace) -> int:
    from ..live.atomic import atomic_write  # keeps mode and owner (libvirt nvram files)

    report = rollover(args.stores, dry_run=args.dry_run, writer=atomic_write)
    for line in report.lines():
        print(line)
    return 1 if report.problems else 0
