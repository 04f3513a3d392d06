"""The variable protocol through the register interface (DMA, and PIO where noted)."""

from __future__ import annotations

import struct
from uuid import UUID

import pytest
from device_guest import (
    EFI_ACCESS_DENIED,
    EFI_BAD_BUFFER_SIZE,
    EFI_BUFFER_TOO_SMALL,
    EFI_INVALID_PARAMETER,
    EFI_NOT_FOUND,
    EFI_OUT_OF_RESOURCES,
    EFI_SUCCESS,
    EFI_UNSUPPORTED,
    Guest,
    mm_buffer,
    ucs2,
    var_message,
)

from uefivars_gui.core.attributes import Attributes
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, EVENT_EXIT_BOOT_SERVICES, SMM_VARIABLE_PROTOCOL
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.device import DeviceConfig
from uefivars_gui.device.log import PersistNeeded, VariableChanged

G = EFI_GLOBAL_VARIABLE
VENDOR = UUID("11111111-2222-3333-4444-555555555555")
NV_BS_RT = 7
BS_RT = 6
BS = 2


@pytest.fixture(params=["dma", "pio"])
def guest(request: pytest.FixtureRequest) -> Guest:
    return Guest.boot(DeviceConfig(strict=True, use_pio=request.param == "pio"))


@pytest.fixture
def dma() -> Guest:
    return Guest.boot()


# -- GetVariable ----------------------------------------------------------------------------


def test_set_get_round_trip(guest: Guest) -> None:
    assert guest.set_variable("Foo", VENDOR, NV_BS_RT, b"\x01\x02\x03") == EFI_SUCCESS
    res = guest.get_variable("Foo", VENDOR, 16)
    assert (res.status, res.data_size, res.attributes, res.data) == (
        EFI_SUCCESS,
        3,
        NV_BS_RT,
        b"\x01\x02\x03",
    )


def test_get_variable_buffer_too_small(guest: Guest) -> None:
    guest.set_variable("Big", VENDOR, BS_RT, bytes(range(100)))
    res = guest.get_variable("Big", VENDOR, 10)
    assert (res.status, res.data_size, res.attributes) == (EFI_BUFFER_TOO_SMALL, 100, BS_RT)
    # the data area of the reply stays as the guest sent it (zeros)
    _, reply = guest.communicate(
        SMM_VARIABLE_PROTOCOL,
        var_message(1, VENDOR.bytes_le + struct.pack("<QQI", 10, 8, 0) + ucs2("Big") + bytes(10)),
    )
    assert reply[-10:] == bytes(10)


def test_get_variable_errors(dma: Guest) -> None:
    dma.set_variable("Foo", VENDOR, BS_RT, b"x")
    # MessageLength shorter than the 36-byte access header
    _, status, _ = dma.var_call(1, bytes(30))
    assert status == EFI_BAD_BUFFER_SIZE
    # NameSize larger than the storage size
    assert dma.get_variable("Foo", VENDOR, name_size=262145).status == EFI_OUT_OF_RESOURCES
    # NameSize beyond MessageLength
    assert dma.get_variable("Foo", VENDOR, 0, name_size=100).status == EFI_BAD_BUFFER_SIZE
    # not NUL-terminated
    assert dma.get_variable("", VENDOR, raw_name="Foo".encode("utf-16-le")).status == EFI_INVALID_PARAMETER
    # unknown name, unknown namespace
    assert dma.get_variable("Bar", VENDOR).status == EFI_NOT_FOUND
    assert dma.get_variable("Foo", G).status == EFI_NOT_FOUND
    # a surrogate in the name
    assert dma.get_variable("", VENDOR, raw_name=b"\x00\xd8\x00\x00").status == EFI_INVALID_PARAMETER


def test_get_variable_data_size_beyond_device_buffer() -> None:
    guest = Guest.boot()
    guest.init(buffer_size=0x1000)
    guest.set_variable("Foo", VENDOR, BS_RT, b"x")
    # the guest's MessageLength only covers the name, but DataSize exceeds the device buffer
    raw = ucs2("Foo")
    payload = VENDOR.bytes_le + struct.pack("<QQI", 0x1000, len(raw), 0) + raw
    _, status, _ = guest.var_call(1, payload)
    assert status == EFI_BAD_BUFFER_SIZE


def test_final_rule_downgrades_success(dma: Guest) -> None:
    """MessageLength not covering the data area: BUFFER_TOO_SMALL, DataSize still set."""
    dma.set_variable("Foo", VENDOR, BS_RT, b"abcdef")
    raw = ucs2("Foo")
    payload = VENDOR.bytes_le + struct.pack("<QQI", 6, len(raw), 0) + raw + b"\0\0"  # only 2 of 6 data bytes
    _, status, reply = dma.var_call(1, payload)
    assert status == EFI_BUFFER_TOO_SMALL
    assert struct.unpack_from("<Q", reply, 56)[0] == 6
    assert reply[-2:] == b"ab"  # the part inside MessageLength was written back


def test_name_without_nul_within_namesize(dma: Guest) -> None:
    """Intended difference 5: names are validated in bytes, zero bytes after NameSize do not count."""
    dma.set_variable("ABC", VENDOR, BS_RT, b"1")
    raw = "ABC".encode("utf-16-le")
    payload = VENDOR.bytes_le + struct.pack("<QQI", 8, len(raw), 0) + raw + bytes(16)
    _, status, _ = dma.var_call(1, payload)
    assert status == EFI_INVALID_PARAMETER
    assert dma.set_variable("", VENDOR, BS_RT, b"1", raw_name=raw) == EFI_INVALID_PARAMETER


# -- GetNextVariableName --------------------------------------------------------------------


def test_get_next_enumeration_order_and_updates_move_to_tail() -> None:
    store = VarStore([Variable(f"V{i}", VENDOR, Attributes(NV_BS_RT), b"x") for i in range(3)])
    guest = Guest.boot(store=store)
    names = [n for g, n in guest.enumerate()]
    assert names == [
        "V0",
        "V1",
        "V2",
        "SetupMode",
        "SignatureSupport",
        "SecureBoot",
        "CustomMode",
        "VendorKeysNv",
        "VendorKeys",
    ]
    assert guest.set_variable("V0", VENDOR, NV_BS_RT, b"y") == EFI_SUCCESS
    assert [n for _, n in guest.enumerate()][-1] == "V0"
    # same (guid, name) in two namespaces are two variables
    guest.set_variable("V1", G, BS_RT, b"z")
    assert (G, "V1") in guest.enumerate() and (VENDOR, "V1") in guest.enumerate()


def test_get_next_errors(dma: Guest) -> None:
    assert dma.get_next("NoSuchVar", VENDOR).status == EFI_INVALID_PARAMETER
    last = dma.enumerate()[-1]
    assert dma.get_next(last[1], last[0]).status == EFI_NOT_FOUND
    _, status, _ = dma.var_call(2, bytes(20))
    assert status == EFI_BAD_BUFFER_SIZE
    _, status, _ = dma.var_call(2, VENDOR.bytes_le + struct.pack("<Q", 300000) + bytes(8))
    assert status == EFI_OUT_OF_RESOURCES
    _, status, _ = dma.var_call(2, VENDOR.bytes_le + struct.pack("<Q", 64) + bytes(8))
    assert status == EFI_BAD_BUFFER_SIZE  # NameSize beyond MessageLength
    _, status, _ = dma.var_call(2, VENDOR.bytes_le + struct.pack("<Q", 4) + b"A\0B\0")
    assert status == EFI_INVALID_PARAMETER  # no NUL


def test_get_next_buffer_too_small_reports_size(dma: Guest) -> None:
    """The next name does not fit MessageLength: BUFFER_TOO_SMALL, Guid and NameSize still set."""
    _, status, reply = dma.var_call(2, VENDOR.bytes_le + struct.pack("<Q", 2) + b"\0\0")
    assert status == EFI_BUFFER_TOO_SMALL
    assert UUID(bytes_le=reply[40:56]) == G
    assert struct.unpack_from("<Q", reply, 56)[0] == len(ucs2("SetupMode"))


def test_get_next_returns_raw_name_bytes(dma: Guest) -> None:
    raw = ucs2("Odd") + b"\x55\x66\x77"  # bytes after the NUL are kept, as QEMU does
    assert dma.set_variable("", VENDOR, BS_RT, b"1", raw_name=raw) == EFI_SUCCESS
    res = dma.get_next(*reversed(dma.enumerate()[-2]))  # type: ignore[arg-type]
    assert (res.name, res.name_size, res.raw_name) == ("Odd", len(raw), raw)
    # storage counts the raw NameSize
    before = dma.dev.used_storage
    assert dma.set_variable("Odd", VENDOR, BS_RT, b"") == EFI_SUCCESS
    assert before - dma.dev.used_storage == 96 + len(raw) + 1


def test_runtime_access_after_exit_boot_services(guest: Guest) -> None:
    guest.set_variable("BsOnly", VENDOR, BS, b"b")
    guest.set_variable("RtToo", VENDOR, NV_BS_RT, b"r")
    assert guest.event(EVENT_EXIT_BOOT_SERVICES) == 0
    assert guest.get_variable("BsOnly", VENDOR).status == EFI_ACCESS_DENIED
    assert guest.get_variable("RtToo", VENDOR).status == EFI_SUCCESS
    assert guest.set_variable("BsOnly", VENDOR, BS, b"c") == EFI_ACCESS_DENIED
    assert guest.set_variable("NewBs", VENDOR, BS, b"c") == EFI_ACCESS_DENIED
    assert guest.set_variable("NewRt", VENDOR, 5, b"c") == EFI_SUCCESS  # RT without BS is fine at runtime
    names = [n for _, n in guest.enumerate()]
    assert "BsOnly" not in names and "RtToo" in names and "CustomMode" not in names


def test_get_next_first_respects_runtime() -> None:
    """Intended difference 6: the first variable is access-checked too."""
    store = VarStore([Variable("BsFirst", VENDOR, Attributes(BS), b"x")])
    guest = Guest.boot(store=store)
    guest.var_call(6)
    first = guest.get_next("", UUID(int=0))
    assert first.status == EFI_SUCCESS and first.name == "SetupMode"


# -- SetVariable --------------------------------------------------------------------------


def test_attribute_change_rule(guest: Guest) -> None:
    guest.set_variable("Foo", VENDOR, NV_BS_RT, b"1")
    assert guest.set_variable("Foo", VENDOR, BS_RT, b"2") == EFI_INVALID_PARAMETER
    assert guest.set_variable("Foo", VENDOR, NV_BS_RT | 0x40, b"2") == EFI_UNSUPPORTED  # append: SB only
    assert guest.get_variable("Foo", VENDOR).data == b"1"
    # a delete ignores the attributes
    assert guest.set_variable("Foo", VENDOR, 0, b"") == EFI_SUCCESS
    assert guest.get_variable("Foo", VENDOR).status == EFI_NOT_FOUND


def test_set_variable_attribute_errors(dma: Guest) -> None:
    assert dma.set_variable("A", VENDOR, 0, b"x") == EFI_ACCESS_DENIED  # no BS before EBS
    assert dma.set_variable("A", VENDOR, 4, b"x") == EFI_ACCESS_DENIED  # RT without BS
    assert dma.set_variable("A", VENDOR, 0x83, b"x") == EFI_UNSUPPORTED  # unknown bit 0x80
    assert dma.set_variable("A", VENDOR, 0x13, b"x") == EFI_UNSUPPORTED  # count-based auth
    assert dma.set_variable("A", VENDOR, 0x0B, b"x") == EFI_SUCCESS  # HR: no special rule
    assert dma.set_variable("", VENDOR, 3, b"x") == EFI_SUCCESS  # an empty name is accepted


def test_set_variable_size_errors(dma: Guest) -> None:
    raw = ucs2("A")
    payload = VENDOR.bytes_le + struct.pack("<QQI", 10, len(raw), 3) + raw + b"abc"  # DataSize beyond L
    assert dma.var_call(3, payload)[1] == EFI_BAD_BUFFER_SIZE
    payload = VENDOR.bytes_le + struct.pack("<QQI", 1, 100, 3) + raw  # NameSize beyond L
    assert dma.var_call(3, payload)[1] == EFI_BAD_BUFFER_SIZE
    payload = VENDOR.bytes_le + struct.pack("<QQI", 1 << 40, len(raw), 3) + raw
    assert dma.var_call(3, payload)[1] == EFI_OUT_OF_RESOURCES
    assert dma.var_call(3, bytes(35))[1] == EFI_BAD_BUFFER_SIZE


def test_volatile_vs_nv_and_persist_signal(dma: Guest) -> None:
    dev = dma.dev
    dev.drain_log()
    dma.set_variable("Vol", VENDOR, BS_RT, b"v")
    assert not [r for r in dev.drain_log() if isinstance(r, PersistNeeded)]
    dma.set_variable("Nv", VENDOR, NV_BS_RT, b"n")
    assert [r for r in dev.drain_log() if isinstance(r, PersistNeeded)]
    dma.set_variable("Nv", VENDOR, NV_BS_RT, b"")  # deleting an NV variable persists too
    log = dev.drain_log()
    assert [r for r in log if isinstance(r, PersistNeeded)]
    assert [r for r in log if isinstance(r, VariableChanged) and r.new is None]
    dma.set_variable("Nv2", VENDOR, NV_BS_RT, b"n")
    dev.hard_reset()
    assert dev.store.get(VENDOR, "Vol") is None and dev.store.get(VENDOR, "Nv2") is not None
    assert any(isinstance(r, PersistNeeded) and r.reason == "reset" for r in dev.drain_log())


def test_qemu_status_conventions(dma: Guest) -> None:
    """Intended difference 13 (QEMU's conventions kept)."""
    assert dma.set_variable("Missing", VENDOR, NV_BS_RT, b"") == EFI_SUCCESS
    dma.set_variable("BsOnly", VENDOR, BS, b"x")
    dma.var_call(6)
    assert dma.get_variable("BsOnly", VENDOR).status == EFI_ACCESS_DENIED
    dma.dev.hard_reset()
    dma.init()
    dma.set_variable("Plain", VENDOR, NV_BS_RT, b"x")
    assert dma.set_variable("Plain", VENDOR, NV_BS_RT | 0x40, b"y") == EFI_UNSUPPORTED


def test_storage_quota_and_query_variable_info(dma: Guest) -> None:
    status, mx, remaining, maxvar = dma.query_info()
    assert (status, mx, remaining, maxvar) == (EFI_SUCCESS, 262144, 262144 - 807, 65536)
    dma.set_variable("Foo", VENDOR, BS_RT, bytes(100))
    assert dma.query_info(1)[2] == 262144 - 807 - (96 + 8 + 100)  # same numbers for any attributes
    # Attributes in the reply are zeroed
    _, _, reply = dma.var_call(4, struct.pack("<QQQI", 0, 0, 0, 7))
    assert struct.unpack_from("<I", reply, 64)[0] == 0
    small = Guest.boot(DeviceConfig(strict=True, size=2500))
    assert small.set_variable("Big", VENDOR, BS_RT, bytes(1100)) == EFI_SUCCESS  # 807 + 1204 used
    assert small.set_variable("Big2", VENDOR, BS_RT, bytes(600)) == EFI_OUT_OF_RESOURCES
    assert small.set_variable("Big", VENDOR, BS_RT, bytes(1000)) == EFI_SUCCESS  # replacing frees the old


def test_query_info_final_rule(dma: Guest) -> None:
    _, status, _ = dma.var_call(4)  # MessageLength 16: the 28-byte reply does not fit
    assert status == EFI_BUFFER_TOO_SMALL


def test_get_payload_size_64k(dma: Guest) -> None:
    """Intended difference 1: buf_size - 24 - 16."""
    assert dma.payload_size() == (EFI_SUCCESS, 65496)
    dma.init(buffer_size=0x1000)
    assert dma.payload_size() == (EFI_SUCCESS, 0x1000 - 40)


def test_unsupported_functions(dma: Guest) -> None:
    for function in (0, 7, 9, 10, 12, 13, 14, 15, 1 << 40):
        sts, status, _ = dma.var_call(function, bytes(64))
        assert (sts, status) == (0, EFI_UNSUPPORTED)


def test_message_shorter_than_variable_header(dma: Guest) -> None:
    buf = mm_buffer(SMM_VARIABLE_PROTOCOL, struct.pack("<QI", 1, 0xAAAA))
    sts, reply = dma.communicate_raw(buf)
    assert sts == 0x12 and reply == buf


def test_ready_to_boot_and_exit_boot_service_functions(dma: Guest) -> None:
    """Intended difference 7: functions 5 and 6 answer EFI_SUCCESS."""
    for function in (5, 6):
        msg = struct.pack("<QQ", function, 0xDEADBEEF)
        sts, reply = dma.communicate(SMM_VARIABLE_PROTOCOL, msg)
        assert sts == 0 and struct.unpack_from("<Q", reply, 32)[0] == EFI_SUCCESS
    assert dma.dev.ready_to_boot and dma.dev.exit_boot_service


def test_lock_variable(dma: Guest) -> None:
    from uefivars_gui.core.guid import END_OF_DXE_EVENT_GROUP
    from uefivars_gui.device.log import PolicyDenied

    dma.set_variable("Locked", VENDOR, NV_BS_RT, b"1")
    assert dma.lock_variable("Locked", VENDOR) == EFI_SUCCESS
    assert dma.lock_variable("Locked", VENDOR) == EFI_SUCCESS  # no duplicate check
    assert dma.set_variable("Locked", VENDOR, NV_BS_RT, b"2") == EFI_SUCCESS  # not before EndOfDxe
    dma.event(END_OF_DXE_EVENT_GROUP)
    assert dma.set_variable("Locked", VENDOR, NV_BS_RT, b"3") == 0x8000000000000008
    assert dma.set_variable("Locked", VENDOR, NV_BS_RT, b"") == 0x8000000000000008
    assert any(isinstance(r, PolicyDenied) and r.reason == "lock-now" for r in dma.dev.drain_log())
    _, status, _ = dma.var_call(8, VENDOR.bytes_le + struct.pack("<Q", 100))
    assert status == EFI_BAD_BUFFER_SIZE
    _, status, _ = dma.var_call(8, bytes(10))
    assert status == EFI_BAD_BUFFER_SIZE


def test_getvariable_cost_does_not_depend_on_position() -> None:
    """Lookups are keyed by (guid, name): the store is never scanned for GetVariable."""
    store = VarStore([Variable(f"V{i}", VENDOR, Attributes(NV_BS_RT), b"x") for i in range(2000)])
    guest = Guest.boot(DeviceConfig(strict=True, size=1 << 24), store=store)
    calls = 0
    original = VarStore.__iter__

    def counting_iter(self: VarStore):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return original(self)

    VarStore.__iter__ = counting_iter  # type: ignore[method-assign]
    try:
        assert guest.get_variable("V1999", VENDOR).status == EFI_SUCCESS
    finally:
        VarStore.__iter__ = original  # type: ignore[method-assign]
    assert calls == 0
