from __future__ import annotations

import datetime as dt
from pathlib import Path

from uefivars_gui.codec import edk2, registry
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import BS, NV_BS, NV_BS_RT
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.ops.check import Severity, check_store

DATA = Path(__file__).resolve().parent.parent / "data"
BEFORE_EXPIRY = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
AFTER_EXPIRY = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


def _doc(name: str):  # type: ignore[no-untyped-def]
    return registry.decode((DATA / "ovmf" / name).read_bytes())


def messages(report, severity: Severity | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.message for f in report.findings if severity is None or f.severity == severity]


def test_debian_ms_store_healthy_before_2026() -> None:
    doc = _doc("OVMF_VARS_4M.ms.fd")
    report = check_store(doc.store, doc.origin, now=BEFORE_EXPIRY)
    assert report.problems == ()
    assert any("Secure Boot on" in m for m in messages(report))
    assert any(m.startswith("dbx (76 bytes) can grow by") for m in messages(report))


def test_expired_microsoft_2011_certificates_reported() -> None:
    doc = _doc("OVMF_VARS_4M.ms.fd")
    report = check_store(doc.store, doc.origin, now=AFTER_EXPIRY)
    expired = [f for f in report.problems if "expired" in f.message]
    assert {f.variable[1] for f in expired if f.variable} == {"KEK", "db"}
    assert any("Microsoft Corporation KEK CA 2011" in f.message and "2026-06-24" in f.message for f in expired)


def test_setup_mode_and_inconsistent_secure_boot_enable() -> None:
    store = VarStore([Variable("SecureBootEnable", g.SECURE_BOOT_ENABLE_DISABLE, NV_BS, b"\x01")])
    report = check_store(store, now=BEFORE_EXPIRY)
    assert any("no PK is enrolled" in m for m in messages(report, Severity.WARNING))


def test_boot_entries() -> None:
    doc = _doc("OVMF_VARS_4M.ms.fd")
    store = doc.store.copy()
    boot0 = store.resolve("Boot0000")
    store.set(Variable("Boot0007", g.EFI_GLOBAL_VARIABLE, NV_BS_RT, boot0.data))
    store.set(Variable("BootOrder", g.EFI_GLOBAL_VARIABLE, NV_BS_RT, bytes.fromhex("0000 0900 0000".replace(" ", ""))))
    store.set(Variable("BootNext", g.EFI_GLOBAL_VARIABLE, NV_BS_RT, b"\x05\x00"))
    report = check_store(store, now=BEFORE_EXPIRY)
    warnings = messages(report, Severity.WARNING)
    assert "BootOrder names Boot0009, which does not exist" in warnings
    assert "BootOrder lists Boot0000 twice" in warnings
    assert "BootNext names Boot0005, which does not exist" in warnings
    assert any("Boot0007 boots the same thing as Boot0000" in m for m in warnings)
    assert any(m.startswith("Boot0007 is not in BootOrder") for m in messages(report, Severity.INFO))


def test_wrong_attributes_of_well_known_variable() -> None:
    store = VarStore([Variable("Timeout", g.EFI_GLOBAL_VARIABLE, BS, b"\x00\x00")])
    report = check_store(store, now=BEFORE_EXPIRY)
    assert any(m.startswith("Timeout: attributes BS differ") for m in messages(report, Severity.WARNING))


def test_full_flash_store_warns_about_dbx_growth() -> None:
    layout = edk2.layout_by_name("2M")
    big = Variable("Filler", g.OVMF_PLATFORM_CONFIG, NV_BS_RT, b"\xaa" * 0xD000)
    image = edk2.decode(edk2.encode_new(VarStore([big]), layout))
    report = check_store(image.store, image, now=BEFORE_EXPIRY)
    dbx = next(f for f in report.findings if f.message.startswith("dbx"))
    assert dbx.severity is Severity.WARNING and "free space" in dbx.message


def test_qemu_artefact_is_info_not_a_problem() -> None:
    doc = registry.decode((DATA / "qemu" / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json").read_bytes())
    report = check_store(doc.store, doc.origin, now=BEFORE_EXPIRY)
    assert not [f for f in report.problems if f.variable == (g.EFI_GLOBAL_VARIABLE, "VendorKeysNv")]
    assert any("QEMU uefi-vars storage" in m for m in messages(report))
