"""Signed updates: layout, attributes, timestamp rules, signers; cross-checked with OpenSSL."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_der_x509_certificate

from uefivars_gui.codec import authfile, registry
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS_RT, NV_BS_RT_AT, Attributes
from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.siglist import decode_signature_database
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.crypto import pkcs7
from uefivars_gui.crypto.keys import (
    PrivateKey,
    certificate_pem,
    generate_key,
    issue_certificate,
    private_key_pem,
    self_signed_certificate,
)
from uefivars_gui.errors import DecodeError, UsageError
from uefivars_gui.ops import signing

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
STORED_DB_TIME = EfiTime(2026, 1, 4, 18, 19, 19)
NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Keys:
    key: PrivateKey
    cert: bytes
    other_key: PrivateKey
    other_cert: bytes
    ca_key: PrivateKey
    ca_cert: bytes


@pytest.fixture(scope="module")
def keys() -> Keys:
    key, other, ca = generate_key(), generate_key(), generate_key()
    ca_cert = self_signed_certificate(ca, "Test Signing CA")
    return Keys(
        key,
        self_signed_certificate(key, "Test KEK"),
        other,
        issue_certificate(ca, ca_cert, other, "Test Leaf"),
        ca,
        ca_cert,
    )


@pytest.fixture
def ms_store() -> VarStore:
    return registry.decode(MS_FD.read_bytes()).store


def _content(update: signing.SignedUpdate) -> bytes:
    return authfile.signed_content(
        update.name, update.guid, update.attributes, update.timestamp, update.payload
    )


def test_db_append_layout_and_signature(keys: Keys) -> None:
    signer = signing.Signer(keys.key, keys.cert)
    payload = signing.payload_from_certificate(keys.other_cert, g.OVMF_ENROLL_DEFAULT_KEYS)
    update = signing.sign_update(signer, "db", payload, append=True, now=NOW)
    assert update.guid == g.EFI_IMAGE_SECURITY_DATABASE
    assert update.attributes == 0x67 and update.append
    assert update.timestamp == EfiTime(2026, 11, 26, 12, 0, 0)
    decoded = authfile.decode(update.data)
    assert decoded.timestamp == update.timestamp and decoded.payload == payload
    assert not decoded.is_content_info  # bare SignedData
    info = pkcs7.parse_signed_data(decoded.cert_data)
    assert info.certificates == (keys.cert,) and info.detached
    result = pkcs7.verify(decoded.cert_data, _content(update), [keys.cert])
    assert result.ok, result.reason
    db = decode_signature_database(payload)
    assert db.certificates() == (keys.other_cert,)
    assert "APPEND db (EfiImageSecurityDatabase)" in update.lines()[0]


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_digests(keys: Keys, digest: str) -> None:
    update = signing.sign_update(signing.Signer(keys.key, keys.cert), "KEK", b"x", digest=digest, now=NOW)
    info = pkcs7.parse_signed_data(authfile.decode(update.data).cert_data)
    assert info.digest_algorithms == (digest,)
    assert pkcs7.verify(authfile.decode(update.data).cert_data, _content(update), [keys.cert]).ok


def test_unknown_digest_and_names(keys: Keys) -> None:
    signer = signing.Signer(keys.key, keys.cert)
    with pytest.raises(UsageError, match="digest"):
        signing.sign_update(signer, "db", b"x", digest="sha1")
    with pytest.raises(UsageError, match="give its vendor GUID"):
        signing.sign_update(signer, "MyVar", b"x")
    with pytest.raises(UsageError, match="empty"):
        signing.sign_update(signer, "", b"x", guid=g.SHIM_LOCK)


def test_timestamp_rules_against_a_store(keys: Keys, ms_store: VarStore) -> None:
    signer = signing.Signer(keys.key, keys.cert)
    with pytest.raises(UsageError, match="not later than"):
        signing.sign_update(signer, "db", b"x", timestamp=EfiTime(2025, 1, 1), store=ms_store)
    with pytest.raises(UsageError, match="not later than"):
        signing.sign_update(signer, "db", b"x", timestamp=STORED_DB_TIME, store=ms_store)
    later = signing.sign_update(signer, "db", b"x", timestamp=EfiTime(2026, 1, 4, 18, 19, 20), store=ms_store)
    assert later.notes == ()
    # "now" before the stored time (a clock behind, or a stored time in the future): bumped
    early = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    bumped = signing.sign_update(signer, "db", b"x", store=ms_store, now=early)
    assert bumped.timestamp == EfiTime(2026, 1, 4, 18, 19, 20)
    assert any("one second later" in n for n in bumped.notes)
    # APPEND skips the rule, but says what QEMU 10.0.2 would do
    old = signing.sign_update(signer, "db", b"x", append=True, timestamp=EfiTime(2010, 3, 6), store=ms_store)
    assert old.timestamp == EfiTime(2010, 3, 6)
    assert any("skipped" in n for n in old.notes) and any("QEMU 10.0.2" in n for n in old.notes)


def test_attributes(keys: Keys) -> None:
    assert signing.update_attributes("PK", g.EFI_GLOBAL_VARIABLE, append=False) == 0x27
    assert signing.update_attributes("dbx", g.EFI_IMAGE_SECURITY_DATABASE, append=True) == 0x67
    private = Variable("MyAuth", g.SHIM_LOCK, Attributes(0x23), b"v", EfiTime(2026, 1, 1))
    assert signing.update_attributes("MyAuth", g.SHIM_LOCK, append=False, current=private) == 0x23
    assert signing.update_attributes("MyAuth", g.SHIM_LOCK, append=False) == int(NV_BS_RT_AT)
    plain = Variable("Plain", g.SHIM_LOCK, NV_BS_RT, b"v")
    with pytest.raises(UsageError, match="takes no signed updates"):
        signing.update_attributes("Plain", g.SHIM_LOCK, append=False, current=plain)
    signer = signing.Signer(keys.key, keys.cert)
    store = VarStore([private])
    update = signing.sign_update(signer, "MyAuth", b"new", guid=g.SHIM_LOCK, store=store, now=NOW)
    assert update.attributes == 0x23
    forced = signing.sign_update(
        signer, "MyAuth", b"new", guid=g.SHIM_LOCK, attributes=0x27, append=True, now=NOW
    )
    assert forced.attributes == 0x67 and any("APPEND_WRITE is accepted only" in n for n in forced.notes)


def test_load_signer_from_files(keys: Keys, tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(private_key_pem(keys.key))
    (tmp_path / "cert.pem").write_bytes(certificate_pem(keys.cert))
    (tmp_path / "cert.der").write_bytes(keys.cert)
    (tmp_path / "other.der").write_bytes(keys.other_cert)
    (tmp_path / "enc.pem").write_bytes(private_key_pem(keys.key, "pw"))
    signer = signing.load_signer(key=tmp_path / "key.pem", cert=tmp_path / "cert.pem")
    assert signer.certificate == keys.cert and signer.label == "Test KEK"
    assert (
        signing.load_signer(key=tmp_path / "enc.pem", cert=tmp_path / "cert.der", passphrase="pw").certificate
        == keys.cert
    )
    with pytest.raises(UsageError, match="does not belong"):
        signing.load_signer(key=tmp_path / "key.pem", cert=tmp_path / "other.der")
    with pytest.raises(UsageError, match="needs --key and --cert"):
        signing.load_signer(key=tmp_path / "key.pem")
    with pytest.raises(UsageError, match="cannot read"):
        signing.load_signer(key=tmp_path / "missing.pem", cert=tmp_path / "cert.pem")


def test_pkcs12_signer_embeds_its_chain(keys: Keys, tmp_path: Path) -> None:
    p12 = pkcs12.serialize_key_and_certificates(
        b"leaf",
        keys.other_key.key,
        load_der_x509_certificate(keys.other_cert),
        [load_der_x509_certificate(keys.ca_cert)],
        serialization.BestAvailableEncryption(b"pw"),
    )
    (tmp_path / "signer.p12").write_bytes(p12)
    signer = signing.load_signer(p12=tmp_path / "signer.p12", passphrase="pw")
    assert signer.certificate == keys.other_cert and signer.chain == (keys.ca_cert,)
    update = signing.sign_update(signer, "db", b"payload", now=NOW)
    cert_data = authfile.decode(update.data).cert_data
    assert pkcs7.parse_signed_data(cert_data).certificates == (keys.other_cert, keys.ca_cert)
    assert pkcs7.verify(cert_data, _content(update), [keys.ca_cert]).ok
    with pytest.raises(UsageError, match="not both"):
        signing.load_signer(p12=tmp_path / "signer.p12", key=tmp_path / "x")


def test_payload_from_esl_checks_framing() -> None:
    good = signing.payload_from_certificate(self_signed_certificate(generate_key(), "E"))
    assert signing.payload_from_esl(good) == good
    with pytest.raises(DecodeError):
        signing.payload_from_esl(good[:-1])


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("the openssl command-line tool is not installed; OpenSSL cross-check skipped")
    return path


@pytest.mark.parametrize("tool", ["smime", "cms"])
def test_signatures_verify_with_openssl(keys: Keys, tmp_path: Path, openssl: str, tool: str) -> None:
    """Wrapped into a ContentInfo, the SignedData verifies with OpenSSL over the signed content."""
    payload = signing.payload_from_certificate(keys.other_cert)
    update = signing.sign_update(signing.Signer(keys.key, keys.cert), "db", payload, append=True, now=NOW)
    cert_data = authfile.decode(update.data).cert_data
    (tmp_path / "sig.der").write_bytes(pkcs7.wrap_content_info(cert_data))
    (tmp_path / "content.bin").write_bytes(_content(update))
    (tmp_path / "tampered.bin").write_bytes(_content(update)[:-1] + b"\x00")
    base = [
        openssl,
        tool,
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-noverify",
        "-in",
        str(tmp_path / "sig.der"),
    ]
    ok = subprocess.run([*base, "-content", str(tmp_path / "content.bin")], capture_output=True, check=False)
    assert ok.returncode == 0, ok.stderr.decode()
    assert b"Verification successful" in ok.stderr
    bad = subprocess.run(
        [*base, "-content", str(tmp_path / "tampered.bin")], capture_output=True, check=False
    )
    assert bad.returncode != 0
