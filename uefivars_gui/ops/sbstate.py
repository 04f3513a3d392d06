"""The Secure Boot state of a store at a glance (no Qt; the Secure Boot page shows it).

The mode the stored variables put the firmware in (setup / user, and a stored custom
mode), whether Secure Boot is on (as the device engine derives it at every boot), and the
entries of PK, KEK, db, dbx (and dbt) with names, owners and expiry warnings for expired
or soon-expiring certificates, plus Microsoft's missing 2023 successors
(:func:`.rollover.plan_additions`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from uuid import UUID

from ..core import guid as g
from ..core.siglist import decode_signature_database, signature_type_label
from ..core.store import VarStore
from ..crypto import x509
from ..device import DeviceConfig, UefiVarsDevice
from ..errors import DecodeError
from .check import stored_flag
from .enroll import SECURE_BOOT_DATABASES
from .profiles import identify
from .rollover import plan_additions

__all__ = [
    "DATABASES",
    "EXPIRY_WARNING_DAYS",
    "Health",
    "KeyEntry",
    "SecureBootOverview",
    "secure_boot_overview",
]

#: A certificate expiring within this many days gets a warning.
EXPIRY_WARNING_DAYS = 180
#: The databases shown, in this order, with their namespace.
DATABASES: tuple[tuple[str, UUID], ...] = tuple(SECURE_BOOT_DATABASES.items())


class Health(IntEnum):
    OK = 0
    SOON = 1
    EXPIRED = 2


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One EFI_SIGNATURE_DATA of a Secure Boot database, described."""

    database: str
    kind: str
    #: The certificate's subject CN, or the hash in hex.
    name: str
    owner: UUID
    not_after: dt.datetime | None
    health: Health
    #: ``expired on 2026-06-24`` / ``expires on … (in N days)`` / empty.
    status: str
    #: The shipped certificate it is (``ms-kek-ca-2011``), if any.
    known: str | None = None


@dataclass(frozen=True, slots=True)
class SecureBootOverview:
    """What the stored variables mean for Secure Boot."""

    #: ``setup``, ``user`` or ``custom``.
    mode: str
    mode_text: str
    secure_boot: bool
    secure_boot_text: str
    entries: tuple[KeyEntry, ...]
    #: Per database: ``absent``, ``empty``, ``1 certificate``, ``3 hashes``, ``not a valid …``.
    database_texts: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]

    def database_text(self, name: str) -> str:
        return dict(self.database_texts).get(name, "")


def _engine_state(store: VarStore) -> tuple[bool, bool]:
    """(setup mode, SecureBoot) as the device engine derives them at a reset."""
    work = store.copy()
    device = UefiVarsDevice(DeviceConfig(), work, None)
    device.hard_reset()
    return device.setup_mode, stored_flag(work, g.EFI_GLOBAL_VARIABLE, "SecureBoot") is True


def _describe_entry(
    database: str, signature_type: UUID, data: bytes, owner: UUID, at: dt.datetime
) -> KeyEntry:
    if signature_type != g.EFI_CERT_X509:
        return KeyEntry(
            database, signature_type_label(signature_type), data.hex(), owner, None, Health.OK, ""
        )
    try:
        summary = x509.summarize(data)
    except DecodeError:
        return KeyEntry(database, "X.509", "(not a certificate)", owner, None, Health.OK, "unparseable")
    known = identify(data)
    health, status = Health.OK, ""
    if summary.expired(at):
        health, status = Health.EXPIRED, f"expired on {summary.not_after:%Y-%m-%d}"
    elif summary.not_after - at <= dt.timedelta(days=EXPIRY_WARNING_DAYS):
        days = (summary.not_after - at).days
        health, status = Health.SOON, f"expires on {summary.not_after:%Y-%m-%d} (in {days} days)"
    return KeyEntry(
        database,
        "X.509",
        summary.name,
        owner,
        summary.not_after,
        health,
        status,
        known.key if known else None,
    )


def _count_text(name: str, described: list[KeyEntry]) -> str:
    certs = sum(1 for e in described if e.kind == "X.509")
    hashes = len(described) - certs
    if name == "PK" and certs == 1:
        return next(e.name for e in described if e.kind == "X.509")
    parts: list[str] = []
    if certs:
        parts.append(f"{certs} certificate{'s' if certs != 1 else ''}")
    if hashes:
        parts.append(f"{hashes} hash{'es' if hashes != 1 else ''}")
    return ", ".join(parts) or "empty"


def secure_boot_overview(store: VarStore, at: dt.datetime | None = None) -> SecureBootOverview:
    """The Secure Boot state the stored variables imply (see the module doc)."""
    moment = at if at is not None else dt.datetime.now(dt.UTC)
    setup, secure_boot = _engine_state(store)
    custom = stored_flag(store, g.CUSTOM_MODE_ENABLE, "CustomMode") is True
    enable = stored_flag(store, g.SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable")
    if setup:
        mode, mode_text = "setup", "Setup mode: no PK is enrolled, nothing is enforced"
    elif custom:
        mode, mode_text = (
            "custom",
            "Custom mode is stored (CustomMode=1); the firmware resets it to user mode at boot",
        )
    else:
        mode, mode_text = "user", "User mode: a PK is enrolled"
    if secure_boot:
        sb_text = "Secure Boot is on: images must be signed by db and not revoked by dbx"
    elif setup:
        sb_text = "Secure Boot is off: it stays off until a PK is enrolled"
    elif enable is False:
        sb_text = "Secure Boot is off: SecureBootEnable is 0"
    else:
        sb_text = "Secure Boot is off"

    entries: list[KeyEntry] = []
    texts: list[tuple[str, str]] = []
    warnings: list[str] = []
    for name, guid in DATABASES:
        var = store.get(guid, name)
        if var is None or not var.data:
            if name != "dbt":
                texts.append((name, "absent"))
            continue
        try:
            database = decode_signature_database(var.data)
        except DecodeError as exc:
            texts.append((name, "not a valid signature database"))
            warnings.append(f"{name} is not a valid signature database: {exc.message}")
            continue
        described = [
            _describe_entry(name, entry.signature_type, entry.data, entry.owner, moment)
            for entry in database.entries()
        ]
        entries.extend(described)
        texts.append((name, _count_text(name, described)))
        if name == "dbx":
            continue
        warnings.extend(
            f"{name}: {entry.name!r} {entry.status}" for entry in described if entry.health is not Health.OK
        )
    try:
        _uses, additions = plan_additions(store, now=moment)
    except DecodeError:
        additions = {}
    if additions:
        missing = ", ".join(c.label for certs in additions.values() for c in certs)
        warnings.append(f"Microsoft's 2023 successors are missing ({missing}): use “2023 Rollover…”")
    return SecureBootOverview(
        mode, mode_text, secure_boot, sb_text, tuple(entries), tuple(texts), tuple(warnings)
    )
