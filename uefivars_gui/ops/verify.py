"""Would a store accept this signed update, and why? — through the device engine itself.

:func:`verify_update` runs the update through the SetVariable path of the project's
uefi-vars engine (:class:`~uefivars_gui.device.UefiVarsDevice`) on a *copy* of the store,
with :class:`~uefivars_gui.crypto.engine_verifier.EngineVerifier` checking the PKCS#7.
:mod:`.apply` runs the very same function on the real store, so what ``verify`` says and
what ``apply`` (offline) or a running VM (live, same engine) does cannot differ.

The machine state the update meets is that of a booted OS:

1. ``hard_reset()`` — what the firmware derives from the stored variables at every boot:
   setup mode when there is no PK, else user mode; SecureBoot from SecureBootEnable;
   CustomMode reset to 0 (edk2's AuthVariableLibInitialize and QEMU do this at every
   boot, so a CustomMode=1 left in a store never survives into an OS; pass
   ``custom_mode=True`` to model a caller that sets it — physically present — before its
   write); volatile variables gone.
2. EndOfDxe signalled, ExitBootServices *not*: the update is checked as an OS loader or a
   UEFI tool sees the firmware. The secure-boot databases are NV|BS|RT|AT, so an OS at
   runtime gets the same answer; only the SecureBoot/SetupMode bookkeeping of a PK write
   differs after ExitBootServices (edk2 does not update SecureBoot at runtime).
3. SetVariable(name, guid, attributes, data) as one MM request.

The report names the rule that decided: setup/custom mode (no signature needed), which
enrolled certificate the signature chains to (PK for PK and KEK; KEK or PK for db, dbx
and dbt — intended difference 15), the signer digest of a private authenticated
variable, the timestamp rule (strictly later for a SET in edk2, not older in QEMU; skipped
for APPEND), attributes. Expired certificates in the chain are listed but never fail
(firmware ignores certificate dates).
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field
from uuid import UUID

from ..codec import authfile
from ..core import guid as g
from ..core.attributes import AP, format_attributes
from ..core.efitime import EfiTime
from ..core.siglist import decode_signature_database
from ..core.store import VarStore
from ..core.ucs2 import encode_ucs2
from ..core.variable import Variable, VariableKey
from ..crypto import x509
from ..crypto.engine_verifier import EngineVerifier, VerificationRecord
from ..device import DeviceConfig, UefiVarsDevice
from ..device.auth import SECURE_BOOT_SIGNERS, is_secure_boot_variable
from ..device.mm import build_mm_buffer
from ..device.status import EfiStatus, SmmVariableFunction, device_status_name, efi_status_name
from ..errors import DecodeError, UsageError
from .signing import default_guid, update_attributes

__all__ = ["StoreChange", "UpdateVerdict", "run_update", "verify_update"]

_ACCESS = struct.Struct("<16sQQI")
_SET_HEADER = struct.Struct("<QQ")
_STATUS_OFFSET = 32
_NV = 0x01


@dataclass(frozen=True, slots=True)
class StoreChange:
    """A non-volatile variable the update changed (what would be saved)."""

    guid: UUID
    name: str
    before: Variable | None = field(repr=False)
    after: Variable | None = field(repr=False)

    @property
    def key(self) -> VariableKey:
        return (self.guid, self.name)

    def describe(self) -> str:
        def entries(var: Variable | None) -> str:
            if var is None:
                return "absent"
            text = f"{len(var.data)} bytes"
            if is_secure_boot_variable(var.guid, var.name):
                try:
                    count = decode_signature_database(var.data).entry_count
                    text += f", {count} {'entry' if count == 1 else 'entries'}"
                except DecodeError:
                    pass
            if var.timestamp is not None:
                text += f", time {var.timestamp}"
            return text

        verb = "created" if self.before is None else "deleted" if self.after is None else "changed"
        return (
            f"{self.name} ({g.guid_label(self.guid)}) {verb}: {entries(self.before)} -> {entries(self.after)}"
        )


@dataclass(frozen=True, slots=True)
class UpdateVerdict:
    """The engine's answer to one SetVariable, with the reasons."""

    accepted: bool
    #: The EFI_STATUS the engine returned (None when the device refused the request itself).
    status: int | None
    reason: str
    details: tuple[str, ...]
    name: str
    guid: UUID
    #: The attributes sent (APPEND_WRITE included for an append).
    attributes: int
    #: ``setup``, ``user`` or ``custom``: the mode the firmware is in when the update arrives.
    mode: str
    timestamp: EfiTime | None
    stored_timestamp: EfiTime | None
    #: Which enrolled certificate the signature chained to, e.g. ``KEK #1 'Microsoft …'``.
    trusted_by: str | None
    signer: str | None
    #: Labels (with end dates) of expired certificates in the chain.
    expired: tuple[str, ...]
    #: The non-volatile variables the write changed.
    changes: tuple[StoreChange, ...]
    notes: tuple[str, ...] = ()

    @property
    def status_name(self) -> str:
        return efi_status_name(self.status) if self.status is not None else "no EFI status"

    @property
    def append(self) -> bool:
        return bool(self.attributes & AP)

    def lines(self) -> list[str]:
        head = "ACCEPTED" if self.accepted else "REJECTED"
        out = [f"{head} ({self.status_name}): {self.reason}"]
        out.extend(f"  {d}" for d in self.details)
        out.extend(f"  change: {c.describe()}" for c in self.changes)
        out.extend(f"  note: {n}" for n in self.notes)
        return out


def _mm_set_variable(name: str, guid: UUID, attributes: int, data: bytes) -> bytes:
    raw_name = encode_ucs2(name)
    message = (
        _SET_HEADER.pack(SmmVariableFunction.SET_VARIABLE, 0)
        + _ACCESS.pack(guid.bytes_le, len(data), len(raw_name), attributes & 0xFFFFFFFF)
        + raw_name
        + bytes(data)
    )
    return build_mm_buffer(g.SMM_VARIABLE_PROTOCOL, message)


def _mm_event(guid: UUID) -> bytes:
    return build_mm_buffer(guid, b"\x00")


def _nv_snapshot(store: VarStore) -> dict[VariableKey, Variable]:
    return {v.key: v for v in store if v.attributes & _NV}


def _cert_label(der: bytes) -> str:
    try:
        s = x509.summarize(der)
    except DecodeError:
        return "(unparseable certificate)"
    return s.name


def _expiry_label(der: bytes) -> str:
    try:
        s = x509.summarize(der)
    except DecodeError:
        return "(unparseable certificate)"
    return f"{s.name!r} (expired {s.not_after:%Y-%m-%d})"


def _anchor_label(before: dict[VariableKey, Variable], anchor: bytes) -> str:
    """``KEK #1 'Microsoft Corporation KEK CA 2011'`` for a trusted certificate."""
    for key in ((g.EFI_GLOBAL_VARIABLE, "PK"), (g.EFI_GLOBAL_VARIABLE, "KEK")):
        var = before.get(key)
        if var is None or not var.data:
            continue
        try:
            certs = decode_signature_database(var.data).certificates()
        except DecodeError:
            continue
        for index, der in enumerate(certs):
            if der == anchor:
                return f"{key[1]} #{index} {_cert_label(der)!r}"
    return f"{_cert_label(anchor)!r} (carried by the update itself: a self-signed PK)"


def _mode(device: UefiVarsDevice) -> str:
    if device.custom_mode:
        return "custom"
    return "setup" if device.setup_mode else "user"


def run_update(
    store: VarStore,
    name: str,
    data: bytes,
    *,
    guid: UUID | None = None,
    append: bool = False,
    attributes: int | None = None,
    custom_mode: bool = False,
    config: DeviceConfig | None = None,
    at: dt.datetime | None = None,
    in_place: bool = False,
) -> UpdateVerdict:
    """Run SetVariable(name, guid, attributes, data) through the engine (see module doc).

    Without ``in_place`` the engine works on a copy and ``store`` is untouched. With it,
    an accepted update's changes (:attr:`UpdateVerdict.changes`, the non-volatile
    variables the write changed — not the reset's own bookkeeping) are carried into
    ``store``: changed variables keep their position, new ones go to the end.
    """
    target = guid if guid is not None else default_guid(name)
    stored = store.get(target, name)
    if attributes is not None:
        attrs = int(attributes) | (int(AP) if append else 0)
    else:
        attrs = update_attributes(name, target, append=append, current=stored)
    work = store.copy()
    verifier = EngineVerifier(at=at)
    device = UefiVarsDevice(config or DeviceConfig(), work, None, verifier)
    device.hard_reset()
    notes: list[str] = []
    stored_custom = store.get(g.CUSTOM_MODE_ENABLE, "CustomMode")
    if custom_mode:
        custom = device.process_mm(_mm_set_variable("CustomMode", g.CUSTOM_MODE_ENABLE, 0x03, b"\x01"))
        if _reply_status(custom.reply) != EfiStatus.SUCCESS:
            notes.append("CustomMode could not be set to 1 (disable-custom-mode?)")
    elif stored_custom is not None and stored_custom.data[:1] == b"\x01":
        notes.append("the store has CustomMode=1, but the firmware resets it to 0 at every boot")
    device.process_mm(_mm_event(g.END_OF_DXE_EVENT_GROUP))
    mode = _mode(device)
    baseline = _nv_snapshot(work)
    signer_db = {n: v for n, v in ((n, work.get(gg, n)) for gg, n in _signers(target, name)) if v is not None}
    verifier.clear()
    outcome = device.process_mm(_mm_set_variable(name, target, attrs, data))
    status = _reply_status(outcome.reply)
    after = _nv_snapshot(work)
    changes = tuple(
        StoreChange(key[0], key[1], baseline.get(key), after.get(key))
        for key in [*baseline, *(k for k in after if k not in baseline)]
        if baseline.get(key) != after.get(key)
    )
    accepted = status == EfiStatus.SUCCESS
    update = _decode(data)
    stored_stamp = stored.timestamp if stored is not None and stored.data else None
    record = verifier.last_accepted if accepted else verifier.last
    trusted_by = (
        _anchor_label(baseline, record.trusted_cert)
        if record is not None
        and record.trusted_cert is not None
        and record.accepted
        and is_secure_boot_variable(target, name)
        else None
    )
    signer = _cert_label(record.result.signer_cert) if record and record.result.signer_cert else None
    expired = tuple(_expiry_label(d) for d in record.expired) if record is not None else ()
    reason, details = _explain(
        accepted=accepted,
        status=status,
        problem=outcome.problem,
        device_status=int(outcome.device_status),
        name=name,
        guid=target,
        attrs=attrs,
        mode=mode,
        update=update,
        stored=stored if stored is not None and stored.data else None,
        record=record,
        trusted_by=trusted_by,
        signer_db=signer_db,
        expired=expired,
    )
    notes.extend(_notes(accepted, name, target, attrs, update, stored_stamp, record, trusted_by))
    verdict = UpdateVerdict(
        accepted=accepted,
        status=status,
        reason=reason,
        details=tuple(details),
        name=name,
        guid=target,
        attributes=attrs,
        mode=mode,
        timestamp=update.timestamp if update is not None else None,
        stored_timestamp=stored_stamp,
        trusted_by=trusted_by,
        signer=signer,
        expired=expired,
        changes=changes if accepted else (),
        notes=tuple(notes),
    )
    if in_place and accepted:
        for change in verdict.changes:
            if change.after is None:
                store.discard(change.guid, change.name)
            elif store.get(change.guid, change.name) is not None:
                store.set(change.after)
            else:
                store.append(change.after)
    return verdict


def verify_update(
    store: VarStore,
    name: str,
    data: bytes,
    *,
    guid: UUID | None = None,
    append: bool = False,
    attributes: int | None = None,
    custom_mode: bool = False,
    config: DeviceConfig | None = None,
    at: dt.datetime | None = None,
) -> UpdateVerdict:
    """Would ``store`` accept the update? ``store`` is not changed."""
    return run_update(
        store,
        name,
        data,
        guid=guid,
        append=append,
        attributes=attributes,
        custom_mode=custom_mode,
        config=config,
        at=at,
        in_place=False,
    )


# --- helpers ---------------------------------------------------------------------------------


def _signers(guid: UUID, name: str) -> tuple[tuple[UUID, str], ...]:
    return SECURE_BOOT_SIGNERS.get((guid, name), ())


def _reply_status(reply: bytes | None) -> int | None:
    if reply is None or len(reply) < _STATUS_OFFSET + 8:
        return None
    return int.from_bytes(reply[_STATUS_OFFSET : _STATUS_OFFSET + 8], "little")


def _decode(data: bytes) -> authfile.VariableAuthentication2 | None:
    try:
        return authfile.decode(data)
    except DecodeError:
        return None


def _explain(
    *,
    accepted: bool,
    status: int | None,
    problem: str | None,
    device_status: int,
    name: str,
    guid: UUID,
    attrs: int,
    mode: str,
    update: authfile.VariableAuthentication2 | None,
    stored: Variable | None,
    record: VerificationRecord | None,
    trusted_by: str | None,
    signer_db: dict[str, Variable],
    expired: tuple[str, ...],
) -> tuple[str, list[str]]:
    details: list[str] = [
        f"{'APPEND' if attrs & AP else 'SET'} {name} ({g.guid_label(guid)}), attributes "
        f"{format_attributes(attrs)} (0x{attrs:02x}); firmware in {mode} mode, after EndOfDxe",
    ]
    if update is not None:
        kind = "ContentInfo-wrapped" if update.is_content_info else "bare"
        details.append(
            f"update: time {update.timestamp}, {len(update.cert_data)} bytes PKCS#7 ({kind}), "
            f"{len(update.payload)} bytes payload"
        )
    if stored is not None:
        details.append(
            f"stored: {len(stored.data)} bytes, attributes {format_attributes(stored.attributes)}"
            + (f", time {stored.timestamp}" if stored.timestamp is not None else "")
        )
    else:
        details.append(f"stored: {name} does not exist yet")
    if record is not None:
        if record.result.signer_cert is not None:
            details.append(f"signer: {_cert_label(record.result.signer_cert)!r} ({record.result.digest})")
        if trusted_by is not None:
            details.append(f"trusted by: {trusted_by}")
        elif record.trusted and not is_secure_boot_variable(guid, name):
            details.append(
                f"root of trust: the update's last certificate {_cert_label(record.trusted[-1])!r}"
            )
        if record.result.chain:
            details.append("chain: " + " -> ".join(repr(_cert_label(c)) for c in record.result.chain))
    if expired:
        details.append("expired in the chain (ignored, firmware does not check dates): " + ", ".join(expired))

    secure_boot = is_secure_boot_variable(guid, name)
    if status is None:
        return (
            f"the device refused the request ({device_status_name(device_status)}): {problem or 'no reason given'}",
            details,
        )
    if accepted:
        if update is None:
            return "written without authentication (not a time-based authenticated write)", details
        if secure_boot and record is None:
            if mode == "custom":
                return "custom mode: PK/KEK/db/dbx/dbt are written without a signature check", details
            if mode == "setup":
                return f"setup mode (no PK): {name} is written without a signature check", details
        why = [
            f"signed by {_cert_label(record.result.signer_cert)!r}"
            if record and record.result.signer_cert
            else "signed"
        ]
        if secure_boot and trusted_by is not None:
            allowed = "/".join(n for _, n in _signers(guid, name))
            why.append(f"chains to {trusted_by} ({name} may be signed by {allowed})")
        elif not secure_boot:
            if stored is None:
                why.append("new private authenticated variable: its signer digest is recorded")
            else:
                why.append("the signer digest matches the stored one (private authenticated variable)")
        why.append(_time_sentence(attrs, update.timestamp, stored))
        return "; ".join(why), details

    text = problem or "rejected"
    if status == EfiStatus.SECURITY_VIOLATION and record is not None and not record.accepted:
        allowed = "/".join(n for _, n in _signers(guid, name))
        detail = "; ".join(record.result.problems) or record.result.reason
        if allowed:
            enrolled = ", ".join(signer_db) or "none"
            text = f"the signature is not trusted by {allowed} (enrolled: {enrolled}): {detail}"
        else:
            text = f"the signature does not verify: {detail}"
    elif problem == "time check failed" and update is not None and stored is not None:
        text = (
            f"timestamp {update.timestamp} is older than the stored {stored.timestamp}: a write without "
            "APPEND_WRITE must not go back in time"
        )
    elif problem and "digest" in problem:
        signer = _cert_label(record.result.signer_cert) if record and record.result.signer_cert else "?"
        text = (
            f"{problem}: the signer {signer!r} is not the one that wrote {name} (the stored signer digest, "
            "SHA-256 of the signer's CN and the root certificate, differs)"
        )
    elif problem and problem.startswith("no signature"):
        text = f"{problem}: in {mode} mode {name} needs a signed update"
    elif status == EfiStatus.INVALID_PARAMETER and problem and "attributes" in problem:
        text = f"attributes: {problem}"
    return text, details


def _time_sentence(attrs: int, stamp: EfiTime, stored: Variable | None) -> str:
    old = stored.timestamp if stored is not None else None
    if old is None or old.is_zero:
        return f"timestamp {stamp} (no stored timestamp to compare)"
    if attrs & AP:
        return f"APPEND_WRITE: the timestamp rule is skipped (update {stamp}, stored {old})"
    if stamp.is_later_than(old):
        return f"timestamp {stamp} is later than the stored {old}"
    return f"timestamp {stamp} equals the stored {old} (QEMU accepts this; edk2 wants a later one)"


def _notes(
    accepted: bool,
    name: str,
    guid: UUID,
    attrs: int,
    update: authfile.VariableAuthentication2 | None,
    stored_stamp: EfiTime | None,
    record: VerificationRecord | None,
    trusted_by: str | None,
) -> list[str]:
    notes: list[str] = []
    if update is None or not accepted:
        return notes
    if (
        attrs & AP
        and stored_stamp is not None
        and not stored_stamp.is_zero
        and stored_stamp.is_later_than(update.timestamp)
    ):
        notes.append(
            f"QEMU 10.0.2 rejects this append: its time {update.timestamp} is before the stored "
            f"{stored_stamp} (newer QEMU and edk2 skip the check; intended difference 2)"
        )
    if record is not None and record.accepted:
        result = record.result
        if not result.ok:
            notes.append(f"edk2 would refuse it: {'; '.join(result.problems) or result.reason}")
        if not result.format.qemu_ok:
            notes.append(f"QEMU 10.0.2 would refuse the encoding: {result.format.qemu_problem}")
        if (
            accepted
            and name in ("db", "dbx", "dbt")
            and guid == g.EFI_IMAGE_SECURITY_DATABASE
            and trusted_by is not None
            and trusted_by.startswith("PK ")
        ):
            notes.append(
                "signed by the PK: edk2 accepts this, QEMU 10.0.2 checks KEK only (intended difference 15)"
            )
    return notes


def parse_guid_option(text: str | None, name: str) -> UUID:
    """``--guid`` or the default namespace of ``name`` (for the CLI modules)."""
    if text is None:
        return default_guid(name)
    try:
        return g.parse_guid(text)
    except DecodeError as exc:
        raise UsageError(str(exc)) from None
