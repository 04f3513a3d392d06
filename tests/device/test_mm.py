"""MM command handling: header checks, dispatch, write-back, events, DMA failures, pcap."""

from __future__ import annotations

import struct
from uuid import UUID

from device_guest import DMA_ADDRESS, EFI_SUCCESS, Guest, mm_buffer, var_message

from uefivars_gui.core.guid import (
    EFI_GLOBAL_VARIABLE,
    END_OF_DXE_EVENT_GROUP,
    EVENT_EXIT_BOOT_SERVICES,
    EVENT_READY_TO_BOOT,
    SMM_VARIABLE_PROTOCOL,
)
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import BytearrayMemory, DeviceConfig, DeviceStatus, UefiVarsDevice
from uefivars_gui.device.log import BootEvent, DmaError, MalformedRequest, MmReply, PcapRecord, Transfer
from uefivars_gui.device.status import PcapRecordType


def test_unknown_guid_not_supported_but_written_back() -> None:
    guest = Guest.boot()
    guest.dev.drain_log()
    buf = mm_buffer(UUID(int=42), b"hello")
    sts, reply = guest.communicate_raw(buf)
    assert sts == 0x11 and reply == buf
    log = guest.dev.drain_log()
    assert [r.kind for r in log if isinstance(r, PcapRecord)] == [
        PcapRecordType.REQUEST,
        PcapRecordType.REPLY,
    ]
    replies = [r for r in log if isinstance(r, MmReply)]
    assert replies[0].problem and "no handler" in replies[0].problem


def test_events_by_header_guid() -> None:
    guest = Guest.boot()
    dev = guest.dev
    assert not (dev.end_of_dxe or dev.ready_to_boot or dev.exit_boot_service)
    for guid in (END_OF_DXE_EVENT_GROUP, EVENT_READY_TO_BOOT, EVENT_EXIT_BOOT_SERVICES):
        assert guest.event(guid) == 0
    assert dev.end_of_dxe and dev.ready_to_boot and dev.exit_boot_service
    assert [r.name for r in dev.drain_log() if isinstance(r, BootEvent)] == [
        "end-of-dxe",
        "ready-to-boot",
        "exit-boot-service",
    ]
    assert guest.communicate_raw(mm_buffer(END_OF_DXE_EVENT_GROUP, b""))[0] == 0  # MessageLength 0 is fine
    dev.hard_reset()
    assert not (dev.end_of_dxe or dev.ready_to_boot or dev.exit_boot_service)


def test_message_length_checks_and_no_write_back() -> None:
    guest = Guest.boot()
    memory = guest.memory
    assert memory is not None
    sentinel = b"\xaa" * 64
    for length in ((1 << 64) - 1, 0x10000 - 23, 1 << 40):
        buf = SMM_VARIABLE_PROTOCOL.bytes_le + struct.pack("<Q", length) + sentinel
        memory.write(DMA_ADDRESS, buf)
        guest.dev.write(0x02, 2, 2)
        assert guest.dev.read(0x02, 2) == 0x12
        assert memory.read(DMA_ADDRESS, len(buf)) == buf
    assert any(
        isinstance(r, MalformedRequest) and "exceeds BUFFER_SIZE" in r.reason for r in guest.dev.drain_log()
    )
    # exactly 24 + L = buffer size is accepted
    buf = mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(11) + bytes(0x10000 - 40))
    sts, reply = guest.communicate_raw(buf)
    assert sts == 0 and struct.unpack_from("<QQ", reply, 32) == (EFI_SUCCESS, 65496)


def test_write_back_is_exactly_24_plus_l_and_l_unchanged() -> None:
    guest = Guest.boot()
    memory = guest.memory
    assert memory is not None
    buf = mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(11, bytes(8)))
    memory.write(DMA_ADDRESS, buf + b"\x77" * 32)
    guest.dev.write(0x02, 2, 2)
    after = memory.read(DMA_ADDRESS, len(buf) + 32)
    assert after[len(buf) :] == b"\x77" * 32
    assert after[16:24] == buf[16:24]


def test_dma_out_of_range() -> None:
    """Intended difference A5: a failing guest-memory access ends the command with 0x10."""
    memory = BytearrayMemory(0x1000, base=0x1000)
    dev = UefiVarsDevice(DeviceConfig(strict=True), VarStore(), memory)
    dev.hard_reset()
    dev.write(0x04, 4, 0x10000)
    dev.write(0x08, 4, 0xFFFFF000)
    dev.write(0x0C, 4, 0xFFFFFFFF)
    dev.write(0x02, 2, 2)
    assert dev.read(0x02, 2) == 0x10
    assert any(isinstance(r, DmaError) for r in dev.drain_log())
    # header readable, message not
    dev.write(0x08, 4, 0x1FF0 - 8)
    dev.write(0x0C, 4, 0)
    memory.write(0x1FF0 - 8, SMM_VARIABLE_PROTOCOL.bytes_le + struct.pack("<Q", 16))
    dev.write(0x02, 2, 2)
    assert dev.read(0x02, 2) == 0x10

    class WriteFails(BytearrayMemory):
        def write(self, addr: int, data: bytes) -> None:
            raise OSError("VMM refused the DMA write")

    bad = WriteFails(1 << 20)
    dev = UefiVarsDevice(DeviceConfig(strict=True), VarStore(), bad)
    guest = Guest(dev, bad, address=0x1000)
    dev.hard_reset()
    guest.init()
    raw = "X\0".encode("utf-16-le")
    payload = EFI_GLOBAL_VARIABLE.bytes_le + struct.pack("<QQI", 1, len(raw), 7) + raw + b"1"
    bad.data[0x1000 : 0x1000 + 100] = mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(3, payload)).ljust(
        100, b"\0"
    )
    dev.write(0x02, 2, 2)
    assert dev.read(0x02, 2) == 0x10
    assert dev.store.get(EFI_GLOBAL_VARIABLE, "X") is not None  # the variable was set before the write failed
    transfers = [r for r in dev.drain_log() if isinstance(r, Transfer)]
    assert transfers[-1].device_status == 0x10


def test_dma_not_served() -> None:
    dev = UefiVarsDevice(DeviceConfig(strict=True), VarStore(), None)
    dev.write(0x04, 4, 0x10000)
    dev.write(0x02, 2, 2)
    assert dev.read(0x02, 2) == 0x11


def test_pcap_records() -> None:
    guest = Guest.boot()
    reset = [r for r in guest.dev.drain_log() if isinstance(r, PcapRecord)]
    assert [r.kind for r in reset] == [PcapRecordType.RESET] and reset[0].packet_data == b"\x01\0\0\0"
    buf = mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(11, bytes(8)))
    _, reply = guest.communicate_raw(buf)
    recs = [r for r in guest.dev.drain_log() if isinstance(r, PcapRecord)]
    assert [(r.kind, r.payload) for r in recs] == [
        (PcapRecordType.REQUEST, buf),
        (PcapRecordType.REPLY, reply),
    ]
    assert recs[1].packet_data == b"\x03\0\0\0" + reply
    quiet = Guest.boot(DeviceConfig(strict=True, emit_pcap=False))
    assert not [r for r in quiet.dev.drain_log() if isinstance(r, PcapRecord)]


def test_handle_mm_direct() -> None:
    dev = UefiVarsDevice(DeviceConfig(strict=True), VarStore(), None)
    dev.hard_reset()
    buf = mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(11, bytes(8)))
    out = dev.handle_mm(buf + b"tail")
    assert out.endswith(b"tail") and struct.unpack_from("<Q", out, 40)[0] == 65496
    assert dev.handle_mm(b"short") == b"short"
    long_l = buf[:16] + struct.pack("<Q", 1000) + buf[24:]
    assert dev.handle_mm(long_l) == long_l
    outcome = dev.process_mm(buf, buf_size=0x100)
    assert outcome.device_status == DeviceStatus.SUCCESS and outcome.reply is not None
    assert struct.unpack_from("<Q", outcome.reply, 40)[0] == 0x100 - 40
    assert dev.process_mm(buf, buf_size=10).device_status == DeviceStatus.ERR_BAD_BUFFER_SIZE
    bad = dev.process_mm(mm_buffer(SMM_VARIABLE_PROTOCOL, b"x"))
    assert bad.device_status == DeviceStatus.ERR_BAD_BUFFER_SIZE and bad.reply is not None


def test_internal_errors_answer_err_unknown() -> None:
    dev = UefiVarsDevice(DeviceConfig(), VarStore(), None)  # not strict

    def boom(buf: bytearray, buf_size: int) -> tuple[DeviceStatus, str | None]:
        raise RuntimeError("bug")

    dev.dispatcher.dispatch = boom  # type: ignore[method-assign]
    out = dev.process_mm(mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(11, bytes(8))))
    assert out.device_status == DeviceStatus.ERR_UNKNOWN
    assert any(type(r).__name__ == "InternalError" for r in dev.drain_log())
