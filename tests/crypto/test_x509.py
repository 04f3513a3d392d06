"""X.509 summaries, PEM/DER loading, and the describer used by signature-list views."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from uefivars_gui.core import guid as g
from uefivars_gui.core.siglist import SignatureDatabase, check_format, decode_signature_database, x509_list
from uefivars_gui.crypto.x509 import describe_x509, is_rsa, load_certificate_file, summarize
from uefivars_gui.errors import DecodeError

DATA = Path(__file__).resolve().parent.parent / "data"
CERTS = DATA / "certs"
TODAY = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def der(name: str) -> bytes:
    return (CERTS / name).read_bytes()


@pytest.fixture(scope="module")
def ec_cert() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EC test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1234)
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_summarize_microsoft_kek_ca_2011() -> None:
    data = der("ms-kek-ca-2011.der")
    info = summarize(data)
    assert info.subject_cn == "Microsoft Corporation KEK CA 2011"
    assert info.subject.startswith("CN=Microsoft Corporation KEK CA 2011,O=Microsoft Corporation")
    assert info.issuer_cn == "Microsoft Corporation Third Party Marketplace Root"
    assert info.serial == "610ad188000000000003"
    assert info.not_after == dt.datetime(2026, 6, 24, 20, 51, 29, tzinfo=dt.UTC)
    assert info.not_before.tzinfo is not None
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert (info.key_type, info.key_bits, info.key_description) == ("RSA", 2048, "RSA 2048")
    assert info.is_ca and not info.self_signed
    assert info.expired(TODAY)
    assert info.expired()  # the real clock is past 2026-06-24 as well
    assert not info.expired(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert not info.expired(dt.datetime(2026, 1, 1))  # naive means UTC


@pytest.mark.parametrize(
    ("name", "cn", "expired"),
    [
        ("ms-windows-production-pca-2011.der", "Microsoft Windows Production PCA 2011", True),
        ("ms-uefi-ca-2011.der", "Microsoft Corporation UEFI CA 2011", True),
        ("ms-uefi-ca-2023.der", "Microsoft UEFI CA 2023", False),
        ("ms-kek-2k-ca-2023.der", "Microsoft Corporation KEK 2K CA 2023", False),
    ],
)
def test_microsoft_certificates_expiry(name: str, cn: str, expired: bool) -> None:
    info = summarize(der(name))
    assert info.subject_cn == cn
    assert info.expired(TODAY) is expired


def test_load_certificate_file_pem_der_and_bytes() -> None:
    pem_path = CERTS / "debian-2016.pem"
    assert pem_path.read_bytes().startswith(b"Certificate:")  # openssl text before the PEM block
    from_pem = load_certificate_file(pem_path)
    assert from_pem[:1] == b"\x30"
    assert load_certificate_file(str(pem_path)) == from_pem
    assert load_certificate_file(pem_path.read_bytes()) == from_pem
    info = summarize(from_pem)
    assert info.self_signed and info.subject_cn is not None and "Debian" in info.subject_cn
    assert load_certificate_file(CERTS / "ms-kek-ca-2011.der") == der("ms-kek-ca-2011.der")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"\x30\x03\x02\x01\x01",
        b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
)
def test_non_certificates_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        load_certificate_file(data)
    with pytest.raises(DecodeError):
        summarize(data)
    assert not is_rsa(data)


def test_missing_file_is_a_decode_error(tmp_path: Path) -> None:
    with pytest.raises(DecodeError):
        load_certificate_file(tmp_path / "missing.pem")


def test_is_rsa_and_ec(ec_cert: bytes) -> None:
    assert is_rsa(der("ms-kek-ca-2011.der"))
    assert not is_rsa(ec_cert)
    info = summarize(ec_cert)
    assert (info.key_type, info.key_bits, info.key_description) == ("EC", 256, "EC secp256r1")
    assert info.self_signed and not info.is_ca and info.serial == "1234"


def test_describe_x509_spans_point_at_the_der_members() -> None:
    data = der("ms-windows-production-pca-2011.der")
    cert = x509.load_der_x509_certificate(data)
    text, children = describe_x509(data, at=TODAY)
    assert text == "Microsoft Windows Production PCA 2011"
    by_name = {f.name: f for f in children}
    subject = by_name["Subject"]
    assert data[subject.offset : subject.end] == cert.subject.public_bytes()
    issuer = by_name["Issuer"]
    assert data[issuer.offset : issuer.end] == cert.issuer.public_bytes()
    serial = by_name["SerialNumber"]
    assert (
        data[serial.offset] == 0x02
        and int.from_bytes(data[serial.offset + 2 : serial.end]) == cert.serial_number
    )
    validity = by_name["Validity"]
    assert validity.warning == "expired on 2026-10-19"
    not_after = validity.find("NotAfter")
    assert not_after is not None and data[not_after.offset] in (0x17, 0x18) and not_after.end == validity.end
    assert by_name["SubjectPublicKeyInfo"].text == "RSA 2048"
    assert by_name["SHA256Fingerprint"].length == len(data)
    _, fresh = describe_x509(data, at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert all(f.warning is None for c in fresh for f in c.walk())


def test_describe_x509_never_raises() -> None:
    text, children = describe_x509(b"nope")
    assert text == "not a certificate"
    assert children[0].warning is not None and children[0].length == 4


def test_siglist_with_describer_on_the_real_db() -> None:
    db = decode_signature_database((DATA / "siglist" / "ms-db.bin").read_bytes())

    assert db.summary(describe_x509) == (
        "2 entries: 2 X.509 (Microsoft Windows Production PCA 2011, Microsoft Corporation UEFI CA 2011)"
    )
    root = db.fields(describe_x509)
    entries = [f for f in root.walk() if f.name.startswith("Signature[")]
    assert [e.warning for e in entries] == ["expired on 2026-10-19", "expired on 2026-06-27"]
    subject = root.find("Subject")
    assert subject is not None and subject.offset > 28 + 16
    kek = decode_signature_database((DATA / "siglist" / "ms-kek.bin").read_bytes())
    kek_entries = [f for f in kek.fields(describe_x509).walk() if f.name.startswith("Signature[")]
    assert kek_entries[0].warning is None  # Debian's PK/KEK key is valid until 2029
    assert kek_entries[1].warning == "expired on 2026-06-24"
    assert check_format(kek, is_rsa=is_rsa) == []


def test_check_format_rejects_ec_certificates(ec_cert: bytes) -> None:
    db = SignatureDatabase(
        (x509_list(der("ms-uefi-ca-2023.der"), g.MICROSOFT_VENDOR), x509_list(ec_cert, g.SHIM_LOCK))
    )
    problems = check_format(db, is_rsa=is_rsa)
    assert len(problems) == 1 and problems[0].startswith("list 1") and "not an RSA" in problems[0]
