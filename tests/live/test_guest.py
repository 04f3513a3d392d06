"""The edk2 guest side (live/guest.py) against a tiny fake device: byte layouts and checks."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from uuid import UUID

import pytest

from uefivars_gui.core.crc import crc32c
from uefivars_gui.core.guid import (
    EFI_GLOBAL_VARIABLE,
    END_OF_DXE_EVENT_GROUP,
    EVENT_READY_TO_BOOT,
    SMM_VARIABLE_PROTOCOL,
)
from uefivars_gui.live.guest import (
    BurstTarget,
    CrcMismatchError,
    DeviceNotFoundError,
    DeviceStatusError,
    GuestError,
    GuestSession,
    MmReply,
    RequestSizeError,
    Target,
    VariableClient,
)

EFI_SUCCESS = 0
EFI_INVALID_PARAMETER = 0x8000000000000002
EFI_BUFFER_TOO_SMALL = 0x8000000000000005
EFI_NOT_FOUND = 0x800000000000000E
VENDOR = UUID("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9")

Handler = Callable[[bytes], tuple[int, bytes]]


def ucs2(text: str) -> bytes:
    return (text + "\0").encode("utf-16-le")


class FakeDevice:
    """Just enough of the uefi-vars register interface; MM requests go to ``handler``.

    ``handler(request)`` gets the 24+L request and returns (device status, 24+L reply).
    """

    dma_buffer_addr = 0x1000

    def __init__(self, handler: Handler | None = None, *, flags: int = 0, magic: int = 0x0EF1) -> None:
        self.handler: Handler = handler or (lambda request: (0, request))
        self.flags = flags
        self.magic = magic
        self.memory = bytearray(0x20000)
        self.log: list[tuple[str, int, int, int]] = []
        self.requests: list[bytes] = []
        self.sts = 0
        self.buf_size = 0
        self.addr = [0, 0]
        self.pio = bytearray()
        self.pio_offset = 0
        self.busy_polls = 0
        self.corrupt_crc: str | None = None  # "write" or "read": the next CRC read after that phase lies
        self._phase = "write"

    # Target protocol
    def read(self, offset: int, width: int) -> int:
        value = self._read(offset, width)
        self.log.append(("r", offset, width, value))
        return value

    def _read(self, offset: int, width: int) -> int:
        if offset == 0x00:
            return self.magic
        if offset == 0x02:
            if self.busy_polls:
                self.busy_polls -= 1
                return 0x01
            return self.sts
        if offset == 0x04:
            return self.buf_size
        if offset == 0x10:
            if self.pio_offset + width > self.buf_size:
                return 0
            value = int.from_bytes(self.pio[self.pio_offset : self.pio_offset + width], "little")
            self.pio_offset += width
            self._phase = "read"
            return value
        if offset == 0x18:
            crc = crc32c(bytes(self.pio[: self.pio_offset]))
            return crc ^ 1 if self.corrupt_crc == self._phase else crc
        if offset == 0x1C:
            return self.flags
        return (1 << (8 * width)) - 1

    def write(self, offset: int, width: int, value: int) -> None:
        self.log.append(("w", offset, width, value))
        if offset == 0x02:
            self.sts = self._command(value)
        elif offset == 0x04:
            self.buf_size = min(value, 0x10000)
            self.pio = bytearray(self.buf_size)
        elif offset in (0x08, 0x0C):
            self.addr[(offset - 0x08) // 4] = value
        elif offset == 0x10 and self.pio_offset + width <= self.buf_size:
            self.pio[self.pio_offset : self.pio_offset + width] = value.to_bytes(width, "little")
            self.pio_offset += width
            self._phase = "write"

    def mem_read(self, addr: int, length: int) -> bytes:
        return bytes(self.memory[addr : addr + length])

    def mem_write(self, addr: int, data: bytes) -> None:
        self.memory[addr : addr + len(data)] = data

    # the device
    def _command(self, cmd: int) -> int:
        if cmd == 1:
            self.buf_size, self.addr = 0, [0, 0]
            return 0
        if cmd == 4:
            self.pio_offset = 0
            return 0
        if cmd not in (2, 3):
            return 0x11
        dma = cmd == 2
        base = self.addr[0] | self.addr[1] << 32
        source = self.memory[base:] if dma else self.pio
        (length,) = struct.unpack_from("<Q", source, 16)
        if 24 + length > self.buf_size:
            return 0x12
        request = bytes(source[: 24 + length])
        self.requests.append(request)
        status, reply = self.handler(request)
        assert len(reply) == len(request)
        if dma:
            self.memory[base : base + len(reply)] = reply
        else:
            self.pio[: len(reply)] = reply
        return status


class BurstFake(FakeDevice):
    """The same device with the optional pipelined accessors."""

    bursts = 0

    def read_burst(self, offset: int, width: int, count: int) -> list[int]:
        self.bursts += 1
        return [self.read(offset, width) for _ in range(count)]

    def write_burst(self, offset: int, width: int, values: Sequence[int]) -> None:
        self.bursts += 1
        for value in values:
            self.write(offset, width, value)


def reply_with(payload_at_40: bytes, status: int = EFI_SUCCESS) -> Handler:
    """A handler that writes ReturnStatus and overwrites the payload start."""

    def handle(request: bytes) -> tuple[int, bytes]:
        reply = bytearray(request)
        reply[32:40] = status.to_bytes(8, "little")
        reply[40 : 40 + len(payload_at_40)] = payload_at_40
        return 0, bytes(reply)

    return handle


def client_for(device: FakeDevice, mode: str = "auto") -> VariableClient:
    client = VariableClient(GuestSession(device, mode))  # type: ignore[arg-type]
    client._payload_size = 65496  # skip the GET_PAYLOAD_SIZE round trip in most tests
    device.requests.clear()
    return client


# --- protocol conformance of the fakes ------------------------------------------------------


def test_fakes_are_targets() -> None:
    fake: Target = FakeDevice()
    assert not isinstance(fake, BurstTarget)
    assert isinstance(BurstFake(), BurstTarget)


# --- init -----------------------------------------------------------------------------------


def test_init_sequence_dma_like_virtmm() -> None:
    device = FakeDevice()
    session = GuestSession(device, buffer_addr=0x1_2345_6000)
    assert session.mode == "dma"
    assert device.log == [
        ("r", 0x00, 2, 0x0EF1),
        ("w", 0x02, 2, 1),
        ("r", 0x02, 2, 0),
        ("w", 0x04, 4, 0x10000),
        ("r", 0x1C, 4, 0),
        ("w", 0x08, 4, 0x2345_6000),
        ("w", 0x0C, 4, 0x1),
    ]


def test_init_uses_target_buffer_address_and_flags() -> None:
    device = FakeDevice()
    assert GuestSession(device).buffer_addr == FakeDevice.dma_buffer_addr
    pio = FakeDevice(flags=1)
    session = GuestSession(pio)
    assert session.mode == "pio" and session.flags == 1
    assert not [entry for entry in pio.log if entry[1] in (0x08, 0x0C)]  # no DMA address in PIO mode
    forced = FakeDevice(flags=1)
    assert GuestSession(forced, "dma").mode == "dma"
    assert ("w", 0x08, 4, FakeDevice.dma_buffer_addr) in forced.log


def test_magic_mismatch() -> None:
    with pytest.raises(DeviceNotFoundError, match="0xffff"):
        GuestSession(FakeDevice(magic=0xFFFF))


def test_bad_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        GuestSession(FakeDevice(), "mmio")  # type: ignore[arg-type]


def test_busy_polling() -> None:
    device = FakeDevice()
    session = GuestSession(device)
    device.busy_polls = 3
    assert session.command(4) == 0
    device.busy_polls = 1000
    with pytest.raises(GuestError, match="busy"):
        session.command(4)


# --- communicate ------------------------------------------------------------------------------


def test_dma_communicate_copies_in_and_back() -> None:
    device = FakeDevice(lambda request: (0, request[:24] + request[24:].upper()))
    session = GuestSession(device)
    device.log.clear()
    assert session.communicate(VENDOR, b"hello") == MmReply(0, b"HELLO")
    assert device.requests == [VENDOR.bytes_le + struct.pack("<Q", 5) + b"hello"]
    assert device.log == [("w", 0x02, 2, 2), ("r", 0x02, 2, 0)]
    assert session.last_request == device.requests[0]


def test_pio_communicate_word_sequence() -> None:
    device = FakeDevice(lambda request: (0, request[:24] + b"WORLD!"), flags=1)
    session = GuestSession(device)
    device.log.clear()
    assert session.communicate(VENDOR, b"world!") == MmReply(0, b"WORLD!")
    request = VENDOR.bytes_le + struct.pack("<Q", 6) + b"world!" + b"\0\0"  # padded to 32 bytes
    words = [w for (w,) in struct.iter_unpack("<I", request)]
    reply = VENDOR.bytes_le + struct.pack("<Q", 6) + b"WORLD!\0\0"
    reply_words = [w for (w,) in struct.iter_unpack("<I", reply)]
    expected = [("w", 0x02, 2, 4), ("r", 0x02, 2, 0)]
    expected += [("w", 0x10, 4, w) for w in words]
    expected += [("r", 0x18, 4, crc32c(request)), ("w", 0x02, 2, 3), ("r", 0x02, 2, 0)]
    expected += [("w", 0x02, 2, 4), ("r", 0x02, 2, 0)]
    expected += [("r", 0x10, 4, w) for w in reply_words]
    expected += [("r", 0x18, 4, crc32c(reply))]
    assert device.log == expected


def test_pio_uses_bursts_when_offered() -> None:
    device = BurstFake(flags=1)
    session = GuestSession(device)
    assert session.communicate(VENDOR, b"x" * 40).reply == b"x" * 40
    assert device.bursts == 2


@pytest.mark.parametrize("phase", ["write", "read"])
def test_pio_crc_mismatch_is_detected(phase: str) -> None:
    device = FakeDevice(flags=1)
    session = GuestSession(device)
    device.corrupt_crc = phase
    with pytest.raises(CrcMismatchError, match=f"PIO {phase}: CRC32C mismatch") as info:
        session.communicate(VENDOR, b"abcd")
    assert info.value.device == info.value.expected ^ 1
    assert len(device.requests) == (0 if phase == "write" else 1)  # never sent after a bad upload


def test_strict_sizes_and_lies() -> None:
    device = FakeDevice()
    session = GuestSession(device)
    with pytest.raises(RequestSizeError):
        session.communicate(VENDOR, b"")
    with pytest.raises(RequestSizeError):
        session.communicate(VENDOR, bytes(0x10000 - 23))
    # a MessageLength that lies: the header says 2, five bytes are sent, 24+2 are read back
    reply = session.communicate(VENDOR, b"abcde", message_length=2, strict=False)
    assert device.requests[-1] == VENDOR.bytes_le + struct.pack("<Q", 2) + b"ab"
    assert reply.reply == b"abcde"  # as many bytes as were sent
    too_big = session.communicate(VENDOR, b"abc", message_length=0x10000, strict=False)
    assert too_big.device_status == 0x12


def test_signal_event_is_25_bytes() -> None:
    device = FakeDevice()
    session = GuestSession(device)
    assert session.signal_event(END_OF_DXE_EVENT_GROUP) == 0
    assert device.requests == [END_OF_DXE_EVENT_GROUP.bytes_le + struct.pack("<Q", 1) + b"\0"]
    client = VariableClient(session)
    client.signal_event(EVENT_READY_TO_BOOT)
    assert len(device.requests[-1]) == 25


# --- VariableSmmRuntimeDxe request layouts (absolute buffer offsets as in edk2) -------------


def header(request: bytes) -> tuple[UUID, int, int, int]:
    guid, length, function, status = struct.unpack_from("<16sQQQ", request)
    return UUID(bytes_le=guid), length, function, status


def test_get_payload_size_layout() -> None:
    device = FakeDevice(reply_with(struct.pack("<Q", 65496)))
    client = VariableClient(GuestSession(device))
    result = client.get_payload_size()
    assert (result.status, result.payload_size) == (EFI_SUCCESS, 65496)
    (request,) = device.requests
    assert header(request) == (SMM_VARIABLE_PROTOCOL, 24, 11, 0)
    assert len(request) == 24 + 16 + 8


def test_payload_size_is_capped_to_the_buffer() -> None:
    device = FakeDevice(reply_with(struct.pack("<Q", 65536)))  # QEMU 10.0.2's answer
    client = VariableClient(GuestSession(device))
    assert client.payload_size == 65536 - 40


def test_get_variable_layout_and_probe() -> None:
    data = b"\x01\x02\x03\x04\x05"

    def handle(request: bytes) -> tuple[int, bytes]:
        reply = bytearray(request)
        data_size, name_size = struct.unpack_from("<QQ", request, 56)
        reply[72:76] = struct.pack("<I", 0x07)
        if data_size < len(data):
            reply[32:40] = struct.pack("<Q", EFI_BUFFER_TOO_SMALL)
        else:
            reply[76 + name_size : 76 + name_size + len(data)] = data
        reply[56:64] = struct.pack("<Q", len(data))
        return 0, bytes(reply)

    device = FakeDevice(handle)
    client = client_for(device)
    result = client.get_variable("Boot0001", EFI_GLOBAL_VARIABLE)
    assert (result.status, result.attributes, result.data_size, result.data) == (EFI_SUCCESS, 7, 5, data)
    probe, final = device.requests
    name = ucs2("Boot0001")
    assert header(probe) == (SMM_VARIABLE_PROTOCOL, 16 + 36 + len(name), 1, 0)
    assert probe[40:56] == EFI_GLOBAL_VARIABLE.bytes_le
    assert struct.unpack_from("<QQI", probe, 56) == (0, len(name), 0)
    assert probe[76:] == name
    assert header(final)[1] == 16 + 36 + len(name) + 5
    assert struct.unpack_from("<QQI", final, 56) == (5, len(name), 0)
    assert final[76:] == name + bytes(5)

    small = client.get_variable("Boot0001", EFI_GLOBAL_VARIABLE, data_size=2, attributes=0x27)
    assert (small.status, small.attributes, small.data_size, small.data) == (EFI_BUFFER_TOO_SMALL, 7, 5, b"")
    assert struct.unpack_from("<QQI", device.requests[-1], 56) == (2, len(name), 0x27)


def test_get_variable_not_found_keeps_no_size() -> None:
    client = client_for(FakeDevice(reply_with(b"", EFI_NOT_FOUND)))
    result = client.get_variable("Nope", VENDOR)
    assert (result.status, result.data_size, result.data) == (EFI_NOT_FOUND, 0, b"")


def test_get_variable_data_size_trimmed_to_payload() -> None:
    device = FakeDevice()
    client = client_for(device)
    client._payload_size = 100
    client.get_variable("A", VENDOR, data_size=10_000)
    name = ucs2("A")
    assert struct.unpack_from("<Q", device.requests[-1], 56) == (100 - 36 - len(name),)
    with pytest.raises(RequestSizeError):
        client.get_variable("x" * 40, VENDOR, data_size=0)


def test_set_variable_layout() -> None:
    device = FakeDevice(reply_with(b""))
    client = client_for(device)
    assert client.set_variable("Test", VENDOR, 0x07, b"DATA!").status == EFI_SUCCESS
    (request,) = device.requests
    name = ucs2("Test")
    assert header(request) == (SMM_VARIABLE_PROTOCOL, 16 + 36 + len(name) + 5, 3, 0)
    assert request[40:56] == VENDOR.bytes_le
    assert struct.unpack_from("<QQI", request, 56) == (5, len(name), 7)
    assert request[76:] == name + b"DATA!"
    client.delete_variable("Test", VENDOR)
    assert struct.unpack_from("<QQI", device.requests[-1], 56) == (0, len(name), 0)
    with pytest.raises(RequestSizeError):
        client.set_variable("Test", VENDOR, 7, bytes(65496))


def test_get_next_variable_name_layout() -> None:
    def handle(request: bytes) -> tuple[int, bytes]:
        reply = bytearray(request)
        reply[40:56] = VENDOR.bytes_le
        reply[56:64] = struct.pack("<Q", len(ucs2("Next")))
        reply[64 : 64 + 10] = ucs2("Next")
        return 0, bytes(reply)

    device = FakeDevice(handle)
    client = client_for(device)
    result = client.get_next_variable_name("Current", EFI_GLOBAL_VARIABLE, name_size=64)
    assert (result.status, result.name, result.guid, result.name_size) == (EFI_SUCCESS, "Next", VENDOR, 10)
    (request,) = device.requests
    current = ucs2("Current")
    assert header(request) == (SMM_VARIABLE_PROTOCOL, 16 + 24 + 64, 2, 0)
    assert request[40:56] == EFI_GLOBAL_VARIABLE.bytes_le
    assert struct.unpack_from("<Q", request, 56) == (64,)
    assert request[64:] == current + bytes(64 - len(current))
    # an input name longer than the offered buffer: the area grows to the name
    client.get_next_variable_name("LongerThanFour", EFI_GLOBAL_VARIABLE, name_size=4)
    request = device.requests[-1]
    assert header(request)[1] == 16 + 24 + len(ucs2("LongerThanFour"))
    assert struct.unpack_from("<Q", request, 56) == (4,)


def test_get_next_variable_name_retries_with_the_size_asked_for() -> None:
    long_name = "N" * 100

    def handle(request: bytes) -> tuple[int, bytes]:
        reply = bytearray(request)
        (offered,) = struct.unpack_from("<Q", request, 56)
        needed = len(ucs2(long_name))
        reply[56:64] = struct.pack("<Q", needed)
        reply[40:56] = VENDOR.bytes_le
        if offered < needed:
            reply[32:40] = struct.pack("<Q", EFI_BUFFER_TOO_SMALL)
        else:
            reply[64 : 64 + needed] = ucs2(long_name)
        return 0, bytes(reply)

    device = FakeDevice(handle)
    client = client_for(device)
    result = client.get_next_variable_name()
    assert (result.status, result.name, result.guid) == (EFI_SUCCESS, long_name, VENDOR)
    assert [struct.unpack_from("<Q", r, 56)[0] for r in device.requests] == [128, 202]
    too_small = client.get_next_variable_name("", None, name_size=8)
    assert (too_small.status, too_small.name_size) == (EFI_BUFFER_TOO_SMALL, 202)


def test_query_variable_info_layout() -> None:
    device = FakeDevice(reply_with(struct.pack("<QQQI", 262144, 1000, 65536, 0)))
    client = client_for(device)
    info = client.query_variable_info(0x07)
    assert (info.maximum_variable_storage_size, info.remaining_variable_storage_size) == (262144, 1000)
    assert info.maximum_variable_size == 65536
    (request,) = device.requests
    assert header(request) == (SMM_VARIABLE_PROTOCOL, 16 + 32, 4, 0)
    assert request[40:] == bytes(24) + struct.pack("<I", 7) + bytes(4)


def test_boot_notifications_and_lock_layout() -> None:
    device = FakeDevice(reply_with(b""))
    client = client_for(device)
    assert client.ready_to_boot().status == EFI_SUCCESS
    assert client.exit_boot_service().status == EFI_SUCCESS
    assert client.lock_variable("Locked", VENDOR).status == EFI_SUCCESS
    rtb, ebs, lock = device.requests
    assert rtb == SMM_VARIABLE_PROTOCOL.bytes_le + struct.pack("<QQQ", 16, 5, 0)
    assert ebs == SMM_VARIABLE_PROTOCOL.bytes_le + struct.pack("<QQQ", 16, 6, 0)
    name = ucs2("Locked")
    assert header(lock) == (SMM_VARIABLE_PROTOCOL, 16 + 24 + len(name), 8, 0)
    assert lock[40:] == VENDOR.bytes_le + struct.pack("<Q", len(name)) + name


def test_raw_call_with_lying_length() -> None:
    device = FakeDevice(lambda request: (0x12, request))
    client = client_for(device)
    result = client.call(11, bytes(8), message_length=8)
    assert result.device_status == 0x12
    assert device.requests[-1] == SMM_VARIABLE_PROTOCOL.bytes_le + struct.pack("<QQ", 8, 11)
    with pytest.raises(DeviceStatusError, match="0x12"):
        client.ready_to_boot()


def test_status_values_are_ints() -> None:
    client = client_for(FakeDevice(reply_with(b"", EFI_INVALID_PARAMETER)))
    status = client.set_variable("X", VENDOR, 7, b"1").status
    assert isinstance(status, int) and status == EFI_INVALID_PARAMETER


# --- enumeration over a fake store ------------------------------------------------------------


def test_enumerate_variables() -> None:
    store = [(EFI_GLOBAL_VARIABLE, "Boot0000"), (VENDOR, "Boot0000"), (EFI_GLOBAL_VARIABLE, "Timeout")]

    def handle(request: bytes) -> tuple[int, bytes]:
        reply = bytearray(request)
        guid = UUID(bytes_le=request[40:56])
        (size,) = struct.unpack_from("<Q", request, 56)
        name = request[64:].decode("utf-16-le").split("\0")[0]
        index = 0 if not name else store.index((guid, name)) + 1
        if index >= len(store):
            reply[32:40] = struct.pack("<Q", EFI_NOT_FOUND)
        else:
            guid_out, name_out = store[index]
            raw = ucs2(name_out)
            reply[40:56] = guid_out.bytes_le
            reply[56:64] = struct.pack("<Q", len(raw))
            reply[64 : 64 + len(raw)] = raw
        return 0, bytes(reply)

    for mode in ("dma", "pio"):
        client = client_for(FakeDevice(handle), mode)
        assert client.enumerate_variables() == store


def test_enumerate_detects_a_loop() -> None:
    def handle(request: bytes) -> tuple[int, bytes]:
        reply = bytearray(request)
        reply[40:56] = VENDOR.bytes_le
        reply[56:64] = struct.pack("<Q", 4)
        reply[64:68] = ucs2("A")
        return 0, bytes(reply)

    with pytest.raises(GuestError, match="loops"):
        client_for(FakeDevice(handle)).enumerate_variables()
