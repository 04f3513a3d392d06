"""Signature databases: EFI_SIGNATURE_LIST / EFI_SIGNATURE_DATA (PK, KEK, db, dbx, dbt, .esl).

A variable value such as ``db`` is a concatenation of EFI_SIGNATURE_LISTs (UEFI spec
§32.4.1, edk2 ``ImageAuthentication.h``, packed)::

    EFI_SIGNATURE_LIST   SignatureType (GUID) @0, SignatureListSize @16,
                         SignatureHeaderSize @20, SignatureSize @24       (28 bytes)
                         SignatureHeader[SignatureHeaderSize]
                         EFI_SIGNATURE_DATA[(ListSize - 28 - HeaderSize) / SignatureSize]
    EFI_SIGNATURE_DATA   SignatureOwner (GUID) @0, SignatureData[SignatureSize - 16]

:func:`decode_signature_database` accepts every structurally sound database (whatever the
types and sizes) and raises :class:`~uefivars_gui.errors.DecodeError` with the byte offset
otherwise; ``to_bytes()`` gives the input back byte for byte. Whether firmware would
accept the value is a separate question answered by :func:`check_format` (edk2's
``CheckSignatureListFormat``). :func:`append_dedup` is edk2's ``FilterSignatureList`` for
APPEND_WRITE; :func:`merge_qemu_style` is QEMU's re-generating append.

Certificates are opaque DER here (core imports no crypto); views pass a describer such as
:func:`uefivars_gui.crypto.x509.describe_x509` to :meth:`SignatureDatabase.fields` and
:meth:`SignatureDatabase.summary`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from uuid import UUID

from ..errors import DecodeError, EncodeError, UefiVarsError
from . import guid as g
from .efitime import EFI_TIME_SIZE, EfiTime
from .fields import Field
from .guid import guid_from_bytes, guid_label
from .record import value

SIGNATURE_LIST_HEADER_SIZE = 28
SIGNATURE_OWNER_SIZE = 16
_LIST_HEADER = struct.Struct("<16sIII")
_U32_MAX = 0xFFFFFFFF

#: ``describe(der) -> (summary text, child fields)``; child spans are relative to the DER start.
X509Describer = Callable[[bytes], tuple[str, tuple[Field, ...]]]
#: ``is_rsa(der) -> bool`` for the RSA-only rule of CheckSignatureListFormat.
RsaChecker = Callable[[bytes], bool]


@value
class SignatureType:
    """One row of the signature type table (edk2 ``mSupportSigItem`` plus the types it rejects)."""

    guid: UUID
    #: The C name, e.g. ``EFI_CERT_SHA256_GUID``.
    name: str
    #: A short label for people, e.g. ``SHA-256``.
    label: str
    #: Bytes of SignatureData (SignatureSize - 16), None for variable-size types (X.509).
    data_size: int | None
    #: Whether edk2's CheckSignatureListFormat accepts lists of this type.
    supported: bool
    #: For EFI_CERT_X509_SHA*: the size of ToBeSignedHash (the rest is TimeOfRevocation).
    tbs_hash_size: int | None = None


_TYPES: tuple[SignatureType, ...] = (
    SignatureType(g.EFI_CERT_SHA256, "EFI_CERT_SHA256_GUID", "SHA-256", 32, True),
    SignatureType(g.EFI_CERT_RSA2048, "EFI_CERT_RSA2048_GUID", "RSA-2048", 256, True),
    SignatureType(g.EFI_CERT_RSA2048_SHA256, "EFI_CERT_RSA2048_SHA256_GUID", "RSA-2048/SHA-256", 256, True),
    SignatureType(g.EFI_CERT_SHA1, "EFI_CERT_SHA1_GUID", "SHA-1", 20, True),
    SignatureType(g.EFI_CERT_RSA2048_SHA1, "EFI_CERT_RSA2048_SHA1_GUID", "RSA-2048/SHA-1", 256, True),
    SignatureType(g.EFI_CERT_X509, "EFI_CERT_X509_GUID", "X.509", None, True),
    SignatureType(g.EFI_CERT_SHA224, "EFI_CERT_SHA224_GUID", "SHA-224", 28, True),
    SignatureType(g.EFI_CERT_SHA384, "EFI_CERT_SHA384_GUID", "SHA-384", 48, True),
    SignatureType(g.EFI_CERT_SHA512, "EFI_CERT_SHA512_GUID", "SHA-512", 64, True),
    SignatureType(g.EFI_CERT_X509_SHA256, "EFI_CERT_X509_SHA256_GUID", "X.509 TBS SHA-256", 48, True, 32),
    SignatureType(g.EFI_CERT_X509_SHA384, "EFI_CERT_X509_SHA384_GUID", "X.509 TBS SHA-384", 64, True, 48),
    SignatureType(g.EFI_CERT_X509_SHA512, "EFI_CERT_X509_SHA512_GUID", "X.509 TBS SHA-512", 80, True, 64),
    SignatureType(g.EFI_CERT_SM3, "EFI_CERT_SM3_GUID", "SM3", 32, False),
    SignatureType(g.EFI_CERT_X509_SM3, "EFI_CERT_X509_SM3_GUID", "X.509 TBS SM3", 48, False, 32),
    SignatureType(g.EFI_CERT_TYPE_PKCS7, "EFI_CERT_TYPE_PKCS7_GUID", "PKCS#7", None, False),
)

#: Every signature type we know, by GUID.
SIGNATURE_TYPES: dict[UUID, SignatureType] = {t.guid: t for t in _TYPES}


def signature_type(guid: UUID) -> SignatureType | None:
    return SIGNATURE_TYPES.get(guid)


def signature_type_label(guid: UUID) -> str:
    """``SHA-256``, ``X.509``, ... or the GUID label for unknown types."""
    known = SIGNATURE_TYPES.get(guid)
    return known.label if known else guid_label(guid)


# --- values ---------------------------------------------------------------------------


@value
class SignatureData:
    """EFI_SIGNATURE_DATA: the owner GUID and the signature bytes (hash, DER, ...)."""

    owner: UUID
    data: bytes

    @property
    def size(self) -> int:
        return SIGNATURE_OWNER_SIZE + len(self.data)

    def to_bytes(self) -> bytes:
        return self.owner.bytes_le + bytes(self.data)


@value
class SignatureList:
    """EFI_SIGNATURE_LIST with its entries; every entry is exactly ``signature_size`` bytes."""

    signature_type: UUID
    header: bytes
    signature_size: int
    entries: tuple[SignatureData, ...]

    def __post_init__(self) -> None:
        if not SIGNATURE_OWNER_SIZE <= self.signature_size <= _U32_MAX:
            raise EncodeError(f"SignatureSize {self.signature_size} out of range (16..2^32-1)")
        for index, entry in enumerate(self.entries):
            if entry.size != self.signature_size:
                raise EncodeError(
                    f"signature {index} is {entry.size} bytes but SignatureSize is {self.signature_size}"
                )

    @classmethod
    def of(cls, signature_type: UUID, entries: Iterable[SignatureData], header: bytes = b"") -> SignatureList:
        """A list whose SignatureSize is taken from its (equal-sized, at least one) entries."""
        items = tuple(entries)
        if not items:
            raise EncodeError("a signature list needs at least one entry to derive its SignatureSize")
        return cls(signature_type, bytes(header), items[0].size, items)

    @property
    def list_size(self) -> int:
        """SignatureListSize."""
        return SIGNATURE_LIST_HEADER_SIZE + len(self.header) + self.signature_size * len(self.entries)

    @property
    def type_info(self) -> SignatureType | None:
        return SIGNATURE_TYPES.get(self.signature_type)

    @property
    def type_label(self) -> str:
        return signature_type_label(self.signature_type)

    def to_bytes(self) -> bytes:
        size = self.list_size
        if size > _U32_MAX:
            raise EncodeError(f"signature list too large ({size} bytes)")
        head = _LIST_HEADER.pack(self.signature_type.bytes_le, size, len(self.header), self.signature_size)
        return head + bytes(self.header) + b"".join(e.to_bytes() for e in self.entries)


@value
class SignatureEntry:
    """One EFI_SIGNATURE_DATA with its position in a database."""

    list_index: int
    entry_index: int
    signature_type: UUID
    signature: SignatureData
    #: Byte offset of the EFI_SIGNATURE_DATA in ``SignatureDatabase.to_bytes()``.
    offset: int

    @property
    def owner(self) -> UUID:
        return self.signature.owner

    @property
    def data(self) -> bytes:
        return self.signature.data

    @property
    def type_label(self) -> str:
        return signature_type_label(self.signature_type)


@value
class CertX509Hash:
    """EFI_CERT_X509_SHA256/384/512 (and SM3): ToBeSignedHash + TimeOfRevocation."""

    to_be_signed_hash: bytes
    time_of_revocation: EfiTime

    @classmethod
    def from_bytes(cls, data: bytes, hash_size: int, offset: int = 0) -> CertX509Hash:
        if len(data) != hash_size + EFI_TIME_SIZE:
            raise DecodeError(
                f"EFI_CERT_X509 hash is {len(data)} bytes, expected {hash_size + EFI_TIME_SIZE}",
                offset,
                what="signature data",
            )
        return cls(bytes(data[:hash_size]), EfiTime.from_bytes(data, hash_size))

    def to_bytes(self) -> bytes:
        return self.to_be_signed_hash + self.time_of_revocation.to_bytes()

    @property
    def revocation_text(self) -> str:
        """Per the header comment: a zero time means "always revoked"."""
        if self.time_of_revocation.is_zero:
            return "always revoked"
        return f"revoked from {self.time_of_revocation}"


def decode_x509_hash(signature_type: UUID, data: bytes) -> CertX509Hash:
    """Decode the SignatureData of an EFI_CERT_X509_SHA* entry."""
    info = SIGNATURE_TYPES.get(signature_type)
    if info is None or info.tbs_hash_size is None:
        raise DecodeError(
            f"{signature_type_label(signature_type)} is not an X.509 TBS hash type", what="signature data"
        )
    return CertX509Hash.from_bytes(data, info.tbs_hash_size)


@value
class SignatureDatabase:
    """A concatenation of signature lists: the value of PK, KEK, db, dbx, dbt or an .esl file."""

    lists: tuple[SignatureList, ...] = ()

    def to_bytes(self) -> bytes:
        return b"".join(lst.to_bytes() for lst in self.lists)

    @property
    def size(self) -> int:
        return sum(lst.list_size for lst in self.lists)

    @property
    def entry_count(self) -> int:
        return sum(len(lst.entries) for lst in self.lists)

    def __len__(self) -> int:
        return self.entry_count

    def list_offsets(self) -> tuple[int, ...]:
        offsets: list[int] = []
        pos = 0
        for lst in self.lists:
            offsets.append(pos)
            pos += lst.list_size
        return tuple(offsets)

    def entries(self) -> Iterator[SignatureEntry]:
        """Every EFI_SIGNATURE_DATA in order, with list index, entry index, type and offset."""
        for list_index, (lst, start) in enumerate(zip(self.lists, self.list_offsets(), strict=True)):
            base = start + SIGNATURE_LIST_HEADER_SIZE + len(lst.header)
            for entry_index, entry in enumerate(lst.entries):
                yield SignatureEntry(
                    list_index,
                    entry_index,
                    lst.signature_type,
                    entry,
                    base + entry_index * lst.signature_size,
                )

    def __iter__(self) -> Iterator[SignatureEntry]:
        return self.entries()

    def certificates(self) -> tuple[bytes, ...]:
        """The DER of every EFI_CERT_X509_GUID entry, in order."""
        return tuple(e.data for e in self.entries() if e.signature_type == g.EFI_CERT_X509)

    def extended(self, *lists: SignatureList) -> SignatureDatabase:
        return SignatureDatabase(self.lists + lists)

    def __add__(self, other: SignatureDatabase) -> SignatureDatabase:
        return SignatureDatabase(self.lists + other.lists)

    def summary(self, describe_x509: X509Describer | None = None) -> str:
        """E.g. ``3 entries: 2 X.509 (Microsoft Windows Production PCA 2011, ...), 1 SHA-256``.

        Certificate names appear only when a describer is given.
        """
        count = self.entry_count
        if count == 0:
            return "empty" if not self.lists else f"no entries ({len(self.lists)} empty lists)"
        groups: dict[UUID, list[SignatureEntry]] = {}
        for entry in self.entries():
            groups.setdefault(entry.signature_type, []).append(entry)
        parts: list[str] = []
        for sig_type, members in groups.items():
            part = f"{len(members)} {signature_type_label(sig_type)}"
            if sig_type == g.EFI_CERT_X509 and describe_x509 is not None:
                names = ", ".join(_describe_safely(describe_x509, m.data)[0] for m in members)
                part += f" ({names})"
            parts.append(part)
        noun = "entry" if count == 1 else "entries"
        return f"{count} {noun}: " + ", ".join(parts)

    def fields(self, describe_x509: X509Describer | None = None, name: str = "SignatureDatabase") -> Field:
        """The decoded-field tree with byte spans relative to ``to_bytes()``."""
        children: list[Field] = []
        for index, (lst, start) in enumerate(zip(self.lists, self.list_offsets(), strict=True)):
            children.append(_list_fields(index, lst, start, describe_x509))
        return Field(name, 0, self.size, self.summary(describe_x509), tuple(children))


def _describe_safely(describe: X509Describer, der: bytes) -> tuple[str, tuple[Field, ...], str | None]:
    try:
        text, children = describe(der)
    except UefiVarsError as exc:
        return "unparseable certificate", (), str(exc)
    warning = next((f.warning for c in children for f in c.walk() if f.warning), None)
    return text, children, warning


def _list_problems(lst: SignatureList) -> list[tuple[str, str]]:
    """(field name, problem) pairs of one list per CheckSignatureListFormat (RSA check aside)."""
    problems: list[tuple[str, str]] = []
    info = lst.type_info
    if info is None:
        problems.append(("SignatureType", f"unknown signature type {lst.signature_type}"))
    elif not info.supported:
        problems.append(("SignatureType", f"{info.label} lists are rejected by edk2"))
    elif info.data_size is not None and lst.signature_size - SIGNATURE_OWNER_SIZE != info.data_size:
        problems.append(
            (
                "SignatureSize",
                f"SignatureSize {lst.signature_size} should be "
                f"{info.data_size + SIGNATURE_OWNER_SIZE} for {info.label}",
            )
        )
    if lst.header:
        problems.append(("SignatureHeaderSize", f"SignatureHeaderSize is {len(lst.header)}, must be 0"))
    if lst.signature_type == g.EFI_CERT_X509 and not lst.entries:
        problems.append(
            ("SignatureListSize", "X.509 list without a certificate (edk2 parses the following bytes as one)")
        )
    return problems


def _entry_data_fields(
    sig_type: UUID, data: bytes, offset: int, describe_x509: X509Describer | None
) -> Field:
    info = SIGNATURE_TYPES.get(sig_type)
    if sig_type == g.EFI_CERT_X509:
        if describe_x509 is None:
            return Field("SignatureData", offset, len(data), f"X.509 certificate, {len(data)} bytes DER")
        text, children, warning = _describe_safely(describe_x509, data)
        return Field(
            "SignatureData", offset, len(data), text, tuple(c.shifted(offset) for c in children), warning
        )
    if info is not None and info.tbs_hash_size is not None:
        if len(data) != info.tbs_hash_size + EFI_TIME_SIZE:
            return Field(
                "SignatureData",
                offset,
                len(data),
                data.hex(),
                warning=f"expected {info.tbs_hash_size + EFI_TIME_SIZE} bytes for {info.label}",
            )
        value = CertX509Hash.from_bytes(data, info.tbs_hash_size)
        return Field(
            "SignatureData",
            offset,
            len(data),
            f"{value.to_be_signed_hash.hex()} ({value.revocation_text})",
            (
                Field("ToBeSignedHash", offset, info.tbs_hash_size, value.to_be_signed_hash.hex()),
                Field(
                    "TimeOfRevocation",
                    offset + info.tbs_hash_size,
                    EFI_TIME_SIZE,
                    str(value.time_of_revocation)
                    if not value.time_of_revocation.is_zero
                    else "0 (always revoked)",
                ),
            ),
        )
    if sig_type in (g.EFI_CERT_RSA2048, g.EFI_CERT_RSA2048_SHA256, g.EFI_CERT_RSA2048_SHA1):
        return Field("SignatureData", offset, len(data), f"RSA-2048 modulus {data[:8].hex()}…")
    return Field("SignatureData", offset, len(data), data.hex())


def _list_fields(index: int, lst: SignatureList, start: int, describe_x509: X509Describer | None) -> Field:
    problems = dict(_list_problems(lst))
    info = lst.type_info
    type_text = f"{info.name} ({info.label})" if info else str(lst.signature_type)
    children = [
        Field("SignatureType", start, 16, type_text, warning=problems.get("SignatureType")),
        Field(
            "SignatureListSize", start + 16, 4, str(lst.list_size), warning=problems.get("SignatureListSize")
        ),
        Field(
            "SignatureHeaderSize",
            start + 20,
            4,
            str(len(lst.header)),
            warning=problems.get("SignatureHeaderSize"),
        ),
        Field("SignatureSize", start + 24, 4, str(lst.signature_size), warning=problems.get("SignatureSize")),
    ]
    pos = start + SIGNATURE_LIST_HEADER_SIZE
    if lst.header:
        children.append(Field("SignatureHeader", pos, len(lst.header), lst.header.hex()))
        pos += len(lst.header)
    for entry_index, entry in enumerate(lst.entries):
        data_field = _entry_data_fields(
            lst.signature_type, entry.data, pos + SIGNATURE_OWNER_SIZE, describe_x509
        )
        children.append(
            Field(
                f"Signature[{entry_index}]",
                pos,
                lst.signature_size,
                data_field.text,
                (Field("SignatureOwner", pos, SIGNATURE_OWNER_SIZE, guid_label(entry.owner)), data_field),
                data_field.warning,
            )
        )
        pos += lst.signature_size
    count = len(lst.entries)
    text = f"{lst.type_label}, {count} {'entry' if count == 1 else 'entries'}"
    return Field(f"SignatureList[{index}]", start, lst.list_size, text, tuple(children))


# --- decoding ---------------------------------------------------------------------------


def decode_signature_list(data: bytes, offset: int = 0) -> SignatureList:
    """Decode the EFI_SIGNATURE_LIST at ``offset``; it may be followed by more data."""
    remaining = len(data) - offset
    if remaining < SIGNATURE_LIST_HEADER_SIZE:
        raise DecodeError(
            f"truncated EFI_SIGNATURE_LIST header ({remaining} of 28 bytes)", offset, what="signature list"
        )
    raw_type, list_size, header_size, sig_size = _LIST_HEADER.unpack_from(data, offset)
    if list_size < SIGNATURE_LIST_HEADER_SIZE:
        raise DecodeError(
            f"SignatureListSize {list_size} is smaller than the 28-byte header",
            offset + 16,
            what="signature list",
        )
    if list_size > remaining:
        raise DecodeError(
            f"SignatureListSize {list_size} runs past the end of the data ({remaining} bytes left)",
            offset + 16,
            what="signature list",
        )
    if header_size > list_size - SIGNATURE_LIST_HEADER_SIZE:
        raise DecodeError(
            f"SignatureHeaderSize {header_size} does not fit in the list", offset + 20, what="signature list"
        )
    if sig_size < SIGNATURE_OWNER_SIZE:
        raise DecodeError(
            f"SignatureSize {sig_size} is smaller than the 16-byte owner GUID",
            offset + 24,
            what="signature list",
        )
    body = list_size - SIGNATURE_LIST_HEADER_SIZE - header_size
    if body % sig_size:
        raise DecodeError(
            f"{body} bytes of signatures are not a multiple of SignatureSize {sig_size}",
            offset + 16,
            what="signature list",
        )
    pos = offset + SIGNATURE_LIST_HEADER_SIZE
    header = bytes(data[pos : pos + header_size])
    pos += header_size
    entries: list[SignatureData] = []
    for _ in range(body // sig_size):
        entries.append(SignatureData(guid_from_bytes(data, pos), bytes(data[pos + 16 : pos + sig_size])))
        pos += sig_size
    return SignatureList(UUID(bytes_le=bytes(raw_type)), header, sig_size, tuple(entries))


def decode_signature_database(data: bytes) -> SignatureDatabase:
    """Decode a concatenation of signature lists that must cover ``data`` exactly."""
    buf = bytes(data)
    lists: list[SignatureList] = []
    pos = 0
    while pos < len(buf):
        lst = decode_signature_list(buf, pos)
        lists.append(lst)
        pos += lst.list_size
    return SignatureDatabase(tuple(lists))


# --- building and editing --------------------------------------------------------------


def x509_list(der: bytes, owner: UUID) -> SignatureList:
    """One EFI_CERT_X509_GUID list holding one certificate (the usual layout)."""
    if not der:
        raise EncodeError("empty certificate")
    return SignatureList.of(g.EFI_CERT_X509, (SignatureData(owner, bytes(der)),))


def hash_list(signature_type: UUID, hashes: Iterable[bytes], owner: UUID) -> SignatureList:
    """One list of fixed-size signatures (SHA-256 hashes, X.509 TBS hashes, ...)."""
    info = SIGNATURE_TYPES.get(signature_type)
    if info is None or info.data_size is None:
        raise EncodeError(f"{signature_type_label(signature_type)} is not a fixed-size signature type")
    items = tuple(bytes(h) for h in hashes)
    if not items:
        raise EncodeError("no hashes given")
    for digest in items:
        if len(digest) != info.data_size:
            raise EncodeError(f"{info.label} signatures are {info.data_size} bytes, got {len(digest)}")
    return SignatureList(
        signature_type,
        b"",
        info.data_size + SIGNATURE_OWNER_SIZE,
        tuple(SignatureData(owner, h) for h in items),
    )


def append_dedup(old: SignatureDatabase, new: SignatureDatabase) -> SignatureDatabase:
    """APPEND_WRITE as edk2 does it (``FilterSignatureList``), giving old ‖ filtered new.

    A new EFI_SIGNATURE_DATA is dropped when an old list with the same SignatureType and
    the same SignatureSize holds a byte-identical one (owner GUID included). Survivors keep
    their list header; lists left empty are dropped. Old lists are never merged into.
    """
    seen: dict[tuple[UUID, int], set[bytes]] = {}
    for lst in old.lists:
        seen.setdefault((lst.signature_type, lst.signature_size), set()).update(
            e.to_bytes() for e in lst.entries
        )
    filtered: list[SignatureList] = []
    for lst in new.lists:
        known = seen.get((lst.signature_type, lst.signature_size), set())
        kept = tuple(e for e in lst.entries if e.to_bytes() not in known)
        if kept:
            filtered.append(SignatureList(lst.signature_type, lst.header, lst.signature_size, kept))
    return SignatureDatabase(old.lists + tuple(filtered))


def merge_qemu_style(old: SignatureDatabase, new: SignatureDatabase) -> SignatureDatabase:
    """APPEND_WRITE as QEMU's uefi-vars device does it (qemu-uefi-vars.md §4.5).

    Both databases are parsed the way QEMU parses them: reading stops at the first list
    QEMU considers malformed (SignatureSize <= 16, an X.509 list not holding exactly one
    certificate, a SHA-256 list with SignatureSize != 48); other types are skipped. X.509 certificates are de-duplicated
    by their bytes and SHA-256 hashes by value, the owner of the first occurrence winning.
    The result is one list per certificate, then one SHA-256 list with every hash; every
    other signature type is dropped.
    """
    certs: dict[bytes, UUID] = {}
    hashes: dict[bytes, UUID] = {}
    for db in (old, new):
        for lst in db.lists:
            if lst.signature_size <= SIGNATURE_OWNER_SIZE:
                break
            if lst.signature_type == g.EFI_CERT_X509:
                if len(lst.entries) != 1:
                    break
                certs.setdefault(lst.entries[0].data, lst.entries[0].owner)
            elif lst.signature_type == g.EFI_CERT_SHA256:
                if lst.signature_size != 48:
                    break
                for entry in lst.entries:
                    hashes.setdefault(entry.data, entry.owner)
    lists = [x509_list(der, owner) for der, owner in certs.items()]
    if hashes:
        lists.append(
            SignatureList(
                g.EFI_CERT_SHA256, b"", 48, tuple(SignatureData(owner, h) for h, owner in hashes.items())
            )
        )
    return SignatureDatabase(tuple(lists))


def remove_entries(db: SignatureDatabase, predicate: Callable[[SignatureEntry], bool]) -> SignatureDatabase:
    """Drop every entry for which ``predicate`` is true; lists emptied by that are dropped."""
    removed = {(e.list_index, e.entry_index) for e in db.entries() if predicate(e)}
    lists: list[SignatureList] = []
    for list_index, lst in enumerate(db.lists):
        kept = tuple(e for i, e in enumerate(lst.entries) if (list_index, i) not in removed)
        if len(kept) == len(lst.entries):
            lists.append(lst)
        elif kept:
            lists.append(SignatureList(lst.signature_type, lst.header, lst.signature_size, kept))
    return SignatureDatabase(tuple(lists))


def check_format(
    db: SignatureDatabase | bytes, *, is_pk: bool = False, is_rsa: RsaChecker | None = None
) -> list[str]:
    """Problems that make edk2's CheckSignatureListFormat refuse the value (empty = accepted).

    Bytes are decoded first; a structural error (list sizes, exact cover) is the one problem
    then. ``is_rsa`` (e.g. :func:`uefivars_gui.crypto.x509.is_rsa`) enables the rule that the
    first certificate of each X.509 list must carry an RSA key.
    """
    if not isinstance(db, SignatureDatabase):
        try:
            db = decode_signature_database(db)
        except DecodeError as exc:
            return [str(exc)]
    problems: list[str] = []
    for index, (lst, start) in enumerate(zip(db.lists, db.list_offsets(), strict=True)):
        where = f"list {index} (offset 0x{start:x})"
        problems.extend(f"{where}: {text}" for _, text in _list_problems(lst))
        if (
            is_rsa is not None
            and lst.signature_type == g.EFI_CERT_X509
            and lst.entries
            and not is_rsa(lst.entries[0].data)
        ):
            problems.append(f"{where}: the certificate is not an RSA certificate (edk2 accepts only RSA)")
    if is_pk and db.entry_count > 1:
        problems.append(f"PK holds {db.entry_count} signatures; at most one is allowed")
    return problems
