"""Intended difference 16: edk2's READ_ONLY variables are write-protected after EndOfDxe.

QEMU 10.0.2 treats SetupMode, SecureBoot, ... as ordinary variables, so a guest at OS
runtime can write SetupMode=1 and then rewrite KEK/db/dbx without a signature. edk2's
VarCheck (VarCheckUefiLib, AuthVariableLib's mAuthVarEntry) refuses every guest
SetVariable of them after EndOfDxe with EFI_WRITE_PROTECTED; the variable services' own
writes still happen.
"""

from __future__ import annotations

from uuid import UUID

import pytest
from device_guest import (
    EFI_NOT_FOUND,
    EFI_SECURITY_VIOLATION,
    EFI_SUCCESS,
    EFI_WRITE_PROTECTED,
    FakeVerifier,
    Guest,
    auth2,
    cert,
    esl_x509,
    signed_write,
    timestamp,
)

from uefivars_gui.core.guid import (
    CERT_DB,
    CUSTOM_MODE_ENABLE,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    VENDOR_KEYS_NV,
)
from uefivars_gui.device import DeviceConfig
from uefivars_gui.device.auth import READ_ONLY_VARIABLES
from uefivars_gui.device.log import SecurityViolation, VariableChanged

G = EFI_GLOBAL_VARIABLE
SB_ATTRS = 0x27
VENDOR = UUID("11111111-2222-3333-4444-555555555555")
PK_CERT = cert("ms-kek-ca-2011.der")
KEK_CERT = cert("ms-kek-2k-ca-2023.der")
OTHER_CERT = cert("ms-uefi-ca-2023.der")

EDK2_READ_ONLY = {
    (G, "SetupMode"),
    (G, "SecureBoot"),
    (G, "SignatureSupport"),
    (G, "VendorKeys"),
    (G, "PKDefault"),
    (G, "KEKDefault"),
    (G, "dbDefault"),
    (G, "dbxDefault"),
    (G, "dbtDefault"),
    (VENDOR_KEYS_NV, "VendorKeysNv"),
    (G, "VendorKeysNv"),  # where QEMU creates it
    (CERT_DB, "certdb"),
    (CERT_DB, "certdbv"),
}


def bare(payload: bytes, year: int = 2025) -> bytes:
    return auth2(timestamp(year), b"", payload)


def user_mode_guest() -> Guest:
    guest = Guest.boot(DeviceConfig(strict=True), verifier=FakeVerifier())
    assert guest.set_variable("CustomMode", CUSTOM_MODE_ENABLE, 3, b"\x01") == EFI_SUCCESS
    assert guest.set_variable("KEK", G, SB_ATTRS, bare(esl_x509(KEK_CERT), 2024)) == EFI_SUCCESS
    assert guest.set_variable("PK", G, SB_ATTRS, bare(esl_x509(PK_CERT), 2024)) == EFI_SUCCESS
    assert guest.set_variable("CustomMode", CUSTOM_MODE_ENABLE, 3, b"\x00") == EFI_SUCCESS
    assert guest.get_variable("SetupMode", G).data == b"\x00"
    return guest


def snapshot(guest: Guest) -> dict[tuple[UUID, str], bytes | None]:
    store = guest.dev.store
    out: dict[tuple[UUID, str], bytes | None] = {}
    for guid, name in READ_ONLY_VARIABLES:
        var = store.get(guid, name)
        out[(guid, name)] = None if var is None else var.data
    return out


def test_the_list_is_edk2s() -> None:
    assert set(READ_ONLY_VARIABLES) == EDK2_READ_ONLY


def test_read_only_variables_are_write_protected_after_end_of_dxe() -> None:
    guest = Guest.boot()
    guest.event(END_OF_DXE_EVENT_GROUP)
    before = snapshot(guest)
    assert before[(G, "SetupMode")] == b"\x01" and before[(G, "SecureBoot")] == b"\x00"
    for guid, name in sorted(READ_ONLY_VARIABLES, key=str):
        # a plain write, an authenticated write, a delete: all refused, whether it exists or not
        assert guest.set_variable(name, guid, 0x06, b"\x01") == EFI_WRITE_PROTECTED, name
        assert guest.set_variable(name, guid, SB_ATTRS, bare(b"\x01")) == EFI_WRITE_PROTECTED, name
        assert guest.set_variable(name, guid, 0x06, b"") == EFI_WRITE_PROTECTED, name
    assert snapshot(guest) == before
    assert guest.get_variable("PKDefault", G).status == EFI_NOT_FOUND


def test_refusal_is_logged_and_changes_nothing() -> None:
    guest = Guest.boot()
    guest.event(END_OF_DXE_EVENT_GROUP)
    guest.dev.drain_log()
    assert guest.set_variable("SecureBoot", G, 0x06, b"\x01") == EFI_WRITE_PROTECTED
    log = guest.dev.drain_log()
    refusals = [r for r in log if isinstance(r, SecurityViolation)]
    assert len(refusals) == 1
    assert (refusals[0].name, refusals[0].guid, refusals[0].status) == ("SecureBoot", G, EFI_WRITE_PROTECTED)
    assert "READ_ONLY" in refusals[0].reason
    assert not [r for r in log if isinstance(r, VariableChanged)]


def test_setup_mode_attack_at_runtime_is_refused() -> None:
    """The QEMU 10.0.2 hole: at OS runtime write SetupMode=1, then KEK without a signature."""
    guest = user_mode_guest()
    guest.event(END_OF_DXE_EVENT_GROUP)
    guest.event(EVENT_EXIT_BOOT_SERVICES)
    assert guest.set_variable("SetupMode", G, 0x06, b"\x01") == EFI_WRITE_PROTECTED
    assert guest.get_variable("SetupMode", G).data == b"\x00"
    assert guest.set_variable("KEK", G, SB_ATTRS, bare(esl_x509(OTHER_CERT))) == EFI_SECURITY_VIOLATION
    assert (
        guest.set_variable("db", EFI_IMAGE_SECURITY_DATABASE, SB_ATTRS, bare(esl_x509(OTHER_CERT)))
        == EFI_SECURITY_VIOLATION
    )
    assert guest.dev.store.get(G, "KEK").data == esl_x509(KEK_CERT)  # type: ignore[union-attr]


def test_before_end_of_dxe_they_are_ordinary_variables() -> None:
    """edk2 enforces VarCheck only after EndOfDxe (the DXE phase is trusted firmware)."""
    guest = Guest.boot()
    assert guest.set_variable("PKDefault", G, 0x06, esl_x509(PK_CERT)) == EFI_SUCCESS
    assert guest.set_variable("SecureBoot", G, 0x06, b"\x00") == EFI_SUCCESS
    guest.event(END_OF_DXE_EVENT_GROUP)
    assert guest.set_variable("PKDefault", G, 0x06, b"") == EFI_WRITE_PROTECTED
    assert guest.get_variable("PKDefault", G).data == esl_x509(PK_CERT)


def test_device_writes_still_work_after_end_of_dxe() -> None:
    """Enrolling a PK after EndOfDxe still moves SetupMode/SecureBoot (auth_init is internal)."""
    guest = Guest.boot(DeviceConfig(strict=True), verifier=FakeVerifier())
    guest.event(END_OF_DXE_EVENT_GROUP)
    assert guest.get_variable("SetupMode", G).data == b"\x01"
    assert guest.set_variable("KEK", G, SB_ATTRS, bare(esl_x509(KEK_CERT))) == EFI_SUCCESS
    stamp = timestamp(2025)
    pk = esl_x509(PK_CERT)
    assert guest.set_variable("PK", G, SB_ATTRS, signed_write("PK", G, SB_ATTRS, stamp, pk, [PK_CERT])) == 0
    assert guest.get_variable("SetupMode", G).data == b"\x00"
    assert guest.get_variable("SecureBoot", G).data == b"\x01"
    # a reset re-creates them too, and the protection starts again only at EndOfDxe
    guest.dev.hard_reset()
    guest.init()
    assert not guest.dev.end_of_dxe
    assert guest.get_variable("SecureBoot", G).data == b"\x01"


@pytest.mark.parametrize(
    ("name", "guid"),
    [
        ("SetupMode", VENDOR),  # same name, another namespace
        ("setupmode", G),  # names are case-sensitive
        ("SetupModeX", G),
        ("CustomMode", CUSTOM_MODE_ENABLE),  # not read-only in edk2 (physical presence instead)
    ],
)
def test_other_variables_are_not_affected(name: str, guid: UUID) -> None:
    guest = Guest.boot()
    guest.event(END_OF_DXE_EVENT_GROUP)
    attrs = 0x03 if guid == CUSTOM_MODE_ENABLE else 0x06
    assert guest.set_variable(name, guid, attrs, b"\x00") == EFI_SUCCESS
