"""Keys and certificates generated once per test session (RSA 2048 for speed)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from uefivars_gui.crypto.keys import (
    PrivateKey,
    generate_ec_key,
    generate_key,
    issue_certificate,
    self_signed_certificate,
)


@dataclass(frozen=True, repr=False)
class Identity:
    key: PrivateKey
    cert: bytes


@dataclass(frozen=True, repr=False)
class Pki:
    root: Identity  # self-signed CA
    intermediate: Identity  # CA issued by root
    signer: Identity  # leaf issued by intermediate
    standalone: Identity  # self-signed, signs directly (like a PK)
    unrelated: Identity  # self-signed, never signs anything here
    expired_ca: Identity  # self-signed CA whose validity ended in 2001
    expired_ca_signer: Identity  # current leaf issued by expired_ca
    not_a_ca_child: Identity  # leaf issued by `signer`, which is not a CA
    ec: Identity  # self-signed EC P-256


@pytest.fixture(scope="session")
def pki() -> Pki:
    root_key, inter_key, signer_key = generate_key(), generate_key(), generate_key()
    root = Identity(
        root_key, self_signed_certificate(root_key, "Test Root CA", organization="uefivars-gui tests")
    )
    inter_cert = issue_certificate(root_key, root.cert, inter_key, "Test Intermediate CA", ca=True)
    signer_cert = issue_certificate(inter_key, inter_cert, signer_key, "Test KEK Signer")
    standalone_key, unrelated_key = generate_key(), generate_key()
    expired_key, expired_signer_key, child_key = generate_key(), generate_key(), generate_key()
    expired_cert = self_signed_certificate(
        expired_key, "Expired Test CA", not_before=datetime(2000, 1, 1, tzinfo=UTC), days=365
    )
    ec_key = generate_ec_key()
    return Pki(
        root=root,
        intermediate=Identity(inter_key, inter_cert),
        signer=Identity(signer_key, signer_cert),
        standalone=Identity(standalone_key, self_signed_certificate(standalone_key, "Test PK")),
        unrelated=Identity(unrelated_key, self_signed_certificate(unrelated_key, "Unrelated")),
        expired_ca=Identity(expired_key, expired_cert),
        expired_ca_signer=Identity(
            expired_signer_key,
            issue_certificate(expired_key, expired_cert, expired_signer_key, "Signer under expired CA"),
        ),
        not_a_ca_child=Identity(
            child_key, issue_certificate(signer_key, signer_cert, child_key, "Child of a leaf")
        ),
        ec=Identity(ec_key, self_signed_certificate(ec_key, "Test EC PK")),
    )


@pytest.fixture(scope="session")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("the openssl command-line tool is not installed; cross-checks with OpenSSL skipped")
    return path
