"""Variable policies: the VarCheckPolicy protocol and enforcement in SetVariable."""

from __future__ import annotations

import struct
from uuid import UUID

import pytest
from device_guest import (
    EFI_ALREADY_STARTED,
    EFI_BAD_BUFFER_SIZE,
    EFI_INVALID_PARAMETER,
    EFI_OUT_OF_RESOURCES,
    EFI_SUCCESS,
    EFI_TIMEOUT,
    EFI_UNSUPPORTED,
    EFI_WRITE_PROTECTED,
    Guest,
    mm_buffer,
    ucs2,
)

from uefivars_gui.core.guid import END_OF_DXE_EVENT_GROUP, VAR_CHECK_POLICY_MMI_HANDLER
from uefivars_gui.device.policy import DUMP_PAGE_SIZE, MAX_POLICY_BYTES

NS = UUID("22222222-3333-4444-5555-666666666666")
STATE_NS = UUID("33333333-4444-5555-6666-777777777777")
REGISTER, DUMP, LOCK = 3, 4, 5
NV_BS_RT = 7
FULL = 16384 - 24  # what VariablePolicySmmDxe always sends


def entry(
    name: str | None,
    namespace: UUID = NS,
    *,
    min_size: int = 0,
    max_size: int = 0xFFFFFFFF,
    must: int = 0,
    cant: int = 0,
    lock: int = 0,
    state: tuple[UUID, int, str] | None = None,
) -> bytes:
    tail = b""
    if state is not None:
        tail = state[0].bytes_le + bytes([state[1], 0]) + ucs2(state[2])
    name_raw = ucs2(name) if name is not None else b""
    offset = 44 + len(tail)
    size = offset + len(name_raw)
    return (
        struct.pack(
            "<IHH16sIIIIB3x", 0x10000, size, offset, namespace.bytes_le, min_size, max_size, must, cant, lock
        )
        + tail
        + name_raw
    )


def register(guest: Guest, raw_entry: bytes, total: int | None = None) -> int:
    return guest.policy_call(REGISTER, raw_entry, total)[1]


@pytest.fixture
def guest() -> Guest:
    return Guest.boot()


def end_of_dxe(guest: Guest) -> None:
    assert guest.event(END_OF_DXE_EVENT_GROUP) == 0


def test_lock_now_only_after_end_of_dxe(guest: Guest) -> None:
    assert register(guest, entry("Locked", lock=1)) == EFI_SUCCESS
    assert guest.set_variable("Locked", NS, NV_BS_RT, b"1") == EFI_SUCCESS
    end_of_dxe(guest)
    assert guest.set_variable("Locked", NS, NV_BS_RT, b"2") == EFI_WRITE_PROTECTED
    assert guest.set_variable("Locked", NS, NV_BS_RT, b"") == EFI_WRITE_PROTECTED
    assert guest.set_variable("Other", NS, NV_BS_RT, b"2") == EFI_SUCCESS


def test_size_and_attribute_rules(guest: Guest) -> None:
    register(guest, entry("Sized", min_size=2, max_size=4, must=0x3, cant=0x4))
    end_of_dxe(guest)
    assert guest.set_variable("Sized", NS, 0x3, b"1") == EFI_INVALID_PARAMETER  # min-size
    assert guest.set_variable("Sized", NS, 0x3, b"12345") == EFI_INVALID_PARAMETER  # max-size
    assert guest.set_variable("Sized", NS, 0x2, b"123") == EFI_INVALID_PARAMETER  # must-have NV
    assert guest.set_variable("Sized", NS, 0x7, b"123") == EFI_INVALID_PARAMETER  # can't-have RT
    assert guest.set_variable("Sized", NS, 0x3, b"123") == EFI_SUCCESS
    assert guest.set_variable("Sized", NS, 0x3, b"") == EFI_SUCCESS  # delete: checked on the old variable


def test_lock_on_create(guest: Guest) -> None:
    register(guest, entry("Once", lock=2))
    end_of_dxe(guest)
    assert guest.set_variable("Once", NS, NV_BS_RT, b"1") == EFI_SUCCESS
    assert guest.set_variable("Once", NS, NV_BS_RT, b"2") == EFI_WRITE_PROTECTED


def test_wildcards_and_priority(guest: Guest) -> None:
    register(guest, entry("Boot####", lock=1))
    register(guest, entry("Boot0001"))  # exact match wins over the wildcard
    end_of_dxe(guest)
    assert guest.set_variable("Boot00A1", NS, NV_BS_RT, b"x") == EFI_WRITE_PROTECTED
    assert guest.set_variable("Boot0001", NS, NV_BS_RT, b"x") == EFI_SUCCESS
    assert guest.set_variable("Boot00g1", NS, NV_BS_RT, b"x") == EFI_SUCCESS  # 'g' is no hex digit
    assert guest.set_variable("BootOrder", NS, NV_BS_RT, b"x") == EFI_SUCCESS
    assert guest.set_variable("Boot0001", UUID(int=1), NV_BS_RT, b"x") == EFI_SUCCESS  # other namespace


def test_namespace_wide_policy(guest: Guest) -> None:
    """Intended difference 9: no name = every name of the namespace, lowest priority."""
    assert register(guest, entry(None, lock=1)) == EFI_SUCCESS
    assert register(guest, entry(None)) == EFI_ALREADY_STARTED
    register(guest, entry("Free####"))
    end_of_dxe(guest)
    assert guest.set_variable("Anything", NS, NV_BS_RT, b"x") == EFI_WRITE_PROTECTED
    assert (
        guest.set_variable("Free0001", NS, NV_BS_RT, b"x") == EFI_SUCCESS
    )  # a named policy is more specific
    assert guest.set_variable("Anything", UUID(int=9), NV_BS_RT, b"x") == EFI_SUCCESS


def test_lock_on_var_state_edk2_layout(guest: Guest) -> None:
    """Intended difference 10: the state variable's name is at entry offset 62 (edk2 packed layout)."""
    raw = entry("Guarded", lock=3, state=(STATE_NS, 1, "Gate"))
    assert struct.unpack_from("<H", raw, 6)[0] == 62 + len(ucs2("Gate"))
    assert register(guest, raw) == EFI_SUCCESS
    end_of_dxe(guest)
    assert guest.set_variable("Guarded", NS, NV_BS_RT, b"a") == EFI_SUCCESS  # no state variable yet
    guest.set_variable("Gate", STATE_NS, NV_BS_RT, b"\x01")
    assert guest.set_variable("Guarded", NS, NV_BS_RT, b"b") == EFI_WRITE_PROTECTED
    guest.set_variable("Gate", STATE_NS, NV_BS_RT, b"\x02")
    assert guest.set_variable("Guarded", NS, NV_BS_RT, b"c") == EFI_SUCCESS
    guest.set_variable("Gate", STATE_NS, NV_BS_RT, b"\x01\x01")  # only 1-byte values count
    assert guest.set_variable("Guarded", NS, NV_BS_RT, b"d") == EFI_SUCCESS
    # OffsetToName 61 leaves no room for the 18-byte state policy
    short = (
        struct.pack("<IHH16sIIIIB3x", 0x10000, 65, 61, NS.bytes_le, 0, 0xFFFFFFFF, 0, 0, 3)
        + bytes(17)
        + ucs2("X")
    )
    assert register(guest, short) == EFI_BAD_BUFFER_SIZE


def test_register_validation(guest: Guest) -> None:
    good = entry("Name")
    assert guest.policy_call(REGISTER, good[:40])[1] == EFI_BAD_BUFFER_SIZE  # MessageLength < 20 + 44
    too_big = bytearray(good)
    struct.pack_into("<H", too_big, 4, len(good) + 2)
    assert register(guest, bytes(too_big)) == EFI_BAD_BUFFER_SIZE  # Size beyond MessageLength
    small = bytearray(good)
    struct.pack_into("<H", small, 4, 40)
    assert register(guest, bytes(small)) == EFI_BAD_BUFFER_SIZE
    low = bytearray(good)
    struct.pack_into("<H", low, 6, 40)
    assert register(guest, bytes(low)) == EFI_BAD_BUFFER_SIZE
    beyond = bytearray(good)
    struct.pack_into("<H", beyond, 6, len(good) + 2)
    assert register(guest, bytes(beyond)) == EFI_BAD_BUFFER_SIZE
    surrogate = good[:44] + b"\x00\xd8\x00\x00" + bytes(len(good) - 48)
    assert register(guest, surrogate) == EFI_INVALID_PARAMETER
    assert register(guest, good) == EFI_SUCCESS
    assert register(guest, good) == EFI_ALREADY_STARTED
    unterminated = entry(None) + "Abc".encode("utf-16-le")
    unterminated = unterminated[:4] + struct.pack("<H", len(unterminated)) + unterminated[6:]
    assert register(guest, unterminated) == EFI_SUCCESS  # NUL termination is not required


def test_lock_command_and_disable(guest: Guest) -> None:
    """Intended difference 12: only LOCK locks; DISABLE is refused."""
    assert guest.policy_call(1)[1] == EFI_UNSUPPORTED
    sts, status, reply = guest.policy_call(2, b"\0")
    assert (sts, status, reply[44]) == (0, EFI_SUCCESS, 1)
    assert guest.policy_call(2)[1] == EFI_BAD_BUFFER_SIZE
    end_of_dxe(guest)
    assert register(guest, entry("AfterEndOfDxe")) == EFI_SUCCESS
    assert not guest.dev.policy_locked
    assert guest.policy_call(LOCK)[1] == EFI_SUCCESS
    assert guest.dev.policy_locked
    assert register(guest, entry("Late")) == EFI_WRITE_PROTECTED
    assert guest.policy_call(LOCK)[1] == EFI_SUCCESS
    for command in (0, 6, 7, 99):
        assert guest.policy_call(command, bytes(64))[1] == EFI_UNSUPPORTED
    sts, reply = guest.communicate_raw(mm_buffer(VAR_CHECK_POLICY_MMI_HANDLER, b"VCPC" + bytes(12)))
    assert sts == 0x12
    # signature and revision are not checked
    msg = b"XXXX" + struct.pack("<IIQ", 7, 2, 0) + b"\0"
    sts, reply = guest.communicate(VAR_CHECK_POLICY_MMI_HANDLER, msg)
    assert struct.unpack_from("<Q", reply, 36)[0] == EFI_SUCCESS
    guest.dev.hard_reset()
    assert not guest.dev.policy_locked and not guest.dev.policies.policies


def dump(guest: Guest, page: int, total: int = FULL) -> tuple[int, int, int, int, bytes]:
    _, status, reply = guest.policy_call(DUMP, struct.pack("<IIIB", page, 0, 0, 0), total)
    _, total_size, page_size, has_more = struct.unpack_from("<IIIB", reply, 44)
    return status, total_size, page_size, has_more, reply[57 : 57 + page_size]


def test_dump_pagination(guest: Guest) -> None:
    """Intended difference 11: edk2's paginated DUMP."""
    assert dump(guest, 0)[:4] == (EFI_SUCCESS, 0, 0, 0)  # empty table
    assert dump(guest, 1)[0] == EFI_TIMEOUT
    entries = [entry("Second"), entry("First", lock=1), entry("Third#")]
    for e in entries:
        register(guest, e)
    table = b"".join(entries)  # registration order
    assert dump(guest, 0)[:4] == (EFI_SUCCESS, len(table), 0, 1)
    status, total, size, more, data = dump(guest, 1)
    assert (status, total, size, more, data) == (EFI_SUCCESS, len(table), len(table), 0, table)
    assert dump(guest, 1)[0] == EFI_TIMEOUT  # the cache was freed after the last page
    assert dump(guest, 0, total=100)[0] == EFI_INVALID_PARAMETER  # needs the full 16 KiB buffer
    # several pages; another command in between drops the cache
    for i in range(400):
        register(guest, entry(f"Policy{i:04d}" + "x" * 40))
    table = b"".join(p.entry for p in guest.dev.policies.registered)
    pages = -(-len(table) // DUMP_PAGE_SIZE)
    assert pages > 1
    assert dump(guest, 0)[1] == len(table)
    assert dump(guest, pages + 1)[0] == EFI_INVALID_PARAMETER
    out = b""
    for page in range(1, pages + 1):
        status, _, size, more, data = dump(guest, page)
        assert status == EFI_SUCCESS and more == (page < pages)
        out += data
    assert out == table
    dump(guest, 0)
    guest.policy_call(2, b"\0")
    assert dump(guest, 1)[0] == EFI_TIMEOUT


def test_policy_memory_is_bounded(guest: Guest) -> None:
    """Intended difference A3: LOCK_VARIABLE/REGISTER cannot grow host memory without bound."""
    name = "N" * 30000
    statuses = [guest.lock_variable(name, NS) for _ in range(MAX_POLICY_BYTES // 60000 + 3)]
    assert statuses[0] == EFI_SUCCESS and statuses[-1] == EFI_OUT_OF_RESOURCES
    assert sum(len(p.entry) for p in guest.dev.policies.policies) <= MAX_POLICY_BYTES
