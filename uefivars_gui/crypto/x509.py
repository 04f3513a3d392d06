"""X.509 certificates: summaries, PEM/DER loading, and the describer for signature lists.

The only module besides the rest of ``crypto/`` that imports ``cryptography``. Everything
here takes and returns DER bytes and plain values; parse failures are
:class:`~uefivars_gui.errors.DecodeError`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from ..core.fields import Field
from ..errors import DecodeError

_PEM_RE = re.compile(
    rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----\s*(.+?)\s*-----END (?:X509 |TRUSTED )?CERTIFICATE-----",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """What a person wants to know about a certificate at a glance."""

    subject: str
    subject_cn: str | None
    issuer: str
    issuer_cn: str | None
    #: Lowercase hex without separators.
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    #: SHA-256 over the DER, lowercase hex.
    sha256: str
    #: ``RSA``, ``EC``, ``Ed25519``, ``Ed448``, ``DSA`` or ``unknown``.
    key_type: str
    #: Key size in bits (the curve size for EC), None if unknown.
    key_bits: int | None
    is_ca: bool
    self_signed: bool
    #: The curve name for EC keys (``secp256r1``), else None.
    key_curve: str | None = None

    @property
    def name(self) -> str:
        """The subject CN, or the whole subject when it has none."""
        return self.subject_cn or self.subject or "(empty subject)"

    @property
    def key_description(self) -> str:
        """E.g. ``RSA 2048`` or ``EC secp384r1``."""
        if self.key_curve:
            return f"{self.key_type} {self.key_curve}"
        return f"{self.key_type} {self.key_bits}" if self.key_bits else self.key_type

    def expired(self, at: dt.datetime | None = None) -> bool:
        """True once ``at`` (default: now) is past notAfter."""
        return _when(at) > self.not_after

    def not_yet_valid(self, at: dt.datetime | None = None) -> bool:
        return _when(at) < self.not_before


def _when(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(dt.UTC)
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _cn(name: x509.Name) -> str | None:
    for attribute in name.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = attribute.value
        return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


def _load(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(bytes(der))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise DecodeError(f"not a DER X.509 certificate: {exc}", 0, what="certificate") from exc


def _key_info(cert: x509.Certificate) -> tuple[str, int | None, str | None]:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "unknown", None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    return "unknown", None, None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def summarize(der: bytes) -> CertificateSummary:
    """Summarize a DER certificate; :class:`DecodeError` if it is none."""
    cert = _load(der)
    try:
        key_type, key_bits, curve = _key_info(cert)
        serial = cert.serial_number
        return CertificateSummary(
            subject=cert.subject.rfc4514_string(),
            subject_cn=_cn(cert.subject),
            issuer=cert.issuer.rfc4514_string(),
            issuer_cn=_cn(cert.issuer),
            serial=f"{serial:x}" if serial >= 0 else f"-{-serial:x}",
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            sha256=hashlib.sha256(bytes(der)).hexdigest(),
            key_type=key_type,
            key_bits=key_bits,
            is_ca=_is_ca(cert),
            self_signed=_self_signed(cert),
            key_curve=curve,
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise DecodeError(f"malformed certificate: {exc}", 0, what="certificate") from exc


def is_rsa(der: bytes) -> bool:
    """Whether ``der`` is a certificate with an RSA key (edk2 accepts only those in PK/KEK/db/dbx)."""
    try:
        return isinstance(_load(der).public_key(), rsa.RSAPublicKey)
    except (DecodeError, ValueError, UnsupportedAlgorithm):
        return False


def load_certificate_file(source: str | os.PathLike[str] | bytes) -> bytes:
    """The DER bytes of a PEM or DER certificate given as a path or as the file's bytes.

    For PEM the first CERTIFICATE block is used (text before it, e.g. ``openssl x509
    -text`` output, is ignored).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise DecodeError(
                f"cannot read {os.fspath(source)!r}: {exc.strerror}", what="certificate"
            ) from exc
    match = _PEM_RE.search(data)
    if match is not None:
        try:
            der = base64.b64decode(re.sub(rb"\s+", b"", match.group(1)), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(
                f"bad base64 in the PEM block: {exc}", match.start(1), what="certificate"
            ) from exc
    elif b"-----BEGIN" in data:
        raise DecodeError(
            "PEM data without a CERTIFICATE block", data.index(b"-----BEGIN"), what="certificate"
        )
    else:
        der = data
    _load(der)
    return der


# --- DER spans ------------------------------------------------------------------------------


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``."""
    if pos + 2 > end:
        raise DecodeError("truncated DER element", pos)
    tag = data[pos]
    first = data[pos + 1]
    start = pos + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > end:
            raise DecodeError("bad DER length", pos + 1)
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > end:
        raise DecodeError("DER element runs past its parent", pos)
    return tag, start, start + length


def _tbs_spans(der: bytes) -> dict[str, tuple[int, int]]:
    """Byte spans (offset, length) of the TBSCertificate members we show."""
    _, cert_start, cert_end = _tlv(der, 0, len(der))
    _, tbs_start, tbs_end = _tlv(der, cert_start, cert_end)
    names = ["serialNumber", "signature", "issuer", "validity", "subject", "subjectPublicKeyInfo"]
    spans: dict[str, tuple[int, int]] = {}
    pos = tbs_start
    first = True
    while names and pos < tbs_end:
        tag, start, end = _tlv(der, pos, tbs_end)
        member = "version" if first and tag == 0xA0 else names.pop(0)
        spans[member] = (pos, end - pos)
        if member == "validity":
            _, _, before_end = _tlv(der, start, end)
            _, _, after_end = _tlv(der, before_end, end)
            spans["notBefore"] = (start, before_end - start)
            spans["notAfter"] = (before_end, after_end - before_end)
        first = False
        pos = end
    return spans


def describe_x509(der: bytes, at: dt.datetime | None = None) -> tuple[str, tuple[Field, ...]]:
    """Summary text and child fields (spans relative to the DER start) for a signature-list entry.

    Never raises for bad input: a non-certificate gives a single field carrying a warning.
    ``at`` is the moment for the expiry check (default: now).
    """
    try:
        info = summarize(der)
    except DecodeError as exc:
        return "not a certificate", (Field("Certificate", 0, len(der), "unparseable", warning=str(exc)),)
    try:
        spans = _tbs_spans(bytes(der))
    except DecodeError:
        spans = {}
    whole = (0, len(der))

    def span(key: str) -> tuple[int, int]:
        return spans.get(key, whole)

    warning = None
    if info.expired(at):
        warning = f"expired on {info.not_after:%Y-%m-%d}"
    elif info.not_yet_valid(at):
        warning = f"not valid before {info.not_before:%Y-%m-%d}"
    kind = ", ".join(part for part, flag in (("CA", info.is_ca), ("self-signed", info.self_signed)) if flag)
    children = (
        Field("SerialNumber", *span("serialNumber"), info.serial),
        Field("Issuer", *span("issuer"), info.issuer),
        Field(
            "Validity",
            *span("validity"),
            f"{info.not_before:%Y-%m-%d} .. {info.not_after:%Y-%m-%d}",
            (
                Field("NotBefore", *span("notBefore"), info.not_before.isoformat()),
                Field("NotAfter", *span("notAfter"), info.not_after.isoformat(), warning=warning),
            ),
            warning,
        ),
        Field("Subject", *span("subject"), info.subject),
        Field("SubjectPublicKeyInfo", *span("subjectPublicKeyInfo"), info.key_description),
        Field("SHA256Fingerprint", *whole, info.sha256 + (f" ({kind})" if kind else "")),
    )
    return info.name, children
