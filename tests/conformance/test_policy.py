"""VarCheckPolicy conformance: REGISTER, IS_ENABLED, LOCK, DISABLE, DUMP and enforcement."""

from __future__ import annotations

import struct

import pytest
from sequences import (
    AT,
    BS,
    EFI_ALREADY_STARTED,
    EFI_BAD_BUFFER_SIZE,
    EFI_INVALID_PARAMETER,
    EFI_SUCCESS,
    EFI_UNSUPPORTED,
    EFI_WRITE_PROTECTED,
    HR,
    LOCK_NOW,
    LOCK_ON_CREATE,
    LOCK_ON_VAR_STATE,
    NO_LOCK,
    NV,
    NV_BS_RT,
    POLICY_DUMP,
    RT,
    VENDOR,
    VENDOR2,
    Pair,
    Request,
    VarState,
    delete_variable,
    dump_policies,
    end_of_dxe,
    lock_variable,
    mm,
    policy_call,
    policy_disable,
    policy_entry,
    policy_is_enabled,
    policy_lock,
    register_policy,
    set_variable,
)

from uefivars_gui.core.guid import VAR_CHECK_POLICY_MMI_HANDLER

pytestmark = pytest.mark.qemu


def _set(name: str, data: bytes = b"x", attrs: int = NV_BS_RT) -> Request:
    return set_variable(name, VENDOR, attrs, data)


def test_policy_commands(pair: Pair) -> None:
    out = pair.same(policy_is_enabled())
    assert out.policy_result == EFI_SUCCESS and out.reply[44] == 1
    pair.same(policy_is_enabled(total=20))  # no room for State
    assert pair.same(policy_disable()).policy_result == EFI_UNSUPPORTED
    for command in (0, 6, 7, 0xFFFFFFFF):
        assert pair.same(policy_call(command, bytes(8))).policy_result == EFI_UNSUPPORTED
    # Signature and Revision are not checked
    message = b"XXXX" + struct.pack("<IIQ", 7, 2, 0x1234) + b"\0"
    pair.same(mm(VAR_CHECK_POLICY_MMI_HANDLER, message))
    pair.same(policy_call(2, length=19))  # below the 20-byte header: device status 0x12
    pair.same(policy_call(2, length=20))


def test_register_validation(pair: Pair) -> None:
    entry = policy_entry(VENDOR, "Foo", lock_type=LOCK_NOW)
    pair.same(register_policy(entry[:43], length=20 + 43))  # L < 20 + 44
    pair.same(register_policy(entry, length=20 + len(entry) - 1))  # Size beyond MessageLength
    cases = [
        policy_entry(VENDOR, "A", size=43),  # Size < 44
        policy_entry(VENDOR, "B", offset_to_name=40),  # OffsetToName < 44
        policy_entry(VENDOR, "C", offset_to_name=60),  # Size < OffsetToName
        policy_entry(VENDOR, "D", lock_type=LOCK_ON_VAR_STATE, offset_to_name=61),  # no room for the state
        policy_entry(VENDOR, None, raw_name="E\ud800".encode("utf-16-le", "surrogatepass")),  # surrogate
        policy_entry(VENDOR, None, raw_name=b"F\0G\0"),  # no NUL: accepted
        policy_entry(
            VENDOR, "Ver", version=0x12345678, lock_type=9, min_size=10, max_size=2
        ),  # not validated
        policy_entry(VENDOR, "Foo", lock_type=LOCK_NOW),
        policy_entry(VENDOR, "Foo", lock_type=NO_LOCK),  # same name: ALREADY_STARTED
        policy_entry(VENDOR2, "Foo", lock_type=NO_LOCK),  # other namespace: fine
        policy_entry(VENDOR, "Foo", raw_name=b"F\0o\0o\0\0\0\x41\0"),  # equal up to the NUL
    ]
    results = [pair.same(register_policy(e)).policy_result for e in cases]
    assert (
        EFI_ALREADY_STARTED in results and EFI_BAD_BUFFER_SIZE in results and EFI_INVALID_PARAMETER in results
    )
    pair.same(
        register_policy(policy_entry(VENDOR, "Pad"), total=20 + 44 + 8 + 40)
    )  # extra bytes after the entry
    pair.compare_stores()


def test_enforcement_after_end_of_dxe(pair: Pair) -> None:
    entries = [
        policy_entry(VENDOR, "MustNv", must=NV),
        policy_entry(VENDOR, "CantRt", cant=RT),
        policy_entry(VENDOR, "Sized", min_size=4, max_size=8),
        policy_entry(VENDOR, "LockNow", lock_type=LOCK_NOW),
        policy_entry(VENDOR, "OnCreate", lock_type=LOCK_ON_CREATE),
        policy_entry(VENDOR, "Boot####", max_size=2),
        policy_entry(VENDOR, "Boot00##", max_size=6),
        policy_entry(VENDOR, "Boot0001", max_size=100),
        policy_entry(VENDOR, "NoLock", lock_type=NO_LOCK, cant=AT | HR),
    ]
    for entry in entries:
        assert pair.same(register_policy(entry)).policy_result == EFI_SUCCESS
    pair.same(_set("OnCreate", b"exists before"))
    pair.same(_set("LockNow", b"before EndOfDxe"))  # not enforced yet
    pair.same(_set("Sized", b"123456"))
    pair.same(end_of_dxe())
    statuses = [
        pair.same(_set("MustNv", b"x", BS | RT)).status,
        pair.same(_set("MustNv", b"x", NV | BS)).status,
        pair.same(_set("CantRt", b"x", NV_BS_RT)).status,
        pair.same(_set("CantRt", b"x", NV | BS)).status,
        pair.same(_set("Sized", b"123")).status,
        pair.same(_set("Sized", b"123456789")).status,
        pair.same(_set("Sized", b"12345")).status,
        pair.same(_set("LockNow", b"after")).status,
        pair.same(delete_variable("LockNow", VENDOR)).status,
        pair.same(_set("OnCreate", b"update")).status,
        pair.same(delete_variable("OnCreate", VENDOR)).status,
        pair.same(_set("OnCreateNew", b"not matched")).status,
        pair.same(_set("BootABCD", b"abc")).status,  # Boot#### max 2
        pair.same(_set("Boot00AB", b"abc")).status,  # Boot00## max 6 (fewer hashmarks first)
        pair.same(_set("Boot0001", b"a" * 50)).status,  # exact name wins
        pair.same(_set("BootXYZW", b"abc")).status,  # not hex digits: no match
        pair.same(_set("Boot00ab", b"abcdefg")).status,
        pair.same(_set("NoLock", b"x")).status,
        pair.same(delete_variable("Sized", VENDOR)).status,  # delete checks the old size (6)
    ]
    assert EFI_WRITE_PROTECTED in statuses and EFI_INVALID_PARAMETER in statuses and EFI_SUCCESS in statuses
    # LOCK_VARIABLE after EndOfDxe is a LOCK_NOW policy at once
    pair.same(lock_variable("NoLock", VENDOR))
    pair.same(_set("NoLock", b"y"))
    pair.snapshot()
    pair.compare_stores()
    pair.reset()  # policies are gone
    assert pair.same(_set("LockNow", b"after reset")).status == EFI_SUCCESS
    pair.compare_stores()


def test_lock_command(pair: Pair) -> None:
    assert pair.same(register_policy(policy_entry(VENDOR, "A", lock_type=LOCK_NOW))).policy_result == 0
    assert pair.same(policy_lock()).policy_result == EFI_SUCCESS
    locked = pair.same(register_policy(policy_entry(VENDOR, "B", lock_type=LOCK_NOW)))
    assert locked.policy_result == EFI_WRITE_PROTECTED
    pair.same(policy_lock())
    pair.same(policy_is_enabled())
    pair.same(policy_disable())
    assert pair.same(lock_variable("C", VENDOR)).status == EFI_SUCCESS  # LOCK_VARIABLE ignores the lock
    pair.same(end_of_dxe())
    for name in ("A", "B", "C"):
        pair.same(_set(name))
    pair.reset()  # the interface unlocks at reset
    assert pair.same(register_policy(policy_entry(VENDOR, "B"))).policy_result == EFI_SUCCESS
    pair.compare_stores()


def test_dump_is_implemented(pair: Pair) -> None:
    """Intended difference 11: DUMP with edk2's pagination (QEMU: UNSUPPORTED)."""
    pair.same(register_policy(policy_entry(VENDOR, "Dumped", lock_type=LOCK_NOW)))
    step = pair.send(dump_policies(0), expect="11")
    assert step.ours.policy_result == EFI_SUCCESS and step.theirs.policy_result == EFI_UNSUPPORTED
    pair.send(dump_policies(1), expect="11")
    pair.send(dump_policies(0, total=40), expect="11")  # too short for edk2's dump buffer
    pair.send(policy_call(POLICY_DUMP, length=20), expect="11")
    pair.same(policy_call(POLICY_DUMP, length=19))  # below the header: same device status 0x12
    pair.compare_stores()


def test_namespace_only_policy(pair: Pair) -> None:
    """Intended difference 9: a namespace-only policy matches every name (QEMU: none)."""
    assert pair.same(register_policy(policy_entry(VENDOR, None, lock_type=LOCK_NOW))).policy_result == 0
    assert pair.same(register_policy(policy_entry(VENDOR, None))).policy_result == EFI_ALREADY_STARTED
    pair.same(register_policy(policy_entry(VENDOR, "Specific", lock_type=NO_LOCK)))
    pair.same(_set("Before", b"x"))  # before EndOfDxe: not enforced
    pair.same(end_of_dxe())
    pair.same(_set("Specific", b"named policy wins"))
    pair.same(set_variable("Other", VENDOR2, NV_BS_RT, b"other namespace"))
    step = pair.send(_set("Anything", b"x"), expect="9")
    assert step.ours.status == EFI_WRITE_PROTECTED and step.theirs.status == EFI_SUCCESS
    pair.send(delete_variable("Before", VENDOR), expect="9")
    pair.compare_stores(exclude=[(VENDOR, "Anything"), (VENDOR, "Before")])


def test_lock_on_variable_state(pair: Pair) -> None:
    """Intended difference 10: the state sub-entry in edk2's packed layout (QEMU reads 2 bytes later)."""
    state = VarState(VENDOR2, "LockState", 1)
    edk2 = policy_entry(VENDOR, "Guarded", lock_type=LOCK_ON_VAR_STATE, state=state)
    qemu = policy_entry(VENDOR, "Guarded2", lock_type=LOCK_ON_VAR_STATE, state=state, layout="qemu")
    assert pair.same(register_policy(edk2)).policy_result == EFI_SUCCESS
    assert pair.same(register_policy(qemu)).policy_result == EFI_SUCCESS
    pair.same(end_of_dxe())
    pair.same(_set("Guarded", b"state not set"))
    pair.same(set_variable("LockState", VENDOR2, NV_BS_RT, b"\x02"))
    pair.same(_set("Guarded", b"state 2, not 1"))
    pair.same(set_variable("LockState", VENDOR2, NV_BS_RT, b"\x01"))
    step = pair.send(_set("Guarded", b"state 1"), expect="10")
    assert step.ours.status == EFI_WRITE_PROTECTED and step.theirs.status == EFI_SUCCESS
    step = pair.send(_set("Guarded2", b"state 1"), expect="10")
    assert step.ours.status == EFI_SUCCESS and step.theirs.status == EFI_WRITE_PROTECTED
    pair.compare_stores(exclude=[(VENDOR, "Guarded"), (VENDOR, "Guarded2")])


def test_lock_on_variable_state_registration(pair: Pair) -> None:
    """Difference 10 at registration: OffsetToName 62 or 63 is enough for edk2's layout."""
    state = VarState(VENDOR2, "", 1)
    for offset in (62, 63):
        entry = policy_entry(VENDOR, None, lock_type=LOCK_ON_VAR_STATE, state=state, offset_to_name=offset)
        pair.send(register_policy(entry), expect="10")
    pair.compare_stores()


def test_register_after_end_of_dxe(pair: Pair) -> None:
    """Same as QEMU (12): EndOfDxe does not lock the interface; only LOCK does."""
    pair.same(end_of_dxe())
    assert pair.same(register_policy(policy_entry(VENDOR, "Late", lock_type=LOCK_NOW))).policy_result == 0
    assert pair.same(_set("Late")).status == EFI_WRITE_PROTECTED
    assert pair.same(policy_disable()).policy_result == EFI_UNSUPPORTED
    pair.compare_stores()
