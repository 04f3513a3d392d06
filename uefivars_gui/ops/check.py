"""`check`: a health report of a variable store.

Attribute and size sanity of well-known variables, Secure Boot consistency, certificate
problems (expired, non-RSA, malformed lists), boot entries, and free space — for a flash
image how much the dbx can still grow. Each finding names the variable it concerns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum
from uuid import UUID

from ..codec import edk2
from ..core import guid as g
from ..core import loadoption, siglist
from ..core.store import VarStore
from ..core.typed import check_variable, decode_variable
from ..core.variable import Variable, VariableKey
from ..crypto import x509
from ..errors import DecodeError

#: QEMU's per-variable bookkeeping in its storage quota (qemu-uefi-vars §3.2)
QEMU_VARIABLE_OVERHEAD = 96
QEMU_DEFAULT_STORAGE = 262144
SHA256_ENTRY_SIZE = 48
#: Variables QEMU's device itself creates where edk2 would not (not the user's doing).
QEMU_ARTEFACTS = {
    (g.EFI_GLOBAL_VARIABLE, "VendorKeysNv"): "VendorKeysNv in EfiGlobalVariable is created by QEMU's uefi-vars "
    "device at every reset (edk2 keeps it in the VendorKeysNv namespace); harmless",
}  # EFI_SIGNATURE_DATA of an EFI_CERT_SHA256 list: owner + hash


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    message: str
    variable: VariableKey | None = None

    @property
    def is_problem(self) -> bool:
        return self.severity >= Severity.WARNING


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_problem)


def stored_flag(store: VarStore, guid: UUID, name: str) -> bool | None:
    """A one-byte boolean variable (SecureBootEnable, CustomMode...); None if absent or not 1 byte."""
    var = store.get(guid, name)
    if var is None or len(var.data) != 1:
        return None
    return var.data != b"\x00"


def _database(var: Variable) -> siglist.SignatureDatabase | None:
    try:
        return siglist.decode_signature_database(var.data)
    except DecodeError:
        return None  # reported by check_variable as malformed data


def _secure_boot(store: VarStore) -> list[Finding]:
    findings: list[Finding] = []
    pk = store.get(g.EFI_GLOBAL_VARIABLE, "PK")
    kek = store.get(g.EFI_GLOBAL_VARIABLE, "KEK")
    db = store.get(g.EFI_IMAGE_SECURITY_DATABASE, "db")
    dbx = store.get(g.EFI_IMAGE_SECURITY_DATABASE, "dbx")
    enable = stored_flag(store, g.SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable")
    enable_key = (g.SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable")
    if pk is None:
        if enable:
            findings.append(Finding(Severity.WARNING, "SecureBootEnable is 1 but no PK is enrolled: the firmware is in setup mode and Secure Boot stays off", enable_key))
        enrolled = [v.name for v in (kek, db, dbx) if v is not None]
        if enrolled:
            findings.append(Finding(Severity.INFO, f"no PK: setup mode; {', '.join(enrolled)} are not enforced until a PK is enrolled"))
        else:
            findings.append(Finding(Severity.INFO, "no Secure Boot keys enrolled (setup mode)"))
        return findings
    state = "off (SecureBootEnable is 0)" if enable is False else "on"
    findings.append(Finding(Severity.INFO, f"PK enrolled: user mode, Secure Boot {state}", pk.key))
    if enable is False:
        findings.append(Finding(Severity.WARNING, "a PK is enrolled but SecureBootEnable is 0: images are not verified", enable_key))
    if kek is None:
        findings.append(Finding(Severity.WARNING, "PK enrolled but no KEK: db and dbx cannot be updated with signed updates", pk.key))
    if db is None:
        findings.append(Finding(Severity.WARNING, "PK enrolled but db is empty: nothing can boot with Secure Boot on", pk.key))
    if dbx is None:
        findings.append(Finding(Severity.WARNING, "no dbx: revoked boot loaders are not blocked", pk.key))
    if stored_flag(store, g.CUSTOM_MODE_ENABLE, "CustomMode"):
        findings.append(Finding(Severity.INFO, "CustomMode is 1 in the store; edk2 resets it to 0 at every boot", (g.CUSTOM_MODE_ENABLE, "CustomMode")))
    return findings


_KEY_DATABASES = {
    (g.EFI_GLOBAL_VARIABLE, "PK"),
    (g.EFI_GLOBAL_VARIABLE, "KEK"),
    (g.EFI_IMAGE_SECURITY_DATABASE, "db"),
    (g.EFI_IMAGE_SECURITY_DATABASE, "dbx"),
    (g.EFI_IMAGE_SECURITY_DATABASE, "dbt"),
}


def _certificates(store: VarStore, now: dt.datetime) -> list[Finding]:
    findings: list[Finding] = []
    for key in sorted(_KEY_DATABASES, key=lambda k: k[1]):
        var = store.get(*key)
        if var is None:
            continue
        database = _database(var)
        if database is None:
            continue
        for problem in siglist.check_format(database, is_pk=var.name == "PK", is_rsa=x509.is_rsa):
            findings.append(Finding(Severity.ERROR, f"{var.name}: {problem} (edk2 refuses such a list)", key))
        if var.name == "dbx":
            continue
        for der in database.certificates():
            try:
                cert = x509.summarize(der)
            except DecodeError as exc:
                findings.append(Finding(Severity.ERROR, f"{var.name}: an X.509 entry is not a certificate: {exc}", key))
                continue
            if cert.expired(now):
                findings.append(Finding(
                    Severity.WARNING,
                    f"{var.name}: certificate '{cert.name}' expired on {cert.not_after:%Y-%m-%d} "
                    "(firmware ignores dates, but new signatures come from its successor)",
                    key,
                ))
    return findings


def _boot_entries(store: VarStore) -> list[Finding]:
    findings: list[Finding] = []
    options: dict[int, Variable] = {}
    for var in store:
        if var.guid == g.EFI_GLOBAL_VARIABLE and loadoption.is_load_option_name(var.name) and var.name.startswith("Boot"):
            parsed = loadoption.parse_load_option_name(var.name)
            if parsed is not None:
                options[parsed[1]] = var
    order_var = store.get(g.EFI_GLOBAL_VARIABLE, "BootOrder")
    order: list[int] = []
    if order_var is not None and len(order_var.data) % 2 == 0:
        order = [int.from_bytes(order_var.data[i : i + 2], "little") for i in range(0, len(order_var.data), 2)]
        for number in order:
            if number not in options:
                findings.append(Finding(Severity.WARNING, f"BootOrder names Boot{number:04X}, which does not exist", order_var.key))
        seen: set[int] = set()
        for number in order:
            if number in seen:
                findings.append(Finding(Severity.WARNING, f"BootOrder lists Boot{number:04X} twice", order_var.key))
            seen.add(number)
    for number, var in sorted(options.items()):
        if order_var is not None and number not in order:
            findings.append(Finding(Severity.INFO, f"{var.name} is not in BootOrder (it is never tried unless chosen)", var.key))
    boot_next = store.get(g.EFI_GLOBAL_VARIABLE, "BootNext")
    if boot_next is not None and len(boot_next.data) == 2:
        target = int.from_bytes(boot_next.data, "little")
        if target not in options:
            findings.append(Finding(Severity.WARNING, f"BootNext names Boot{target:04X}, which does not exist", boot_next.key))
    by_target: dict[tuple[bytes, bytes], str] = {}
    for _number, var in sorted(options.items()):
        value = decode_variable(var)
        if not isinstance(value, loadoption.LoadOption):
            continue
        identity = (value.file_path_raw, value.optional_data)
        if identity in by_target:
            findings.append(Finding(Severity.WARNING, f"{var.name} boots the same thing as {by_target[identity]} (duplicate boot entry)", var.key))
        else:
            by_target[identity] = var.name
    return findings


def _space_edk2(image: edk2.FlashImage) -> list[Finding]:
    space = edk2.free_space(image)
    used = space.maximum_storage - space.remaining
    findings = [Finding(
        Severity.INFO,
        f"flash store: {space.live} bytes in live variables, {space.history} in deleted records, "
        f"{space.free} free to append, {space.remaining} of {space.maximum_storage} free after a reclaim "
        f"({100 * used // max(space.maximum_storage, 1)}% used)",
    )]
    dbx = image.store.get(g.EFI_IMAGE_SECURITY_DATABASE, "dbx")
    dbx_size = len(dbx.data) if dbx is not None else 0
    authenticated = image.authenticated
    old_span = edk2.variable_space("dbx", dbx_size, authenticated=authenticated) if dbx is not None else 0
    # The firmware writes the new dbx before dropping the old one, reclaiming when needed:
    # the new record must fit beside every other live record.
    by_space = space.maximum_storage - (space.live - old_span) - edk2.variable_space("dbx", 0, authenticated=authenticated)
    limits = [(by_space, "the free space")]
    if space.max_variable_size is not None:
        header = space.header_size
        limits.append((space.max_variable_size - header - len("dbx\0".encode("utf-16-le")), "the maximum variable size"))
    max_dbx, reason = min(limits)
    growth = max(max_dbx - dbx_size, 0)
    severity = Severity.WARNING if growth < 8 * 1024 else Severity.INFO
    findings.append(Finding(
        severity,
        f"dbx ({dbx_size} bytes) can grow by {growth} bytes, about {growth // SHA256_ENTRY_SIZE} SHA-256 entries "
        f"(limited by {reason})",
        (g.EFI_IMAGE_SECURITY_DATABASE, "dbx"),
    ))
    return findings


def _space_qemu(store: VarStore) -> list[Finding]:
    used = sum(QEMU_VARIABLE_OVERHEAD + 2 * (len(v.name) + 1) + len(v.data) + len(v.digest or b"") for v in store)
    severity = Severity.WARNING if used > QEMU_DEFAULT_STORAGE * 9 // 10 else Severity.INFO
    return [Finding(severity, f"QEMU uefi-vars storage: {used} of {QEMU_DEFAULT_STORAGE} bytes (the device's default size) used by the stored variables")]


def check_store(store: VarStore, origin: object = None, *, now: dt.datetime | None = None) -> Report:
    """Run every check. ``origin`` is the decoded document's origin (a FlashImage adds
    flash-space findings); ``now`` decides what counts as expired."""
    when = now or dt.datetime.now(dt.UTC)
    findings: list[Finding] = []
    for var in store:
        if var.key in QEMU_ARTEFACTS:
            findings.append(Finding(Severity.INFO, QEMU_ARTEFACTS[var.key], var.key))
            continue
        for problem in check_variable(var):
            findings.append(Finding(Severity.WARNING, f"{var.name}: {problem}", var.key))
    findings += _secure_boot(store)
    findings += _certificates(store, when)
    findings += _boot_entries(store)
    findings += _space_edk2(origin) if isinstance(origin, edk2.FlashImage) else _space_qemu(store)
    return Report(tuple(findings))
