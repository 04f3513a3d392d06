"""Generate a Secure Boot signing key: ``DIR/key.pem``, ``DIR/cert.pem``, ``DIR/cert.der``.

An RSA key (2048, 3072 or 4096 bits) and a self-signed X.509 v3 CA certificate for it,
usable as PK, KEK or db (edk2 accepts only RSA certificates there). The key file is
PKCS#8 PEM with mode 0600, encrypted when a passphrase is given.

A key is never overwritten or thrown away: if any of the three files exists nothing is
generated; the key is written first (refusing to replace a file that appeared
meanwhile), so a failure writing the certificates leaves the key on disk.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..crypto.keys import (
    DEFAULT_DAYS,
    RSA_SIZES,
    KeyFileExistsError,
    generate_key,
    self_signed_certificate,
    write_certificate,
    write_private_key,
)
from ..crypto.x509 import CertificateSummary, summarize
from ..errors import UsageError

__all__ = ["KEY_FILE", "CERT_PEM_FILE", "CERT_DER_FILE", "GeneratedKey", "generate"]

KEY_FILE = "key.pem"
CERT_PEM_FILE = "cert.pem"
CERT_DER_FILE = "cert.der"


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    directory: Path
    key_path: Path
    cert_pem_path: Path
    cert_der_path: Path
    #: The certificate (DER).
    certificate: bytes = field(repr=False)
    summary: CertificateSummary
    encrypted: bool

    def lines(self) -> list[str]:
        s = self.summary
        return [
            f"key:         {self.key_path} ({s.key_description}, mode 0600"
            + (", passphrase-protected)" if self.encrypted else ")"),
            f"certificate: {self.cert_pem_path}, {self.cert_der_path}",
            f"subject:     CN={s.subject_cn}",
            f"serial:      {s.serial}",
            f"valid:       {s.not_before:%Y-%m-%d} to {s.not_after:%Y-%m-%d}",
            f"sha256:      {s.sha256}",
        ]


def generate(
    directory: str | os.PathLike[str],
    common_name: str,
    *,
    bits: int = 2048,
    passphrase: str | bytes | None = None,
    days: int = DEFAULT_DAYS,
    not_before: dt.datetime | None = None,
) -> GeneratedKey:
    """Create ``directory`` if needed and write a new key and its self-signed certificate."""
    if not common_name.strip():
        raise UsageError("the certificate needs a common name (--cn)")
    if bits not in RSA_SIZES:
        raise UsageError(f"RSA key size {bits} not offered; use one of {', '.join(map(str, RSA_SIZES))}")
    if passphrase is not None and not passphrase:
        raise UsageError("the passphrase is empty")
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    paths = (target / KEY_FILE, target / CERT_PEM_FILE, target / CERT_DER_FILE)
    existing = [str(p) for p in paths if p.exists() or p.is_symlink()]
    if existing:
        raise KeyFileExistsError(f"refusing to overwrite {', '.join(existing)}: choose another directory")
    try:
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise UsageError(f"{target}: cannot create the directory: {exc.strerror or exc}") from None
    key = generate_key(bits)
    cert = self_signed_certificate(key, common_name, days=days, not_before=not_before)
    key_path, pem_path, der_path = paths
    try:
        write_private_key(key_path, key, passphrase=passphrase)
        write_certificate(pem_path, cert, pem=True)
        write_certificate(der_path, cert, pem=False)
    except KeyFileExistsError:
        raise
    except OSError as exc:
        raise UsageError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return GeneratedKey(target, key_path, pem_path, der_path, cert, summarize(cert), passphrase is not None)
