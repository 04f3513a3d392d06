"""PKCS#7 SignedData: parse, verify with edk2 semantics, sign; cross-checked with OpenSSL."""

from __future__ import annotations

import contextlib
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7 as c_pkcs7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uefivars_gui.crypto import pkcs7
from uefivars_gui.crypto.keys import certificate_pem, private_key_pem
from uefivars_gui.errors import DecodeError, EncodeError, UsageError

from .conftest import Identity, Pki

CERTS = Path(__file__).resolve().parent.parent / "data" / "certs"
EFI_GLOBAL_VARIABLE = UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
EFI_IMAGE_SECURITY_DATABASE = UUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
TIMESTAMP = bytes.fromhex("ea070b1a0e1e00000000000000000000")  # 2026-11-26 14:30:00


def serialised(name: str, guid: UUID, attributes: int, timestamp: bytes, payload: bytes) -> bytes:
    """The signed content of an EFI_VARIABLE_AUTHENTICATION_2 update (edk2-variables §3.4)."""
    return name.encode("utf-16-le") + guid.bytes_le + struct.pack("<I", attributes) + timestamp + payload


CONTENT = serialised("db", EFI_IMAGE_SECURITY_DATABASE, 0x67, TIMESTAMP, b"\xa1\x59\xc0\xa5" + bytes(60))


def flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def sign_with(who: Identity, content: bytes = CONTENT, **kwargs: object) -> bytes:
    return pkcs7.sign(content, who.key, who.cert, **kwargs)  # type: ignore[arg-type]


# --- sign / verify round trips -------------------------------------------------------------


def test_sign_produces_bare_detached_der_that_edk2_and_qemu_accept(pki: Pki) -> None:
    blob = sign_with(pki.standalone)
    assert blob[:2] == b"\x30\x82" and blob[4:7] == b"\x02\x01\x01"
    assert blob[13:22] == bytes.fromhex("608648016503040201")  # SHA-256 OID where edk2 looks
    fmt = pkcs7.edk2_format_check(blob)
    assert fmt.edk2_ok and fmt.qemu_ok and fmt.wrapped is False and fmt.edk2_digest == "sha256"
    info = pkcs7.parse_signed_data(blob)
    assert not info.wrapped and info.detached and info.embedded_content is None
    assert info.digest_algorithms == ("sha256",)
    assert info.certificates == (pki.standalone.cert,)
    (si,) = info.signer_infos
    assert si.digest_algorithm == "sha256" and si.signature_algorithm == "rsaEncryption"
    assert not si.has_signed_attributes
    assert si.issuer_text == "CN=Test PK"
    assert si.serial_number == x509.load_der_x509_certificate(pki.standalone.cert).serial_number
    assert pkcs7.signer_certificates(blob) == [pki.standalone.cert]


def test_sign_then_verify(pki: Pki) -> None:
    blob = sign_with(pki.standalone)
    result = pkcs7.verify(blob, CONTENT, [pki.standalone.cert])
    assert result.ok and result.signature_valid and result.qemu_ok, result.reason
    assert result.reason.startswith("Valid: signed by 'Test PK'")
    assert result.wrapped is False and result.digest == "sha256" and not result.has_signed_attributes
    assert result.signer_cert == pki.standalone.cert
    assert result.chain == (pki.standalone.cert,)
    assert (result.trusted_index, result.trusted_cert) == (0, pki.standalone.cert)
    assert result.expired == () and result.problems == ()


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
@pytest.mark.parametrize("attributes", [False, True])
def test_digests_and_signed_attributes(pki: Pki, digest: str, attributes: bool) -> None:
    blob = sign_with(pki.standalone, digest=digest, signed_attributes=attributes)
    assert pkcs7.edk2_format_check(blob).edk2_digest == digest
    si = pkcs7.parse_signed_data(blob).signer_infos[0]
    assert si.has_signed_attributes is attributes
    if attributes:
        assert si.signed_attributes is not None and si.signed_attributes[0] == 0x31
        assert {oid for oid, _ in si.attributes} == {
            pkcs7.OID_CONTENT_TYPE,
            pkcs7.OID_SIGNING_TIME,
            pkcs7.OID_MESSAGE_DIGEST,
        }
    result = pkcs7.verify(blob, CONTENT, [pki.standalone.cert])
    assert result.ok and result.digest == digest and result.has_signed_attributes is attributes, result.reason


def test_ecdsa_signer(pki: Pki) -> None:
    blob = sign_with(pki.ec)
    assert pkcs7.parse_signed_data(blob).signer_infos[0].signature_algorithm == "ecdsa-with-SHA256"
    assert pkcs7.verify(blob, CONTENT, [pki.ec.cert]).ok
    assert not pkcs7.verify(blob, flip(CONTENT, 3), [pki.ec.cert]).ok


def test_matches_cryptography_builder_byte_for_byte(pki: Pki) -> None:
    """RSA PKCS#1 v1.5 is deterministic: our builder and cryptography's agree exactly."""
    cert = x509.load_der_x509_certificate(pki.standalone.cert)
    theirs = (
        c_pkcs7.PKCS7SignatureBuilder()
        .set_data(CONTENT)
        .add_signer(cert, pki.standalone.key.key, hashes.SHA256())
        .sign(
            serialization.Encoding.DER,
            [
                c_pkcs7.PKCS7Options.DetachedSignature,
                c_pkcs7.PKCS7Options.Binary,
                c_pkcs7.PKCS7Options.NoAttributes,
            ],
        )
    )
    assert pkcs7.parse_signed_data(theirs).wrapped
    assert pkcs7.unwrap_content_info(theirs) == sign_with(pki.standalone)


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize("attributes", [False, True])
def test_flipped_content_byte_fails(pki: Pki, attributes: bool) -> None:
    blob = sign_with(pki.standalone, signed_attributes=attributes)
    for index in (0, len(CONTENT) // 2, len(CONTENT) - 1):
        result = pkcs7.verify(blob, flip(CONTENT, index), [pki.standalone.cert])
        assert not result.ok and not result.signature_valid and not result.qemu_ok
        expected = "messageDigest" if attributes else "signature does not match the content"
        assert expected in result.reason


@pytest.mark.parametrize("attributes", [False, True])
def test_flipped_signature_byte_fails(pki: Pki, attributes: bool) -> None:
    blob = sign_with(pki.standalone, signed_attributes=attributes)
    result = pkcs7.verify(flip(blob, len(blob) - 1), CONTENT, [pki.standalone.cert])  # last byte: signature
    assert not result.ok and "signature does not match" in result.reason


def test_altered_signed_attribute_fails(pki: Pki) -> None:
    blob = sign_with(
        pki.standalone, signed_attributes=True, signing_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    index = blob.index(b"260102030405Z")
    result = pkcs7.verify(blob[:index] + b"3" + blob[index + 1 :], CONTENT, [pki.standalone.cert])
    assert not result.ok and "signed attributes" in result.reason


def test_wrong_trusted_certificate(pki: Pki) -> None:
    blob = sign_with(pki.standalone)
    result = pkcs7.verify(blob, CONTENT, [pki.unrelated.cert])
    assert not result.ok and result.trusted_index is None and result.trusted_cert is None
    assert "does not chain to any trusted certificate ('Unrelated')" in result.reason
    assert result.signer_cert == pki.standalone.cert


def test_no_trusted_certificates(pki: Pki) -> None:
    result = pkcs7.verify(sign_with(pki.standalone), CONTENT, [])
    assert not result.ok and "No usable trusted certificate" in result.reason


def test_unparsable_trusted_entry_is_skipped(pki: Pki) -> None:
    result = pkcs7.verify(sign_with(pki.standalone), CONTENT, [b"junk", pki.standalone.cert])
    assert result.ok and result.trusted_index == 1


def test_signer_certificate_must_be_embedded(pki: Pki) -> None:
    cert = x509.load_der_x509_certificate(pki.standalone.cert)
    wrapped = (
        c_pkcs7.PKCS7SignatureBuilder()
        .set_data(CONTENT)
        .add_signer(cert, pki.standalone.key.key, hashes.SHA256())
        .sign(
            serialization.Encoding.DER,
            [
                c_pkcs7.PKCS7Options.DetachedSignature,
                c_pkcs7.PKCS7Options.NoAttributes,
                c_pkcs7.PKCS7Options.NoCerts,
            ],
        )
    )
    blob = pkcs7.unwrap_content_info(wrapped)
    assert pkcs7.parse_signed_data(blob).certificates == ()
    assert pkcs7.signer_certificates(blob) == []
    result = pkcs7.verify(blob, CONTENT, [pki.standalone.cert])
    assert not result.ok and "not embedded" in result.reason and result.signer_cert is None


def test_embedded_content_is_refused(pki: Pki) -> None:
    cert = x509.load_der_x509_certificate(pki.standalone.cert)
    attached = (
        c_pkcs7.PKCS7SignatureBuilder()
        .set_data(CONTENT)
        .add_signer(cert, pki.standalone.key.key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [c_pkcs7.PKCS7Options.Binary, c_pkcs7.PKCS7Options.NoAttributes])
    )
    info = pkcs7.parse_signed_data(attached)
    assert not info.detached and info.embedded_content == CONTENT
    result = pkcs7.verify(attached, CONTENT, [pki.standalone.cert])
    assert not result.ok and "detached" in result.reason


def test_sha1_is_refused_by_edk2_but_reported_valid(pki: Pki) -> None:
    with pytest.raises(UsageError):
        sign_with(pki.standalone, digest="sha1")
    blob = sign_with(pki.standalone, digest="sha1", strict=False)
    fmt = pkcs7.edk2_format_check(blob)
    assert not fmt.edk2_ok and fmt.edk2_digest is None and "sha1" in (fmt.edk2_problem or "")
    result = pkcs7.verify(blob, CONTENT, [pki.standalone.cert])
    assert result.signature_valid and result.qemu_ok and not result.ok
    assert result.digest == "sha1" and "refused by edk2" in result.reason


def test_sign_rejects_a_key_that_does_not_match(pki: Pki) -> None:
    with pytest.raises(UsageError, match="does not belong"):
        pkcs7.sign(CONTENT, pki.unrelated.key, pki.standalone.cert)
    with pytest.raises(UsageError, match="unknown digest"):
        sign_with(pki.standalone, digest="md5")


def test_sign_accepts_pem_certificate_and_raw_key(pki: Pki) -> None:
    blob = pkcs7.sign(CONTENT, pki.standalone.key.key, certificate_pem(pki.standalone.cert))
    assert pkcs7.verify(blob, CONTENT, [certificate_pem(pki.standalone.cert)]).ok


def test_too_large_for_edk2_raises_encode_error(pki: Pki) -> None:
    with pytest.raises(EncodeError, match="not at byte 13"):
        sign_with(pki.standalone, extra_certs=[pki.root.cert] * 90)


# --- chains -------------------------------------------------------------------------------


def test_chain_to_root(pki: Pki) -> None:
    blob = sign_with(pki.signer, extra_certs=[pki.intermediate.cert])
    result = pkcs7.verify(blob, CONTENT, [pki.unrelated.cert, pki.root.cert])
    assert result.ok, result.reason
    assert result.chain == (pki.signer.cert, pki.intermediate.cert, pki.root.cert)
    assert (result.trusted_index, result.trusted_cert) == (1, pki.root.cert)
    assert "trusted certificate #1 'Test Root CA'" in result.reason


def test_partial_chain_trusting_only_the_intermediate(pki: Pki) -> None:
    blob = sign_with(pki.signer, extra_certs=[pki.intermediate.cert])
    result = pkcs7.verify(blob, CONTENT, [pki.intermediate.cert])
    assert result.ok, result.reason
    assert result.chain == (pki.signer.cert, pki.intermediate.cert) and result.trusted_index == 0


def test_partial_chain_trusting_the_signer_itself(pki: Pki) -> None:
    blob = sign_with(pki.signer, extra_certs=[pki.intermediate.cert])
    result = pkcs7.verify(blob, CONTENT, [pki.signer.cert])
    assert result.ok and result.chain == (pki.signer.cert,)


def test_missing_intermediate_breaks_the_chain(pki: Pki) -> None:
    result = pkcs7.verify(sign_with(pki.signer), CONTENT, [pki.root.cert])
    assert not result.ok and "does not chain" in result.reason


def test_trusted_intermediate_not_embedded(pki: Pki) -> None:
    result = pkcs7.verify(sign_with(pki.signer), CONTENT, [pki.intermediate.cert])
    assert result.ok and result.chain == (pki.signer.cert, pki.intermediate.cert)


def test_issuer_that_is_not_a_ca_is_refused(pki: Pki) -> None:
    blob = sign_with(pki.not_a_ca_child, extra_certs=[pki.signer.cert, pki.intermediate.cert])
    result = pkcs7.verify(blob, CONTENT, [pki.root.cert])
    assert not result.ok and "not a CA" in result.reason
    # trusting the child directly needs no issuer at all
    assert pkcs7.verify(blob, CONTENT, [pki.not_a_ca_child.cert]).ok


def test_expired_ca_still_verifies_but_is_reported(pki: Pki) -> None:
    blob = sign_with(pki.expired_ca_signer, extra_certs=[pki.expired_ca.cert])
    result = pkcs7.verify(blob, CONTENT, [pki.expired_ca.cert])
    assert result.ok, result.reason
    assert result.expired == (pki.expired_ca.cert,)
    assert "Expired, which edk2 ignores: 'Expired Test CA'" in result.reason
    early = pkcs7.verify(blob, CONTENT, [pki.expired_ca.cert], at=datetime(2000, 6, 1, tzinfo=UTC))
    assert early.ok and early.expired == () and early.not_yet_valid == (pki.expired_ca_signer.cert,)


# --- ContentInfo wrapping and the edk2 / QEMU byte heuristics ---------------------------


def test_wrapped_blob_edk2_accepts_qemu_refuses(pki: Pki) -> None:
    bare = sign_with(pki.standalone)
    wrapped = pkcs7.wrap_content_info(bare)
    assert wrapped[15:17] == b"\xa0\x82" and len(wrapped) == len(bare) + 19
    assert pkcs7.unwrap_content_info(wrapped) == bare and pkcs7.unwrap_content_info(bare) == bare
    fmt = pkcs7.edk2_format_check(wrapped)
    assert fmt.wrapped and fmt.edk2_sees_wrapped and not fmt.qemu_sees_wrapped
    assert fmt.edk2_ok and fmt.edk2_digest == "sha256"
    assert not fmt.qemu_ok and "0x0a" in (fmt.qemu_problem or "")
    result = pkcs7.verify(wrapped, CONTENT, [pki.standalone.cert])
    assert result.ok and result.signature_valid and not result.qemu_ok and result.wrapped is True
    assert "QEMU 10.0.2 would refuse it" in result.reason
    info = pkcs7.parse_signed_data(wrapped)
    assert info.wrapped and info.signed_data == bare and info.signed_data_offset == 19


def test_qemu_misdetection_of_byte_15(pki: Pki) -> None:
    wrapped = bytearray(pkcs7.wrap_content_info(sign_with(pki.standalone)))
    wrapped[15] = 0x0A
    fmt = pkcs7.edk2_format_check(bytes(wrapped))
    assert fmt.qemu_sees_wrapped and not fmt.edk2_sees_wrapped and not fmt.qemu_ok


def test_edk2_fixed_offset_needs_two_byte_lengths(pki: Pki) -> None:
    blob = sign_with(pki.standalone)
    # the same SignedData with a (valid BER, non-minimal) 3-byte length: OID moves to 14
    longer = b"\x30\x83\x00" + blob[2:]
    assert pkcs7.parse_signed_data(longer).signer_infos
    fmt = pkcs7.edk2_format_check(longer)
    assert not fmt.edk2_ok and fmt.qemu_ok and "byte 13" in (fmt.edk2_problem or "")
    short = pkcs7.edk2_format_check(b"\x30\x81\x10" + bytes(40))
    assert not short.edk2_ok and "byte 1 is 0x81" in (short.edk2_problem or "")
    assert not pkcs7.edk2_format_check(b"\x30\x03").edk2_ok


# --- parsing errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blob", "offset"),
    [
        (b"", 0),
        (b"\x04\x01\x00", 0),
        (b"\x30\x82\x01", 1),
        (b"\x30\x05\x02\x01\x01", 0),
        (b"\x30\x80\x02\x01\x01\x00\x00", 1),
        (b"\x30\x03\x01\x01\x00", 2),
        (b"\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01", 2),
    ],
)
def test_garbage_raises_decode_error_with_offset(blob: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        pkcs7.parse_signed_data(blob)
    assert info.value.offset == offset and info.value.what == "PKCS#7"


def test_truncated_signature_reports_where(pki: Pki) -> None:
    blob = sign_with(pki.standalone)
    with pytest.raises(DecodeError) as info:
        pkcs7.parse_signed_data(blob[:-10])
    assert info.value.offset == 0
    result = pkcs7.verify(blob[:-10], CONTENT, [pki.standalone.cert])
    assert not result.ok and result.wrapped is None and "cannot be parsed" in result.reason


def test_trailing_bytes_are_tolerated_and_shown(pki: Pki) -> None:
    blob = sign_with(pki.standalone) + b"\x00\x00"
    info = pkcs7.parse_signed_data(blob)
    assert info.trailing == 2
    assert info.fields.find("trailing bytes") is not None
    assert pkcs7.verify(blob, CONTENT, [pki.standalone.cert]).ok


def test_field_tree_spans(pki: Pki) -> None:
    blob = sign_with(pki.signer, extra_certs=[pki.intermediate.cert], signed_attributes=True)
    tree = pkcs7.parse_signed_data(blob).fields
    assert (tree.name, tree.offset, tree.length) == ("SignedData", 0, len(blob))
    certs = tree.find("certificates")
    assert certs is not None and [c.text for c in certs.children] == [
        "Test KEK Signer",
        "Test Intermediate CA",
    ]
    first = certs.children[0]
    assert blob[first.offset : first.end] == pki.signer.cert
    signer = tree.find("SignerInfo #0")
    assert signer is not None and signer.end == len(blob) and "signed attributes" in signer.text
    deepest = tree.deepest_at(len(blob) - 1)
    assert deepest is not None and deepest.name == "signature" and deepest.text == "256 bytes"
    attrs = tree.find("signedAttrs")
    assert attrs is not None and blob[attrs.offset] == 0xA0 and "messageDigest" in attrs.text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        pkcs7.parse_signed_data(data)
    pkcs7.edk2_format_check(data)


class Sample:
    """A signed blob plus its trust anchor (short repr for hypothesis reports)."""

    def __init__(self, blob: bytes, anchor: bytes, signer: bytes) -> None:
        self.blob, self.anchor, self.signer = blob, anchor, signer

    def __repr__(self) -> str:
        return f"Sample({len(self.blob)} bytes)"


@pytest.fixture(scope="module")
def sample(pki: Pki) -> Sample:
    blob = sign_with(pki.signer, extra_certs=[pki.intermediate.cert], signed_attributes=True)
    return Sample(blob, pki.root.cert, pki.signer.cert)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_signatures_never_crash(sample: Sample, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(sample.blob) - 1))
    value = data.draw(st.integers(0, 255))
    mutated = sample.blob[:index] + bytes([value]) + sample.blob[index + 1 :]
    result = pkcs7.verify(mutated, CONTENT, [sample.anchor])  # never raises
    if result.ok:  # a harmless change (e.g. the version number)
        assert result.signer_cert == sample.signer


# --- OpenSSL cross-checks -------------------------------------------------------------------


def _run(cmd: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, capture_output=True, timeout=30, check=False)


@pytest.mark.parametrize("attributes", [False, True])
def test_openssl_verifies_our_signature(pki: Pki, openssl: str, tmp_path: Path, attributes: bool) -> None:
    blob = sign_with(pki.signer, extra_certs=[pki.intermediate.cert], signed_attributes=attributes)
    (tmp_path / "sig.der").write_bytes(pkcs7.wrap_content_info(blob))
    (tmp_path / "content.bin").write_bytes(CONTENT)
    (tmp_path / "bad.bin").write_bytes(flip(CONTENT, 5))
    (tmp_path / "inter.pem").write_bytes(certificate_pem(pki.intermediate.cert))
    base = [openssl, "smime", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.der")]
    out = ["-out", str(tmp_path / "out.bin")]
    ok = _run([*base, "-content", str(tmp_path / "content.bin"), "-noverify", *out])
    assert ok.returncode == 0, ok.stderr.decode()
    assert (tmp_path / "out.bin").read_bytes() == CONTENT
    bad = _run([*base, "-content", str(tmp_path / "bad.bin"), "-noverify", *out])
    assert bad.returncode != 0
    # edk2's X509 settings: only the intermediate trusted, partial chain, any purpose
    chain = _run(
        [*base, "-content", str(tmp_path / "content.bin"), "-CAfile", str(tmp_path / "inter.pem"),
         "-partial_chain", "-purpose", "any", *out]
    )  # fmt: skip
    assert chain.returncode == 0, chain.stderr.decode()


CHAIN_CASES = {
    # name: (signer, embedded extras, trusted)
    "root": ("signer", ["intermediate"], ["root"]),
    "intermediate only": ("signer", ["intermediate"], ["intermediate"]),
    "signer itself": ("signer", ["intermediate"], ["signer"]),
    "missing intermediate": ("signer", [], ["root"]),
    "unrelated": ("signer", ["intermediate"], ["unrelated"]),
    "issuer not a CA": ("not_a_ca_child", ["signer", "intermediate"], ["root"]),
    "expired CA": ("expired_ca_signer", ["expired_ca"], ["expired_ca"]),
}


@pytest.mark.parametrize("case", sorted(CHAIN_CASES))
def test_chain_decisions_agree_with_openssl(pki: Pki, openssl: str, tmp_path: Path, case: str) -> None:
    """edk2's X509 store settings, as openssl flags: partial chain, no time check, any purpose."""
    signer_name, extras, trusted = CHAIN_CASES[case]
    signer: Identity = getattr(pki, signer_name)
    blob = sign_with(signer, extra_certs=[getattr(pki, n).cert for n in extras])
    anchors = [getattr(pki, n).cert for n in trusted]
    (tmp_path / "sig.der").write_bytes(pkcs7.wrap_content_info(blob))
    (tmp_path / "content.bin").write_bytes(CONTENT)
    (tmp_path / "trust.pem").write_bytes(b"".join(certificate_pem(c) for c in anchors))
    done = _run(
        [openssl, "smime", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.der"),
         "-content", str(tmp_path / "content.bin"), "-CAfile", str(tmp_path / "trust.pem"),
         "-partial_chain", "-no_check_time", "-purpose", "any", "-out", str(tmp_path / "out.bin")]
    )  # fmt: skip
    ours = pkcs7.verify(blob, CONTENT, anchors)
    assert ours.ok == (done.returncode == 0), (ours.reason, done.stderr.decode())


@pytest.mark.parametrize("noattr", [True, False])
def test_we_verify_openssl_signatures(pki: Pki, openssl: str, tmp_path: Path, noattr: bool) -> None:
    (tmp_path / "content.bin").write_bytes(CONTENT)
    (tmp_path / "cert.pem").write_bytes(certificate_pem(pki.signer.cert))
    (tmp_path / "key.pem").write_bytes(private_key_pem(pki.signer.key))
    (tmp_path / "inter.pem").write_bytes(certificate_pem(pki.intermediate.cert))
    cmd = [
        openssl, "smime", "-sign", "-binary", "-outform", "DER", "-md", "sha256",
        "-in", str(tmp_path / "content.bin"), "-signer", str(tmp_path / "cert.pem"),
        "-inkey", str(tmp_path / "key.pem"), "-certfile", str(tmp_path / "inter.pem"),
        "-out", str(tmp_path / "sig.der"),
    ]  # fmt: skip
    if noattr:
        cmd.append("-noattr")
    done = _run(cmd)
    assert done.returncode == 0, done.stderr.decode()
    blob = (tmp_path / "sig.der").read_bytes()
    result = pkcs7.verify(blob, CONTENT, [pki.root.cert])
    assert result.ok and result.wrapped is True and not result.qemu_ok, result.reason
    assert result.has_signed_attributes is not noattr
    assert not pkcs7.verify(blob, flip(CONTENT, 0), [pki.root.cert]).ok
    bare = pkcs7.unwrap_content_info(blob)
    assert pkcs7.verify(bare, CONTENT, [pki.root.cert]).qemu_ok


# --- Microsoft's real signed updates (../shared/testdata/signed) ------------------------------


def split_auth(data: bytes) -> tuple[bytes, bytes, bytes]:
    """(timestamp, PKCS#7, payload) of an EFI_VARIABLE_AUTHENTICATION_2 update."""
    (dw_length,) = struct.unpack_from("<I", data, 16)
    return data[:16], data[40 : 16 + dw_length], data[16 + dw_length :]


def test_real_dbx_update(signed_dir: Path) -> None:
    timestamp, blob, payload = split_auth((signed_dir / "DBXUpdate-amd64.bin").read_bytes())
    content = serialised("dbx", EFI_IMAGE_SECURITY_DATABASE, 0x67, timestamp, payload)
    kek_ca = (CERTS / "ms-kek-ca-2011.der").read_bytes()
    info = pkcs7.parse_signed_data(blob)
    assert not info.wrapped and info.detached and info.digest_algorithms == ("sha256",)
    assert len(info.certificates) == 2 and not info.signer_infos[0].has_signed_attributes
    fmt = pkcs7.edk2_format_check(blob)
    assert fmt.edk2_ok and fmt.qemu_ok

    result = pkcs7.verify(blob, content, [kek_ca], at=datetime(2026, 5, 1, tzinfo=UTC))
    assert result.ok and result.qemu_ok, result.reason
    assert result.trusted_cert == kek_ca and len(result.chain) == 2 and result.chain[-1] == kek_ca
    signer = x509.load_der_x509_certificate(result.signer_cert or b"")
    assert "Microsoft Windows UEFI Key Exchange Key" in signer.subject.rfc4514_string()
    assert pkcs7.signer_certificates(blob) == [result.signer_cert]
    assert result.expired == ()

    later = pkcs7.verify(blob, content, [kek_ca], at=datetime(2026, 7, 1, tzinfo=UTC))
    assert later.ok and kek_ca in later.expired and "Microsoft Corporation KEK CA 2011" in later.reason

    debian_pk = x509.load_pem_x509_certificate((CERTS / "debian-2016.pem").read_bytes())
    wrong = pkcs7.verify(blob, content, [debian_pk.public_bytes(serialization.Encoding.DER)])
    assert not wrong.ok and "does not chain" in wrong.reason
    assert not pkcs7.verify(blob, flip(content, len(content) - 1), [kek_ca]).ok
    assert not pkcs7.verify(
        blob, serialised("db", EFI_IMAGE_SECURITY_DATABASE, 0x67, timestamp, payload), [kek_ca]
    ).ok


def test_real_kek_update_signed_by_oem_pk(signed_dir: Path) -> None:
    timestamp, blob, payload = split_auth(
        (signed_dir / "KEKUpdate-signed-by-windows-oem-devices-pk.bin").read_bytes()
    )
    content = serialised("KEK", EFI_GLOBAL_VARIABLE, 0x67, timestamp, payload)
    oem_pk = (CERTS / "ms-windows-oem-devices-pk.der").read_bytes()
    result = pkcs7.verify(blob, content, [oem_pk])
    assert result.ok and result.chain == (oem_pk,) and result.signer_cert == oem_pk, result.reason
    assert not pkcs7.verify(blob, content, [(CERTS / "ms-kek-ca-2011.der").read_bytes()]).ok
    # the attributes are part of the signed content: 0x27 instead of 0x67 fails
    assert not pkcs7.verify(
        blob, serialised("KEK", EFI_GLOBAL_VARIABLE, 0x27, timestamp, payload), [oem_pk]
    ).ok
    wrapped = pkcs7.verify(pkcs7.wrap_content_info(blob), content, [oem_pk])
    assert wrapped.ok and not wrapped.qemu_ok
