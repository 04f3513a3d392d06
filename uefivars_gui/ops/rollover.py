"""The Microsoft 2023 certificate rollover for existing VM stores, one or many at a time.

For every store (files, or directories such as libvirt's ``/var/lib/libvirt/qemu/nvram``
whose files are taken one level deep) :func:`rollover`

1. reports which of Microsoft's 2011 certificates it relies on (KEK CA 2011 in KEK;
   Windows Production PCA 2011 and UEFI CA 2011 in db), with their expiry, and whether
   the 2023 successor is already there;
2. adds the missing successors — KEK 2K CA 2023 next to KEK CA 2011, Windows UEFI CA 2023
   next to the Windows PCA 2011, UEFI CA 2023 and Option ROM UEFI CA 2023 next to the UEFI
   CA 2011 — with Microsoft's owner GUID, as an offline edit (:func:`.enroll.add_signatures`:
   idempotent, timestamps of the changed KEK/db set to now) and touches nothing else:
   the other variables stay byte-identical and an edk2 image is written back into its own
   geometry (its template), so the records before the first change keep their bytes;
3. with ``dry_run`` says exactly what would change and writes nothing.

Stores that cannot be changed are reported and left untouched: a file a running VM holds
(an open handle on the same inode in ``/proc/*/fd``, or a QEMU process whose command line
names the file), a flash store with no room left
(:class:`~uefivars_gui.errors.StoreFullError`), a file that cannot be read or decoded, or
one that changed while we worked. Stores without Microsoft's 2011 certificates (no
Secure Boot keys, or only other keys) are left alone.

Writing is injected (``writer``; ``uefivars rollover`` passes the atomic writer of
``live.atomic``) so this module opens no file for writing itself.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ..codec import registry
from ..codec.base import StoreDocument
from ..core import guid as g
from ..core.siglist import decode_signature_database
from ..core.store import VarStore
from ..crypto import x509
from ..errors import DecodeError, EncodeError, StoreFullError, UefiVarsError, UsageError
from .enroll import EnrollSummary, VariableChange, add_signatures
from .profiles import CERTIFICATES, KnownCertificate

__all__ = [
    "SUCCESSORS",
    "CertificateUse",
    "Holder",
    "ProcessTable",
    "RolloverReport",
    "RolloverStatus",
    "StoreRollover",
    "find_stores",
    "plan_additions",
    "rollover",
    "rollover_store",
]

#: 2011 certificate -> (variable, its 2023 successors).
SUCCESSORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ms-kek-ca-2011": ("KEK", ("ms-kek-2k-ca-2023",)),
    "ms-windows-production-pca-2011": ("db", ("ms-windows-uefi-ca-2023",)),
    "ms-uefi-ca-2011": ("db", ("ms-uefi-ca-2023", "ms-option-rom-uefi-ca-2023")),
}

Writer = Callable[[Path, bytes], None]


class RolloverStatus(StrEnum):
    UPDATED = "updated"
    WOULD_UPDATE = "would update"
    UP_TO_DATE = "up to date"
    NOT_APPLICABLE = "nothing to roll over"
    SKIPPED = "skipped"
    FAILED = "failed"
    NOT_A_STORE = "not a store"


#: Outcomes that mean "this store needed a change we could not make".
_PROBLEMS = (RolloverStatus.SKIPPED, RolloverStatus.FAILED)


@dataclass(frozen=True, slots=True)
class CertificateUse:
    """A 2011 certificate a store relies on."""

    variable: str
    certificate: KnownCertificate
    not_after: dt.datetime
    expired: bool
    #: The successors already enrolled / still missing.
    present: tuple[str, ...]
    missing: tuple[str, ...]

    def describe(self) -> str:
        when = "expired" if self.expired else "expires"
        text = f"{self.variable}: {self.certificate.label} ({when} {self.not_after:%Y-%m-%d})"
        if self.missing:
            text += "; 2023 successor missing: " + ", ".join(CERTIFICATES[k].label for k in self.missing)
        else:
            text += "; 2023 successor present"
        return text


@dataclass(frozen=True, slots=True)
class StoreRollover:
    """The outcome for one store."""

    path: Path
    status: RolloverStatus
    reason: str
    format: str | None = None
    relies_on: tuple[CertificateUse, ...] = ()
    summary: EnrollSummary | None = field(default=None, repr=False)

    @property
    def problem(self) -> bool:
        return self.status in _PROBLEMS

    @property
    def changes(self) -> tuple[VariableChange, ...]:
        return self.summary.changes if self.summary is not None else ()

    def lines(self) -> list[str]:
        fmt = f" ({self.format})" if self.format else ""
        out = [f"{self.path}{fmt}: {self.status.value} — {self.reason}"]
        out.extend(f"  relies on {use.describe()}" for use in self.relies_on)
        if self.summary is not None and self.status in (
            RolloverStatus.UPDATED,
            RolloverStatus.WOULD_UPDATE,
        ):
            out.extend(f"  {line}" for line in self.summary.lines())
        return out


@dataclass(frozen=True, slots=True)
class RolloverReport:
    stores: tuple[StoreRollover, ...]

    @property
    def problems(self) -> tuple[StoreRollover, ...]:
        return tuple(s for s in self.stores if s.problem)

    def count(self, status: RolloverStatus) -> int:
        return sum(1 for s in self.stores if s.status is status)

    def lines(self) -> list[str]:
        out: list[str] = []
        for store in self.stores:
            out.extend(store.lines())
        totals = ", ".join(
            f"{self.count(status)} {status.value}" for status in RolloverStatus if self.count(status)
        )
        out.append(f"{len(self.stores)} file(s): {totals or 'none'}")
        return out


# --- which stores, and who holds them ---------------------------------------------------------


def find_stores(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, bool]]:
    """The files to look at: ``(path, named)``; ``named`` is False for files found in a
    directory (those that are no store are merely listed, not failures)."""
    found: list[tuple[Path, bool]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            try:
                entries = sorted(path.iterdir())
            except OSError as exc:
                raise UsageError(f"{path}: cannot list the directory: {exc.strerror or exc}") from None
            found.extend((p, False) for p in entries if p.is_file() and not p.name.startswith("."))
        else:
            found.append((path, True))
    return found


@dataclass(frozen=True, slots=True)
class Holder:
    """A process that has the store open or names it on its command line."""

    pid: int
    name: str
    why: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.name}) {self.why}"


@dataclass(slots=True)
class _Process:
    pid: int
    name: str
    argv: tuple[str, ...]
    open_files: frozenset[tuple[int, int]]


class ProcessTable:
    """A snapshot of the processes under ``proc_root`` (open files and command lines).

    Processes we may not inspect (other users' fd directories without privileges) are
    skipped; :attr:`unreadable` counts them.
    """

    def __init__(self, proc_root: str | os.PathLike[str] = "/proc") -> None:
        self.proc_root = Path(proc_root)
        self.processes: list[_Process] = []
        self.unreadable = 0
        try:
            entries = sorted(
                (e for e in os.scandir(self.proc_root) if e.name.isdigit()), key=lambda e: int(e.name)
            )
        except OSError:
            entries = []
        for entry in entries:
            process = self._read(int(entry.name), Path(entry.path))
            if process is not None:
                self.processes.append(process)

    def _read(self, pid: int, base: Path) -> _Process | None:
        try:
            argv = tuple(
                a for a in (base / "cmdline").read_bytes().decode("utf-8", "replace").split("\0") if a
            )
        except OSError:
            return None
        try:
            name = (base / "comm").read_text("utf-8", "replace").strip()
        except OSError:
            name = os.path.basename(argv[0]) if argv else "?"
        opened: set[tuple[int, int]] = set()
        try:
            for fd in os.scandir(base / "fd"):
                try:
                    st = os.stat(fd.path)
                except OSError:
                    continue
                opened.add((st.st_dev, st.st_ino))
        except OSError:
            self.unreadable += 1
        return _Process(pid, name or "?", argv, frozenset(opened))

    def holders(self, path: str | os.PathLike[str]) -> list[Holder]:
        """Processes holding ``path`` open, and QEMU processes naming it."""
        target = Path(path)
        try:
            st = target.stat()
        except OSError:
            return []
        inode = (st.st_dev, st.st_ino)
        names = {str(target.absolute()), os.path.realpath(target)}
        found: list[Holder] = []
        for proc in self.processes:
            if inode in proc.open_files:
                found.append(Holder(proc.pid, proc.name, "has the file open"))
            elif _is_qemu(proc) and any(n in arg for arg in proc.argv[1:] for n in names):
                found.append(Holder(proc.pid, proc.name, "names the file on its command line"))
        return found


def _is_qemu(proc: _Process) -> bool:
    program = os.path.basename(proc.argv[0]) if proc.argv else ""
    return program.startswith("qemu") or proc.name.startswith("qemu")


# --- the edit -------------------------------------------------------------------------------


def _x509_in(store: VarStore, name: str) -> list[bytes]:
    guid = g.EFI_GLOBAL_VARIABLE if name == "KEK" else g.EFI_IMAGE_SECURITY_DATABASE
    var = store.get(guid, name)
    if var is None or not var.data:
        return []
    try:
        return list(decode_signature_database(var.data).certificates())
    except DecodeError as exc:
        raise DecodeError(f"{name} is not a valid signature database: {exc.message}", exc.offset) from None


def plan_additions(
    store: VarStore, *, now: dt.datetime | None = None
) -> tuple[tuple[CertificateUse, ...], dict[str, tuple[KnownCertificate, ...]]]:
    """The 2011 certificates ``store`` relies on, and the successors to add per variable."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    enrolled = {"KEK": set(_x509_in(store, "KEK")), "db": set(_x509_in(store, "db"))}
    uses: list[CertificateUse] = []
    additions: dict[str, list[KnownCertificate]] = {"KEK": [], "db": []}
    for old_key, (variable, successors) in SUCCESSORS.items():
        old = CERTIFICATES[old_key]
        if old.der not in enrolled[variable]:
            continue
        present = tuple(k for k in successors if CERTIFICATES[k].der in enrolled[variable])
        missing = tuple(k for k in successors if k not in present)
        summary = x509.summarize(old.der)
        uses.append(
            CertificateUse(variable, old, summary.not_after, summary.expired(moment), present, missing)
        )
        for key in missing:
            cert = CERTIFICATES[key]
            if cert not in additions[variable]:
                additions[variable].append(cert)
    return tuple(uses), {k: tuple(v) for k, v in additions.items() if v}


def rollover_store(store: VarStore, *, now: dt.datetime | None = None) -> EnrollSummary:
    """Add the missing 2023 successors to ``store`` in place."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    _, additions = plan_additions(store, now=moment)
    changes = tuple(
        add_signatures(store, variable, [c.signature_list() for c in certs], now=moment)
        for variable, certs in additions.items()
    )
    return EnrollSummary(changes)


def _one(
    path: Path,
    named: bool,
    *,
    dry_run: bool,
    writer: Writer | None,
    moment: dt.datetime,
    table: Callable[[], ProcessTable],
) -> StoreRollover:
    try:
        original = path.read_bytes()
    except OSError as exc:
        return StoreRollover(path, RolloverStatus.FAILED, f"cannot read: {exc.strerror or exc}")
    try:
        document: StoreDocument = registry.decode(original)
    except DecodeError as exc:
        status = RolloverStatus.FAILED if named else RolloverStatus.NOT_A_STORE
        return StoreRollover(path, status, f"not a variable store this tool can read ({exc})")
    fmt = document.format.value
    store = document.store
    try:
        uses, additions = plan_additions(store, now=moment)
    except DecodeError as exc:
        return StoreRollover(path, RolloverStatus.FAILED, str(exc), fmt)
    if not uses:
        has_keys = bool(_x509_in(store, "KEK") or _x509_in(store, "db"))
        why = (
            "its KEK/db hold none of Microsoft's 2011 certificates"
            if has_keys
            else "no Secure Boot certificates enrolled (KEK and db empty)"
        )
        return StoreRollover(path, RolloverStatus.NOT_APPLICABLE, why, fmt)
    if not additions:
        return StoreRollover(
            path, RolloverStatus.UP_TO_DATE, "the 2023 successors are already enrolled", fmt, uses
        )
    summary = rollover_store(store, now=moment)
    try:
        data = registry.encode(store, document.format, document.origin)
    except StoreFullError as exc:
        return StoreRollover(path, RolloverStatus.FAILED, f"store full, left untouched: {exc}", fmt, uses)
    except EncodeError as exc:
        return StoreRollover(path, RolloverStatus.FAILED, f"cannot encode: {exc}", fmt, uses)
    holders = table().holders(path)
    if holders:
        why = "in use by a running VM, left untouched: " + "; ".join(str(h) for h in holders)
        return StoreRollover(path, RolloverStatus.SKIPPED, why, fmt, uses, summary)
    added = sum(len(c.added) for c in summary.changes)
    if dry_run:
        return StoreRollover(
            path,
            RolloverStatus.WOULD_UPDATE,
            f"{added} certificate(s) would be added (dry run)",
            fmt,
            uses,
            summary,
        )
    if writer is None:
        raise UsageError("rollover needs a writer unless it is a dry run")
    try:
        if path.read_bytes() != original:
            return StoreRollover(
                path, RolloverStatus.SKIPPED, "the file changed while we worked, left untouched", fmt, uses
            )
        writer(path, data)
    except OSError as exc:
        return StoreRollover(path, RolloverStatus.FAILED, f"cannot write: {exc.strerror or exc}", fmt, uses)
    except UefiVarsError as exc:
        return StoreRollover(path, RolloverStatus.FAILED, f"cannot write: {exc}", fmt, uses)
    return StoreRollover(path, RolloverStatus.UPDATED, f"{added} certificate(s) added", fmt, uses, summary)


def rollover(
    paths: Iterable[str | os.PathLike[str]],
    *,
    dry_run: bool = False,
    writer: Writer | None = None,
    now: dt.datetime | None = None,
    proc_root: str | os.PathLike[str] = "/proc",
) -> RolloverReport:
    """Roll every store in ``paths`` over to the 2023 certificates (see the module doc)."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    cached: list[ProcessTable] = []

    def table() -> ProcessTable:
        if not cached:
            cached.append(ProcessTable(proc_root))
        return cached[0]

    results = [
        _one(path, named, dry_run=dry_run, writer=writer, moment=moment, table=table)
        for path, named in find_stores(paths)
    ]
    return RolloverReport(tuple(results))
