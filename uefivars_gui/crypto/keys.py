"""Signing keys and certificates for Secure Boot (PK, KEK, db): generate, load, write.

Certificates cross this module's boundary as DER ``bytes``; private keys as the opaque
:class:`PrivateKey` handle, so that layers outside ``crypto/`` never touch cryptography.
Private key files are created with mode 0600 and never replace an existing file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import DecodeError, UefiVarsError, UsageError

__all__ = [
    "KeyFileExistsError",
    "PassphraseError",
    "Pkcs12Bundle",
    "PrivateKey",
    "PrivateKeyTypes",
    "certificate_der",
    "certificate_pem",
    "generate_ec_key",
    "generate_key",
    "issue_certificate",
    "load_certificate",
    "load_certificate_file",
    "load_certificates",
    "load_pkcs12",
    "load_private_key",
    "load_private_key_file",
    "private_key_pem",
    "self_signed_certificate",
    "write_certificate",
    "write_private_key",
]

PrivateKeyTypes = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

RSA_SIZES = (2048, 3072, 4096)
EC_CURVES: dict[str, ec.EllipticCurve] = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}
DEFAULT_DAYS = 3650


class KeyFileExistsError(UefiVarsError, FileExistsError):
    """Refusing to replace an existing key (or certificate) file."""


class PassphraseError(DecodeError):
    """The key is encrypted and the passphrase is missing or wrong."""


@dataclass(frozen=True, slots=True, eq=False)
class PrivateKey:
    """An RSA or EC private key (opaque outside ``crypto/``)."""

    key: PrivateKeyTypes

    @property
    def description(self) -> str:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return f"RSA {self.key.key_size}"
        return f"EC {self.key.curve.name}"

    def public_key_der(self) -> bytes:
        """SubjectPublicKeyInfo DER of the public half."""
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def matches_certificate(self, cert: bytes) -> bool:
        """True when ``cert`` (DER or PEM) carries this key's public half."""
        try:
            loaded = x509.load_der_x509_certificate(certificate_der(cert))
            spki = loaded.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        except (ValueError, DecodeError, x509.InvalidVersion):
            return False
        return spki == self.public_key_der()


def _as_key(key: PrivateKey | PrivateKeyTypes) -> PrivateKeyTypes:
    return key.key if isinstance(key, PrivateKey) else key


def _passphrase(passphrase: str | bytes | None) -> bytes | None:
    if passphrase is None:
        return None
    return passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)


# --- generation --------------------------------------------------------------------------


def generate_key(bits: int = 2048) -> PrivateKey:
    """A new RSA key (2048, 3072 or 4096 bits; e = 65537)."""
    if bits not in RSA_SIZES:
        raise UsageError(f"RSA key size {bits} not offered; use one of {', '.join(map(str, RSA_SIZES))}")
    return PrivateKey(rsa.generate_private_key(public_exponent=65537, key_size=bits))


def generate_ec_key(curve: str = "secp256r1") -> PrivateKey:
    """A new EC key (secp256r1 or secp384r1)."""
    if curve not in EC_CURVES:
        raise UsageError(f"curve {curve!r} not offered; use one of {', '.join(EC_CURVES)}")
    return PrivateKey(ec.generate_private_key(EC_CURVES[curve]))


def _validity(not_before: datetime | None, days: int) -> tuple[datetime, datetime]:
    if days <= 0:
        raise UsageError("the validity must be at least one day")
    start = not_before if not_before is not None else datetime.now(UTC).replace(microsecond=0)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start, start + timedelta(days=days)


def _name(common_name: str, organization: str | None) -> x509.Name:
    if not common_name:
        raise UsageError("a certificate needs a common name")
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


def _serial(serial: int | None) -> int:
    if serial is None:
        return secrets.randbits(159) | (1 << 152)
    if serial <= 0:
        raise UsageError("a certificate serial number must be positive")
    return serial


def _build(
    subject: x509.Name,
    subject_key: PrivateKeyTypes,
    issuer: x509.Name,
    issuer_key: PrivateKeyTypes,
    issuer_public: x509.Certificate | None,
    *,
    ca: bool,
    days: int,
    serial: int | None,
    not_before: datetime | None,
) -> bytes:
    start, end = _validity(not_before, days)
    public = subject_key.public_key()
    authority_public = issuer_public.public_key() if issuer_public is not None else public
    if not isinstance(authority_public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise UsageError("the issuer certificate has neither an RSA nor an EC key")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(_serial(serial))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_public), critical=False)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.DER)


def self_signed_certificate(
    key: PrivateKey | PrivateKeyTypes,
    common_name: str,
    *,
    days: int = DEFAULT_DAYS,
    serial: int | None = None,
    organization: str | None = None,
    not_before: datetime | None = None,
) -> bytes:
    """A self-signed X.509 v3 certificate (DER) suitable for PK, KEK or db.

    It is a CA (basicConstraints CA:TRUE, keyUsage digitalSignature + keyCertSign +
    cRLSign) so that it can sign variable updates directly and issue certificates, with
    subject/authority key identifiers and a SHA-256 signature. The serial is random
    unless given; the validity starts now (or ``not_before``) and lasts ``days``.
    """
    private = _as_key(key)
    name = _name(common_name, organization)
    return _build(
        name, private, name, private, None, ca=True, days=days, serial=serial, not_before=not_before
    )


def issue_certificate(
    issuer_key: PrivateKey | PrivateKeyTypes,
    issuer_cert: bytes,
    subject_key: PrivateKey | PrivateKeyTypes,
    common_name: str,
    *,
    ca: bool = False,
    days: int = DEFAULT_DAYS,
    serial: int | None = None,
    organization: str | None = None,
    not_before: datetime | None = None,
) -> bytes:
    """A certificate (DER) for ``subject_key`` signed by an issuer key and certificate.

    ``ca=True`` makes an intermediate CA; otherwise a signing leaf (keyUsage
    digitalSignature, extendedKeyUsage codeSigning).
    """
    issuer = x509.load_der_x509_certificate(load_certificate(issuer_cert))
    if not PrivateKey(_as_key(issuer_key)).matches_certificate(issuer_cert):
        raise UsageError("the issuer key does not belong to the issuer certificate")
    return _build(
        _name(common_name, organization),
        _as_key(subject_key),
        issuer.subject,
        _as_key(issuer_key),
        issuer,
        ca=ca,
        days=days,
        serial=serial,
        not_before=not_before,
    )


# --- serialisation -----------------------------------------------------------------------


def private_key_pem(key: PrivateKey | PrivateKeyTypes, passphrase: str | bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
    secret = _passphrase(passphrase)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    return _as_key(key).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def certificate_pem(cert: bytes) -> bytes:
    """PEM text of a certificate given as DER or PEM."""
    loaded = x509.load_der_x509_certificate(load_certificate(cert))
    return loaded.public_bytes(serialization.Encoding.PEM)


def certificate_der(cert: bytes) -> bytes:
    """DER of a certificate given as DER or PEM (the first PEM block). Raises DecodeError."""
    data = bytes(cert)
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
        except (ValueError, x509.InvalidVersion) as exc:
            raise DecodeError(f"not a PEM certificate ({exc})", 0, what="certificate") from None
    return data


# --- loading -----------------------------------------------------------------------------


def load_certificate(data: bytes) -> bytes:
    """Check and normalise one certificate (PEM or DER) to DER. Raises DecodeError."""
    der = certificate_der(data)
    try:
        x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:
        raise DecodeError(f"not an X.509 certificate ({exc})", 0, what="certificate") from None
    return der


def load_certificates(data: bytes) -> list[bytes]:
    """All certificates of a PEM bundle, or the single DER certificate."""
    raw = bytes(data)
    if raw.lstrip().startswith(b"-----BEGIN"):
        try:
            certs = x509.load_pem_x509_certificates(raw)
        except (ValueError, x509.InvalidVersion) as exc:
            raise DecodeError(f"no PEM certificates ({exc})", 0, what="certificate") from None
        return [c.public_bytes(serialization.Encoding.DER) for c in certs]
    return [load_certificate(raw)]


def load_certificate_file(path: str | os.PathLike[str]) -> bytes:
    return load_certificate(Path(path).read_bytes())


def _wrap_key(loaded: object) -> PrivateKey:
    if isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return PrivateKey(loaded)
    raise DecodeError(
        f"unsupported key type {type(loaded).__name__} (RSA or EC expected)", 0, what="private key"
    )


def load_private_key(data: bytes, passphrase: str | bytes | None = None) -> PrivateKey:
    """A PEM (or DER) private key, optionally encrypted. Raises PassphraseError/DecodeError."""
    raw = bytes(data)
    secret = _passphrase(passphrase)
    pem = raw.lstrip().startswith(b"-----BEGIN")
    try:
        if pem:
            loaded = serialization.load_pem_private_key(raw, password=secret)
        else:
            loaded = serialization.load_der_private_key(raw, password=secret)
    except TypeError as exc:
        if secret is None:
            raise PassphraseError(
                "the key is encrypted: a passphrase is needed", what="private key"
            ) from None
        raise PassphraseError(f"the key is not encrypted: {exc}", what="private key") from None
    except ValueError as exc:
        if secret is not None:
            raise PassphraseError(f"wrong passphrase or damaged key ({exc})", what="private key") from None
        raise DecodeError(f"not a private key ({exc})", 0, what="private key") from None
    except UnsupportedAlgorithm as exc:
        raise DecodeError(f"unsupported key ({exc})", 0, what="private key") from None
    return _wrap_key(loaded)


def load_private_key_file(path: str | os.PathLike[str], passphrase: str | bytes | None = None) -> PrivateKey:
    return load_private_key(Path(path).read_bytes(), passphrase)


@dataclass(frozen=True, slots=True, eq=False)
class Pkcs12Bundle:
    key: PrivateKey
    certificate: bytes
    additional_certificates: tuple[bytes, ...]


def load_pkcs12(data: bytes, passphrase: str | bytes | None = None) -> Pkcs12Bundle:
    """Key and certificate (plus any extra certificates) from a PKCS#12 file."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(bytes(data), _passphrase(passphrase))
    except ValueError as exc:
        raise PassphraseError(f"invalid PKCS#12 data or wrong passphrase ({exc})", what="PKCS#12") from None
    if key is None or cert is None:
        raise DecodeError("the PKCS#12 file does not hold both a key and a certificate", 0, what="PKCS#12")
    return Pkcs12Bundle(
        key=_wrap_key(key),
        certificate=cert.public_bytes(serialization.Encoding.DER),
        additional_certificates=tuple(c.public_bytes(serialization.Encoding.DER) for c in extra),
    )


# --- writing -----------------------------------------------------------------------------


def _write_new(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    """Write via a temp file in the same directory; without ``overwrite`` never replace."""
    if not overwrite and path.exists():
        raise KeyFileExistsError(f"{path} exists; refusing to overwrite it")
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic, and fails if the name appeared meanwhile
            except FileExistsError:
                raise KeyFileExistsError(f"{path} exists; refusing to overwrite it") from None
            except OSError:  # no hard links on this file system
                _write_exclusive(path, data, mode)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_exclusive(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyFileExistsError(f"{path} exists; refusing to overwrite it") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_private_key(
    path: str | os.PathLike[str],
    key: PrivateKey | PrivateKeyTypes,
    *,
    passphrase: str | bytes | None = None,
) -> None:
    """Write a PKCS#8 PEM key file with mode 0600. An existing file is never replaced."""
    _write_new(Path(path), private_key_pem(key, passphrase), 0o600, overwrite=False)


def write_certificate(
    path: str | os.PathLike[str],
    cert: bytes,
    *,
    pem: bool = True,
    overwrite: bool = False,
) -> None:
    """Write a certificate as PEM (default) or DER, mode 0644."""
    der = load_certificate(cert)
    data = certificate_pem(der) if pem else der
    _write_new(Path(path), data, 0o644, overwrite=overwrite)
