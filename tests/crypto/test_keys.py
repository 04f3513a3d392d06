"""Key generation, self-signed certificates, PEM/DER/PKCS#12 loading, safe key files."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from uefivars_gui.crypto import keys
from uefivars_gui.crypto.keys import (
    KeyFileExistsError,
    PassphraseError,
    certificate_pem,
    generate_key,
    issue_certificate,
    load_certificate,
    load_certificate_file,
    load_certificates,
    load_pkcs12,
    load_private_key,
    load_private_key_file,
    private_key_pem,
    self_signed_certificate,
    write_certificate,
    write_private_key,
)
from uefivars_gui.errors import DecodeError, UefiVarsError, UsageError

from .conftest import Pki


def test_generate_key_sizes(pki: Pki) -> None:
    assert pki.root.key.description == "RSA 2048"
    assert pki.ec.key.description == "EC secp256r1"
    for bits in (1024, 2047, 8192):
        with pytest.raises(UsageError):
            generate_key(bits)
    with pytest.raises(UsageError):
        keys.generate_ec_key("secp521r1")


def test_self_signed_certificate_is_a_uefi_ca(pki: Pki) -> None:
    cert = x509.load_der_x509_certificate(pki.standalone.cert)
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Test PK"
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.key_cert_sign and ku.crl_sign
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    cert.verify_directly_issued_by(cert)
    assert cert.serial_number > 0 and cert.version == x509.Version.v3
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=keys.DEFAULT_DAYS)
    assert pki.standalone.key.matches_certificate(pki.standalone.cert)
    assert not pki.unrelated.key.matches_certificate(pki.standalone.cert)


def test_self_signed_options(pki: Pki) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    der = self_signed_certificate(
        pki.unrelated.key, "Custom", days=10, serial=0x1234, organization="Example", not_before=start
    )
    cert = x509.load_der_x509_certificate(der)
    assert cert.serial_number == 0x1234
    assert cert.not_valid_before_utc == start and cert.not_valid_after_utc == start + timedelta(days=10)
    assert cert.subject.rfc4514_string() == "CN=Custom,O=Example"
    other = x509.load_der_x509_certificate(self_signed_certificate(pki.unrelated.key, "Custom"))
    assert other.serial_number != x509.load_der_x509_certificate(pki.unrelated.cert).serial_number
    for bad in ({"days": 0}, {"serial": 0}):
        with pytest.raises(UsageError):
            self_signed_certificate(pki.unrelated.key, "x", **bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        self_signed_certificate(pki.unrelated.key, "")


def test_issued_certificates(pki: Pki) -> None:
    inter = x509.load_der_x509_certificate(pki.intermediate.cert)
    leaf = x509.load_der_x509_certificate(pki.signer.cert)
    inter.verify_directly_issued_by(x509.load_der_x509_certificate(pki.root.cert))
    leaf.verify_directly_issued_by(inter)
    assert inter.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    with pytest.raises(UsageError, match="issuer key"):
        issue_certificate(pki.unrelated.key, pki.root.cert, pki.signer.key, "mismatch")


def test_write_private_key_mode_and_no_overwrite(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "pk.key"
    write_private_key(path, pki.standalone.key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    assert before.startswith(b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(KeyFileExistsError) as info:
        write_private_key(path, pki.unrelated.key)
    assert isinstance(info.value, UefiVarsError) and isinstance(info.value, FileExistsError)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pk.key"]  # no temp files left
    assert load_private_key_file(path).matches_certificate(pki.standalone.cert)


def test_encrypted_key_round_trip(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "kek.key"
    write_private_key(path, pki.signer.key, passphrase="correct horse")
    data = path.read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert load_private_key(data, "correct horse").matches_certificate(pki.signer.cert)
    assert load_private_key(data, b"correct horse").matches_certificate(pki.signer.cert)
    with pytest.raises(PassphraseError, match="passphrase is needed"):
        load_private_key(data)
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        load_private_key(data, "wrong")
    with pytest.raises(PassphraseError, match="not encrypted"):
        load_private_key(private_key_pem(pki.signer.key), "unneeded")


def test_load_private_key_der_and_garbage(pki: Pki) -> None:
    der = pki.ec.key.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert load_private_key(der).matches_certificate(pki.ec.cert)
    for junk in (b"", b"junk", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"):
        with pytest.raises(DecodeError):
            load_private_key(junk)


def test_certificates_pem_der_round_trip(pki: Pki, tmp_path: Path) -> None:
    pem_path, der_path = tmp_path / "db.pem", tmp_path / "db.der"
    write_certificate(pem_path, pki.root.cert)
    write_certificate(der_path, pki.root.cert, pem=False)
    assert pem_path.read_bytes() == certificate_pem(pki.root.cert)
    assert der_path.read_bytes() == pki.root.cert
    assert stat.S_IMODE(os.stat(pem_path).st_mode) == 0o644
    assert load_certificate_file(pem_path) == load_certificate_file(der_path) == pki.root.cert
    with pytest.raises(KeyFileExistsError):
        write_certificate(pem_path, pki.signer.cert)
    write_certificate(pem_path, pki.signer.cert, overwrite=True)
    assert load_certificate_file(pem_path) == pki.signer.cert
    bundle = certificate_pem(pki.signer.cert) + certificate_pem(pki.intermediate.cert)
    assert load_certificates(bundle) == [pki.signer.cert, pki.intermediate.cert]
    assert load_certificates(pki.root.cert) == [pki.root.cert]
    for junk in (b"junk", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        with pytest.raises(DecodeError):
            load_certificate(junk)


def test_load_pkcs12(pki: Pki) -> None:
    cert = x509.load_der_x509_certificate(pki.signer.cert)
    extra = x509.load_der_x509_certificate(pki.intermediate.cert)
    data = pkcs12.serialize_key_and_certificates(
        b"kek", pki.signer.key.key, cert, [extra], serialization.BestAvailableEncryption(b"secret")
    )
    bundle = load_pkcs12(data, "secret")
    assert bundle.certificate == pki.signer.cert
    assert bundle.additional_certificates == (pki.intermediate.cert,)
    assert bundle.key.matches_certificate(pki.signer.cert)
    with pytest.raises(PassphraseError):
        load_pkcs12(data, "wrong")
    only_cert = pkcs12.serialize_key_and_certificates(b"c", None, cert, None, serialization.NoEncryption())
    with pytest.raises(DecodeError, match="both a key and a certificate"):
        load_pkcs12(only_cert)
