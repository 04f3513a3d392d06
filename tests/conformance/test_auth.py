"""Authenticated writes: secure-boot databases, private authenticated variables, real updates.

Keys are generated here (uefivars_gui.crypto.keys) and the updates signed with
uefivars_gui.crypto.pkcs7.sign; both devices verify them (QEMU with GnuTLS, the engine with
EngineVerifier). Microsoft's real signed updates come from ../shared/testdata/signed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import MS_STORE, PairFactory
from sequences import (
    APPEND,
    BS,
    EFI_NOT_FOUND,
    EFI_SECURITY_VIOLATION,
    EFI_SUCCESS,
    EFI_UNSUPPORTED,
    EFI_WRITE_PROTECTED,
    NV,
    NV_BS_RT,
    SB_ATTRS,
    VENDOR,
    VENDOR2,
    Pair,
    Request,
    Signer,
    auth2,
    delete_variable,
    efi_time,
    esl_sha256,
    esl_x509,
    get_variable,
    set_variable,
    signed_write,
)

from uefivars_gui.core.efitime import EfiTime
from uefivars_gui.core.guid import (
    CUSTOM_MODE_ENABLE,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    SECURE_BOOT_ENABLE_DISABLE,
)
from uefivars_gui.device.sigmerge import append_merge

pytestmark = pytest.mark.qemu

G = EFI_GLOBAL_VARIABLE
DB = EFI_IMAGE_SECURITY_DATABASE
APPEND_ATTRS = SB_ATTRS | APPEND  # 0x67
T2024 = efi_time(2024)


@dataclass(frozen=True)
class Keys:
    pk: Signer
    kek: Signer
    db: Signer
    other: Signer


@pytest.fixture(scope="module")
def signers() -> Keys:
    return Keys(
        Signer.generate("Conformance PK"),
        Signer.generate("Conformance KEK"),
        Signer.generate("Conformance db"),
        Signer.generate("Conformance stranger"),
    )


def enroll(pair: Pair, k: Keys) -> None:
    """Setup mode: KEK and db need no signature; the PK must be self-signed (QEMU's rule)."""
    assert (
        pair.same(set_variable("KEK", G, SB_ATTRS, auth2(T2024, b"", esl_x509(k.kek.cert)))).status
        == EFI_SUCCESS
    )
    assert (
        pair.same(set_variable("db", DB, SB_ATTRS, auth2(T2024, b"", esl_x509(k.db.cert)))).status
        == EFI_SUCCESS
    )
    unsigned_pk = set_variable("PK", G, SB_ATTRS, auth2(T2024, b"", esl_x509(k.pk.cert)))
    assert pair.same(unsigned_pk).status == EFI_SECURITY_VIOLATION
    pk = signed_write("PK", G, SB_ATTRS, T2024, esl_x509(k.pk.cert), k.pk)
    assert pair.same(set_variable("PK", G, SB_ATTRS, pk)).status == EFI_SUCCESS
    assert not pair.device.setup_mode
    for name in ("SetupMode", "SecureBoot"):
        pair.same(get_variable(name, G, 8))
    pair.compare_stores()


def write(name: str, attrs: int, data: bytes) -> Request:
    return set_variable(name, DB if name.startswith("db") else G, attrs, data)


def test_enroll_keys_setup_to_user_mode(pair: Pair, signers: Keys) -> None:
    enroll(pair, signers)
    pair.snapshot()
    pair.reset()
    pair.snapshot()
    pair.compare_stores()


def test_unsigned_and_malformed_writes(pair: Pair, signers: Keys) -> None:
    enroll(pair, signers)
    payload = esl_x509(signers.other.cert)
    for name in ("PK", "KEK", "db", "dbx"):
        for attrs in (SB_ATTRS, APPEND_ATTRS):
            assert pair.same(write(name, attrs, auth2(T2024, b"", payload))).status == EFI_SECURITY_VIOLATION
    cases = [
        auth2(T2024, b"", b"")[:39],  # shorter than EFI_VARIABLE_AUTHENTICATION_2
        auth2(T2024, b"\x30\x00", b"", dw_length=24 + 100),  # dwLength beyond DataSize
        auth2(T2024, b"", payload, revision=0x0100),
        auth2(T2024, b"", payload, cert_type=0x0002),
        auth2(T2024, b"", payload, cert_guid=VENDOR),
        auth2(T2024, b"\x30\x03\x02\x01\x00", payload),  # CertData that is no SignedData
        auth2(T2024, bytes(64), payload),
    ]
    for data in cases:
        pair.same(write("db", APPEND_ATTRS, data))
        pair.same(write("KEK", SB_ATTRS, data))
    # wrong attributes for a secure-boot database (checked after authentication)
    good = signed_write("db", DB, NV_BS_RT | 0x20, efi_time(2025), payload, signers.kek)
    pair.same(set_variable("db", DB, NV | BS | 0x20, good))
    pair.same(set_variable("db", DB, NV_BS_RT, payload))
    pair.snapshot()
    pair.compare_stores()


def test_dwlength_below_24(pair: Pair) -> None:
    """Intended difference 3: dwLength < 24 -> SECURITY_VIOLATION.

    QEMU 10.0.2 has no such check: with a malformed header it answers UNSUPPORTED, where
    no signature is needed (setup mode, db) it accepts the write and stores bytes of the
    header as data, and where it has to verify a signature it crashes (SIGSEGV; not sent).
    """
    for dw_length in (0, 8, 23):
        bad_header = auth2(T2024, b"", bytes(48), dw_length=dw_length, revision=0x0100)
        assert pair.send(write("db", SB_ATTRS, bad_header), expect="3").theirs.status == EFI_UNSUPPORTED
    pair.compare_stores()
    step = pair.send(write("db", SB_ATTRS, auth2(T2024, b"", bytes(48), dw_length=8)), expect="3")
    assert step.theirs.status == EFI_SUCCESS
    pair.compare_stores(exclude=[(DB, "db")])


def test_valid_db_and_kek_updates(pair: Pair, signers: Keys) -> None:
    enroll(pair, signers)
    k = signers
    hashes = [bytes([i]) * 32 for i in range(3)]
    steps = [
        ("db", APPEND_ATTRS, efi_time(2024), esl_x509(k.other.cert), k.kek, "sha256", False),
        ("db", APPEND_ATTRS, efi_time(2024), esl_sha256(hashes[:2]), k.kek, "sha384", True),  # equal time
        ("db", APPEND_ATTRS, efi_time(2024, 6), esl_sha256(hashes[1:]), k.kek, "sha512", False),  # dedup
        ("dbx", APPEND_ATTRS, efi_time(2024, 7), esl_sha256(hashes), k.kek, "sha256", True),
        ("dbx", SB_ATTRS, efi_time(2025), esl_sha256(hashes[:1]), k.kek, "sha256", False),  # replace
        ("KEK", APPEND_ATTRS, efi_time(2025), esl_x509(k.other.cert), k.pk, "sha256", False),
        ("db", APPEND_ATTRS, efi_time(2025), esl_x509(k.db.cert), k.other, "sha256", False),  # the new KEK
    ]
    for name, attrs, stamp, payload, signer, digest, signed_attrs in steps:
        guid = DB if name.startswith("db") else G
        data = signed_write(
            name, guid, attrs, stamp, payload, signer, digest=digest, signed_attributes=signed_attrs
        )
        assert pair.same(set_variable(name, guid, attrs, data)).status == EFI_SUCCESS, name
    merged = pair.device.store.get(DB, "db")
    assert merged is not None and merged.data == append_merge(
        append_merge(append_merge(esl_x509(k.db.cert), esl_x509(k.other.cert)), esl_sha256(hashes[:2])),
        esl_sha256(hashes[1:]),
    )
    # a replace with an older timestamp is refused by both
    old = signed_write("db", DB, SB_ATTRS, efi_time(2023), esl_x509(k.db.cert), k.kek)
    assert pair.same(set_variable("db", DB, SB_ATTRS, old)).status == EFI_SECURITY_VIOLATION
    pair.snapshot()
    pair.compare_stores()


def test_wrongly_signed_updates(pair: Pair, signers: Keys) -> None:
    enroll(pair, signers)
    k = signers
    payload = esl_x509(k.other.cert)
    stamp = efi_time(2025)
    wrong = [
        signed_write("db", DB, APPEND_ATTRS, stamp, payload, k.other),  # not in KEK
        signed_write("db", DB, APPEND_ATTRS, stamp, payload, k.db),  # a db key cannot sign db
        signed_write("db", DB, APPEND_ATTRS, stamp, payload, k.kek, flip=0),  # one flipped signature byte
        signed_write("db", DB, APPEND_ATTRS, stamp, payload, k.kek, flip=300),  # ... inside the certificate
        signed_write("db", DB, APPEND_ATTRS, stamp, payload, k.kek, sign_attributes=SB_ATTRS),  # 0x27 vs 0x67
    ]
    for data in wrong:
        assert pair.same(set_variable("db", DB, APPEND_ATTRS, data)).status == EFI_SECURITY_VIOLATION
    tampered = bytearray(signed_write("db", DB, APPEND_ATTRS, stamp, payload, k.kek))
    tampered[-1] ^= 1  # the payload
    assert pair.same(set_variable("db", DB, APPEND_ATTRS, bytes(tampered))).status == EFI_SECURITY_VIOLATION
    kek_by_kek = signed_write("KEK", G, APPEND_ATTRS, stamp, payload, k.kek)
    assert pair.same(set_variable("KEK", G, APPEND_ATTRS, kek_by_kek)).status == EFI_SECURITY_VIOLATION
    pk_by_kek = signed_write("PK", G, SB_ATTRS, stamp, esl_x509(k.kek.cert), k.kek)
    assert pair.same(set_variable("PK", G, SB_ATTRS, pk_by_kek)).status == EFI_SECURITY_VIOLATION
    pair.snapshot()
    pair.compare_stores()


def test_append_with_older_timestamp(pair: Pair, signers: Keys) -> None:
    """Intended difference 2: APPEND skips the timestamp check (10.0.2 refuses it)."""
    enroll(pair, signers)
    data = signed_write("db", DB, APPEND_ATTRS, efi_time(2020), esl_x509(signers.other.cert), signers.kek)
    pair.send(set_variable("db", DB, APPEND_ATTRS, data), expect="2")
    stored = pair.device.store.get(DB, "db")
    assert stored is not None and stored.timestamp == efi_time(2020)  # the append's time is kept
    pair.compare_stores(exclude=[(DB, "db")])


def test_db_signed_by_pk(pair: Pair, signers: Keys) -> None:
    """Intended difference 15: a db/dbx update signed by the PK is accepted (as edk2)."""
    enroll(pair, signers)
    for name in ("db", "dbx"):
        data = signed_write(name, DB, APPEND_ATTRS, efi_time(2025), esl_x509(signers.other.cert), signers.pk)
        pair.send(set_variable(name, DB, APPEND_ATTRS, data), expect="15")
    pair.compare_stores(exclude=[(DB, "db"), (DB, "dbx")])


def test_content_info_wrapped_signature(pair: Pair, signers: Keys) -> None:
    """A2: a ContentInfo-wrapped SignedData verifies here; QEMU double-wraps and refuses it."""
    enroll(pair, signers)
    data = signed_write(
        "db", DB, APPEND_ATTRS, efi_time(2025), esl_x509(signers.other.cert), signers.kek, wrap=True
    )
    pair.send(set_variable("db", DB, APPEND_ATTRS, data), expect="A2")
    pair.compare_stores(exclude=[(DB, "db")])


def test_dbt_is_a_secure_boot_database(pair: Pair, signers: Keys) -> None:
    """A1: dbt needs 0x27 like db/dbx here; QEMU treats it as any variable."""
    pair.send(set_variable("dbt", DB, NV_BS_RT, b"not a signature list"), expect="A1")
    pair.compare_stores(exclude=[(DB, "dbt")])


def test_unauthenticated_delete_in_user_mode(pair: Pair, signers: Keys) -> None:
    """Intended difference 8: DataSize 0 must not delete secure-boot databases in user mode."""
    enroll(pair, signers)
    for name in ("db", "KEK"):
        pair.send(delete_variable(name, DB if name == "db" else G), expect="8")
    pair.compare_stores(exclude=[(DB, "db"), (G, "KEK")])


def test_unauthenticated_delete_in_setup_and_custom_mode(pair: Pair, signers: Keys) -> None:
    """Where QEMU and edk2 agree: setup mode and custom mode allow DataSize-0 deletes."""
    assert (
        pair.same(set_variable("db", DB, SB_ATTRS, auth2(T2024, b"", esl_x509(signers.db.cert)))).status == 0
    )
    assert pair.same(delete_variable("db", DB)).status == EFI_SUCCESS  # setup mode
    enroll(pair, signers)
    assert pair.same(set_variable("CustomMode", CUSTOM_MODE_ENABLE, NV | BS, b"\x01")).status == EFI_SUCCESS
    assert pair.same(delete_variable("db", DB)).status == EFI_SUCCESS  # custom mode
    unsigned = auth2(T2024, b"", esl_x509(signers.other.cert))
    assert (
        pair.same(set_variable("dbx", DB, SB_ATTRS, unsigned)).status == EFI_SUCCESS
    )  # custom: no signature
    pair.snapshot()
    pair.compare_stores()
    pair.reset()  # CustomMode goes back to 0 at every reset
    assert pair.same(set_variable("dbx", DB, APPEND_ATTRS, unsigned)).status == EFI_SECURITY_VIOLATION
    pair.compare_stores()


def test_authenticated_delete_and_pk_removal(pair: Pair, signers: Keys) -> None:
    enroll(pair, signers)
    k = signers
    delete_db = signed_write("db", DB, SB_ATTRS, efi_time(2025), b"", k.kek)
    assert pair.same(set_variable("db", DB, SB_ATTRS, delete_db)).status == EFI_SUCCESS
    assert pair.same(get_variable("db", DB)).status == EFI_NOT_FOUND
    new_pk = Signer(k.other.key, k.other.cert)
    rotate = signed_write("PK", G, SB_ATTRS, efi_time(2025), esl_x509(new_pk.cert), k.pk)
    assert pair.same(set_variable("PK", G, SB_ATTRS, rotate)).status == EFI_SUCCESS
    delete_pk = signed_write("PK", G, SB_ATTRS, efi_time(2026), b"", new_pk)
    assert pair.same(set_variable("PK", G, SB_ATTRS, delete_pk)).status == EFI_SUCCESS
    pair.same(get_variable("SetupMode", G, 8))  # not recomputed until the next reset
    pair.compare_stores()
    pair.reset()
    pair.snapshot()
    pair.compare_stores()


def test_private_authenticated_variable(pair: Pair, signers: Keys) -> None:
    """A time-based authenticated variable of another namespace: signer digest and time rules."""
    k = signers
    attrs = NV_BS_RT | 0x20

    def signed(stamp: tuple[int, int], payload: bytes, signer: Signer, flags: int = attrs) -> bytes:
        return signed_write("Private", VENDOR2, flags, efi_time(*stamp), payload, signer)

    assert (
        pair.same(set_variable("Private", VENDOR2, attrs, signed((2024, 1), b"v1", k.db))).status
        == EFI_SUCCESS
    )
    pair.compare_stores()  # the JSON has QEMU's signer digest
    assert (
        pair.same(set_variable("Private", VENDOR2, attrs, signed((2024, 2), b"v2", k.db))).status
        == EFI_SUCCESS
    )
    assert (
        pair.same(set_variable("Private", VENDOR2, attrs, signed((2024, 1), b"v0", k.db))).status
        != EFI_SUCCESS
    )
    assert pair.same(set_variable("Private", VENDOR2, attrs, signed((2024, 3), b"x", k.other))).status != 0
    appended = signed((2024, 4), b"more", k.db, attrs | APPEND)
    assert pair.same(set_variable("Private", VENDOR2, attrs | APPEND, appended)).status == EFI_UNSUPPORTED
    pair.same(set_variable("Private", VENDOR2, attrs, signed((2024, 5), b"v", k.db, NV_BS_RT)))
    pair.same(set_variable("Private", VENDOR2, NV_BS_RT, b"plain"))  # attribute change
    assert pair.same(delete_variable("Private", VENDOR2)).status == EFI_SUCCESS  # setup mode: no refusal
    assert pair.same(set_variable("Private", VENDOR2, attrs, signed((2024, 6), b"v", k.kek))).status == 0
    deleted = signed((2024, 7), b"", k.kek)
    assert pair.same(set_variable("Private", VENDOR2, attrs, deleted)).status == EFI_SUCCESS
    pair.snapshot()
    pair.compare_stores()


def test_private_authenticated_variable_delete_in_user_mode(pair: Pair, signers: Keys) -> None:
    enroll(pair, signers)
    attrs = NV_BS_RT | 0x20
    data = signed_write("Private", VENDOR2, attrs, T2024, b"v1", signers.db)
    assert pair.same(set_variable("Private", VENDOR2, attrs, data)).status == EFI_SUCCESS
    pair.send(delete_variable("Private", VENDOR2), expect="8")
    pair.compare_stores(exclude=[(VENDOR2, "Private")])


def test_force_secure_boot_and_disable_custom_mode(pair_factory: PairFactory, signers: Keys) -> None:
    pair = pair_factory(None, force_secure_boot=True, disable_custom_mode=True)
    pair.compare_stores()  # SecureBootEnable forced to 1 at reset
    assert pair.same(
        set_variable("SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE, NV | BS, b"\x00")
    ).status == (EFI_WRITE_PROTECTED)
    pair.same(set_variable("SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE, NV | BS, b"\x01"))
    assert (
        pair.same(set_variable("CustomMode", CUSTOM_MODE_ENABLE, NV | BS, b"\x01")).status
        == EFI_WRITE_PROTECTED
    )
    pair.same(delete_variable("CustomMode", CUSTOM_MODE_ENABLE))
    enroll(pair, signers)
    pair.same(get_variable("SecureBoot", EFI_GLOBAL_VARIABLE, 8))
    pair.snapshot()
    pair.compare_stores()


# --- Microsoft's real signed updates ----------------------------------------------------------


def _store_with_dbx_time(tmp_path: Path, time_hex: str) -> Path:
    doc = json.loads(MS_STORE.read_text())
    for var in doc["variables"]:
        if var["name"] == "dbx":
            var["time"] = time_hex
    path = tmp_path / "ms-dbx-time.json"
    path.write_text(json.dumps(doc, indent=4))
    return path


def test_microsoft_dbx_update_refused_by_newer_dbx(pair_factory: PairFactory, signed_dir: Path) -> None:
    """Intended difference 2, as users meet it: Microsoft's dbx update is dated 2010; the
    Debian ms store's dbx is dated 2026, so QEMU 10.0.2 refuses the append, we accept it."""
    update = (signed_dir / "DBXUpdate-amd64.bin").read_bytes()
    pair = pair_factory(MS_STORE)
    before = pair.device.store.get(DB, "dbx")
    assert before is not None and before.timestamp is not None and before.timestamp.year == 2026
    step = pair.send(set_variable("dbx", DB, APPEND_ATTRS, update), expect="2")
    assert step.theirs.status == EFI_SECURITY_VIOLATION and step.ours.status == EFI_SUCCESS
    after = pair.device.store.get(DB, "dbx")
    assert after is not None and after.timestamp == EfiTime(2010, 3, 6, 19, 17, 21)
    payload = update[16 + int.from_bytes(update[16:20], "little") :]
    assert after.data == append_merge(before.data, payload)
    pair.compare_stores(exclude=[(DB, "dbx")])


def test_microsoft_dbx_update_accepted_by_older_dbx(
    pair_factory: PairFactory, signed_dir: Path, tmp_path: Path
) -> None:
    """With dbx's stored time cleared, QEMU 10.0.2 accepts the update too: byte-identical."""
    update = (signed_dir / "DBXUpdate-amd64.bin").read_bytes()
    pair = pair_factory(_store_with_dbx_time(tmp_path, "00" * 16))
    assert pair.same(set_variable("dbx", DB, APPEND_ATTRS, update)).status == EFI_SUCCESS
    pair.same(get_variable("dbx", DB, 40000))
    assert pair.same(set_variable("dbx", DB, APPEND_ATTRS, update)).status == EFI_SUCCESS  # again: no change
    pair.compare_stores()
    # the same bytes as a replace (no APPEND): signed over 0x67, so refused by both
    assert pair.same(set_variable("dbx", DB, SB_ATTRS, update)).status == EFI_SECURITY_VIOLATION
    pair.compare_stores()


def test_microsoft_kek_update_signed_by_oem_pk(pair_factory: PairFactory, signed_dir: Path) -> None:
    """The KEK update signed by "Windows OEM Devices PK", into a store whose PK is that cert
    (enrolled in custom mode, as a platform owner would)."""
    oem_pk = (
        Path(__file__).resolve().parents[1] / "data" / "certs" / "ms-windows-oem-devices-pk.der"
    ).read_bytes()
    update = (signed_dir / "KEKUpdate-signed-by-windows-oem-devices-pk.bin").read_bytes()
    pair = pair_factory(None)
    assert pair.same(set_variable("CustomMode", CUSTOM_MODE_ENABLE, NV | BS, b"\x01")).status == EFI_SUCCESS
    assert (
        pair.same(set_variable("PK", G, SB_ATTRS, auth2(T2024, b"", esl_x509(oem_pk)))).status == EFI_SUCCESS
    )
    pair.same(get_variable("CustomMode", CUSTOM_MODE_ENABLE, 8))  # auth_init put it back to 0
    assert pair.same(set_variable("KEK", G, APPEND_ATTRS, update)).status == EFI_SUCCESS
    pair.same(get_variable("KEK", G, 8000))
    tampered = update[:-1] + bytes([update[-1] ^ 0x55])
    assert pair.same(set_variable("KEK", G, APPEND_ATTRS, tampered)).status == EFI_SECURITY_VIOLATION
    pair.compare_stores()
