"""`uefivars keygen`: a new RSA key and self-signed certificate for PK, KEK or db."""

from __future__ import annotations

import argparse

from ..ops.keygen import CERT_DER_FILE, CERT_PEM_FILE, KEY_FILE, generate
from .storefile import read_bytes


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "keygen",
        help="generate a Secure Boot signing key and certificate",
        description=(
            f"Write DIR/{KEY_FILE} (PKCS#8, mode 0600), DIR/{CERT_PEM_FILE} and DIR/{CERT_DER_FILE}: an RSA key "
            "and a self-signed certificate usable as PK, KEK or db. DIR is created if needed; existing files "
            "are never overwritten."
        ),
    )
    p.add_argument("--cn", required=True, metavar="NAME", help="the certificate's common name")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the key and certificate")
    p.add_argument(
        "--bits", type=int, default=2048, choices=[2048, 3072, 4096], help="RSA key size (default 2048)"
    )
    p.add_argument("--passphrase-file", metavar="F", help="encrypt the key with the passphrase in this file")
    p.set_defaults(handler_module="keygen")


def read_passphrase(path: str | None) -> bytes | None:
    """The first line of a passphrase file (without its line end), or None."""
    if path is None:
        return None
    data = read_bytes(path)
    return data.splitlines()[0] if data.strip(b"\r\n") else b""


def run(args: argparse.Namespace) -> int:
    made = generate(args.out, args.cn, bits=args.bits, passphrase=read_passphrase(args.passphrase_file))
    for line in made.lines():
        print(line)
    return 0
