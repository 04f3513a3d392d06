"""apply: the verify path on the real store; only the write's own changes are kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from uefivars_gui.codec import edk2, registry
from uefivars_gui.codec.base import StoreDocument
from uefivars_gui.core import guid as g
from uefivars_gui.core.siglist import decode_signature_database
from uefivars_gui.core.store import VarStore
from uefivars_gui.crypto.x509 import summarize
from uefivars_gui.ops import enroll as en
from uefivars_gui.ops.apply import apply_update
from uefivars_gui.ops.keygen import generate
from uefivars_gui.ops.profiles import CERTIFICATES
from uefivars_gui.ops.signing import load_signer, payload_from_certificate, sign_update
from uefivars_gui.ops.verify import verify_update

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
EMPTY_FD = DATA / "ovmf" / "OVMF_VARS_4M.fd"
NOW = dt.datetime(2026, 11, 26, 9, 0, 0, tzinfo=dt.UTC)


def _doc(path: Path) -> StoreDocument:
    return registry.decode(path.read_bytes())


def _certs(store: VarStore, name: str) -> list[str]:
    guid = en.SECURE_BOOT_DATABASES[name]
    var = store.get(guid, name)
    assert var is not None
    return [summarize(d).name for d in decode_signature_database(var.data).certificates()]


def _unchanged_except(before: VarStore, after: VarStore, *names: str) -> None:
    assert [v.key for v in before if v.name not in names] == [v.key for v in after if v.name not in names]
    for var in before:
        if var.name not in names:
            assert after.get(var.guid, var.name) == var, var.name


def _roundtrip(doc: StoreDocument) -> VarStore:
    data = registry.encode(doc.store, doc.format, doc.origin)
    if isinstance(doc.origin, edk2.FlashImage):
        assert len(data) == len(doc.origin.data)  # geometry kept
    return registry.decode(data).store


def test_kek_update_signed_by_the_oem_devices_pk(signed_dir: Path) -> None:
    data = (signed_dir / "KEKUpdate-signed-by-windows-oem-devices-pk.bin").read_bytes()
    doc = _doc(MS_FD)
    oem_pk = CERTIFICATES["ms-windows-oem-devices-pk"]
    en.set_pk(doc.store, oem_pk.der, g.MICROSOFT_VENDOR, now=NOW)
    before = doc.store.copy()
    verdict = apply_update(doc.store, "KEK", data, append=True)
    assert verdict.accepted, verdict.lines()
    assert verdict.trusted_by == "PK #0 'Windows OEM Devices PK'"
    assert "Microsoft Corporation KEK 2K CA 2023" in _certs(doc.store, "KEK")
    _unchanged_except(before, doc.store, "KEK")
    saved = _roundtrip(doc)
    assert "Microsoft Corporation KEK 2K CA 2023" in _certs(saved, "KEK")


def test_kek_update_rejected_by_a_store_with_another_pk(signed_dir: Path) -> None:
    data = (signed_dir / "KEKUpdate-signed-by-windows-oem-devices-pk.bin").read_bytes()
    doc = _doc(MS_FD)  # PK: Debian's
    before = doc.store.copy()
    verdict = apply_update(doc.store, "KEK", data, append=True)
    assert not verdict.accepted
    assert "Debian" in verdict.reason
    assert doc.store == before


def test_dbxupdate_applies_as_an_append(signed_dir: Path) -> None:
    data = (signed_dir / "DBXUpdate-amd64.bin").read_bytes()
    doc = _doc(MS_FD)
    before = doc.store.copy()
    old_dbx = before.get(g.EFI_IMAGE_SECURITY_DATABASE, "dbx")
    assert old_dbx is not None
    verdict = apply_update(doc.store, "dbx", data, append=True)
    assert verdict.accepted
    dbx = doc.store.get(g.EFI_IMAGE_SECURITY_DATABASE, "dbx")
    assert dbx is not None
    old_hashes = {e.data for e in decode_signature_database(old_dbx.data).entries()}
    new_hashes = {e.data for e in decode_signature_database(dbx.data).entries()}
    assert old_hashes < new_hashes and len(new_hashes) > 400
    _unchanged_except(before, doc.store, "dbx")
    saved = _roundtrip(doc)
    assert saved.get(g.EFI_IMAGE_SECURITY_DATABASE, "dbx") == edk2.normalize_variable(dbx)


def test_reset_bookkeeping_is_not_saved(signed_dir: Path) -> None:
    """The engine's reset writes CustomMode, VendorKeysNv (QEMU puts one in the global
    namespace), SetupMode...; none of that may leak into the saved store."""
    data = (signed_dir / "DBXUpdate-amd64.bin").read_bytes()
    doc = _doc(MS_FD)
    names_before = [v.key for v in doc.store]
    assert apply_update(doc.store, "dbx", data, append=True).accepted
    assert [v.key for v in doc.store] == names_before
    assert doc.store.get(g.EFI_GLOBAL_VARIABLE, "VendorKeysNv") is None
    assert doc.store.get(g.EFI_GLOBAL_VARIABLE, "SetupMode") is None


def test_keygen_enroll_sign_verify_apply(tmp_path: Path) -> None:
    pk = generate(tmp_path / "pk", "Flow PK")
    kek = generate(tmp_path / "kek", "Flow KEK", passphrase="pw")
    db = generate(tmp_path / "db", "Flow db")
    doc = _doc(EMPTY_FD)
    request = en.EnrollRequest(
        pk=pk.cert_pem_path.read_bytes(),
        kek=en.signature_lists_from_file(str(kek.cert_der_path)),
        db=en.signature_lists_from_file(str(db.cert_pem_path)),
        secure_boot=True,
    )
    en.enroll(doc.store, request, now=NOW)
    saved = tmp_path / "vars.fd"
    saved.write_bytes(registry.encode(doc.store, doc.format, doc.origin))
    doc = _doc(saved)

    new_entry = generate(tmp_path / "new", "Flow new db entry")
    signer = load_signer(key=kek.key_path, cert=kek.cert_pem_path, passphrase="pw")
    update = sign_update(
        signer, "db", payload_from_certificate(new_entry.certificate), append=True, store=doc.store
    )
    assert verify_update(doc.store, "db", update.data, append=True).accepted
    verdict = apply_update(doc.store, "db", update.data, append=True)
    assert verdict.accepted and verdict.trusted_by == "KEK #0 'Flow KEK'"
    assert _certs(doc.store, "db") == ["Flow db", "Flow new db entry"]
    assert _certs(_roundtrip(doc), "db") == ["Flow db", "Flow new db entry"]

    # a SET signed with an older timestamp than the stored one is refused, the store kept
    before = doc.store.copy()
    stale = sign_update(
        signer, "db", payload_from_certificate(new_entry.certificate), now=NOW - dt.timedelta(days=1)
    )
    refused = apply_update(doc.store, "db", stale.data)
    assert not refused.accepted and "older than the stored" in refused.reason
    assert doc.store == before
    # ... unless it is an APPEND (the rule is skipped)
    stale_append = sign_update(
        signer,
        "db",
        payload_from_certificate(new_entry.certificate),
        append=True,
        now=NOW - dt.timedelta(days=1),
    )
    assert apply_update(doc.store, "db", stale_append.data, append=True).accepted
    assert _certs(doc.store, "db") == ["Flow db", "Flow new db entry"]  # merged, no duplicate


@pytest.mark.parametrize("name", ["dbx", "db"])
def test_rejected_apply_changes_nothing(name: str) -> None:
    doc = _doc(MS_FD)
    before = doc.store.copy()
    verdict = apply_update(doc.store, name, b"\x00" * 64, append=True)
    assert not verdict.accepted
    assert doc.store == before
    assert registry.encode(doc.store, doc.format, doc.origin) == MS_FD.read_bytes()
