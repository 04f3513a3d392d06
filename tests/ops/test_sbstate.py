from __future__ import annotations

import datetime as dt
from pathlib import Path

from uefivars_gui.codec import registry
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.ops.sbstate import Health, secure_boot_overview

DATA = Path(__file__).resolve().parent.parent / "data" / "ovmf"
NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)
SPRING = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _store(name: str) -> VarStore:
    return registry.decode((DATA / name).read_bytes()).store


def test_microsoft_store_is_user_mode_with_expired_kek_ca_2011() -> None:
    overview = secure_boot_overview(_store("OVMF_VARS_4M.ms.fd"), NOW)
    assert overview.mode == "user" and overview.secure_boot
    assert overview.mode_text.startswith("User mode")
    assert overview.secure_boot_text.startswith("Secure Boot is on")
    assert overview.database_text("PK") == "Debian UEFI Secure Boot (PK/KEK key)"
    assert overview.database_text("KEK") == "2 certificates"
    assert overview.database_text("dbx") == "1 hash"
    kek = next(e for e in overview.entries if e.name == "Microsoft Corporation KEK CA 2011")
    assert kek.database == "KEK" and kek.kind == "X.509" and kek.known == "ms-kek-ca-2011"
    assert kek.health is Health.EXPIRED and kek.status == "expired on 2026-06-24"
    assert kek.owner == g.MICROSOFT_VENDOR
    assert "KEK: 'Microsoft Corporation KEK CA 2011' expired on 2026-06-24" in overview.warnings
    assert any("2023 successors are missing" in w for w in overview.warnings)


def test_soon_expiring_certificates_warn() -> None:
    overview = secure_boot_overview(_store("OVMF_VARS_4M.ms.fd"), SPRING)
    soon = {e.name for e in overview.entries if e.health is Health.SOON}
    assert "Microsoft Corporation KEK CA 2011" in soon
    kek = next(e for e in overview.entries if e.name == "Microsoft Corporation KEK CA 2011")
    assert kek.status == "expires on 2026-06-24 (in 115 days)"


def test_empty_store_is_setup_mode() -> None:
    overview = secure_boot_overview(_store("OVMF_VARS_4M.fd"), NOW)
    assert overview.mode == "setup" and not overview.secure_boot
    assert "stays off until a PK is enrolled" in overview.secure_boot_text
    assert overview.database_text("PK") == "absent"
    assert overview.database_text("dbt") == ""
    assert overview.entries == () and overview.warnings == ()


def test_invalid_database_is_reported() -> None:
    store = _store("OVMF_VARS_4M.fd")
    store.set(Variable("db", g.EFI_IMAGE_SECURITY_DATABASE, NV_BS, b"\x01\x02\x03"))
    overview = secure_boot_overview(store, NOW)
    assert overview.database_text("db") == "not a valid signature database"
    assert any(w.startswith("db is not a valid signature database") for w in overview.warnings)


def test_stored_custom_mode() -> None:
    store = _store("OVMF_VARS_4M.ms.fd")
    store.set(Variable("CustomMode", g.CUSTOM_MODE_ENABLE, NV_BS, b"\x01"))
    overview = secure_boot_overview(store, NOW)
    assert overview.mode == "custom" and "CustomMode=1" in overview.mode_text
