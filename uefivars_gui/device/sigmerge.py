"""Signature lists as QEMU's device handles them (``var-service-siglist.c`` behaviour).

Two uses: the X.509 certificates of a signature database become the trust list of a
secure-boot update, and APPEND_WRITE merges two databases. The merge keeps one list per
X.509 certificate and one SHA-256 list, de-duplicated by certificate bytes and by hash
(the owner of the first occurrence wins); every other signature type is dropped. Parsing
stops at the first malformed list.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from ..core.guid import EFI_CERT_SHA256, EFI_CERT_X509

_LIST_HEADER = struct.Struct("<16sIII")
_LIST_HEADER_SIZE = 28
_OWNER_SIZE = 16
_X509_GUID = EFI_CERT_X509.bytes_le
_SHA256_GUID = EFI_CERT_SHA256.bytes_le


@dataclass(slots=True)
class ParsedSignatures:
    """X.509 certificates and SHA-256 hashes, de-duplicated, in first-seen order."""

    #: certificate bytes -> owner GUID bytes
    x509: dict[bytes, bytes] = field(default_factory=dict)
    #: 32-byte hash -> owner GUID bytes
    sha256: dict[bytes, bytes] = field(default_factory=dict)

    def parse(self, data: bytes, warn: Callable[[str], None] | None = None) -> None:
        """Add the signatures of ``data`` (a concatenation of EFI_SIGNATURE_LISTs)."""
        pos = 0
        size = len(data)
        while size:
            if size < _LIST_HEADER_SIZE:
                break
            sig_type, list_size, header_size, sig_size = _LIST_HEADER.unpack_from(data, pos)
            if list_size < _LIST_HEADER_SIZE or size < list_size:
                break
            start = _LIST_HEADER_SIZE + header_size
            if sig_size <= _OWNER_SIZE:
                break
            if sig_type == _X509_GUID:
                if start + sig_size != list_size:
                    break
                owner = data[pos + start : pos + start + _OWNER_SIZE]
                cert = data[pos + start + _OWNER_SIZE : pos + start + sig_size]
                self.x509.setdefault(bytes(cert), bytes(owner))
            elif sig_type == _SHA256_GUID:
                if sig_size != _OWNER_SIZE + 32 or start + sig_size > list_size:
                    break
                while start <= list_size - sig_size:
                    owner = data[pos + start : pos + start + _OWNER_SIZE]
                    digest = data[pos + start + _OWNER_SIZE : pos + start + sig_size]
                    self.sha256.setdefault(bytes(digest), bytes(owner))
                    start += sig_size
            elif warn is not None:
                warn(f"siglist: unknown type ({UUID(bytes_le=bytes(sig_type))})")
            pos += list_size
            size -= list_size

    def generate(self) -> bytes:
        """One X.509 list per certificate, then one SHA-256 list with every hash."""
        out = bytearray()
        for cert, owner in self.x509.items():
            sig_size = _OWNER_SIZE + len(cert)
            out += _LIST_HEADER.pack(_X509_GUID, _LIST_HEADER_SIZE + sig_size, 0, sig_size)
            out += owner + cert
        if self.sha256:
            sig_size = _OWNER_SIZE + 32
            out += _LIST_HEADER.pack(
                _SHA256_GUID, _LIST_HEADER_SIZE + sig_size * len(self.sha256), 0, sig_size
            )
            for digest, owner in self.sha256.items():
                out += owner + digest
        return bytes(out)


def x509_certificates(data: bytes, warn: Callable[[str], None] | None = None) -> list[bytes]:
    """The X.509 certificates of a signature database (QEMU's secure-boot trust list)."""
    parsed = ParsedSignatures()
    parsed.parse(data, warn)
    return list(parsed.x509)


def append_merge(old: bytes, new: bytes, warn: Callable[[str], None] | None = None) -> bytes:
    """QEMU's APPEND_WRITE result for PK/KEK/db/dbx."""
    parsed = ParsedSignatures()
    parsed.parse(old, warn)
    parsed.parse(new, warn)
    return parsed.generate()
