"""verify: the engine's SetVariable on a copy of the store, with reasons."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from uefivars_gui.codec import authfile, registry
from uefivars_gui.core import guid as g
from uefivars_gui.core.attributes import NV_BS
from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.crypto.keys import PrivateKey, generate_key, self_signed_certificate
from uefivars_gui.device.status import EfiStatus
from uefivars_gui.ops import enroll as en
from uefivars_gui.ops.signing import Signer, payload_from_certificate, sign_update
from uefivars_gui.ops.verify import verify_update

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
SNAKEOIL_FD = DATA / "ovmf" / "OVMF_VARS_4M.snakeoil.fd"
EMPTY_FD = DATA / "ovmf" / "OVMF_VARS_4M.fd"
ENROLLED = dt.datetime(2026, 11, 1, 10, 0, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 11, 2, 10, 0, 0, tzinfo=dt.UTC)
AT = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Who:
    key: PrivateKey
    cert: bytes

    @property
    def signer(self) -> Signer:
        return Signer(self.key, self.cert)


@dataclass(frozen=True)
class Pki:
    pk: Who
    kek: Who
    db: Who
    stranger: Who


def _who(cn: str) -> Who:
    key = generate_key()
    return Who(key, self_signed_certificate(key, cn))


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki(_who("Test PK"), _who("Test KEK"), _who("Test db"), _who("Stranger"))


def _load(path: Path) -> VarStore:
    return registry.decode(path.read_bytes()).store


@pytest.fixture
def user_store(pki: Pki) -> VarStore:
    """An empty OVMF store with our own PK, KEK and db enrolled (user mode)."""
    store = _load(EMPTY_FD)
    request = en.EnrollRequest(
        pk=pki.pk.cert,
        kek=(en.signature_lists_from_bytes(pki.kek.cert)),
        db=(en.signature_lists_from_bytes(pki.db.cert)),
        secure_boot=True,
    )
    en.enroll(store, request, now=ENROLLED)
    return store


def _db_append(who: Who, *, when: dt.datetime = LATER, append: bool = True) -> bytes:
    payload = payload_from_certificate(self_signed_certificate(generate_key(), "New db entry"))
    return sign_update(who.signer, "db", payload, append=append, now=when).data


def test_db_append_signed_by_kek_is_accepted(pki: Pki, user_store: VarStore) -> None:
    snapshot = user_store.copy()
    verdict = verify_update(user_store, "db", _db_append(pki.kek), append=True, at=AT)
    assert verdict.accepted and verdict.status == EfiStatus.SUCCESS
    assert verdict.mode == "user"
    assert verdict.trusted_by == "KEK #0 'Test KEK'"
    assert verdict.signer == "Test KEK"
    assert "chains to KEK #0 'Test KEK'" in verdict.reason
    assert [c.name for c in verdict.changes] == ["db"]
    assert "2 entries" in verdict.changes[0].describe()
    assert user_store == snapshot  # verify works on a copy
    assert verdict.lines()[0].startswith("ACCEPTED (EFI_SUCCESS)")


def test_db_signed_by_pk_is_accepted_as_edk2_does(pki: Pki, user_store: VarStore) -> None:
    verdict = verify_update(user_store, "db", _db_append(pki.pk), append=True)
    assert verdict.accepted and verdict.trusted_by == "PK #0 'Test PK'"
    assert any("intended difference 15" in n for n in verdict.notes)


def test_db_signed_by_a_stranger_or_a_db_key_is_rejected(pki: Pki, user_store: VarStore) -> None:
    for who in (pki.stranger, pki.db):
        verdict = verify_update(user_store, "db", _db_append(who), append=True)
        assert not verdict.accepted and verdict.status == EfiStatus.SECURITY_VIOLATION
        assert "not trusted by KEK/PK (enrolled: KEK, PK)" in verdict.reason
        assert "does not chain" in verdict.reason
        assert verdict.changes == ()
        assert verdict.lines()[0].startswith("REJECTED (EFI_SECURITY_VIOLATION)")


def test_tampered_payload_is_rejected(pki: Pki, user_store: VarStore) -> None:
    data = bytearray(_db_append(pki.kek))
    data[-1] ^= 0x01
    verdict = verify_update(user_store, "db", bytes(data), append=True)
    assert not verdict.accepted and "signature does not match" in verdict.reason


def test_timestamp_rule(pki: Pki, user_store: VarStore) -> None:
    older = _db_append(pki.kek, when=ENROLLED - dt.timedelta(days=1), append=False)
    verdict = verify_update(user_store, "db", older)
    assert not verdict.accepted and verdict.status == EfiStatus.SECURITY_VIOLATION
    assert "older than the stored 2026-11-01T10:00:00" in verdict.reason
    # APPEND_WRITE skips the check (edk2, newest QEMU), QEMU 10.0.2 would not
    older_append = _db_append(pki.kek, when=ENROLLED - dt.timedelta(days=1), append=True)
    verdict = verify_update(user_store, "db", older_append, append=True)
    assert verdict.accepted and "timestamp rule is skipped" in verdict.reason
    assert any("QEMU 10.0.2 rejects this append" in n for n in verdict.notes)
    equal = _db_append(pki.kek, when=ENROLLED, append=False)
    verdict = verify_update(user_store, "db", equal)
    assert verdict.accepted and "edk2 wants a later one" in verdict.reason
    later = _db_append(pki.kek, when=LATER, append=False)
    verdict = verify_update(user_store, "db", later)
    assert verdict.accepted and "later than the stored" in verdict.reason


def test_pk_change_signed_by_old_pk_accepted_by_kek_rejected(pki: Pki, user_store: VarStore) -> None:
    new_pk = self_signed_certificate(generate_key(), "Next PK")
    payload = payload_from_certificate(new_pk)
    by_pk = sign_update(pki.pk.signer, "PK", payload, now=LATER).data
    verdict = verify_update(user_store, "PK", by_pk)
    assert verdict.accepted and verdict.trusted_by == "PK #0 'Test PK'"
    assert "PK may be signed by PK" in verdict.reason
    by_kek = sign_update(pki.kek.signer, "PK", payload, now=LATER).data
    verdict = verify_update(user_store, "PK", by_kek)
    assert not verdict.accepted and "not trusted by PK (enrolled: PK)" in verdict.reason


def test_kek_is_signed_by_pk_only(pki: Pki, user_store: VarStore) -> None:
    payload = payload_from_certificate(self_signed_certificate(generate_key(), "Another KEK"))
    assert verify_update(
        user_store,
        "KEK",
        sign_update(pki.pk.signer, "KEK", payload, append=True, now=LATER).data,
        append=True,
    ).accepted
    refused = verify_update(
        user_store,
        "KEK",
        sign_update(pki.kek.signer, "KEK", payload, append=True, now=LATER).data,
        append=True,
    )
    assert not refused.accepted


def test_attributes_must_match(pki: Pki, user_store: VarStore) -> None:
    verdict = verify_update(user_store, "db", _db_append(pki.kek), attributes=0x07)
    assert not verdict.accepted and verdict.status == EfiStatus.INVALID_PARAMETER
    assert verdict.reason.startswith("attributes")


def test_setup_mode_needs_no_signature_except_a_self_signed_pk(pki: Pki) -> None:
    store = _load(EMPTY_FD)
    payload = payload_from_certificate(pki.db.cert)
    unsigned = authfile.build(EfiTime(2026, 11, 1), b"", payload)
    verdict = verify_update(store, "db", unsigned)
    assert verdict.accepted and verdict.mode == "setup"
    assert verdict.reason.startswith("setup mode (no PK)")
    pk = sign_update(pki.pk.signer, "PK", payload_from_certificate(pki.pk.cert), now=LATER).data
    verdict = verify_update(store, "PK", pk)
    assert verdict.accepted and "self-signed PK" in (verdict.trusted_by or "")
    names = {c.name for c in verdict.changes}
    assert names == {"PK", "SecureBootEnable"}  # the PK write enters user mode: SecureBootEnable created
    unsigned_pk = authfile.build(EfiTime(2026, 11, 1), b"", payload_from_certificate(pki.pk.cert))
    assert not verify_update(store, "PK", unsigned_pk).accepted


def test_custom_mode(pki: Pki, user_store: VarStore) -> None:
    unsigned = authfile.build(EfiTime(2026, 11, 3), b"", payload_from_certificate(pki.db.cert))
    assert not verify_update(user_store, "db", unsigned).accepted
    verdict = verify_update(user_store, "db", unsigned, custom_mode=True)
    assert verdict.accepted and verdict.mode == "custom" and verdict.reason.startswith("custom mode")
    # a CustomMode=1 left in the store does not survive the boot
    user_store.set(Variable("CustomMode", g.CUSTOM_MODE_ENABLE, NV_BS, b"\x01"))
    verdict = verify_update(user_store, "db", unsigned)
    assert not verdict.accepted and verdict.mode == "user"
    assert any("resets it to 0" in n for n in verdict.notes)


def test_private_authenticated_variable_digest_rule(pki: Pki, user_store: VarStore) -> None:
    from uefivars_gui.ops.apply import apply_update

    name, guid = "TestAuthVar", g.SHIM_LOCK
    first = sign_update(pki.db.signer, name, b"one", guid=guid, now=LATER).data
    created = apply_update(user_store, name, first, guid=guid)
    assert created.accepted and "signer digest is recorded" in created.reason
    stored = user_store.get(guid, name)
    assert stored is not None and stored.digest is not None and len(stored.digest) == 32
    same = sign_update(pki.db.signer, name, b"two", guid=guid, store=user_store, now=LATER).data
    verdict = verify_update(user_store, name, same, guid=guid)
    assert verdict.accepted and "matches the stored one" in verdict.reason
    other = sign_update(pki.stranger.signer, name, b"two", guid=guid, store=user_store, now=LATER).data
    verdict = verify_update(user_store, name, other, guid=guid)
    assert not verdict.accepted and "is not the one that wrote TestAuthVar" in verdict.reason
    assert verdict.trusted_by is None


def test_not_an_authenticated_write(user_store: VarStore) -> None:
    verdict = verify_update(user_store, "db", b"garbage bytes that are not a descriptor")
    assert not verdict.accepted
    assert verdict.status is not None


# --- Microsoft's real signed updates (from ../shared; never committed) --------------------------


def test_dbxupdate_verifies_against_the_ms_store(signed_dir: Path) -> None:
    data = (signed_dir / "DBXUpdate-amd64.bin").read_bytes()
    verdict = verify_update(_load(MS_FD), "dbx", data, append=True, at=AT)
    assert verdict.accepted, verdict.lines()
    assert verdict.trusted_by == "KEK #1 'Microsoft Corporation KEK CA 2011'"
    assert verdict.signer == "Microsoft Windows UEFI Key Exchange Key"
    assert any("Microsoft Corporation KEK CA 2011" in e for e in verdict.expired)  # expired, not failing
    assert "timestamp rule is skipped" in verdict.reason
    assert [c.name for c in verdict.changes] == ["dbx"]


def test_dbxupdate_with_one_byte_changed_is_rejected(signed_dir: Path) -> None:
    data = (signed_dir / "DBXUpdate-amd64.bin").read_bytes()
    update = authfile.decode(data)
    signature_end = update.descriptor_size  # the SignerInfo's signature ends the SignedData
    for position in (len(data) - 1, signature_end - 5):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        verdict = verify_update(_load(MS_FD), "dbx", bytes(tampered), append=True)
        assert not verdict.accepted and verdict.status == EfiStatus.SECURITY_VIOLATION, position


def test_dbxupdate_is_rejected_by_the_snakeoil_store(signed_dir: Path) -> None:
    data = (signed_dir / "DBXUpdate-amd64.bin").read_bytes()
    verdict = verify_update(_load(SNAKEOIL_FD), "dbx", data, append=True)
    assert not verdict.accepted
    assert "SnakeOil Test Key for EFI Secure Boot" in verdict.reason
