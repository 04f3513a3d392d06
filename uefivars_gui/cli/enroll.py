"""`uefivars enroll`: add Secure Boot keys to a store offline (PK, KEK, db, dbx, SecureBootEnable)."""

from __future__ import annotations

import argparse
from uuid import UUID

from ..core.guid import parse_guid
from ..core.siglist import SignatureList
from ..errors import UsageError
from ..ops.enroll import DEFAULT_OWNER, EnrollRequest, enroll, hash_signature_list, signature_lists_from_file
from ..ops.profiles import DISTROS
from .storefile import open_store, read_bytes, save_store


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "enroll",
        help="enroll Secure Boot keys into a store offline (PK, KEK, db, dbx)",
        description=(
            "Trusted offline edit of a store no firmware is running on: set PK, add KEK/db/dbx entries "
            "(certificates, .esl files, SHA-256 hashes, Microsoft DBXUpdate .bin files), add Microsoft's or "
            "distributions' certificates, switch SecureBootEnable. Adding what is already there changes "
            "nothing; changed variables get the current time as their timestamp."
        ),
        epilog="Distributions: " + ", ".join(f"{name} ({p.description})" for name, p in DISTROS.items()),
    )
    p.add_argument("store", metavar="STORE", help="variable store file (QEMU JSON, edk2 .fd or AWS)")
    p.add_argument(
        "--microsoft",
        choices=["2011", "2023", "all", "none"],
        help="Microsoft's KEK and db certificates: 2011 (KEK CA 2011, Windows PCA 2011, UEFI CA 2011), "
        "2023 (KEK 2K CA 2023, Windows UEFI CA 2023, UEFI CA 2023, Option ROM UEFI CA 2023), all, none",
    )
    p.add_argument(
        "--distro",
        metavar="NAME",
        action="extend",
        nargs="+",
        default=[],
        help="add a distribution's Secure Boot CA(s) to db (repeatable)",
    )
    p.add_argument("--pk", metavar="CERT", help="set PK to this certificate (PEM or DER)")
    p.add_argument(
        "--kek",
        metavar="CERT",
        action="extend",
        nargs="+",
        default=[],
        help="add to KEK: certificates (PEM/DER) or .esl files",
    )
    p.add_argument(
        "--db",
        metavar="CERT",
        action="extend",
        nargs="+",
        default=[],
        help="add to db: certificates (PEM/DER) or .esl files",
    )
    p.add_argument(
        "--dbx",
        metavar="CERT|HASH|DBXUPDATE",
        action="extend",
        nargs="+",
        default=[],
        help="add to dbx: certificates, SHA-256 hashes (hex), .esl files or Microsoft DBXUpdate .bin files",
    )
    p.add_argument("--secure-boot", choices=["on", "off"], help="set SecureBootEnable")
    p.add_argument(
        "--owner",
        metavar="GUID",
        help="owner GUID of the PK entry, of given certificates and of distribution entries "
        f"(default {DEFAULT_OWNER}, OvmfEnrollDefaultKeys); Microsoft's entries always carry Microsoft's",
    )
    p.add_argument("--output", "-o", metavar="OUT", help="write the result here instead of changing STORE")
    p.set_defaults(handler_module="enroll")


def _lists(paths: list[str], owner: UUID) -> tuple[SignatureList, ...]:
    out: list[SignatureList] = []
    for path in paths:
        out.extend(signature_lists_from_file(path, owner))
    return tuple(out)


def run(args: argparse.Namespace) -> int:
    owner = parse_guid(args.owner) if args.owner else DEFAULT_OWNER
    wanted = (
        args.microsoft not in (None, "none"),
        args.distro,
        args.pk,
        args.kek,
        args.db,
        args.dbx,
        args.secure_boot,
    )
    if not any(wanted):
        raise UsageError(
            "nothing to enroll: give --microsoft, --distro, --pk, --kek, --db, --dbx or --secure-boot"
        )
    opened = open_store(args.store)
    dbx: list[SignatureList] = []
    for item in args.dbx:
        as_hash = hash_signature_list(item, owner)
        dbx.extend((as_hash,) if as_hash is not None else signature_lists_from_file(item, owner))
    request = EnrollRequest(
        microsoft=args.microsoft,
        distros=tuple(args.distro),
        pk=read_bytes(args.pk) if args.pk else None,
        kek=_lists(args.kek, owner),
        db=_lists(args.db, owner),
        dbx=tuple(dbx),
        secure_boot=None if args.secure_boot is None else args.secure_boot == "on",
        owner=owner,
    )
    summary = enroll(opened.store, request)
    for line in summary.lines():
        print(line)
    target = args.output or args.store
    if summary.changed or args.output:
        save_store(target, opened.store, opened.format, opened.document.origin)
        print(f"{target}: saved" + ("" if summary.changed else " (no change)"))
    else:
        print(f"{target}: nothing to change")
    return 0
