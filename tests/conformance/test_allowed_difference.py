"""allowed_difference recognises each documented difference, and nothing else.

Synthetic outcomes: the request buffer with the bytes each device would have written.
No QEMU needed, but marked like the rest of the suite.
"""

from __future__ import annotations

import struct
from uuid import UUID

import pytest
from sequences import (
    DIFFERENCES,
    EFI_BAD_BUFFER_SIZE,
    EFI_INVALID_PARAMETER,
    EFI_NOT_FOUND,
    EFI_SECURITY_VIOLATION,
    EFI_SUCCESS,
    EFI_UNSUPPORTED,
    EFI_WRITE_PROTECTED,
    LOCK_NOW,
    LOCK_ON_VAR_STATE,
    NV_BS_RT,
    SB_ATTRS,
    VENDOR,
    VENDOR2,
    Context,
    Outcome,
    Request,
    Signer,
    VarState,
    allowed_difference,
    allowed_pio_readback_difference,
    auth2,
    changes_state,
    delete_variable,
    dump_policies,
    efi_time,
    esl_x509,
    get_next,
    get_variable,
    payload_size,
    policy_entry,
    ready_to_boot,
    register_policy,
    set_variable,
    signed_write,
)

from uefivars_gui.core.attributes import Attributes
from uefivars_gui.core.guid import (
    CUSTOM_MODE_ENABLE,
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    MEMORY_TYPE_INFORMATION,
)
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.device.log import PolicyDenied, PolicyMatched

pytestmark = pytest.mark.qemu

G, DB = EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE


def out(
    request: Request, status: int | None = None, *, at: int = 32, patch: dict[int, bytes] | None = None
) -> Outcome:
    """The request buffer as a device writes it back: a status at ``at`` plus patches."""
    buf = bytearray(request.buffer())
    if status is not None:
        buf[at : at + 8] = struct.pack("<Q", status)
    for offset, data in (patch or {}).items():
        buf[offset : offset + len(data)] = data
    return Outcome(0, bytes(buf))


def var(name: str, guid: UUID, attrs: int, data: bytes = b"x", year: int | None = None) -> Variable:
    stamp = efi_time(year) if year is not None else None
    return Variable(name, guid, Attributes(attrs), data, stamp)


def test_every_recognised_number_is_documented() -> None:
    assert set(DIFFERENCES) == {
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "11",
        "15",
        "16",
        "A1",
        "A2",
        "A7",
    }


def test_identical_status_change_is_not_a_difference() -> None:
    request = get_variable("Foo", VENDOR, 8)
    assert allowed_difference(request, out(request, EFI_SUCCESS), out(request, EFI_NOT_FOUND)) is None
    assert allowed_difference(request, Outcome(0, request.buffer()), Outcome(0x11, request.buffer())) is None


def test_1_payload_size() -> None:
    request = payload_size()
    ours = out(request, 0, patch={40: struct.pack("<Q", 65496)})
    theirs = out(request, 0, patch={40: struct.pack("<Q", 65536)})
    assert allowed_difference(request, ours, theirs) == "1"
    assert allowed_difference(request, ours, out(request, 0, patch={40: struct.pack("<Q", 65535)})) is None
    assert allowed_difference(request, theirs, ours) is None  # the other way round
    clipped = payload_size(length=16 + 3)  # MessageLength covers 3 bytes of the value
    ours = out(clipped, 5 | 1 << 63, patch={40: struct.pack("<Q", 65496)[:3]})
    theirs = out(clipped, 5 | 1 << 63, patch={40: struct.pack("<Q", 65536)[:3]})
    assert allowed_difference(clipped, ours, theirs) == "1"
    other = get_variable("Foo", VENDOR, 8)
    assert (
        allowed_difference(other, out(other, 0, patch={40: b"\1"}), out(other, 0, patch={40: b"\2"})) is None
    )


def test_2_append_with_older_timestamp() -> None:
    ctx = Context(store=VarStore([var("db", DB, SB_ATTRS, b"old", 2024)]), setup_mode=False)
    older = set_variable("db", DB, SB_ATTRS | 0x40, auth2(efi_time(2020), b"sig", b"new"))
    assert allowed_difference(older, out(older, EFI_SUCCESS), out(older, EFI_SECURITY_VIOLATION), ctx) == "2"
    newer = set_variable("db", DB, SB_ATTRS | 0x40, auth2(efi_time(2025), b"sig", b"new"))
    assert allowed_difference(newer, out(newer, EFI_SUCCESS), out(newer, EFI_SECURITY_VIOLATION), ctx) is None
    replace = set_variable("db", DB, SB_ATTRS, auth2(efi_time(2020), b"sig", b"new"))
    assert (
        allowed_difference(replace, out(replace, EFI_SUCCESS), out(replace, EFI_SECURITY_VIOLATION), ctx)
        is None
    )
    assert (
        allowed_difference(older, out(older, EFI_SUCCESS), out(older, EFI_SECURITY_VIOLATION)) is None
    )  # no db


def test_3_dwlength_below_24() -> None:
    request = set_variable("db", DB, SB_ATTRS, auth2(efi_time(2024), b"", bytes(48), dw_length=8))
    sv = out(request, EFI_SECURITY_VIOLATION)
    assert allowed_difference(request, sv, out(request, EFI_UNSUPPORTED)) == "3"
    assert allowed_difference(request, sv, out(request, EFI_SUCCESS)) == "3"
    assert changes_state("3", request, sv, out(request, EFI_SUCCESS))
    assert not changes_state("3", request, sv, out(request, EFI_UNSUPPORTED))
    assert allowed_difference(request, out(request, EFI_UNSUPPORTED), sv) is None
    full = set_variable("db", DB, SB_ATTRS, auth2(efi_time(2024), b"", bytes(48)))
    assert allowed_difference(full, out(full, EFI_SECURITY_VIOLATION), out(full, EFI_UNSUPPORTED)) is None


def test_5_name_validated_in_bytes() -> None:
    unterminated = get_variable("", VENDOR, 8, raw_name="Foo".encode("utf-16-le"))
    ours = out(unterminated, EFI_INVALID_PARAMETER)
    theirs = out(unterminated, EFI_SUCCESS, patch={56: struct.pack("<Q", 1), 72: b"\7", 82: b"v"})
    assert allowed_difference(unterminated, ours, theirs) == "5"
    terminated = get_variable("Foo", VENDOR, 8)
    assert allowed_difference(terminated, out(terminated, EFI_INVALID_PARAMETER), theirs) is None
    touched = out(unterminated, EFI_INVALID_PARAMETER, patch={56: b"\1"})  # ours must not write anything else
    assert allowed_difference(unterminated, touched, theirs) is None
    nxt = get_next("", VENDOR, 6, raw_name="Foo".encode("utf-16-le"))
    assert allowed_difference(nxt, out(nxt, EFI_INVALID_PARAMETER), out(nxt, EFI_NOT_FOUND)) == "5"


def test_6_first_variable_after_exit_boot_services() -> None:
    store = VarStore(
        [var("MemoryTypeInformation", MEMORY_TYPE_INFORMATION, 0x03), var("Timeout", G, NV_BS_RT)]
    )
    ctx = Context(store=store, exit_boot_service=True)
    request = get_next("", UUID(int=0), 128)
    mti = "MemoryTypeInformation\0".encode("utf-16-le")
    theirs = out(request, 0, patch={40: MEMORY_TYPE_INFORMATION.bytes_le + struct.pack("<Q", len(mti)) + mti})
    timeout = "Timeout\0".encode("utf-16-le")
    ours = out(request, 0, patch={40: G.bytes_le + struct.pack("<Q", len(timeout)) + timeout})
    assert allowed_difference(request, ours, theirs, ctx) == "6"
    assert allowed_difference(request, out(request, EFI_NOT_FOUND), theirs, ctx) == "6"
    before_ebs = Context(store=store, exit_boot_service=False)
    assert allowed_difference(request, ours, theirs, before_ebs) is None
    rt_first = Context(store=VarStore(reversed(list(store))), exit_boot_service=True)
    assert allowed_difference(request, ours, theirs, rt_first) is None
    wrong = out(request, 0, patch={40: VENDOR.bytes_le + struct.pack("<Q", len(timeout)) + timeout})
    assert allowed_difference(request, wrong, theirs, ctx) is None


def test_7_event_functions_set_success() -> None:
    request = ready_to_boot(status=7)
    assert allowed_difference(request, out(request, EFI_SUCCESS), out(request, 7)) == "7"
    assert allowed_difference(request, out(request, EFI_SUCCESS), out(request, 8)) is None
    plain = ready_to_boot()
    assert allowed_difference(plain, out(plain, EFI_SUCCESS), out(plain, 7)) is None


def test_8_unauthenticated_delete_in_user_mode() -> None:
    store = VarStore([var("db", DB, SB_ATTRS, b"db", 2024), var("Private", VENDOR2, 0x27, b"p", 2024)])
    user = Context(store=store, setup_mode=False)
    for request in (delete_variable("db", DB), delete_variable("Private", VENDOR2)):
        assert allowed_difference(request, out(request, EFI_SECURITY_VIOLATION), out(request, 0), user) == "8"
        setup = Context(store=store, setup_mode=True)
        assert (
            allowed_difference(request, out(request, EFI_SECURITY_VIOLATION), out(request, 0), setup) is None
        )
    custom = Context(store=store, setup_mode=False, custom_mode=True)
    db_delete, private_delete = delete_variable("db", DB), delete_variable("Private", VENDOR2)
    assert (
        allowed_difference(db_delete, out(db_delete, EFI_SECURITY_VIOLATION), out(db_delete, 0), custom)
        is None
    )
    assert (
        allowed_difference(
            private_delete, out(private_delete, EFI_SECURITY_VIOLATION), out(private_delete, 0), custom
        )
        == "8"
    )
    plain = delete_variable("Plain", VENDOR)
    ctx = Context(store=VarStore([var("Plain", VENDOR, NV_BS_RT)]), setup_mode=False)
    assert allowed_difference(plain, out(plain, EFI_SECURITY_VIOLATION), out(plain, 0), ctx) is None


def test_9_namespace_only_policy() -> None:
    request = set_variable("Anything", VENDOR, NV_BS_RT, b"x")
    wide = policy_entry(VENDOR, None, lock_type=LOCK_NOW)
    named = policy_entry(VENDOR, "Anything", lock_type=LOCK_NOW)
    ctx = Context(log=(PolicyDenied("lock-now", "Anything", VENDOR, EFI_WRITE_PROTECTED, wide),))
    assert allowed_difference(request, out(request, EFI_WRITE_PROTECTED), out(request, 0), ctx) == "9"
    ctx_named = Context(log=(PolicyDenied("lock-now", "Anything", VENDOR, EFI_WRITE_PROTECTED, named),))
    assert allowed_difference(request, out(request, EFI_WRITE_PROTECTED), out(request, 0), ctx_named) is None
    assert allowed_difference(request, out(request, EFI_WRITE_PROTECTED), out(request, 0)) is None  # no log


def test_10_lock_on_variable_state() -> None:
    state = VarState(VENDOR2, "", 1)
    for offset, expected in ((62, "10"), (63, "10"), (61, None), (64, None)):
        entry = policy_entry(VENDOR, None, lock_type=LOCK_ON_VAR_STATE, state=state, offset_to_name=offset)
        request = register_policy(entry)
        ours, theirs = out(request, EFI_SUCCESS, at=36), out(request, EFI_BAD_BUFFER_SIZE, at=36)
        assert allowed_difference(request, ours, theirs) == expected, offset
    guarded = policy_entry(VENDOR, "Guarded", lock_type=LOCK_ON_VAR_STATE, state=VarState(VENDOR2, "Lock", 1))
    request = set_variable("Guarded", VENDOR, NV_BS_RT, b"x")
    ctx = Context(log=(PolicyMatched("Guarded", VENDOR, guarded),))
    assert allowed_difference(request, out(request, EFI_WRITE_PROTECTED), out(request, 0), ctx) == "10"
    assert allowed_difference(request, out(request, 0), out(request, EFI_WRITE_PROTECTED), ctx) == "10"
    lock_now = Context(
        log=(PolicyMatched("Guarded", VENDOR, policy_entry(VENDOR, "Guarded", lock_type=LOCK_NOW)),)
    )
    assert allowed_difference(request, out(request, EFI_WRITE_PROTECTED), out(request, 0), lock_now) is None


def test_11_dump() -> None:
    request = dump_policies(0)
    theirs = out(request, EFI_UNSUPPORTED, at=36)
    ours = out(request, EFI_SUCCESS, at=36, patch={48: struct.pack("<II", 44, 44), 57: bytes(range(44))})
    assert allowed_difference(request, ours, theirs) == "11"
    theirs_changed = out(request, EFI_UNSUPPORTED, at=36, patch={48: b"\1"})
    assert allowed_difference(request, ours, theirs_changed) is None
    assert allowed_difference(request, ours, out(request, EFI_SUCCESS, at=36)) is None


@pytest.fixture(scope="module")
def pk_kek() -> tuple[Signer, Signer]:
    return Signer.generate("allowed_difference PK"), Signer.generate("allowed_difference KEK")


def test_15_db_signed_by_pk(pk_kek: tuple[Signer, Signer]) -> None:
    pk, kek = pk_kek
    store = VarStore(
        [var("PK", G, SB_ATTRS, esl_x509(pk.cert), 2024), var("KEK", G, SB_ATTRS, esl_x509(kek.cert), 2024)]
    )
    ctx = Context(store=store, setup_mode=False)
    by_pk = set_variable("db", DB, 0x67, signed_write("db", DB, 0x67, efi_time(2025), b"esl", pk))
    assert allowed_difference(by_pk, out(by_pk, 0), out(by_pk, EFI_SECURITY_VIOLATION), ctx) == "15"
    by_kek = set_variable("db", DB, 0x67, signed_write("db", DB, 0x67, efi_time(2025), b"esl", kek))
    assert allowed_difference(by_kek, out(by_kek, 0), out(by_kek, EFI_SECURITY_VIOLATION), ctx) is None
    kek_update = set_variable("KEK", G, 0x67, signed_write("KEK", G, 0x67, efi_time(2025), b"esl", pk))
    assert (
        allowed_difference(kek_update, out(kek_update, 0), out(kek_update, EFI_SECURITY_VIOLATION), ctx)
        is None
    )


def test_a2_wrapped_signature(pk_kek: tuple[Signer, Signer]) -> None:
    _, kek = pk_kek
    wrapped = set_variable(
        "db", DB, 0x67, signed_write("db", DB, 0x67, efi_time(2025), b"esl", kek, wrap=True)
    )
    assert allowed_difference(wrapped, out(wrapped, 0), out(wrapped, EFI_SECURITY_VIOLATION)) == "A2"
    bare = set_variable("db", DB, 0x67, signed_write("db", DB, 0x67, efi_time(2025), b"esl", kek))
    assert allowed_difference(bare, out(bare, 0), out(bare, EFI_SECURITY_VIOLATION)) is None


def test_16_read_only_variables_after_end_of_dxe() -> None:
    request = set_variable("SetupMode", G, 0x06, b"\1")
    after = Context(end_of_dxe=True)
    assert allowed_difference(request, out(request, EFI_WRITE_PROTECTED), out(request, 0), after) == "16"
    assert allowed_difference(request, out(request, EFI_WRITE_PROTECTED), out(request, 0), Context()) is None
    other = set_variable("CustomMode", CUSTOM_MODE_ENABLE, 0x03, b"\1")
    assert allowed_difference(other, out(other, EFI_WRITE_PROTECTED), out(other, 0), after) is None


def test_a1_dbt() -> None:
    request = set_variable("dbt", DB, NV_BS_RT, b"x")
    assert allowed_difference(request, out(request, EFI_INVALID_PARAMETER), out(request, 0)) == "A1"
    db = set_variable("db", DB, NV_BS_RT, b"x")
    assert allowed_difference(db, out(db, EFI_INVALID_PARAMETER), out(db, 0)) is None


def test_a7_pio_copy_back() -> None:
    request = set_variable("Foo", VENDOR, NV_BS_RT, b"\x5a" * 40, length=16 + 36 + 8)  # MessageLength lies
    end = 24 + request.message_length
    ours = out(request, EFI_BAD_BUFFER_SIZE)
    theirs = Outcome(0, ours.reply[:end] + bytes(24) + ours.reply[end + 24 :])
    pio = Context(mode="pio")
    assert allowed_difference(request, ours, theirs, pio) == "A7"
    assert allowed_difference(request, ours, theirs, Context(mode="dma")) is None
    beyond = Outcome(0, theirs.reply[:-1] + b"\xff")  # a difference further out
    assert allowed_difference(request, ours, beyond, pio) is None
    inside = Outcome(0, theirs.reply[: end - 1] + b"\xff" + theirs.reply[end:])
    assert allowed_difference(request, ours, inside, pio) is None
    # A7 on top of difference 1
    lied = payload_size(length=16 + 8)
    lied = Request(lied.header, lied.message + b"\x5a" * 30, lied.length, lied.label)
    ours = out(lied, 0, patch={40: struct.pack("<Q", 65496)})
    theirs = out(lied, 0, patch={40: struct.pack("<Q", 65536), 48: bytes(24)})
    assert allowed_difference(lied, ours, theirs, pio) == "1"


def test_pio_readback_after_reallocation() -> None:
    assert allowed_pio_readback_difference(bytes(16), b"\x10" * 16) == "4"
    assert allowed_pio_readback_difference(b"\x01" * 16, b"\x10" * 16) is None
    assert allowed_pio_readback_difference(bytes(16), bytes(16)) is None
