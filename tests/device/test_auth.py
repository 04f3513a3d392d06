"""Authenticated variables: reset-time variables, setup/user/custom mode, signatures."""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

import pytest
from device_guest import (
    EFI_INVALID_PARAMETER,
    EFI_SECURITY_VIOLATION,
    EFI_SUCCESS,
    EFI_UNSUPPORTED,
    EFI_WRITE_PROTECTED,
    FakeVerifier,
    Guest,
    auth2,
    cert,
    esl_sha256,
    esl_x509,
    signed_content,
    signed_write,
    timestamp,
)

from uefivars_gui.core.attributes import Attributes
from uefivars_gui.core.efitime import ZERO_TIME
from uefivars_gui.core.guid import (
    CUSTOM_MODE_ENABLE,
    EFI_CERT_RSA2048,
    EFI_CERT_SHA1,
    EFI_CERT_SHA256,
    EFI_CERT_SHA384,
    EFI_CERT_SHA512,
    EFI_CERT_X509,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    SECURE_BOOT_ENABLE_DISABLE,
)
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.device import DeviceConfig
from uefivars_gui.device.auth import authvar_digest
from uefivars_gui.device.log import SecurityViolation
from uefivars_gui.device.sigmerge import append_merge
from uefivars_gui.device.x509cn import subject_common_name

G = EFI_GLOBAL_VARIABLE
DB = EFI_IMAGE_SECURITY_DATABASE
SB_ATTRS = 0x27
VENDOR = UUID("11111111-2222-3333-4444-555555555555")

PK_CERT = cert("ms-kek-ca-2011.der")
KEK_CERT = cert("ms-kek-2k-ca-2023.der")
OTHER_CERT = cert("ms-uefi-ca-2023.der")
THIRD_CERT = cert("ms-windows-production-pca-2011.der")


def bare(payload: bytes, stamp: object = None) -> bytes:
    """AUTHENTICATION_2 with an empty CertData (the 24-byte WIN_CERTIFICATE_UEFI_GUID)."""
    return auth2(stamp or timestamp(), b"", payload)  # type: ignore[arg-type]


def value(guest: Guest, name: str, guid: UUID) -> bytes:
    return guest.get_variable(name, guid).data


def user_mode_guest(config: DeviceConfig | None = None) -> Guest:
    """PK = PK_CERT, KEK = KEK_CERT, enrolled through custom mode; fake verifier."""
    guest = Guest.boot(config or DeviceConfig(strict=True), verifier=FakeVerifier())
    assert guest.set_variable("CustomMode", CUSTOM_MODE_ENABLE, 3, b"\x01") == EFI_SUCCESS
    assert guest.set_variable("KEK", G, SB_ATTRS, bare(esl_x509(KEK_CERT))) == EFI_SUCCESS
    assert guest.set_variable("PK", G, SB_ATTRS, bare(esl_x509(PK_CERT))) == EFI_SUCCESS
    assert value(guest, "SetupMode", G) == b"\x00"
    return guest


# -- reset-time variables --------------------------------------------------------------------


def test_reset_creates_auth_variables() -> None:
    guest = Guest.boot()
    store = guest.dev.store
    expected = [
        ("SetupMode", G, 0x06, b"\x01"),
        (
            "SignatureSupport",
            G,
            0x06,
            b"".join(
                g.bytes_le
                for g in (EFI_CERT_SHA256, EFI_CERT_SHA384, EFI_CERT_SHA512, EFI_CERT_RSA2048, EFI_CERT_X509)
            ),
        ),
        ("SecureBoot", G, 0x06, b"\x00"),
        ("CustomMode", CUSTOM_MODE_ENABLE, 0x03, b"\x00"),
        ("VendorKeysNv", G, 0x23, b"\x00"),
        ("VendorKeys", G, 0x06, b"\x00"),
    ]
    assert [(v.name, v.guid, int(v.attributes), v.data) for v in store] == expected
    assert store.get(G, "VendorKeysNv").timestamp == ZERO_TIME  # type: ignore[union-attr]
    assert guest.dev.used_storage == 807
    assert guest.dev.setup_mode and not guest.dev.custom_mode


def test_reset_re_appends_and_resets_custom_mode() -> None:
    store = VarStore(
        [
            Variable("CustomMode", CUSTOM_MODE_ENABLE, Attributes(3), b"\x01"),
            Variable("Other", VENDOR, Attributes(7), b"x"),
        ]
    )
    guest = Guest.boot(store=store)
    names = [v.name for v in guest.dev.store]
    assert names[0] == "Other" and names[1:] == [
        "SetupMode",
        "SignatureSupport",
        "SecureBoot",
        "CustomMode",
        "VendorKeysNv",
        "VendorKeys",
    ]
    assert value(guest, "CustomMode", CUSTOM_MODE_ENABLE) == b"\x00"


def test_secure_boot_enable_rules() -> None:
    pk = Variable("PK", G, Attributes(SB_ATTRS), esl_x509(PK_CERT), timestamp())
    guest = Guest.boot(store=VarStore([pk]))
    assert value(guest, "SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE) == b"\x01"  # created in user mode
    assert value(guest, "SecureBoot", G) == b"\x01"
    guest.set_variable("SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE, 3, b"\x00")
    guest.dev.hard_reset()
    guest.init()
    assert value(guest, "SecureBoot", G) == b"\x00"  # existing SecureBootEnable = 0 is respected
    forced = Guest.boot(DeviceConfig(strict=True, force_secure_boot=True))
    assert value(forced, "SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE) == b"\x01"
    assert value(forced, "SecureBoot", G) == b"\x00"  # still setup mode
    assert (
        forced.set_variable("SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE, 3, b"\x00") == EFI_WRITE_PROTECTED
    )
    assert forced.set_variable("SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE, 3, b"\x01") == EFI_SUCCESS


def test_disable_custom_mode() -> None:
    guest = Guest.boot(DeviceConfig(strict=True, disable_custom_mode=True))
    assert guest.set_variable("CustomMode", CUSTOM_MODE_ENABLE, 3, b"\x01") == EFI_WRITE_PROTECTED
    assert guest.set_variable("CustomMode", CUSTOM_MODE_ENABLE, 3, b"") == EFI_WRITE_PROTECTED


# -- setup mode -> user mode ------------------------------------------------------------------


def test_unsigned_pk_in_setup_mode_refused() -> None:
    """QEMU (checked against 10.0.2): the PK must be self-signed even in setup mode."""
    guest = Guest.boot(verifier=FakeVerifier())
    assert guest.set_variable("PK", G, SB_ATTRS, bare(esl_x509(PK_CERT))) == EFI_SECURITY_VIOLATION
    assert value(guest, "SetupMode", G) == b"\x01"
    # other databases need no signature in setup mode
    assert guest.set_variable("KEK", G, SB_ATTRS, bare(esl_x509(KEK_CERT))) == EFI_SUCCESS
    assert guest.set_variable("db", DB, SB_ATTRS, bare(esl_x509(OTHER_CERT))) == EFI_SUCCESS


def test_setup_to_user_via_custom_mode_bare_descriptor() -> None:
    """PK written in setup mode with a bare 24-byte WIN_CERTIFICATE_UEFI_GUID (custom mode on)."""
    guest = Guest.boot()
    assert guest.set_variable("CustomMode", CUSTOM_MODE_ENABLE, 3, b"\x01") == EFI_SUCCESS
    data = bare(esl_x509(PK_CERT))
    assert struct.unpack_from("<I", data, 16)[0] == 24
    assert guest.set_variable("PK", G, SB_ATTRS, data) == EFI_SUCCESS
    assert value(guest, "SetupMode", G) == b"\x00"
    assert value(guest, "SecureBoot", G) == b"\x01"
    assert value(guest, "SecureBootEnable", SECURE_BOOT_ENABLE_DISABLE) == b"\x01"
    assert value(guest, "CustomMode", CUSTOM_MODE_ENABLE) == b"\x00"  # auth_init resets it
    assert guest.dev.store.get(G, "PK").timestamp == timestamp()  # type: ignore[union-attr]


def test_setup_to_user_with_bare_descriptor_edk2_option() -> None:
    """Intended difference A4: opt-in edk2/OVMF behaviour (EnrollDefaultKeys)."""
    guest = Guest.boot(DeviceConfig(strict=True, allow_unsigned_pk_in_setup_mode=True))
    assert guest.set_variable("PK", G, SB_ATTRS, bare(esl_x509(PK_CERT))) == EFI_SUCCESS
    assert (value(guest, "SetupMode", G), value(guest, "SecureBoot", G)) == (b"\x00", b"\x01")
    # in user mode an unsigned PK is still refused
    assert (
        guest.set_variable("PK", G, SB_ATTRS, bare(esl_x509(OTHER_CERT), timestamp(2025)))
        == EFI_SECURITY_VIOLATION
    )


def test_setup_to_user_with_self_signed_pk() -> None:
    verifier = FakeVerifier()
    guest = Guest.boot(verifier=verifier)
    payload = esl_x509(PK_CERT)
    assert (
        guest.set_variable(
            "PK", G, SB_ATTRS, signed_write("PK", G, SB_ATTRS, timestamp(), payload, [OTHER_CERT])
        )
        == EFI_SECURITY_VIOLATION
    )
    assert (
        guest.set_variable(
            "PK", G, SB_ATTRS, signed_write("PK", G, SB_ATTRS, timestamp(), payload, [PK_CERT])
        )
        == EFI_SUCCESS
    )
    assert verifier.calls[-1][2] == [PK_CERT]  # trusted: the certificates of the new PK
    assert value(guest, "SetupMode", G) == b"\x00"


def test_unsigned_pk_in_user_mode_security_violation() -> None:
    guest = user_mode_guest()
    later = timestamp(2025)
    assert guest.set_variable("PK", G, SB_ATTRS, bare(esl_x509(OTHER_CERT), later)) == EFI_SECURITY_VIOLATION
    wrong = signed_write("PK", G, SB_ATTRS, later, esl_x509(OTHER_CERT), [OTHER_CERT])
    assert guest.set_variable("PK", G, SB_ATTRS, wrong) == EFI_SECURITY_VIOLATION
    reasons = [r.reason for r in guest.dev.drain_log() if isinstance(r, SecurityViolation)]
    assert any("no signature" in r for r in reasons) and any("not trusted" in r for r in reasons)
    good = signed_write("PK", G, SB_ATTRS, later, esl_x509(OTHER_CERT), [PK_CERT])
    assert guest.set_variable("PK", G, SB_ATTRS, good) == EFI_SUCCESS
    assert guest.dev.store.get(G, "PK").data == esl_x509(OTHER_CERT)  # type: ignore[union-attr]


def test_no_verifier_refuses_signed_writes() -> None:
    pk = Variable("PK", G, Attributes(SB_ATTRS), esl_x509(PK_CERT), timestamp())
    guest = Guest.boot(store=VarStore([pk]))  # no verifier injected
    data = signed_write("KEK", G, SB_ATTRS, timestamp(), esl_x509(KEK_CERT), [PK_CERT])
    assert guest.set_variable("KEK", G, SB_ATTRS, data) == EFI_SECURITY_VIOLATION
    data = signed_write("Priv", VENDOR, 0x27, timestamp(), b"v", [PK_CERT])
    assert guest.set_variable("Priv", VENDOR, 0x27, data) == EFI_SECURITY_VIOLATION
    reasons = [r.reason for r in guest.dev.drain_log() if isinstance(r, SecurityViolation)]
    assert len(reasons) == 2 and all("no PKCS#7 verifier" in r for r in reasons)


def test_kek_and_db_signers() -> None:
    guest = user_mode_guest()
    t = timestamp(2025)
    kek = esl_x509(KEK_CERT) + esl_x509(THIRD_CERT)
    assert (
        guest.set_variable("KEK", G, SB_ATTRS, signed_write("KEK", G, SB_ATTRS, t, kek, [KEK_CERT]))
        == EFI_SECURITY_VIOLATION
    )  # KEK is signed by PK only
    assert (
        guest.set_variable("KEK", G, SB_ATTRS, signed_write("KEK", G, SB_ATTRS, t, kek, [PK_CERT]))
        == EFI_SUCCESS
    )
    db = esl_x509(OTHER_CERT)
    assert (
        guest.set_variable("db", DB, SB_ATTRS, signed_write("db", DB, SB_ATTRS, t, db, [THIRD_CERT]))
        == EFI_SUCCESS
    )
    assert (
        guest.set_variable(
            "dbx", DB, SB_ATTRS, signed_write("dbx", DB, SB_ATTRS, t, esl_sha256([bytes(32)]), [OTHER_CERT])
        )
        == EFI_SECURITY_VIOLATION
    )
    # the time check applies to secure-boot databases too (equal time is accepted)
    old = signed_write("db", DB, SB_ATTRS, timestamp(2024), db, [KEK_CERT])
    assert guest.set_variable("db", DB, SB_ATTRS, old) == EFI_SECURITY_VIOLATION
    same = signed_write("db", DB, SB_ATTRS, t, db, [KEK_CERT])
    assert guest.set_variable("db", DB, SB_ATTRS, same) == EFI_SUCCESS


def test_db_signed_by_pk_accepted() -> None:
    """Intended difference 15: db/dbx/dbt may be signed by PK (QEMU: KEK only)."""
    guest = user_mode_guest()
    data = signed_write("db", DB, SB_ATTRS, timestamp(2025), esl_x509(OTHER_CERT), [PK_CERT])
    assert guest.set_variable("db", DB, SB_ATTRS, data) == EFI_SUCCESS


def test_dbt_is_a_secure_boot_database() -> None:
    """Intended difference A1: dbt is handled like db (edk2)."""
    guest = user_mode_guest()
    assert guest.set_variable("dbt", DB, 0x23, bare(b"x")) == EFI_SECURITY_VIOLATION  # needs a signature
    data = signed_write("dbt", DB, 0x23, timestamp(2025), esl_x509(OTHER_CERT), [KEK_CERT])
    assert guest.set_variable("dbt", DB, 0x23, data) == EFI_INVALID_PARAMETER  # attributes must be 0x27
    data = signed_write("dbt", DB, SB_ATTRS, timestamp(2025), esl_x509(OTHER_CERT), [KEK_CERT])
    assert guest.set_variable("dbt", DB, SB_ATTRS, data) == EFI_SUCCESS
    more = signed_write("dbt", DB, SB_ATTRS | 0x40, timestamp(2020), esl_x509(THIRD_CERT), [KEK_CERT])
    assert guest.set_variable("dbt", DB, SB_ATTRS | 0x40, more) == EFI_SUCCESS
    assert value(guest, "dbt", DB) == esl_x509(OTHER_CERT) + esl_x509(THIRD_CERT)


def test_secure_boot_database_attributes() -> None:
    guest = Guest.boot()
    assert guest.set_variable("KEK", G, 0x23, bare(esl_x509(KEK_CERT))) == EFI_INVALID_PARAMETER
    assert guest.set_variable("db", DB, 0x27 | 0x08, bare(esl_x509(KEK_CERT))) == EFI_INVALID_PARAMETER


def test_zero_size_delete_protected_in_user_mode() -> None:
    """Intended difference 8 (edk2): no unauthenticated delete of PK/KEK/db/dbx/dbt or private AT vars."""
    guest = user_mode_guest()
    t = timestamp(2025)
    assert (
        guest.set_variable(
            "db", DB, SB_ATTRS, signed_write("db", DB, SB_ATTRS, t, esl_x509(OTHER_CERT), [KEK_CERT])
        )
        == EFI_SUCCESS
    )
    priv = signed_write("Priv", VENDOR, 0x27, t, b"secret", [OTHER_CERT])
    assert guest.set_variable("Priv", VENDOR, 0x27, priv) == EFI_SUCCESS
    for name, guid in (("PK", G), ("KEK", G), ("db", DB), ("Priv", VENDOR)):
        for attrs in (0, SB_ATTRS, 0x40):
            assert guest.set_variable(name, guid, attrs, b"") == EFI_SECURITY_VIOLATION, (name, attrs)
        assert guest.get_variable(name, guid).status == EFI_SUCCESS
    assert value(guest, "SetupMode", G) == b"\x00"
    # custom mode lets secure-boot databases go (QEMU lets custom mode write them unsigned anyway)
    assert guest.set_variable("CustomMode", CUSTOM_MODE_ENABLE, 3, b"\x01") == EFI_SUCCESS
    assert guest.set_variable("db", DB, 0, b"") == EFI_SUCCESS
    assert guest.set_variable("Priv", VENDOR, 0, b"") == EFI_SECURITY_VIOLATION


def test_zero_size_delete_allowed_in_setup_mode() -> None:
    guest = Guest.boot()
    guest.set_variable("KEK", G, SB_ATTRS, bare(esl_x509(KEK_CERT)))
    assert guest.set_variable("KEK", G, 0, b"") == EFI_SUCCESS


def test_authenticated_delete_of_pk_keeps_mode_until_reset() -> None:
    guest = user_mode_guest()
    data = signed_write("PK", G, SB_ATTRS, timestamp(2025), b"", [PK_CERT])
    assert guest.set_variable("PK", G, SB_ATTRS, data) == EFI_SUCCESS
    assert guest.get_variable("PK", G).status != EFI_SUCCESS
    assert value(guest, "SetupMode", G) == b"\x00"  # QEMU does not re-run auth_init on delete
    guest.dev.hard_reset()
    guest.init()
    assert value(guest, "SetupMode", G) == b"\x01"


def test_dwlength_below_24_is_security_violation() -> None:
    """Intended difference 3."""
    guest = Guest.boot(verifier=FakeVerifier())
    assert (
        guest.set_variable("Priv", VENDOR, 0x27, auth2(timestamp(), b"", b"x", dw_length=8))
        == EFI_SECURITY_VIOLATION
    )


def test_auth_descriptor_checks() -> None:
    guest = Guest.boot(verifier=FakeVerifier())
    assert guest.set_variable("Priv", VENDOR, 0x27, bytes(39)) == EFI_SECURITY_VIOLATION
    assert (
        guest.set_variable("Priv", VENDOR, 0x27, auth2(timestamp(), b"", b"", dw_length=100))
        == EFI_SECURITY_VIOLATION
    )
    assert (
        guest.set_variable("Priv", VENDOR, 0x27, auth2(timestamp(), b"", b"x", revision=0x100))
        == EFI_UNSUPPORTED
    )
    assert (
        guest.set_variable("Priv", VENDOR, 0x27, auth2(timestamp(), b"", b"x", cert_type=2))
        == EFI_UNSUPPORTED
    )
    assert (
        guest.set_variable("Priv", VENDOR, 0x27, auth2(timestamp(), b"", b"x", cert_guid=EFI_CERT_SHA1))
        == EFI_UNSUPPORTED
    )


def test_private_authvar_digest_rule() -> None:
    guest = Guest.boot(verifier=FakeVerifier())
    t1, t2 = timestamp(2024), timestamp(2025)
    first = signed_write("Priv", VENDOR, 0x27, t1, b"one", [OTHER_CERT, PK_CERT])
    assert guest.set_variable("Priv", VENDOR, 0x27, first) == EFI_SUCCESS
    stored = guest.dev.store.get(VENDOR, "Priv")
    assert stored is not None and stored.digest == authvar_digest(OTHER_CERT, PK_CERT)
    assert guest.dev.used_storage == 807 + 96 + 10 + 3 + 32  # the digest counts
    other_signer = signed_write("Priv", VENDOR, 0x27, t2, b"two", [THIRD_CERT, PK_CERT])
    assert guest.set_variable("Priv", VENDOR, 0x27, other_signer) == EFI_SECURITY_VIOLATION
    older = signed_write("Priv", VENDOR, 0x27, timestamp(2023), b"two", [OTHER_CERT, PK_CERT])
    assert guest.set_variable("Priv", VENDOR, 0x27, older) == EFI_SECURITY_VIOLATION
    same = signed_write("Priv", VENDOR, 0x27, t2, b"two", [OTHER_CERT, PK_CERT])
    assert guest.set_variable("Priv", VENDOR, 0x27, same) == EFI_SUCCESS
    reasons = [r.reason for r in guest.dev.drain_log() if isinstance(r, SecurityViolation)]
    assert reasons == ["authvar digest data mismatch", "time check failed"]
    # append is refused for private variables
    app = signed_write("Priv", VENDOR, 0x67, t2, b"3", [OTHER_CERT, PK_CERT])
    assert guest.set_variable("Priv", VENDOR, 0x67, app) == EFI_UNSUPPORTED
    # authenticated delete (empty payload) by the same signer
    delete = signed_write("Priv", VENDOR, 0x27, t2, b"", [OTHER_CERT, PK_CERT])
    assert guest.set_variable("Priv", VENDOR, 0x27, delete) == EFI_SUCCESS
    assert guest.dev.store.get(VENDOR, "Priv") is None


def test_authvar_without_digest_cannot_be_updated() -> None:
    guest = Guest.boot(verifier=FakeVerifier())
    data = signed_write("VendorKeysNv", G, 0x23, timestamp(), b"\x01", [OTHER_CERT])
    assert guest.set_variable("VendorKeysNv", G, 0x23, data) == EFI_SECURITY_VIOLATION
    assert any(
        isinstance(r, SecurityViolation) and r.reason == "inconsistent authvar digest state"
        for r in guest.dev.drain_log()
    )


def test_append_skips_time_check() -> None:
    """Intended difference 2: APPEND_WRITE is not time-checked; the request's time is stored."""
    guest = user_mode_guest()
    t = timestamp(2025)
    assert (
        guest.set_variable(
            "dbx", DB, SB_ATTRS, signed_write("dbx", DB, SB_ATTRS, t, esl_sha256([b"a" * 32]), [KEK_CERT])
        )
        == EFI_SUCCESS
    )
    old = timestamp(2010)
    data = signed_write("dbx", DB, SB_ATTRS | 0x40, old, esl_sha256([b"b" * 32]), [KEK_CERT])
    assert guest.set_variable("dbx", DB, SB_ATTRS | 0x40, data) == EFI_SUCCESS
    stored = guest.dev.store.get(DB, "dbx")
    assert stored is not None and stored.timestamp == old
    assert stored.data == esl_sha256([b"a" * 32, b"b" * 32])
    assert int(stored.attributes) == SB_ATTRS  # APPEND_WRITE is not stored


def test_append_merge_deduplicates() -> None:
    sha1_list = EFI_CERT_SHA1.bytes_le + struct.pack("<III", 28 + 36, 0, 36) + bytes(36)
    old = esl_x509(KEK_CERT) + sha1_list + esl_sha256([b"1" * 32])
    new = esl_x509(KEK_CERT, UUID(int=5)) + esl_x509(OTHER_CERT) + esl_sha256([b"1" * 32, b"2" * 32])
    merged = append_merge(old, new)
    assert merged == esl_x509(KEK_CERT) + esl_x509(OTHER_CERT) + esl_sha256([b"1" * 32, b"2" * 32])
    # parsing stops at a malformed list
    assert append_merge(esl_x509(KEK_CERT) + b"\xff" * 40, b"") == esl_x509(KEK_CERT)
    guest = Guest.boot()
    guest.set_variable("db", DB, SB_ATTRS, bare(old))
    assert guest.set_variable("db", DB, SB_ATTRS | 0x40, bare(new)) == EFI_SUCCESS
    assert value(guest, "db", DB) == merged


def test_signed_content_and_cert_data_passed_through() -> None:
    """Intended difference A2: CertData goes to the verifier as sent; the content is QEMU's."""
    verifier = FakeVerifier()
    guest = Guest.boot(verifier=verifier)
    t = timestamp(2024, nanosecond=7)
    sig = FakeVerifier.sign(signed_content("Priv", VENDOR, 0x27, t, b"v"), [OTHER_CERT])
    wrapped = bytes.fromhex("3082000006092a864886f70d010702a0820000") + sig  # looks like a ContentInfo
    guest.set_variable("Priv", VENDOR, 0x27, auth2(t, wrapped, b"v"))
    signed_data, content, trusted = verifier.calls[-1]
    assert signed_data == wrapped
    assert (
        content
        == "Priv".encode("utf-16-le") + VENDOR.bytes_le + struct.pack("<I", 0x27) + t.to_bytes() + b"v"
    )
    assert trusted == [OTHER_CERT]  # the root of the (unwrapped by the verifier) certificate set


def test_x509_common_name() -> None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    for der in (PK_CERT, KEK_CERT, OTHER_CERT, THIRD_CERT):
        expected = (
            x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        )
        assert subject_common_name(der) == str(expected).encode()
    assert subject_common_name(b"\x30\x03\x02\x01\x00") is None
    assert subject_common_name(b"") is None
    cn = subject_common_name(OTHER_CERT)
    assert cn is not None
    assert (
        authvar_digest(OTHER_CERT, PK_CERT) == hashlib.sha256(cn + hashlib.sha256(PK_CERT).digest()).digest()
    )


@pytest.mark.parametrize("name", ["KEK", "db"])
def test_setup_mode_writes_need_no_signature(name: str) -> None:
    guest = Guest.boot()
    guid = G if name == "KEK" else DB
    assert guest.set_variable(name, guid, SB_ATTRS, bare(esl_x509(KEK_CERT))) == EFI_SUCCESS


def test_setup_mode_variable_is_guest_writable_like_qemu() -> None:
    """QEMU 10.0.2 (checked): SetupMode is an ordinary BS|RT variable; writing 1 re-opens
    setup mode for KEK/db/dbx. Mirrored on purpose; flagged to the lead as a candidate
    intended difference (edk2 keeps the platform mode internally)."""
    guest = user_mode_guest()
    assert (
        guest.set_variable("KEK", G, SB_ATTRS, bare(esl_x509(OTHER_CERT), timestamp(2025)))
        == EFI_SECURITY_VIOLATION
    )
    assert guest.set_variable("SetupMode", G, 6, b"\x01") == EFI_SUCCESS
    assert guest.set_variable("KEK", G, SB_ATTRS, bare(esl_x509(OTHER_CERT), timestamp(2025))) == EFI_SUCCESS


def test_append_merge_agrees_with_core_siglist() -> None:
    """The device merges raw bytes (QEMU parse-and-stop semantics); core.siglist has the same
    rule on decoded databases. They agree on well-formed input."""
    from uefivars_gui.core.siglist import decode_signature_database, merge_qemu_style

    old = esl_x509(KEK_CERT) + esl_sha256([b"1" * 32, b"3" * 32])
    new = (
        esl_x509(OTHER_CERT, UUID(int=3))
        + esl_x509(KEK_CERT, UUID(int=5))
        + esl_sha256([b"3" * 32, b"2" * 32])
    )
    expected = merge_qemu_style(decode_signature_database(old), decode_signature_database(new)).to_bytes()
    assert append_merge(old, new) == expected
