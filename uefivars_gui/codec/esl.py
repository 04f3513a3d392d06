""".esl files: the raw bytes of one or more EFI_SIGNATURE_LISTs, back to back.

This module checks only the outer framing (UEFI spec "EFI_SIGNATURE_LIST", edk2
``ImageAuthentication.h``, packed)::

    0   EFI_GUID SignatureType
    16  UINT32   SignatureListSize     whole list including this 28-byte header
    20  UINT32   SignatureHeaderSize
    24  UINT32   SignatureSize         each EFI_SIGNATURE_DATA (owner GUID + data)
    28  UINT8    SignatureHeader[SignatureHeaderSize]
        EFI_SIGNATURE_DATA Signatures[...]

The lists must cover the data exactly. What the entries mean (X.509, hashes) is
:mod:`uefivars_gui.core.siglist`'s business; :meth:`EslFile.list_bytes` hands it each
list's bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING
from uuid import UUID

from ..core import guid
from ..core.fields import Field
from ..core.guid import GUID_SIZE, guid_label
from ..core.record import value
from ..errors import DecodeError

if TYPE_CHECKING:
    from ..core.siglist import SignatureDatabase

EFI_SIGNATURE_LIST_SIZE = 28
#: EFI_SIGNATURE_DATA starts with the 16-byte SignatureOwner.
EFI_SIGNATURE_DATA_MIN_SIZE = GUID_SIZE
_SIZES = struct.Struct("<III")
#: The signature types the UEFI spec defines (EFI_CERT_*_GUID), for probing.
_SIGNATURE_TYPES = frozenset(
    {
        guid.EFI_CERT_SHA256,
        guid.EFI_CERT_RSA2048,
        guid.EFI_CERT_RSA2048_SHA256,
        guid.EFI_CERT_SHA1,
        guid.EFI_CERT_RSA2048_SHA1,
        guid.EFI_CERT_X509,
        guid.EFI_CERT_SHA224,
        guid.EFI_CERT_SHA384,
        guid.EFI_CERT_SHA512,
        guid.EFI_CERT_X509_SHA256,
        guid.EFI_CERT_X509_SHA384,
        guid.EFI_CERT_X509_SHA512,
        guid.EFI_CERT_SM3,
        guid.EFI_CERT_X509_SM3,
    }
)


@value
class SignatureListHeader:
    """The framing of one EFI_SIGNATURE_LIST: where it is and how it divides."""

    offset: int
    signature_type: UUID
    signature_list_size: int
    signature_header_size: int
    signature_size: int

    @property
    def end(self) -> int:
        return self.offset + self.signature_list_size

    @property
    def signatures_offset(self) -> int:
        """Offset of the first EFI_SIGNATURE_DATA."""
        return self.offset + EFI_SIGNATURE_LIST_SIZE + self.signature_header_size

    @property
    def signature_count(self) -> int:
        body = self.signature_list_size - EFI_SIGNATURE_LIST_SIZE - self.signature_header_size
        return body // self.signature_size

    def fields(self, data: bytes, index: int | None = None) -> Field:
        """Spans of this list; ``data`` is the buffer it was read from."""
        base = self.offset
        children = [
            Field("SignatureType", base, GUID_SIZE, guid_label(self.signature_type)),
            Field("SignatureListSize", base + 16, 4, str(self.signature_list_size)),
            Field("SignatureHeaderSize", base + 20, 4, str(self.signature_header_size)),
            Field("SignatureSize", base + 24, 4, str(self.signature_size)),
        ]
        if self.signature_header_size:
            children.append(
                Field(
                    "SignatureHeader",
                    base + EFI_SIGNATURE_LIST_SIZE,
                    self.signature_header_size,
                    f"{self.signature_header_size} bytes",
                )
            )
        data_size = self.signature_size - GUID_SIZE
        for number in range(self.signature_count):
            start = self.signatures_offset + number * self.signature_size
            children.append(
                Field(
                    f"EFI_SIGNATURE_DATA[{number}]",
                    start,
                    self.signature_size,
                    "",
                    (
                        Field(
                            "SignatureOwner",
                            start,
                            GUID_SIZE,
                            guid_label(UUID(bytes_le=data[start : start + GUID_SIZE])),
                        ),
                        Field("SignatureData", start + GUID_SIZE, data_size, f"{data_size} bytes"),
                    ),
                )
            )
        label = "EFI_SIGNATURE_LIST" if index is None else f"EFI_SIGNATURE_LIST[{index}]"
        warning = "no signatures" if self.signature_count == 0 else None
        if self.signature_type not in _SIGNATURE_TYPES:
            warning = "unknown SignatureType"
        text = f"{guid_label(self.signature_type)}, {self.signature_count} entries"
        return Field(label, base, self.signature_list_size, text, tuple(children), warning)


def walk_signature_lists(data: bytes, *, what: str = "EFI_SIGNATURE_LIST") -> tuple[SignatureListHeader, ...]:
    """Split ``data`` into EFI_SIGNATURE_LISTs, checking that they cover it exactly.

    Empty data gives no lists (an empty db/dbx value is legal). Raises DecodeError with
    the offset of the first list or field that does not fit.
    """
    headers: list[SignatureListHeader] = []
    pos = 0
    while pos < len(data):
        left = len(data) - pos
        if left < EFI_SIGNATURE_LIST_SIZE:
            raise DecodeError(
                f"{left} bytes left, too few for a {EFI_SIGNATURE_LIST_SIZE}-byte list header", pos, what=what
            )
        signature_type = UUID(bytes_le=bytes(data[pos : pos + GUID_SIZE]))
        list_size, header_size, signature_size = _SIZES.unpack_from(data, pos + GUID_SIZE)
        if list_size < EFI_SIGNATURE_LIST_SIZE:
            raise DecodeError(
                f"SignatureListSize {list_size} is smaller than the list header", pos + 16, what=what
            )
        if list_size > left:
            raise DecodeError(
                f"SignatureListSize {list_size} runs past the end ({left} bytes left)", pos + 16, what=what
            )
        if header_size > list_size - EFI_SIGNATURE_LIST_SIZE:
            raise DecodeError(
                f"SignatureHeaderSize {header_size} does not fit SignatureListSize {list_size}",
                pos + 20,
                what=what,
            )
        if signature_size < EFI_SIGNATURE_DATA_MIN_SIZE:
            raise DecodeError(
                f"SignatureSize {signature_size} is smaller than a SignatureOwner GUID", pos + 24, what=what
            )
        body = list_size - EFI_SIGNATURE_LIST_SIZE - header_size
        if body % signature_size:
            raise DecodeError(
                f"{body} bytes of signatures are not a multiple of SignatureSize {signature_size}",
                pos + 24,
                what=what,
            )
        headers.append(SignatureListHeader(pos, signature_type, list_size, header_size, signature_size))
        pos += list_size
    return tuple(headers)


@value
class EslFile:
    """An .esl file: its bytes and the lists they divide into."""

    data: bytes
    lists: tuple[SignatureListHeader, ...]

    @classmethod
    def decode(cls, data: bytes) -> EslFile:
        """Check the framing; at least one list is required."""
        if not data:
            raise DecodeError("empty file: no EFI_SIGNATURE_LIST", 0, what="ESL")
        raw = bytes(data)
        return cls(raw, walk_signature_lists(raw, what="ESL"))

    @classmethod
    def from_lists(cls, lists: Iterable[bytes]) -> EslFile:
        """Concatenate raw EFI_SIGNATURE_LISTs (each checked) into one file."""
        return cls.decode(b"".join(bytes(chunk) for chunk in lists))

    def encode(self) -> bytes:
        return self.data

    @property
    def list_count(self) -> int:
        return len(self.lists)

    @property
    def signature_count(self) -> int:
        return sum(header.signature_count for header in self.lists)

    def list_bytes(self, index: int) -> bytes:
        """The raw bytes of list ``index`` (header and signatures)."""
        header = self.lists[index]
        return self.data[header.offset : header.end]

    def database(self) -> SignatureDatabase:
        """The entries decoded by :mod:`uefivars_gui.core.siglist`."""
        from ..core.siglist import decode_signature_database

        return decode_signature_database(self.data)

    def fields(self) -> Field:
        children = tuple(header.fields(self.data, index) for index, header in enumerate(self.lists))
        return Field(
            "ESL", 0, len(self.data), f"{self.list_count} lists, {self.signature_count} signatures", children
        )


def probe(data: bytes) -> bool:
    """True if ``data`` frames as signature lists of types the UEFI spec defines."""
    try:
        esl = EslFile.decode(data)
    except DecodeError:
        return False
    return all(header.signature_type in _SIGNATURE_TYPES for header in esl.lists)


def decode(data: bytes) -> EslFile:
    return EslFile.decode(data)


def encode(esl: EslFile) -> bytes:
    return esl.encode()
