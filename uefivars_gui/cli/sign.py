"""`uefivars sign`: build a signed update (EFI_VARIABLE_AUTHENTICATION_2 .auth file)."""

from __future__ import annotations

import argparse

from ..core.efitime import EfiTime
from ..core.guid import parse_guid
from ..errors import UsageError
from ..ops.enroll import DEFAULT_OWNER
from ..ops.signing import DIGESTS, load_signer, payload_from_certificate, payload_from_esl, sign_update
from .keygen import read_passphrase
from .storefile import open_store, read_bytes


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "sign",
        help="sign an update of PK/KEK/db/dbx/dbt or another authenticated variable",
        description=(
            "Write an EFI_VARIABLE_AUTHENTICATION_2 update (.auth): a detached, bare PKCS#7 SignedData with the "
            "signer certificate embedded, over name, GUID, attributes, timestamp and payload. With --store the "
            "timestamp of a non-append update is made (or checked to be) later than the variable's."
        ),
    )
    p.add_argument("--var", required=True, metavar="NAME", help="variable name (PK, KEK, db, dbx, dbt, ...)")
    p.add_argument(
        "--guid", "-g", metavar="G", help="vendor GUID (default: from the name for PK/KEK/db/dbx/dbt)"
    )
    p.add_argument("--append", action="store_true", help="an APPEND_WRITE update (adds to the variable)")
    p.add_argument(
        "--time", metavar="YYYY-MM-DDTHH:MM:SS[Z]", help="the update's timestamp, UTC (default: now)"
    )
    p.add_argument("--key", metavar="KEY", help="the signer's private key (PEM or DER)")
    p.add_argument("--cert", metavar="CERT", help="the signer's certificate (PEM or DER)")
    p.add_argument(
        "--p12", metavar="FILE", help="the signer's key and certificate as PKCS#12 (instead of --key/--cert)"
    )
    p.add_argument("--passphrase-file", metavar="F", help="passphrase of the key or PKCS#12 file")
    p.add_argument(
        "--digest", choices=list(DIGESTS), default="sha256", help="digest algorithm (default sha256)"
    )
    payload = p.add_mutually_exclusive_group(required=True)
    payload.add_argument("--esl", metavar="F", help="payload: an EFI_SIGNATURE_LIST file")
    payload.add_argument(
        "--cert-to-add", metavar="C", help="payload: one certificate as an X.509 signature list"
    )
    payload.add_argument("--data", metavar="F", help="payload: raw bytes from a file (empty file: delete)")
    p.add_argument("--owner", metavar="GUID", help=f"owner GUID for --cert-to-add (default {DEFAULT_OWNER})")
    p.add_argument("--output", "-o", required=True, metavar="OUT.auth", help="where to write the update")
    p.add_argument("--store", metavar="STORE", help="the store the update is for (timestamp and attributes)")
    p.set_defaults(handler_module="sign")


def run(args: argparse.Namespace) -> int:
    from ..live.atomic import atomic_write

    if args.p12 is None and (args.key is None or args.cert is None):
        raise UsageError("give --key and --cert, or --p12")
    signer = load_signer(
        key=args.key, cert=args.cert, p12=args.p12, passphrase=read_passphrase(args.passphrase_file)
    )
    if args.esl is not None:
        payload = payload_from_esl(read_bytes(args.esl))
    elif args.cert_to_add is not None:
        owner = parse_guid(args.owner) if args.owner else DEFAULT_OWNER
        payload = payload_from_certificate(read_bytes(args.cert_to_add), owner)
    else:
        payload = read_bytes(args.data)
    store = open_store(args.store).store if args.store else None
    update = sign_update(
        signer,
        args.var,
        payload,
        guid=parse_guid(args.guid) if args.guid else None,
        append=args.append,
        timestamp=EfiTime.parse(args.time) if args.time else None,
        digest=args.digest,
        store=store,
    )
    try:
        atomic_write(args.output, update.data)
    except OSError as exc:
        raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    for line in update.lines():
        print(line)
    print(f"{args.output}: written")
    return 0
