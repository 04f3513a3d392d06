"""rollover: add the 2023 certificates to copies of the Debian stores, touching nothing else."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from uefivars_gui.codec import edk2, registry
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS_RT
from uefivars_gui.core.siglist import decode_signature_database
from uefivars_gui.core.variable import Variable
from uefivars_gui.crypto.x509 import summarize
from uefivars_gui.live.atomic import atomic_write
from uefivars_gui.ops.profiles import CERTIFICATES
from uefivars_gui.ops.rollover import ProcessTable, RolloverStatus, plan_additions, rollover

DATA = Path(__file__).resolve().parent.parent / "data"
OVMF = DATA / "ovmf"
QEMU_JSON = DATA / "qemu" / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json"
NOW = dt.datetime(2026, 11, 26, 8, 0, 0, tzinfo=dt.UTC)
ADDED = {
    "KEK": ["Microsoft Corporation KEK 2K CA 2023"],
    "db": ["Windows UEFI CA 2023", "Microsoft UEFI CA 2023", "Microsoft Option ROM UEFI CA 2023"],
}


def _write(path: Path, data: bytes) -> None:
    atomic_write(path, data)


@pytest.fixture
def stores(tmp_path: Path) -> Path:
    folder = tmp_path / "nvram"
    folder.mkdir()
    for src in sorted(OVMF.glob("*.fd")):
        shutil.copy(src, folder / src.name)
    return folder


def _names(store: object, name: str) -> list[str]:
    guid = g.EFI_GLOBAL_VARIABLE if name == "KEK" else g.EFI_IMAGE_SECURITY_DATABASE
    var = store.get(guid, name)  # type: ignore[attr-defined]
    assert var is not None
    return [summarize(d).name for d in decode_signature_database(var.data).certificates()]


def test_plan_reports_2011_certificates_and_their_expiry() -> None:
    store = registry.decode((OVMF / "OVMF_VARS_4M.ms.fd").read_bytes()).store
    uses, additions = plan_additions(store, now=NOW)
    assert [(u.variable, u.certificate.key, u.expired) for u in uses] == [
        ("KEK", "ms-kek-ca-2011", True),
        ("db", "ms-windows-production-pca-2011", True),
        ("db", "ms-uefi-ca-2011", True),
    ]
    assert "expired 2026-06-24" in uses[0].describe() and "successor missing" in uses[0].describe()
    assert [c.label for c in additions["KEK"]] == ADDED["KEK"]
    assert [c.label for c in additions["db"]] == ADDED["db"]
    _, before_expiry = plan_additions(store, now=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert before_expiry == additions


def test_dry_run_changes_no_file(stores: Path) -> None:
    before = {p.name: p.read_bytes() for p in stores.iterdir()}
    report = rollover([stores], dry_run=True, now=NOW)
    by_name = {s.path.name: s for s in report.stores}
    ms = by_name["OVMF_VARS_4M.ms.fd"]
    assert ms.status is RolloverStatus.WOULD_UPDATE and ms.format == "edk2"
    text = "\n".join(ms.lines())
    for cn in ADDED["KEK"] + ADDED["db"]:
        assert f"+ X.509 '{cn}' (owner MicrosoftVendor)" in text
    assert "relies on KEK: Microsoft Corporation KEK CA 2011 (expired 2026-06-24)" in text
    assert by_name["OVMF_VARS_4M.snakeoil.fd"].status is RolloverStatus.NOT_APPLICABLE
    assert by_name["OVMF_VARS_4M.fd"].status is RolloverStatus.NOT_APPLICABLE
    assert "no Secure Boot certificates" in by_name["OVMF_VARS_4M.fd"].reason
    assert not report.problems
    assert {p.name: p.read_bytes() for p in stores.iterdir()} == before
    assert report.lines()[-1] == "3 file(s): 1 would update, 2 nothing to roll over"


def test_rollover_adds_exactly_the_2023_entries(stores: Path) -> None:
    path = stores / "OVMF_VARS_4M.ms.fd"
    original = path.read_bytes()
    old_image = edk2.decode(original)
    report = rollover([path], writer=_write, now=NOW)
    assert [s.status for s in report.stores] == [RolloverStatus.UPDATED]
    new_data = path.read_bytes()
    assert len(new_data) == len(original)
    new_image = edk2.decode(new_data)
    old, new = old_image.store, new_image.store
    assert _names(new, "KEK") == _names(old, "KEK") + ADDED["KEK"]
    assert _names(new, "db") == _names(old, "db") + ADDED["db"]
    for name in ("KEK", "db"):
        guid = g.EFI_GLOBAL_VARIABLE if name == "KEK" else g.EFI_IMAGE_SECURITY_DATABASE
        old_var, new_var = old.get(guid, name), new.get(guid, name)
        assert old_var is not None and new_var is not None
        assert new_var.data.startswith(old_var.data)
        assert str(new_var.timestamp) == "2026-11-26T08:00:00"
        owners = {e.owner for e in decode_signature_database(new_var.data[len(old_var.data) :]).entries()}
        assert owners == {g.MICROSOFT_VENDOR}
    # everything else: same variables, same order, same values
    assert [v.key for v in old] == [v.key for v in new]
    for var in old:
        if var.name not in ("KEK", "db"):
            assert new.get(var.guid, var.name) == var

    # the records of untouched variables keep their bytes; the FV and store headers too
    def record_bytes(image: edk2.FlashImage) -> dict[tuple[object, bytes], bytes]:
        return {r.key: image.data[r.offset : r.end] for r in image.live_records}

    old_records, new_records = record_bytes(old_image), record_bytes(new_image)
    for record in old_image.live_records:
        if record.variable is not None and record.variable.name not in ("KEK", "db"):
            assert new_records[record.key] == old_records[record.key], record.variable.name
    header_end = old_image.layout.variables_offset
    assert new_data[:header_end] == original[:header_end]
    changed = [
        r for r in old_image.live_records if r.variable is not None and r.variable.name in ("KEK", "db")
    ]
    first_change = min(r.offset for r in changed)
    kept = max(r.next_offset for r in old_image.live_records if r.offset < first_change)
    assert new_data[:kept] == original[:kept]  # every record up to the last live one before the change
    # a second run has nothing left to do
    again = rollover([path], writer=_write, now=NOW)
    assert again.stores[0].status is RolloverStatus.UP_TO_DATE
    assert path.read_bytes() == new_data


def test_qemu_json_store(tmp_path: Path) -> None:
    path = tmp_path / "guest.json"
    shutil.copy(QEMU_JSON, path)
    old = registry.decode(path.read_bytes()).store
    report = rollover([path], writer=_write, now=NOW)
    assert report.stores[0].status is RolloverStatus.UPDATED and report.stores[0].format == "json"
    new = registry.decode(path.read_bytes()).store
    assert _names(new, "db") == _names(old, "db") + ADDED["db"]
    for var in old:
        if var.name not in ("KEK", "db"):
            assert new.get(var.guid, var.name) == var  # digest and time kept too


def test_a_file_held_open_is_left_untouched(stores: Path) -> None:
    path = stores / "OVMF_VARS_4M.ms.fd"
    original = path.read_bytes()
    with open(path, "rb"):  # this process plays the running VM
        report = rollover([stores], writer=_write, now=NOW)
    ms = next(s for s in report.stores if s.path == path)
    assert ms.status is RolloverStatus.SKIPPED and "has the file open" in ms.reason
    assert report.problems == (ms,)
    assert path.read_bytes() == original
    assert "relies on" in "\n".join(ms.lines())


def test_a_qemu_naming_the_file_is_detected(stores: Path, tmp_path: Path) -> None:
    path = stores / "OVMF_VARS_4M.ms.fd"
    proc = tmp_path / "proc"
    (proc / "4242" / "fd").mkdir(parents=True)
    argv = ["/usr/bin/qemu-system-x86_64", "-drive", f"if=pflash,format=raw,file={path}"]
    (proc / "4242" / "cmdline").write_bytes("\0".join(argv).encode() + b"\0")
    (proc / "4242" / "comm").write_text("qemu-system-x86\n")
    (proc / "77" / "fd").mkdir(parents=True)
    (proc / "77" / "cmdline").write_bytes(b"vim\0" + str(path).encode() + b"\0")  # not QEMU, no handle
    (proc / "self").mkdir()
    table = ProcessTable(proc)
    holders = table.holders(path)
    assert [(h.pid, h.name) for h in holders] == [(4242, "qemu-system-x86")]
    report = rollover([path], writer=_write, now=NOW, proc_root=proc)
    assert report.stores[0].status is RolloverStatus.SKIPPED and "pid 4242" in report.stores[0].reason
    # an open handle through /proc/PID/fd is seen as well
    (proc / "77" / "fd" / "3").symlink_to(path)
    assert [h.pid for h in ProcessTable(proc).holders(path)] == [77, 4242]


def test_full_flash_store_is_left_untouched(tmp_path: Path) -> None:
    doc = registry.decode((OVMF / "OVMF_VARS_4M.ms.fd").read_bytes())
    assert isinstance(doc.origin, edk2.FlashImage)
    space = edk2.free_space(doc.origin)
    filler = space.remaining - edk2.variable_space("Filler", 0) - 64
    doc.store.append(Variable("Filler", g.SHIM_LOCK, NV_BS_RT, b"\xaa" * filler))
    path = tmp_path / "full.fd"
    path.write_bytes(registry.encode(doc.store, doc.format, doc.origin))
    original = path.read_bytes()
    report = rollover([path], writer=_write, now=NOW)
    result = report.stores[0]
    assert result.status is RolloverStatus.FAILED and "store full" in result.reason
    assert path.read_bytes() == original


def test_unreadable_and_foreign_files(stores: Path) -> None:
    (stores / "notes.txt").write_text("not a store")
    (stores / ".hidden").write_text("ignored")
    dangling = stores.parent / "gone.fd"
    dangling.symlink_to(stores.parent / "does-not-exist.fd")
    report = rollover([stores, dangling], dry_run=True, now=NOW)
    by_name = {s.path.name: s for s in report.stores}
    assert ".hidden" not in by_name
    assert by_name["notes.txt"].status is RolloverStatus.NOT_A_STORE and not by_name["notes.txt"].problem
    assert by_name["gone.fd"].status is RolloverStatus.FAILED and "cannot read" in by_name["gone.fd"].reason
    assert report.problems == (by_name["gone.fd"],)
    named_junk = stores / "notes.txt"
    assert rollover([named_junk], dry_run=True).stores[0].status is RolloverStatus.FAILED


def test_partly_rolled_over_store_gets_only_what_is_missing(stores: Path) -> None:
    from uefivars_gui.ops import enroll as en

    path = stores / "OVMF_VARS_4M.ms.fd"
    doc = registry.decode(path.read_bytes())
    en.add_signatures(doc.store, "KEK", [CERTIFICATES["ms-kek-2k-ca-2023"].signature_list()], now=NOW)
    path.write_bytes(registry.encode(doc.store, doc.format, doc.origin))
    report = rollover([path], dry_run=True, now=NOW)
    changes = {c.name: c for c in report.stores[0].changes}
    assert set(changes) == {"db"} and len(changes["db"].added) == 3
