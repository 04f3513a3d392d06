"""Build signed updates: EFI_VARIABLE_AUTHENTICATION_2 ``.auth`` files.

For PK, KEK, db, dbx, dbt or any other time-based authenticated variable, as a SET or an
APPEND (APPEND_WRITE). The signature is a detached, bare PKCS#7 SignedData (no
ContentInfo, the signer certificate embedded, SHA-256/384/512) over what edk2 and QEMU
verify: the name in UCS-2 without its NUL ‖ the vendor GUID ‖ the 32-bit attributes as
passed to SetVariable (APPEND_WRITE included) ‖ the EFI_TIME ‖ the payload.

Timestamp: the one given, else *now* (UTC, whole seconds). When the target store is
given and the write is not an APPEND, it must be strictly later than the variable's
stored timestamp (edk2's rule; QEMU also accepts an equal one): a given time that is not
later is refused, and *now* is moved one second past a stored time in the future. An
APPEND skips the rule (edk2 and newest QEMU; QEMU 10.0.2 does not, which is noted).

The signer is a private key with its certificate (PEM or DER), or a PKCS#12 bundle
(whose extra certificates are embedded after the signer's, as intermediates).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from uuid import UUID

from ..codec import authfile
from ..codec.esl import EslFile
from ..core import guid as g
from ..core.attributes import AP, AT, NV_BS_RT_AT, format_attributes
from ..core.efitime import EfiTime
from ..core.siglist import SignatureDatabase, x509_list
from ..core.store import VarStore
from ..core.variable import Variable
from ..crypto import pkcs7
from ..crypto.keys import PrivateKey, load_pkcs12, load_private_key
from ..crypto.x509 import load_certificate_file, summarize
from ..errors import UsageError
from .enroll import DEFAULT_OWNER, SECURE_BOOT_DATABASES

__all__ = [
    "DIGESTS",
    "SignedUpdate",
    "Signer",
    "choose_timestamp",
    "default_guid",
    "is_secure_boot_database",
    "load_signer",
    "payload_from_certificate",
    "payload_from_esl",
    "sign_update",
    "update_attributes",
]

DIGESTS = ("sha256", "sha384", "sha512")


@dataclass(frozen=True, slots=True, eq=False)
class Signer:
    """A private key, its certificate (DER) and intermediates to embed."""

    key: PrivateKey = field(repr=False)
    certificate: bytes = field(repr=False)
    chain: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def label(self) -> str:
        return summarize(self.certificate).name


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise UsageError(f"{what} {os.fspath(path)}: cannot read: {exc.strerror or exc}") from None


def load_signer(
    *,
    key: str | os.PathLike[str] | None = None,
    cert: str | os.PathLike[str] | None = None,
    p12: str | os.PathLike[str] | None = None,
    passphrase: str | bytes | None = None,
) -> Signer:
    """Key + certificate files, or a PKCS#12 file (not both)."""
    if p12 is not None:
        if key is not None or cert is not None:
            raise UsageError("give either --p12 or --key and --cert, not both")
        bundle = load_pkcs12(_read(p12, "PKCS#12 file"), passphrase)
        return Signer(bundle.key, bundle.certificate, bundle.additional_certificates)
    if key is None or cert is None:
        raise UsageError("a signer needs --key and --cert (or --p12)")
    private = load_private_key(_read(key, "key"), passphrase)
    der = load_certificate_file(_read(cert, "certificate"))
    if not private.matches_certificate(der):
        raise UsageError(f"the key {os.fspath(key)} does not belong to the certificate {os.fspath(cert)}")
    return Signer(private, der)


def is_secure_boot_database(name: str, guid: UUID) -> bool:
    return SECURE_BOOT_DATABASES.get(name) == guid


def default_guid(name: str) -> UUID:
    """The namespace of PK/KEK (global) and db/dbx/dbt (image security database)."""
    try:
        return SECURE_BOOT_DATABASES[name]
    except KeyError:
        raise UsageError(f"{name!r} is not PK/KEK/db/dbx/dbt: give its vendor GUID (--guid)") from None


def update_attributes(name: str, guid: UUID, *, append: bool, current: Variable | None = None) -> int:
    """The attributes the update is signed over and sent with.

    NV|BS|RT|AT for the secure-boot databases; for other variables the stored ones (they
    must include AT) or NV|BS|RT|AT for a new variable. APPEND_WRITE added for an append.
    """
    if is_secure_boot_database(name, guid):
        base = int(NV_BS_RT_AT)
    elif current is not None:
        if not current.attributes & AT:
            raise UsageError(
                f"{name} exists in the store with attributes {format_attributes(current.attributes)}, "
                "without TIME_BASED_AUTHENTICATED_WRITE_ACCESS: it takes no signed updates"
            )
        base = int(current.attributes) & ~int(AP)
    else:
        base = int(NV_BS_RT_AT)
    return base | int(AP) if append else base


def _plus_one_second(stamp: EfiTime) -> EfiTime:
    when = stamp.to_datetime()
    if when is None:
        raise UsageError(f"the stored timestamp {stamp} is not a valid date; give --time")
    return EfiTime.from_datetime(when + dt.timedelta(seconds=1))


def choose_timestamp(
    requested: EfiTime | None,
    current: Variable | None,
    *,
    append: bool,
    now: dt.datetime | None = None,
) -> tuple[EfiTime, tuple[str, ...]]:
    """The update's EFI_TIME and notes about the timestamp rule (see the module doc)."""
    notes: list[str] = []
    stored = current.timestamp if current is not None and current.data else None
    if stored is not None and stored.is_zero:
        stored = None
    if requested is not None:
        stamp = requested
    else:
        stamp = EfiTime.from_datetime((now or dt.datetime.now(dt.UTC)).replace(microsecond=0))
    if stored is None:
        return stamp, ()
    if append:
        notes.append(
            f"APPEND_WRITE: the timestamp rule is skipped (edk2, newest QEMU); the stored time is {stored}"
        )
        if stored.is_later_than(stamp):
            notes.append(
                f"QEMU 10.0.2 would reject this append: its time {stamp} is before the stored {stored}"
            )
        return stamp, tuple(notes)
    if stamp.is_later_than(stored):
        return stamp, ()
    if requested is not None:
        raise UsageError(
            f"--time {requested} is not later than the variable's stored timestamp {stored}: "
            "the firmware would reject the update"
        )
    bumped = _plus_one_second(stored)
    notes.append(f"the stored timestamp {stored} is not before now; using {bumped} (one second later)")
    return bumped, tuple(notes)


def payload_from_certificate(certificate: bytes, owner: UUID = DEFAULT_OWNER) -> bytes:
    """One EFI_CERT_X509 signature list holding ``certificate`` (PEM or DER)."""
    return SignatureDatabase((x509_list(load_certificate_file(bytes(certificate)), owner),)).to_bytes()


def payload_from_esl(data: bytes) -> bytes:
    """An .esl file's bytes, checked to be signature lists."""
    return EslFile.decode(data).encode()


@dataclass(frozen=True, slots=True)
class SignedUpdate:
    """A signed update and what it was made for."""

    #: The .auth bytes: descriptor, then payload.
    data: bytes = field(repr=False)
    name: str
    guid: UUID
    #: The attributes signed over (APPEND_WRITE included for an append).
    attributes: int
    timestamp: EfiTime
    payload: bytes = field(repr=False)
    digest: str
    signer: str
    notes: tuple[str, ...] = ()

    @property
    def append(self) -> bool:
        return bool(self.attributes & AP)

    def lines(self) -> list[str]:
        kind = "APPEND" if self.append else ("SET" if self.payload else "DELETE")
        out = [
            f"{kind} {self.name} ({g.guid_label(self.guid)}), attributes {format_attributes(self.attributes)} "
            f"(0x{self.attributes:02x})",
            f"timestamp {self.timestamp}, {len(self.payload)} bytes payload, {len(self.data)} bytes in all",
            f"signed by {self.signer!r} ({self.digest}, bare SignedData, signer certificate embedded)",
        ]
        out.extend(f"note: {n}" for n in self.notes)
        return out


def sign_update(
    signer: Signer,
    name: str,
    payload: bytes,
    *,
    guid: UUID | None = None,
    append: bool = False,
    timestamp: EfiTime | None = None,
    digest: str = "sha256",
    store: VarStore | None = None,
    attributes: int | None = None,
    now: dt.datetime | None = None,
    signed_attributes: bool = False,
) -> SignedUpdate:
    """Sign ``payload`` as an update of ``name``; see the module doc for the rules.

    ``attributes`` overrides the derived ones (APPEND_WRITE is still added for ``append``).
    """
    if digest not in DIGESTS:
        raise UsageError(f"digest {digest!r} not offered; use one of {', '.join(DIGESTS)}")
    if not name:
        raise UsageError("the variable name is empty")
    target = guid if guid is not None else default_guid(name)
    current = store.get(target, name) if store is not None else None
    if store is not None and current is None and guid is None and not is_secure_boot_database(name, target):
        raise UsageError(f"no variable {name!r} in the store")
    if attributes is not None:
        attrs = int(attributes) | (int(AP) if append else 0)
    else:
        attrs = update_attributes(name, target, append=append, current=current)
    notes: list[str] = []
    if append and not is_secure_boot_database(name, target):
        notes.append("APPEND_WRITE is accepted only for PK/KEK/db/dbx/dbt by QEMU's device")
    stamp, stamp_notes = choose_timestamp(timestamp, current, append=append, now=now)
    notes.extend(stamp_notes)
    content = authfile.signed_content(name, target, attrs, stamp, payload)
    blob = pkcs7.sign(
        content,
        signer.key,
        signer.certificate,
        digest=digest,
        extra_certs=signer.chain,
        signed_attributes=signed_attributes,
    )
    data = authfile.build(stamp, blob, payload)
    return SignedUpdate(data, name, target, attrs, stamp, bytes(payload), digest, signer.label, tuple(notes))
