"""Variable protocol conformance: every function, its error paths, boot phases and quota."""

from __future__ import annotations

import pytest
from conftest import SMALL_STORE, PairFactory
from sequences import (
    APPEND,
    AT,
    AW,
    BS,
    EFI_ACCESS_DENIED,
    EFI_BUFFER_TOO_SMALL,
    EFI_INVALID_PARAMETER,
    EFI_NOT_FOUND,
    EFI_OUT_OF_RESOURCES,
    EFI_SUCCESS,
    EFI_UNSUPPORTED,
    EFI_WRITE_PROTECTED,
    HR,
    NV,
    NV_BS_RT,
    RT,
    STS_ERR_BAD_BUFFER_SIZE,
    STS_ERR_NOT_SUPPORTED,
    UNKNOWN_HEADER,
    VENDOR,
    VENDOR2,
    Pair,
    delete_variable,
    end_of_dxe,
    event,
    exit_boot_service,
    exit_boot_services,
    get_next,
    get_variable,
    lock_variable,
    mm,
    payload_size,
    query_info,
    ready_to_boot,
    set_variable,
    ucs2,
    var_call,
)

from uefivars_gui.core.guid import (
    EFI_GLOBAL_VARIABLE,
    EFI_IMAGE_SECURITY_DATABASE,
    EVENT_READY_TO_BOOT,
    MEMORY_TYPE_INFORMATION,
    SMM_VARIABLE_PROTOCOL,
    VAR_CHECK_POLICY_MMI_HANDLER,
)

pytestmark = pytest.mark.qemu


def test_get_variable(pair: Pair) -> None:
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789"))
    assert pair.same(get_variable("Foo", VENDOR, 64)).status == EFI_SUCCESS
    assert pair.same(get_variable("Foo", VENDOR, 10)).status == EFI_SUCCESS
    too_small = pair.same(get_variable("Foo", VENDOR, 9))
    assert too_small.status == EFI_BUFFER_TOO_SMALL
    assert pair.same(get_variable("Foo", VENDOR, 0)).status == EFI_BUFFER_TOO_SMALL
    assert pair.same(get_variable("Foo", VENDOR2, 64)).status == EFI_NOT_FOUND
    assert pair.same(get_variable("foo", VENDOR, 64)).status == EFI_NOT_FOUND  # case-sensitive
    pair.same(get_variable("Foo", VENDOR, 64, attributes=0xFFFFFFFF))  # input attributes are ignored
    pair.same(get_variable("", VENDOR, 8))  # empty name
    pair.compare_stores()


def test_get_variable_error_paths(pair: Pair) -> None:
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789"))
    # MessageLength: short of the header, of the name, of the data area
    for length in (16, 16 + 35, 16 + 36, 16 + 36 + 7, 16 + 36 + 8, 16 + 36 + 8 + 9):
        pair.same(get_variable("Foo", VENDOR, 64, length=length))
    # the final rule: DataSize fits the device buffer but not MessageLength
    pair.same(get_variable("Foo", VENDOR, 64, room=4))
    # NameSize lies
    pair.send(get_variable("Foo", VENDOR, 64, name_size=4), expect="5")  # "Fo": NUL only behind NameSize
    pair.same(get_variable("Foo", VENDOR, 64, name_size=0))
    pair.same(get_variable("Foo", VENDOR, 64, name_size=300000))  # > storage size
    pair.same(get_variable("Foo", VENDOR, 300000, room=0))  # DataSize > storage size
    pair.same(get_variable("Foo", VENDOR, 65536 - 24 - 16 - 36 - 8, room=0))  # beyond the device buffer
    pair.same(get_variable("Foo", VENDOR, (1 << 64) - 1, room=0))  # overflow
    pair.same(get_variable("Foo", VENDOR, 64, name_size=(1 << 64) - 2))
    # surrogates, odd NameSize, junk after the NUL
    pair.same(get_variable("", VENDOR, 8, raw_name="F\ud800o".encode("utf-16-le", "surrogatepass") + b"\0\0"))
    pair.same(get_variable("", VENDOR, 8, raw_name=ucs2("Foo") + b"\x41\x00"))
    pair.same(get_variable("", VENDOR, 8, raw_name=ucs2("Foo") + b"\x00"))
    pair.compare_stores()


def test_name_without_nul_followed_by_zeros(pair: Pair) -> None:
    """Intended difference 5: QEMU 10.0.2 scans NameSize characters (twice the bytes)."""
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"x"))
    # "Foo" without its NUL, the data area (zeros) after it: QEMU finds a NUL there
    pair.send(get_variable("", VENDOR, 8, raw_name="Foo".encode("utf-16-le")), expect="5")
    pair.send(get_next("", VENDOR, 6, raw_name="Foo".encode("utf-16-le")), expect="5")
    # odd NameSize: the NUL is the byte after the name in both readings, same answer
    pair.send(get_variable("", VENDOR, 8, raw_name=ucs2("Foo")[:-1]), expect="5")
    # non-zero bytes behind the name: both refuse
    raw = "Foo".encode("utf-16-le")
    pair.same(get_variable("", VENDOR, 0, raw_name=raw + b"\x41\x41" * 4, name_size=len(raw)))
    pair.same(set_variable("", VENDOR, NV_BS_RT, b"\x41" * 8, raw_name=raw))
    pair.compare_stores()
    # a SetVariable whose NameSize stops before the NUL: QEMU 10.0.2 stores a variable
    # "Fo" with the rest of the name as the start of its data
    step = pair.send(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789", name_size=4), expect="5")
    assert step.theirs.status == EFI_SUCCESS and step.ours.status == EFI_INVALID_PARAMETER
    pair.compare_stores(exclude=[(VENDOR, "Fo")])


def test_get_next_variable_name(pair: Pair) -> None:
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"1"))
    pair.same(set_variable("LongerVariableName", VENDOR, NV_BS_RT, b"2"))
    names = pair.enumerate()
    assert (VENDOR, "Foo") in names and (VENDOR, "LongerVariableName") in names
    # buffer too small (the MessageLength edk2 derives from its buffer), then just right
    pair.same(get_next("Foo", VENDOR, 4))
    pair.same(get_next("Foo", VENDOR, 38))
    pair.same(get_next("Foo", VENDOR, 0))
    # the current name is no variable, or has the wrong GUID
    pair.same(get_next("Nope", VENDOR))
    pair.same(get_next("Foo", VENDOR2))
    # error paths: short MessageLength, huge NameSize, unterminated name with non-zero bytes after
    for length in (16, 16 + 23, 16 + 24, 16 + 24 + 2):
        pair.same(get_next("Foo", VENDOR, 8, length=length))
    pair.same(get_next("Foo", VENDOR, 300000, room=8))
    pair.same(get_next("", VENDOR, 4, raw_name=b"\x41\x00\x42\x00\x43\x00\x44\x00"))
    # after deleting the variable we stand on
    pair.same(delete_variable("Foo", VENDOR))
    pair.same(get_next("Foo", VENDOR))
    pair.enumerate()
    pair.compare_stores()


def test_set_variable_create_update_delete(pair: Pair) -> None:
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"one"))
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"two, longer"))  # update moves it to the tail
    pair.same(set_variable("Bar", VENDOR, NV | BS, b"bs-only"))
    pair.same(set_variable("Vol", VENDOR, BS | RT, b"volatile"))
    pair.same(set_variable("Hr", VENDOR, NV | BS | RT | HR, b"hardware error record"))
    pair.same(set_variable("", VENDOR, NV_BS_RT, b"empty name"))
    pair.enumerate()
    pair.compare_stores()
    assert pair.same(delete_variable("Foo", VENDOR)).status == EFI_SUCCESS
    assert pair.same(delete_variable("Foo", VENDOR)).status == EFI_SUCCESS  # missing: still SUCCESS (13)
    assert pair.same(delete_variable("Never", VENDOR2, NV_BS_RT)).status == EFI_SUCCESS
    pair.same(set_variable("Bar", VENDOR, NV | BS | APPEND, b""))  # DataSize 0 with APPEND deletes too
    pair.same(delete_variable("Vol", VENDOR, NV_BS_RT))  # attributes of a delete do not matter
    pair.snapshot()
    pair.compare_stores()


def test_set_variable_attribute_rules(pair: Pair) -> None:
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"x"))
    for attrs in (NV | BS, BS | RT, NV_BS_RT | HR, NV_BS_RT | AT):
        pair.same(set_variable("Foo", VENDOR, attrs, b"y"))  # attribute change -> INVALID_PARAMETER
    assert pair.same(set_variable("Foo", VENDOR, NV_BS_RT | APPEND, b"z")).status == EFI_UNSUPPORTED
    pair.same(set_variable("Aw", VENDOR, NV_BS_RT | AW, b"x"))  # count-based auth: UNSUPPORTED
    pair.same(set_variable("Bits", VENDOR, NV_BS_RT | 0x80, b"x"))  # unknown attribute bits
    pair.same(set_variable("Bits", VENDOR, NV_BS_RT | 0x100000, b"x"))
    pair.same(set_variable("None", VENDOR, 0, b"x"))  # no access at all
    pair.same(set_variable("Nv", VENDOR, NV, b"x"))
    assert pair.same(set_variable("RtOnly", VENDOR, NV | RT, b"x")).status == EFI_ACCESS_DENIED
    pair.same(set_variable("PK", EFI_GLOBAL_VARIABLE, NV_BS_RT, b"not authenticated"))
    pair.same(set_variable("SecureBootEnable", VENDOR, NV | BS, b"\x00"))
    pair.snapshot()
    pair.compare_stores()


def test_set_variable_size_lies(pair: Pair) -> None:
    good = set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789")
    message_length = good.message_length
    for length in (16, 16 + 35, 16 + 36, 16 + 36 + 7, message_length - 1):
        pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789", length=length))
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789", data_size=300000))
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789", data_size=(1 << 64) - 1))
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789", name_size=(1 << 64) - 8))
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789", data_size=4))  # shorter: stores 4 bytes
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"0123456789", name_size=2))  # "F" with junk after
    pair.same(set_variable("Junk", VENDOR, NV_BS_RT, b"j", raw_name=ucs2("Junk") + b"\0\0\x41\0"))
    pair.enumerate()  # GetNext returns the raw NameSize bytes QEMU kept
    pair.snapshot()
    pair.compare_stores()


def test_query_variable_info_and_payload_size(pair: Pair) -> None:
    for attrs in (NV_BS_RT, BS, NV | BS | RT | HR, NV_BS_RT | AT, 0):
        pair.same(query_info(attrs))
    pair.same(query_info(size=28))
    pair.same(query_info(size=0))  # L 16: the final rule says BUFFER_TOO_SMALL
    pair.same(query_info(length=16 + 27))
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"x" * 1000))
    pair.same(query_info())
    pair.send(payload_size(), expect="1")
    pair.send(payload_size(length=16 + 7), expect="1")  # clipped to MessageLength, still differs
    pair.same(payload_size(length=16))


def test_unknown_functions_and_headers(pair: Pair) -> None:
    for function in (0, 7, 9, 10, 12, 13, 14, 15, 99, (1 << 64) - 1):
        assert pair.same(var_call(function, bytes(16))).status == EFI_UNSUPPORTED
    pair.same(var_call(7, status=0x1234))  # UNSUPPORTED overwrites whatever was sent
    # MessageLength below the variable header, and beyond the buffer
    assert pair.same(mm(SMM_VARIABLE_PROTOCOL, bytes(15))).device_status == STS_ERR_BAD_BUFFER_SIZE
    assert pair.same(mm(SMM_VARIABLE_PROTOCOL, bytes(0))).device_status == STS_ERR_BAD_BUFFER_SIZE
    assert (
        pair.same(mm(SMM_VARIABLE_PROTOCOL, bytes(16), length=65536 - 23)).device_status
        == STS_ERR_BAD_BUFFER_SIZE
    )
    assert (
        pair.same(mm(SMM_VARIABLE_PROTOCOL, bytes(16), length=(1 << 64) - 1)).device_status
        == STS_ERR_BAD_BUFFER_SIZE
    )
    assert pair.same(mm(VAR_CHECK_POLICY_MMI_HANDLER, bytes(19))).device_status == STS_ERR_BAD_BUFFER_SIZE
    assert pair.same(mm(UNKNOWN_HEADER, b"\0" * 8)).device_status == STS_ERR_NOT_SUPPORTED
    assert pair.same(mm(UNKNOWN_HEADER, b"")).device_status == STS_ERR_NOT_SUPPORTED
    # the largest message that fits: accepted (an unknown function). In PIO mode QEMU
    # 10.0.2 copies 24 bytes past the end of its buffer for such a request (A7): not sent.
    largest = 65536 - 24 - (24 if pair.mode == "pio" else 0)
    pair.same(var_call(42, bytes(largest - 16)))


def test_events_and_event_functions(pair: Pair) -> None:
    """Intended difference 7: functions 5/6 set ReturnStatus (10.0.2 leaves what was sent)."""
    pair.same(ready_to_boot())  # edk2 sends ReturnStatus 0: identical
    pair.send(ready_to_boot(status=0x8000000000000007), expect="7")
    assert pair.same(event(EVENT_READY_TO_BOOT)).device_status == 0
    pair.same(mm(EVENT_READY_TO_BOOT, b"\x01" * 7))  # any message: the event is the GUID
    pair.same(mm(EVENT_READY_TO_BOOT, b""))  # even MessageLength 0 (edk2 never sends it)
    pair.same(var_call(5, length=16 + 40))
    pair.send(exit_boot_service(status=5), expect="7")
    assert pair.device.exit_boot_service
    pair.same(get_variable("CustomMode", EFI_GLOBAL_VARIABLE, 8))
    pair.compare_stores()


def test_runtime_access_after_exit_boot_services(pair_factory: PairFactory) -> None:
    """BS-only variables vanish at runtime; RT-only ones appear; #6 for the first variable."""
    pair = pair_factory(SMALL_STORE)
    pair.snapshot()
    pair.same(set_variable("Vol", VENDOR, BS, b"bs volatile"))
    pair.same(exit_boot_services())
    # the first variable (MemoryTypeInformation, NV|BS) is not RT: QEMU 10.0.2 returns it anyway
    pair.send(get_next(), expect="6")
    for name, guid in (
        ("MemoryTypeInformation", None),
        ("BsOnly", VENDOR),
        ("RtOnly", VENDOR),
        ("Foo", VENDOR),
    ):
        target = guid or MEMORY_TYPE_INFORMATION
        pair.same(get_variable(name, target, 64))
    pair.same(get_next("BootOrder", EFI_GLOBAL_VARIABLE))
    pair.same(get_next("BsOnly", VENDOR))  # inaccessible current name: still a valid start point
    assert pair.same(set_variable("BsOnly", VENDOR, NV | BS, b"new")).status == EFI_ACCESS_DENIED
    assert pair.same(delete_variable("BsOnly", VENDOR)).status == EFI_ACCESS_DENIED
    assert pair.same(set_variable("NewBs", VENDOR, NV | BS, b"x")).status == EFI_ACCESS_DENIED
    assert pair.same(set_variable("NewRt", VENDOR, NV | RT, b"x")).status == EFI_SUCCESS
    pair.same(set_variable("RtOnly", VENDOR, NV | RT, b"updated"))
    pair.same(set_variable("Foo", VENDOR, NV_BS_RT, b"runtime update"))
    pair.same(delete_variable("Vol", VENDOR))
    pair.same(get_next("Foo", VENDOR))
    pair.same(end_of_dxe())  # events after EBS are accepted too
    pair.compare_stores()


def test_volatile_and_nonvolatile_across_reset(pair: Pair) -> None:
    pair.same(set_variable("Vol", VENDOR, BS | RT, b"volatile"))
    pair.same(set_variable("Nv", VENDOR, NV_BS_RT, b"non-volatile"))
    pair.compare_stores()
    pair.reset()
    assert pair.same(get_variable("Vol", VENDOR)).status == EFI_NOT_FOUND
    assert pair.same(get_variable("Nv", VENDOR)).status == EFI_SUCCESS
    pair.snapshot()
    pair.compare_stores()


def test_lock_variable_before_and_after_end_of_dxe(pair: Pair) -> None:
    pair.same(set_variable("Early", VENDOR, NV_BS_RT, b"1"))
    assert pair.same(lock_variable("Early", VENDOR)).status == EFI_SUCCESS
    pair.same(lock_variable("Early", VENDOR))  # duplicate: QEMU does not check
    assert pair.same(set_variable("Early", VENDOR, NV_BS_RT, b"2")).status == EFI_SUCCESS  # not enforced yet
    pair.same(end_of_dxe())
    assert pair.same(set_variable("Early", VENDOR, NV_BS_RT, b"3")).status == EFI_WRITE_PROTECTED
    assert pair.same(delete_variable("Early", VENDOR)).status == EFI_WRITE_PROTECTED
    assert pair.same(lock_variable("Late", VENDOR)).status == EFI_SUCCESS  # after EndOfDxe: enforced at once
    assert pair.same(set_variable("Late", VENDOR, NV_BS_RT, b"x")).status == EFI_WRITE_PROTECTED
    pair.same(set_variable("Other", VENDOR, NV_BS_RT, b"x"))
    # error paths
    for length in (16, 16 + 23, 16 + 24 + 2):
        pair.same(lock_variable("Foo", VENDOR, length=length))
    pair.same(lock_variable("", VENDOR, raw_name=b"\x41\x00\x42\x00"))  # no NUL: QEMU does not validate
    pair.same(lock_variable("Foo", VENDOR, name_size=65536, length=16 + 24 + 8))
    pair.same(lock_variable("", VENDOR2, raw_name=bytes(65536 - 24 - 16 - 24 - 100)))  # entry > 0xFFFF bytes
    pair.compare_stores()
    pair.reset()  # policies are gone after a reset
    assert pair.same(set_variable("Early", VENDOR, NV_BS_RT, b"4")).status == EFI_SUCCESS
    pair.compare_stores()


@pytest.mark.parametrize("size", [4096, 16384])
def test_quota_exhaustion(pair_factory: PairFactory, size: int) -> None:
    """The ``size`` property: storage accounting and OUT_OF_RESOURCES."""
    pair = pair_factory(None, size=size)
    pair.same(query_info())
    status: int | None = EFI_SUCCESS
    count = 0
    while status == EFI_SUCCESS and count < 100:
        status = pair.same(set_variable(f"Fill{count:03d}", VENDOR, NV_BS_RT, bytes([count]) * 700)).status
        pair.same(query_info())
        count += 1
    assert status == EFI_OUT_OF_RESOURCES
    pair.same(set_variable("Small", VENDOR, NV_BS_RT, b"x" * 10))
    pair.same(set_variable("Fill000", VENDOR, NV_BS_RT, b"y" * 690))  # shrinking an update fits
    pair.same(set_variable("Fill000", VENDOR, NV_BS_RT, b"y" * 1500))  # growing it does not
    pair.same(set_variable("Vol", VENDOR, BS | RT, b"v" * 600))  # volatile variables count too
    pair.same(set_variable("Huge", VENDOR, NV_BS_RT, b"", data_size=size + 1))
    pair.same(get_variable("Fill001", VENDOR, size + 1, room=0))
    pair.same(delete_variable("Fill001", VENDOR))
    pair.same(query_info())
    pair.same(set_variable("AfterDelete", VENDOR, NV_BS_RT, b"z" * 500))
    pair.snapshot()
    pair.compare_stores()
    pair.reset()  # volatile ones go, the NV usage stays
    pair.same(query_info())
    pair.compare_stores()


def test_ms_store_enumeration_and_reads(ms_pair: Pair) -> None:
    """Debian's OVMF_VARS_4M.ms store: every variable, and QEMU's rewrite of the file."""
    ms_pair.compare_stores()
    ms_pair.snapshot()
    ms_pair.same(get_variable("db", EFI_IMAGE_SECURITY_DATABASE, 100))
    ms_pair.same(set_variable("dbx", EFI_IMAGE_SECURITY_DATABASE, NV_BS_RT, b"x"))
    ms_pair.same(set_variable("KEK", EFI_GLOBAL_VARIABLE, 0x27, b"\0" * 39))  # too short for AUTH_2
    ms_pair.compare_stores()
