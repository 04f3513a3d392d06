"""Offline enrollment: PK, KEK, db, dbx, SecureBootEnable; idempotent, timestamps, formats."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from uefivars_gui.codec import authfile, registry
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS, NV_BS_RT_AT
from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.siglist import decode_signature_database, hash_list, x509_list
from uefivars_gui.core.store import VarStore
from uefivars_gui.crypto.keys import certificate_pem, generate_ec_key, generate_key, self_signed_certificate
from uefivars_gui.crypto.x509 import summarize
from uefivars_gui.errors import DecodeError, UsageError
from uefivars_gui.ops import enroll as en
from uefivars_gui.ops.profiles import CERTIFICATES

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
EMPTY_FD = DATA / "ovmf" / "OVMF_VARS_4M.fd"
NOW = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)
STAMP = EfiTime.from_datetime(NOW)
OWNER = g.OVMF_ENROLL_DEFAULT_KEYS


@pytest.fixture(scope="module")
def own_cert() -> bytes:
    return self_signed_certificate(generate_key(), "Test Owner Key")


def _load(path: Path) -> tuple[VarStore, object]:
    doc = registry.decode(path.read_bytes())
    return doc.store, doc.origin


def _certs(store: VarStore, name: str) -> list[str]:
    guid = en.SECURE_BOOT_DATABASES[name]
    var = store.get(guid, name)
    assert var is not None
    return [summarize(d).name for d in decode_signature_database(var.data).certificates()]


def test_microsoft_2023_into_a_2011_store() -> None:
    store, _ = _load(MS_FD)
    before = {v.key: v for v in store}
    summary = en.enroll(store, en.EnrollRequest(microsoft="2023"), now=NOW)
    assert summary.changed
    assert _certs(store, "KEK") == [
        "Debian UEFI Secure Boot (PK/KEK key)",
        "Microsoft Corporation KEK CA 2011",
        "Microsoft Corporation KEK 2K CA 2023",
    ]
    assert _certs(store, "db")[2:] == [
        "Windows UEFI CA 2023",
        "Microsoft UEFI CA 2023",
        "Microsoft Option ROM UEFI CA 2023",
    ]
    for name in ("KEK", "db"):
        var = store.get(en.SECURE_BOOT_DATABASES[name], name)
        assert var is not None and var.timestamp == STAMP and var.attributes == NV_BS_RT_AT
        new_entries = list(decode_signature_database(var.data).entries())
        assert all(
            e.owner == g.MICROSOFT_VENDOR
            for e in new_entries
            if e.data in {c.der for c in CERTIFICATES.values() if c.generation == "2023"}
        )
        old = before[var.key]
        assert var.data.startswith(old.data)  # old lists untouched, new ones after them
    for var in store:
        if var.name not in ("KEK", "db"):
            assert before[var.key] == var
    text = "\n".join(summary.lines())
    assert "KEK: + X.509 'Microsoft Corporation KEK 2K CA 2023' (owner MicrosoftVendor)" in text
    assert f"KEK: timestamp {STAMP}" in text


def test_enrolling_twice_changes_nothing() -> None:
    store, _ = _load(MS_FD)
    en.enroll(store, en.EnrollRequest(microsoft="all"), now=NOW)
    snapshot = store.copy()
    later = NOW + dt.timedelta(hours=1)
    again = en.enroll(store, en.EnrollRequest(microsoft="all"), now=later)
    assert not again.changed
    assert store == snapshot  # not even the timestamps moved
    assert all(c.action == "unchanged" for c in again.changes)
    assert sum(len(c.present) for c in again.changes) == 7
    assert "(already present)" in "\n".join(again.lines())


def test_2011_profile_on_the_ms_store_is_already_there() -> None:
    store, _ = _load(MS_FD)
    summary = en.enroll(store, en.EnrollRequest(microsoft="2011"), now=NOW)
    assert not summary.changed


def test_a_certificate_present_under_another_owner_counts_as_present() -> None:
    store, _ = _load(MS_FD)
    kek_ca = CERTIFICATES["ms-kek-ca-2011"].der
    change = en.add_signatures(store, "KEK", [x509_list(kek_ca, OWNER)], now=NOW)
    assert change.action == "unchanged" and len(change.present) == 1


def test_full_setup_of_an_empty_store(own_cert: bytes) -> None:
    store, origin = _load(EMPTY_FD)
    request = en.EnrollRequest(
        microsoft="2023",
        distros=("debian",),
        pk=certificate_pem(own_cert),
        kek=(x509_list(own_cert, OWNER),),
        secure_boot=True,
    )
    summary = en.enroll(store, request, now=NOW)
    actions = {c.name: c.action for c in summary.changes}
    assert actions == {"PK": "created", "KEK": "created", "db": "created", "SecureBootEnable": "created"}
    assert _certs(store, "PK") == ["Test Owner Key"]
    assert _certs(store, "KEK") == ["Microsoft Corporation KEK 2K CA 2023", "Test Owner Key"]
    assert _certs(store, "db")[-1] == "Debian Secure Boot CA"
    sbe = store.get(g.SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable")
    assert sbe is not None and sbe.data == b"\x01" and sbe.attributes == NV_BS
    assert any("leaves setup mode" in n for n in summary.notes)
    # it survives the edk2 encoder and decoder
    image = registry.encode(store, registry.probe(EMPTY_FD.read_bytes()), origin)
    assert len(image) == EMPTY_FD.stat().st_size
    again = registry.decode(image).store
    for name in ("PK", "KEK", "db"):
        a = again.get(en.SECURE_BOOT_DATABASES[name], name)
        b = store.get(en.SECURE_BOOT_DATABASES[name], name)
        assert a is not None and b is not None and (a.data, a.timestamp) == (b.data, b.timestamp)


def test_set_pk_replaces_and_is_idempotent(own_cert: bytes) -> None:
    store, _ = _load(MS_FD)
    change = en.set_pk(store, own_cert, OWNER, now=NOW)
    assert change.action == "updated"
    assert change.removed and "Debian UEFI Secure Boot (PK/KEK key)" in change.removed[0]
    assert _certs(store, "PK") == ["Test Owner Key"]
    assert en.set_pk(store, own_cert, OWNER, now=NOW).action == "unchanged"
    assert en.set_pk(store, own_cert, g.MICROSOFT_VENDOR, now=NOW).action == "updated"  # owner differs


def test_dbx_hashes_esl_and_auth_files(tmp_path: Path) -> None:
    store, _ = _load(MS_FD)
    digest = hashlib.sha256(b"revoked loader").digest()
    as_hash = en.hash_signature_list(digest.hex(), OWNER)
    assert as_hash is not None
    assert en.hash_signature_list("xyz") is None
    assert en.hash_signature_list("ab" * 20) is None  # SHA-1 length: not offered
    sha384 = en.hash_signature_list("0x" + "cd" * 48)
    assert sha384 is not None and sha384.signature_type == g.EFI_CERT_SHA384
    # an auth file (as Microsoft's DBXUpdate.bin): its payload's lists are taken
    other = hashlib.sha256(b"another").digest()
    payload = hash_list(g.EFI_CERT_SHA256, [other, digest], g.MICROSOFT_VENDOR).to_bytes()
    auth = authfile.build(EfiTime(2010, 3, 6, 19, 17, 21), b"", payload)
    (tmp_path / "update.bin").write_bytes(auth)
    (tmp_path / "list.esl").write_bytes(payload)
    from_auth = en.signature_lists_from_file(str(tmp_path / "update.bin"))
    assert from_auth == en.signature_lists_from_file(str(tmp_path / "list.esl"))
    assert from_auth[0].entries[0].owner == g.MICROSOFT_VENDOR  # .esl/.auth keep their owners
    first = en.add_signatures(store, "dbx", [as_hash], now=NOW)
    assert first.action == "updated" and len(first.added) == 1
    second = en.add_signatures(store, "dbx", from_auth, now=NOW)
    # `digest` is there already (other owner): only `other` is added
    assert len(second.added) == 1 and len(second.present) == 1 and other.hex() in second.added[0]
    var = store.get(g.EFI_IMAGE_SECURITY_DATABASE, "dbx")
    assert var is not None and decode_signature_database(var.data).entry_count == 3


def test_inputs_that_are_not_signature_lists(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="neither a certificate"):
        en.signature_lists_from_bytes(b"hello world")
    with pytest.raises(DecodeError, match="empty"):
        en.signature_lists_from_bytes(b"")
    delete = authfile.build(EfiTime(2026, 1, 1), b"", b"")
    with pytest.raises(DecodeError, match="payload is empty"):
        en.signature_lists_from_bytes(delete)
    with pytest.raises(UsageError, match="cannot read"):
        en.signature_lists_from_file(str(tmp_path / "missing.pem"))


def test_certificate_with_text_before_the_pem_block(tmp_path: Path) -> None:
    """The distribution PEM files start with `openssl x509 -text` output."""
    from uefivars_gui.ops.profiles import certificate_resource

    text = certificate_resource("distro/debian.org/debian-2016.pem").read_bytes()
    assert not text.startswith(b"-----BEGIN")
    lists = en.signature_lists_from_bytes(text, OWNER)
    assert lists[0].entries[0].data == CERTIFICATES["debian-2016"].der


def test_ec_certificates_are_refused() -> None:
    store, _ = _load(MS_FD)
    ec_cert = self_signed_certificate(generate_ec_key(), "EC key")
    with pytest.raises(UsageError, match="RSA"):
        en.add_signatures(store, "db", [x509_list(ec_cert, OWNER)], now=NOW)
    with pytest.raises(UsageError, match="RSA"):
        en.set_pk(store, ec_cert, OWNER, now=NOW)


def test_remove_entries_and_delete_the_last() -> None:
    store, _ = _load(MS_FD)
    uefi_ca = CERTIFICATES["ms-uefi-ca-2011"].der
    change = en.remove_signatures(store, "db", lambda e: e.data == uefi_ca, now=NOW)
    assert change.action == "updated" and "Microsoft Corporation UEFI CA 2011" in change.removed[0]
    assert _certs(store, "db") == ["Microsoft Windows Production PCA 2011"]
    assert en.remove_signatures(store, "db", lambda e: e.data == uefi_ca, now=NOW).action == "unchanged"
    gone = en.remove_signatures(store, "dbx", lambda e: True, now=NOW)
    assert gone.action == "deleted" and store.get(g.EFI_IMAGE_SECURITY_DATABASE, "dbx") is None


def test_secure_boot_switch() -> None:
    store, _ = _load(MS_FD)
    assert en.set_secure_boot(store, True).action == "unchanged"
    off = en.set_secure_boot(store, False)
    assert off.action == "updated"
    var = store.get(g.SECURE_BOOT_ENABLE_DISABLE, "SecureBootEnable")
    assert var is not None and var.data == b"\x00"
    empty, _ = _load(EMPTY_FD)
    summary = en.enroll(empty, en.EnrollRequest(secure_boot=True), now=NOW)
    assert any("no PK" in n for n in summary.notes)


def test_dbt_and_unknown_names() -> None:
    store, _ = _load(MS_FD)
    digest = hashlib.sha256(b"t").digest()
    change = en.add_signatures(store, "dbt", [hash_list(g.EFI_CERT_SHA256, [digest], OWNER)], now=NOW)
    assert change.action == "created"
    with pytest.raises(UsageError, match="not a secure-boot database"):
        en.add_signatures(store, "MokList", [hash_list(g.EFI_CERT_SHA256, [digest], OWNER)])


def test_invalid_stored_database_is_reported() -> None:
    store, _ = _load(MS_FD)
    var = store.get(g.EFI_GLOBAL_VARIABLE, "KEK")
    assert var is not None
    store.set(var.with_data(var.data[:-3]))
    with pytest.raises(DecodeError, match="KEK"):
        en.add_signatures(store, "KEK", [CERTIFICATES["ms-kek-2k-ca-2023"].signature_list()])
