"""Offline Secure Boot key enrollment: PK, KEK, db, dbx, dbt and SecureBootEnable.

These are *trusted* edits of a store file that no firmware is running on, like
virt-fw-vars' ``--set-pk``/``--add-db``: nothing is signed and nothing goes through the
device engine (for signed updates see :mod:`.signing`, :mod:`.verify`, :mod:`.apply`).

Rules:

* Adding is idempotent. An entry whose certificate (X.509, by its DER bytes) or hash (by
  type and value) is already in the variable — under any owner — is skipped as "already
  present"; the rest is appended with edk2's APPEND_WRITE semantics
  (:func:`~uefivars_gui.core.siglist.append_dedup`: old lists untouched, new lists after
  them). Adding only what is there changes nothing, not even the timestamp.
* A changed PK/KEK/db/dbx/dbt gets attributes NV|BS|RT|AT (what edk2 and QEMU demand of
  them) and the timestamp *now* (UTC). Unchanged variables stay as they are, byte for byte.
* X.509 entries must carry RSA keys and every list must pass edk2's
  CheckSignatureListFormat (:func:`~uefivars_gui.core.siglist.check_format`), else
  :class:`~uefivars_gui.errors.UsageError`: the firmware would refuse the value.
* Removing the last entry of a variable deletes it. Setting the PK replaces it (a PK holds
  one certificate).

Inputs are turned into signature lists by :func:`signature_lists_from_bytes`: a PEM/DER
certificate, an ``.esl`` file (its lists and owners as they are), or an
EFI_VARIABLE_AUTHENTICATION_2 file such as Microsoft's ``DBXUpdate.bin`` (its payload's
lists; the signature is not needed for an offline edit and is not checked here), and by
:func:`hash_signature_list` for hex SHA-256/384/512 hashes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from ..codec import authfile, esl
from ..core import guid as g
from ..core.attributes import NV_BS, NV_BS_RT_AT, Attributes
from ..core.efitime import EfiTime
from ..core.siglist import (
    SignatureDatabase,
    SignatureEntry,
    SignatureList,
    append_dedup,
    check_format,
    decode_signature_database,
    hash_list,
    remove_entries,
    signature_type_label,
    x509_list,
)
from ..core.store import VarStore
from ..core.variable import Variable
from ..crypto import x509
from ..errors import DecodeError, UsageError
from .profiles import DEFAULT_DISTRO_OWNER, distro_profile, microsoft_profile

__all__ = [
    "DEFAULT_OWNER",
    "SECURE_BOOT_DATABASES",
    "EnrollRequest",
    "EnrollSummary",
    "VariableChange",
    "add_signatures",
    "describe_entry",
    "enroll",
    "hash_signature_list",
    "remove_signatures",
    "set_pk",
    "set_secure_boot",
    "signature_lists_from_bytes",
    "signature_lists_from_file",
]

#: Owner GUID of entries the user adds without choosing one (OVMF EnrollDefaultKeys').
DEFAULT_OWNER = DEFAULT_DISTRO_OWNER
#: The secure-boot databases and their namespaces.
SECURE_BOOT_DATABASES: dict[str, UUID] = {
    "PK": g.EFI_GLOBAL_VARIABLE,
    "KEK": g.EFI_GLOBAL_VARIABLE,
    "db": g.EFI_IMAGE_SECURITY_DATABASE,
    "dbx": g.EFI_IMAGE_SECURITY_DATABASE,
    "dbt": g.EFI_IMAGE_SECURITY_DATABASE,
}

_HASH_TYPES: dict[int, UUID] = {32: g.EFI_CERT_SHA256, 48: g.EFI_CERT_SHA384, 64: g.EFI_CERT_SHA512}
_HEX_RE = re.compile(r"^(?:0x)?([0-9a-fA-F]+)$")


# --- describing entries ------------------------------------------------------------------


def describe_entry(signature_type: UUID, data: bytes, owner: UUID) -> str:
    """E.g. ``X.509 'Microsoft UEFI CA 2023' (owner MicrosoftVendor)``."""
    if signature_type == g.EFI_CERT_X509:
        try:
            what = f"X.509 {x509.summarize(data).name!r}"
        except DecodeError:
            what = f"X.509 (unparseable, {len(data)} bytes)"
    else:
        what = f"{signature_type_label(signature_type)} {data.hex()}"
    return f"{what} (owner {g.guid_label(owner)})"


def _describe(entry: SignatureEntry) -> str:
    return describe_entry(entry.signature_type, entry.data, entry.owner)


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VariableChange:
    """What an edit did (or would do) to one variable."""

    name: str
    guid: UUID
    #: ``created``, ``updated``, ``deleted`` or ``unchanged``.
    action: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    #: Entries asked for that were already there.
    present: tuple[str, ...] = ()
    before: Variable | None = field(default=None, repr=False)
    after: Variable | None = field(default=None, repr=False)

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"

    def lines(self) -> list[str]:
        """Human lines: ``KEK: + X.509 '…' (owner …)``."""
        head = f"{self.name}:"
        out = [f"{head} + {text}" for text in self.added]
        out += [f"{head} - {text}" for text in self.removed]
        out += [f"{head} = {text} (already present)" for text in self.present]
        if self.action in ("created", "deleted"):
            out.append(f"{head} variable {self.action}")
        elif self.action == "updated" and not (self.added or self.removed):
            out.append(f"{head} updated")
        if self.after is not None and self.changed and self.after.timestamp is not None:
            out.append(f"{head} timestamp {self.after.timestamp}")
        return out


@dataclass(frozen=True, slots=True)
class EnrollSummary:
    """Every variable an enrollment touched, plus notes."""

    changes: tuple[VariableChange, ...]
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return any(c.changed for c in self.changes)

    def lines(self) -> list[str]:
        out: list[str] = []
        for change in self.changes:
            out.extend(change.lines())
        out.extend(f"note: {n}" for n in self.notes)
        return out


# --- inputs ----------------------------------------------------------------------------------


def hash_signature_list(text: str, owner: UUID = DEFAULT_OWNER) -> SignatureList | None:
    """A one-entry SHA-256/384/512 list from hex text (64/96/128 digits), else None."""
    match = _HEX_RE.match(text.strip())
    if match is None:
        return None
    digits = match.group(1)
    if len(digits) % 2 or len(digits) // 2 not in _HASH_TYPES:
        return None
    value = bytes.fromhex(digits)
    return hash_list(_HASH_TYPES[len(value)], (value,), owner)


def signature_lists_from_bytes(
    data: bytes, owner: UUID = DEFAULT_OWNER, *, what: str = "input"
) -> tuple[SignatureList, ...]:
    """Signature lists from a certificate (PEM/DER), an .esl file or an .auth/.bin update.

    A certificate becomes one X.509 list with ``owner``; lists from .esl and .auth files
    keep their own owners.
    """
    raw = bytes(data)
    if not raw:
        raise DecodeError(f"{what}: empty", 0)
    if b"-----BEGIN" in raw or raw[:1] == b"\x30":
        try:
            der: bytes | None = x509.load_certificate_file(raw)
        except DecodeError:
            der = None
        if der is not None:
            return (x509_list(der, owner),)
    if authfile.probe(raw):
        update = authfile.decode(raw)
        if not update.payload:
            raise DecodeError(f"{what}: the update's payload is empty (a delete), no signature lists", 0)
        return _lists(update.payload, f"{what} (payload of the EFI_VARIABLE_AUTHENTICATION_2)")
    if esl.probe(raw):
        return _lists(raw, what)
    raise DecodeError(
        f"{what}: neither a certificate (PEM/DER), nor an .esl file, nor an EFI_VARIABLE_AUTHENTICATION_2 "
        "update (.auth / DBXUpdate .bin)",
        0,
    )


def signature_lists_from_file(path: str, owner: UUID = DEFAULT_OWNER) -> tuple[SignatureList, ...]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return signature_lists_from_bytes(data, owner, what=path)


def _lists(data: bytes, what: str) -> tuple[SignatureList, ...]:
    try:
        return decode_signature_database(data).lists
    except DecodeError as exc:
        raise DecodeError(f"{what}: {exc.message}", exc.offset) from None


# --- edits ---------------------------------------------------------------------------------


def _now(now: dt.datetime | None) -> EfiTime:
    return EfiTime.from_datetime(now if now is not None else dt.datetime.now(dt.UTC))


def _guid_for(name: str, guid: UUID | None) -> UUID:
    if guid is not None:
        return guid
    try:
        return SECURE_BOOT_DATABASES[name]
    except KeyError:
        raise UsageError(f"{name!r} is not a secure-boot database; give its GUID") from None


def _current(store: VarStore, name: str, guid: UUID) -> tuple[Variable | None, SignatureDatabase]:
    var = store.get(guid, name)
    if var is None or not var.data:
        return var, SignatureDatabase()
    try:
        return var, decode_signature_database(var.data)
    except DecodeError as exc:
        raise DecodeError(
            f"{name} in the store is not a valid signature database: {exc.message}", exc.offset, what=name
        ) from None


def _validate(name: str, lists: Sequence[SignatureList]) -> None:
    problems = check_format(SignatureDatabase(tuple(lists)), is_pk=name == "PK", is_rsa=x509.is_rsa)
    if problems:
        raise UsageError(f"{name}: the firmware would refuse this value: " + "; ".join(problems))


def _store_value(
    store: VarStore, old: Variable | None, name: str, guid: UUID, value: SignatureDatabase, stamp: EfiTime
) -> Variable | None:
    if not value.lists:
        if old is not None:
            store.remove(guid, name)
        return None
    new = Variable(name, guid, NV_BS_RT_AT, value.to_bytes(), stamp, None)
    if old is not None:
        store.set(new)
    else:
        store.append(new)
    return new


def add_signatures(
    store: VarStore,
    name: str,
    lists: Iterable[SignatureList],
    *,
    guid: UUID | None = None,
    now: dt.datetime | None = None,
) -> VariableChange:
    """Append the entries of ``lists`` to a secure-boot database (idempotent, see module doc)."""
    guid = _guid_for(name, guid)
    new_lists = tuple(lists)
    _validate(name, new_lists)
    old, current = _current(store, name, guid)
    known_certs = {e.data for e in current.entries() if e.signature_type == g.EFI_CERT_X509}
    known_hashes = {
        (e.signature_type, e.data) for e in current.entries() if e.signature_type != g.EFI_CERT_X509
    }
    present: list[str] = []
    wanted: list[SignatureList] = []
    added: list[str] = []
    for lst in new_lists:
        keep = []
        for entry in lst.entries:
            text = describe_entry(lst.signature_type, entry.data, entry.owner)
            duplicate = (
                entry.data in known_certs
                if lst.signature_type == g.EFI_CERT_X509
                else (lst.signature_type, entry.data) in known_hashes
            )
            if duplicate:
                present.append(text)
                continue
            if lst.signature_type == g.EFI_CERT_X509:
                known_certs.add(entry.data)
            else:
                known_hashes.add((lst.signature_type, entry.data))
            keep.append(entry)
            added.append(text)
        if keep:
            wanted.append(SignatureList(lst.signature_type, lst.header, lst.signature_size, tuple(keep)))
    merged = append_dedup(current, SignatureDatabase(tuple(wanted)))
    if merged == current:
        return VariableChange(name, guid, "unchanged", present=tuple(present), before=old, after=old)
    _validate(name, merged.lists)
    new = _store_value(store, old, name, guid, merged, _now(now))
    action = "updated" if old is not None and old.data else "created"
    return VariableChange(name, guid, action, tuple(added), (), tuple(present), old, new)


def remove_signatures(
    store: VarStore,
    name: str,
    predicate: Callable[[SignatureEntry], bool],
    *,
    guid: UUID | None = None,
    now: dt.datetime | None = None,
) -> VariableChange:
    """Drop every entry of a secure-boot database for which ``predicate`` holds.

    Removing the last entry deletes the variable.
    """
    guid = _guid_for(name, guid)
    old, current = _current(store, name, guid)
    removed = tuple(_describe(e) for e in current.entries() if predicate(e))
    if not removed:
        return VariableChange(name, guid, "unchanged", before=old, after=old)
    remaining = remove_entries(current, predicate)
    new = _store_value(store, old, name, guid, remaining, _now(now))
    return VariableChange(name, guid, "deleted" if new is None else "updated", (), removed, (), old, new)


def set_pk(
    store: VarStore, certificate: bytes, owner: UUID = DEFAULT_OWNER, *, now: dt.datetime | None = None
) -> VariableChange:
    """Replace PK by one X.509 certificate (PEM or DER)."""
    der = x509.load_certificate_file(bytes(certificate))
    value = SignatureDatabase((x509_list(der, owner),))
    _validate("PK", value.lists)
    old, current = _current(store, "PK", g.EFI_GLOBAL_VARIABLE)
    text = describe_entry(g.EFI_CERT_X509, der, owner)
    if current == value:
        return VariableChange(
            "PK", g.EFI_GLOBAL_VARIABLE, "unchanged", present=(text,), before=old, after=old
        )
    removed = tuple(_describe(e) for e in current.entries())
    new = _store_value(store, old, "PK", g.EFI_GLOBAL_VARIABLE, value, _now(now))
    action = "updated" if old is not None and old.data else "created"
    return VariableChange("PK", g.EFI_GLOBAL_VARIABLE, action, (text,), removed, (), old, new)


def set_secure_boot(store: VarStore, enabled: bool) -> VariableChange:
    """Set ``SecureBootEnable`` (NV|BS, 1 byte) to 1 or 0."""
    guid = g.SECURE_BOOT_ENABLE_DISABLE
    old = store.get(guid, "SecureBootEnable")
    value = b"\x01" if enabled else b"\x00"
    text = "SecureBootEnable = " + ("1 (on)" if enabled else "0 (off)")
    if old is not None and old.data == value:
        return VariableChange("SecureBootEnable", guid, "unchanged", present=(text,), before=old, after=old)
    new = Variable("SecureBootEnable", guid, Attributes(old.attributes if old else NV_BS), value)
    if old is not None:
        store.set(new)
    else:
        store.append(new)
    return VariableChange(
        "SecureBootEnable", guid, "updated" if old is not None else "created", (text,), (), (), old, new
    )


# --- the whole request ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnrollRequest:
    """What ``uefivars enroll`` asks for. Lists are already built (with their owners)."""

    #: ``2011``, ``2023``, ``all``, ``none`` or a Microsoft profile name; None: none.
    microsoft: str | None = None
    distros: tuple[str, ...] = ()
    #: A PEM/DER certificate for PK.
    pk: bytes | None = None
    kek: tuple[SignatureList, ...] = ()
    db: tuple[SignatureList, ...] = ()
    dbx: tuple[SignatureList, ...] = ()
    dbt: tuple[SignatureList, ...] = ()
    secure_boot: bool | None = None
    #: Owner of the PK entry and of distribution entries.
    owner: UUID = DEFAULT_OWNER


def enroll(store: VarStore, request: EnrollRequest, *, now: dt.datetime | None = None) -> EnrollSummary:
    """Apply ``request`` to ``store`` in place; the summary says what changed.

    Order: PK, KEK, db, dbx, dbt, SecureBootEnable. Profile certificates come before the
    explicitly given ones. All timestamps of one call are the same moment.
    """
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    kek: list[SignatureList] = []
    db: list[SignatureList] = []
    if request.microsoft is not None:
        ms = microsoft_profile(request.microsoft)
        if ms is not None:
            kek.extend(ms.kek_lists())
            db.extend(ms.db_lists())
    for name in request.distros:
        distro = distro_profile(name)
        kek.extend(distro.kek_lists(request.owner))
        db.extend(distro.db_lists(request.owner))
    kek.extend(request.kek)
    db.extend(request.db)

    changes: list[VariableChange] = []
    notes: list[str] = []
    if request.pk is not None:
        changes.append(set_pk(store, request.pk, request.owner, now=moment))
    for name, lists in (("KEK", kek), ("db", db), ("dbx", list(request.dbx)), ("dbt", list(request.dbt))):
        if lists:
            changes.append(add_signatures(store, name, lists, now=moment))
    if request.secure_boot is not None:
        changes.append(set_secure_boot(store, request.secure_boot))

    has_pk = (pk := store.get(g.EFI_GLOBAL_VARIABLE, "PK")) is not None and bool(pk.data)
    if request.secure_boot and not has_pk:
        notes.append(
            "there is no PK: the firmware stays in setup mode and Secure Boot stays off until one is enrolled"
        )
    if has_pk and any(c.name == "PK" and c.action == "created" for c in changes):
        notes.append("a PK is enrolled: the firmware leaves setup mode (user mode) at the next boot")
    if (kek or db) and not has_pk:
        notes.append("KEK/db were changed while there is no PK (setup mode): nothing is enforced yet")
    return EnrollSummary(tuple(changes), tuple(notes))
