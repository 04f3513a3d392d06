"""EngineVerifier: the device's Pkcs7Verifier on top of crypto.pkcs7."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from uefivars_gui.crypto import pkcs7
from uefivars_gui.crypto.engine_verifier import EngineVerifier
from uefivars_gui.errors import DecodeError

from .conftest import Pki

if TYPE_CHECKING:
    from uefivars_gui.device.auth import Pkcs7Verifier

CONTENT = b"d\x00b\x00" + bytes(16) + b"\x67\x00\x00\x00" + bytes(16) + b"payload"


def test_satisfies_the_device_protocol() -> None:
    verifier: Pkcs7Verifier = EngineVerifier()  # checked by mypy when tests are type-checked
    assert callable(verifier.verify) and callable(verifier.signer_certificates)


def test_verify_against_the_right_and_the_wrong_trust_anchor(pki: Pki) -> None:
    blob = pkcs7.sign(CONTENT, pki.standalone.key, pki.standalone.cert)
    verifier = EngineVerifier()
    assert verifier.verify(blob, CONTENT, [pki.unrelated.cert, pki.standalone.cert]) is True
    record = verifier.last
    assert record is not None and record.accepted
    assert record.trusted_cert == pki.standalone.cert
    assert record.trusted == (pki.unrelated.cert, pki.standalone.cert)
    assert verifier.verify(blob, CONTENT, [pki.unrelated.cert]) is False
    assert verifier.verify(blob, CONTENT + b"!", [pki.standalone.cert]) is False
    assert len(verifier.records) == 3
    assert verifier.last_accepted is verifier.records[0]
    verifier.clear()
    assert verifier.last is None and verifier.last_accepted is None


def test_chain_through_embedded_intermediate_to_root(pki: Pki) -> None:
    blob = pkcs7.sign(CONTENT, pki.signer.key, pki.signer.cert, extra_certs=[pki.intermediate.cert])
    verifier = EngineVerifier()
    assert verifier.verify(blob, CONTENT, [pki.root.cert])
    # a trusted intermediate ends the chain (partial chain, as edk2)
    assert verifier.verify(blob, CONTENT, [pki.intermediate.cert])
    assert verifier.last is not None and verifier.last.trusted_cert == pki.intermediate.cert


def test_signer_certificates_are_the_whole_set_in_blob_order(pki: Pki) -> None:
    """QEMU takes cert[0] as the signer and cert[-1] as the root of a private authvar."""
    blob = pkcs7.sign(
        CONTENT, pki.signer.key, pki.signer.cert, extra_certs=[pki.intermediate.cert, pki.root.cert]
    )
    verifier = EngineVerifier()
    assert verifier.signer_certificates(blob) == [pki.signer.cert, pki.intermediate.cert, pki.root.cert]
    wrapped = pkcs7.wrap_content_info(blob)
    assert verifier.signer_certificates(wrapped) == [pki.signer.cert, pki.intermediate.cert, pki.root.cert]
    with pytest.raises(DecodeError):
        verifier.signer_certificates(b"\x30\x03\x02\x01\x01")


def test_content_info_wrapped_blob_is_accepted(pki: Pki) -> None:
    """Intended difference A2: CertData passed as sent, wrapped or bare both verify."""
    blob = pkcs7.wrap_content_info(pkcs7.sign(CONTENT, pki.standalone.key, pki.standalone.cert))
    assert EngineVerifier().verify(blob, CONTENT, [pki.standalone.cert])


def test_expired_chain_is_reported_not_failing(pki: Pki) -> None:
    blob = pkcs7.sign(CONTENT, pki.expired_ca_signer.key, pki.expired_ca_signer.cert)
    verifier = EngineVerifier(at=datetime(2026, 11, 26, tzinfo=UTC))
    assert verifier.verify(blob, CONTENT, [pki.expired_ca.cert])
    assert verifier.last is not None
    assert verifier.last.expired == (pki.expired_ca.cert,)


def test_sha1_accepted_by_default_refused_when_strict(pki: Pki) -> None:
    """QEMU (GnuTLS) accepts SHA-1 signatures; edk2's format check refuses them."""
    blob = pkcs7.sign(CONTENT, pki.standalone.key, pki.standalone.cert, digest="sha1", strict=False)
    assert EngineVerifier().verify(blob, CONTENT, [pki.standalone.cert])
    strict = EngineVerifier(strict_edk2_format=True)
    assert not strict.verify(blob, CONTENT, [pki.standalone.cert])
    assert strict.last is not None and strict.last.result.signature_valid


def test_garbage_is_refused_not_raised(pki: Pki) -> None:
    verifier = EngineVerifier()
    assert verifier.verify(b"not der at all", CONTENT, [pki.standalone.cert]) is False
    assert verifier.verify(b"", CONTENT, []) is False
