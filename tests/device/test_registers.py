"""The register window: widths, commands, buffer size, PIO and CRC32C, resets."""

from __future__ import annotations

import struct

from device_guest import DMA_ADDRESS, Guest, mm_buffer, var_message

from uefivars_gui.core.crc import crc32c
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, SMM_VARIABLE_PROTOCOL
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import BytearrayMemory, DeviceConfig, UefiVarsDevice
from uefivars_gui.device.log import RegisterAccess, Transfer


def new_device(**kw: object) -> UefiVarsDevice:
    return UefiVarsDevice(DeviceConfig(strict=True, **kw), VarStore(), BytearrayMemory(1 << 22))  # type: ignore[arg-type]


def test_magic_and_widths() -> None:
    dev = new_device()
    assert dev.read(0x00, 2) == 0x0EF1
    assert dev.read(0x00, 4) == 0x0EF1  # the 4-byte callback at 0 is MAGIC only
    assert dev.read(0x00, 1) == 0xF1  # widened to 2 bytes, low byte returned
    assert dev.read(0x01, 1) == 0xFF  # a 2-byte callback at 0x01: no register
    assert dev.read(0x06, 2) == 0xFFFF  # not a register: all ones
    assert dev.read(0x14, 4) == 0xFFFFFFFF
    assert dev.read(0x1C, 4) == 0
    assert new_device(use_pio=True).read(0x1C, 4) == 1


def test_unaligned_accesses_are_split_like_qemu() -> None:
    """Values measured on QEMU 10.0.2 (qtest): aligned pieces of at most 4 bytes, no rejection."""
    dev = new_device()
    dev.write(0x04, 4, 0x11223344)  # clamped to 0x10000
    dev.write(0x08, 4, 0x200000)
    assert dev.read(0x1E, 4) == 0x0000FFFF  # 2 bytes at 0x1e (no register), 2 beyond the window (0)
    assert dev.read(0x1C, 8) == 0
    assert dev.read(0x1F, 2) == 0xFF
    assert dev.read(0x04, 8) == 0x0020000000010000
    assert dev.read(0x03, 4) == 0xFF0000FF  # 1 byte at 3, 2 at 4 (0x0000), 1 at 6
    assert dev.read(0x02, 4) == 0x00000000  # CMD_STS (0) and BUFFER_SIZE low half (0x0000)
    dev.write(0x03, 4, 0x00000200)  # the 2-byte piece at 0x04 writes BUFFER_SIZE = 2
    assert dev.read(0x04, 4) == 2
    dev.write(0x02, 1, 0x1)  # a 1-byte write at 0x02: command RESET
    assert dev.read(0x04, 4) == 0
    assert (dev.read(0x01, 2), dev.read(0x01, 1)) == (0xFF, 0xFF)
    assert dev.read(0x16, 4) == 0xFFFF | (dev.read(0x18, 2) << 16)


def test_outside_window_and_bad_width() -> None:
    dev = new_device()
    assert dev.read(0x20, 4) == 0
    assert dev.read(-2, 2) == 0
    assert dev.read(0x04, 3) == 0  # invalid width
    dev.write(0x20, 4, 5)
    notes = [r.note for r in dev.drain_log() if isinstance(r, RegisterAccess) and r.note]
    assert any("outside" in n for n in notes) and any("invalid access width" in n for n in notes)


def test_buffer_size_clamped_and_dma_address() -> None:
    dev = new_device()
    dev.write(0x04, 4, 0x20000)
    assert dev.read(0x04, 4) == 0x10000
    dev.write(0x08, 4, 0x12345678)
    dev.write(0x0C, 4, 0x9)
    assert dev.read(0x08, 8) == 0x9_12345678  # 8-byte read = LO | HI << 32
    dev.write(0x08, 8, 0xAABBCCDD_11223344)  # split into two 4-byte writes
    assert (dev.read(0x08, 4), dev.read(0x0C, 4)) == (0x11223344, 0xAABBCCDD)
    dev.write(0x04, 2, 0x100)  # a 2-byte write stores the 16-bit value
    assert dev.read(0x04, 4) == 0x100
    dev.write(0x00, 8, 0x200_00000000)  # 8 bytes at 0: MAGIC ignored, BUFFER_SIZE = high dword
    assert dev.read(0x04, 4) == 0x200


def test_unknown_command_and_dma_without_buffer() -> None:
    dev = new_device()
    dev.write(0x02, 2, 9)
    assert dev.read(0x02, 2) == 0x11
    dev.write(0x02, 2, 2)  # DMA_MM with no buffer
    assert dev.read(0x02, 2) == 0x12
    dev.write(0x04, 4, 16)  # below 24
    dev.write(0x02, 2, 2)
    assert dev.read(0x02, 2) == 0x12
    dev.write(0x02, 1, 4)  # 1-byte write widened: command 4 (PIO_ZERO_OFFSET)
    assert dev.read(0x02, 2) == 0


def test_soft_reset_keeps_pio_state() -> None:
    dev = new_device()
    dev.write(0x04, 4, 64)
    dev.write(0x08, 4, 0x1000)
    dev.write(0x10, 4, 0xDEADBEEF)
    dev.write(0x02, 2, 1)  # RESET
    assert (dev.read(0x04, 4), dev.read(0x08, 4), dev.read(0x0C, 4)) == (0, 0, 0)
    assert dev.registers.pio_offset == 4 and dev.registers.pio_buffer[:4] == b"\xef\xbe\xad\xde"
    assert dev.read(0x18, 4) == 0  # offset 4 > buf_size 0
    dev.write(0x10, 4, 1)  # dropped: buf_size is 0
    assert dev.registers.pio_offset == 4


def test_pio_transfer_bounds_widening_and_crc() -> None:
    dev = new_device()
    dev.write(0x04, 4, 8)
    dev.write(0x10, 4, 0x04030201)
    dev.write(0x10, 1, 0x05)  # widened: stores 05 00, offset += 2
    assert dev.registers.pio_offset == 6
    dev.write(0x10, 4, 0xFFFFFFFF)  # 6 + 4 > 8: dropped, no advance
    assert dev.registers.pio_offset == 6
    dev.write(0x10, 8, 0x0807_0000_0000)  # low dword would overflow too; high half hits 0x14
    assert dev.registers.pio_offset == 6
    assert dev.read(0x18, 4) == crc32c(bytes([1, 2, 3, 4, 5, 0]))
    assert dev.read(0x18, 2) == crc32c(bytes([1, 2, 3, 4, 5, 0])) & 0xFFFF
    dev.write(0x02, 2, 4)
    assert dev.read(0x10, 8) == 0xFFFFFFFF_04030201  # second half at 0x14: all ones
    assert dev.read(0x10, 1) == 0x05 and dev.registers.pio_offset == 6
    assert dev.read(0x10, 4) == 0  # beyond: 0, no advance
    assert dev.registers.pio_offset == 6
    assert crc32c(b"123456789") == 0xE3069283


def test_buffer_size_realloc_zeroes_pio_buffer() -> None:
    """Intended difference 4: BUFFER_SIZE re-allocates both buffers zero-filled."""
    dev = new_device()
    dev.write(0x04, 4, 16)
    for i in range(4):
        dev.write(0x10, 4, 0x11111111 * (i + 1))
    dev.write(0x04, 4, 16)
    dev.write(0x02, 2, 4)
    assert [dev.read(0x10, 4) for _ in range(4)] == [0, 0, 0, 0]


def test_hard_reset_state() -> None:
    guest = Guest.boot()
    dev = guest.dev
    guest.set_variable("Vol", EFI_GLOBAL_VARIABLE, 7 & ~1, b"x")
    guest.set_variable("Nv", EFI_GLOBAL_VARIABLE, 7, b"y")
    guest.event(__import__("uefivars_gui.core.guid", fromlist=["x"]).END_OF_DXE_EVENT_GROUP)
    assert dev.end_of_dxe
    dev.registers.sts = 0x12
    dev.hard_reset()
    assert not dev.end_of_dxe and dev.read(0x04, 4) == 0 and dev.read(0x08, 4) == 0
    assert dev.read(0x02, 2) == 0x12  # sts survives a hard reset
    assert dev.store.get(EFI_GLOBAL_VARIABLE, "Vol") is None
    assert dev.store.get(EFI_GLOBAL_VARIABLE, "Nv") is not None


def test_dma_request_round_trip_and_transfer_grouping() -> None:
    guest = Guest.boot()
    dev = guest.dev
    dev.drain_log()
    sts, status, reply = guest.var_call(11, bytes(8))
    assert (sts, status, struct.unpack_from("<Q", reply, 40)[0]) == (0, 0, 65496)
    records = dev.drain_log()
    transfers = [r for r in records if isinstance(r, Transfer)]
    assert len(transfers) == 1
    t = transfers[0]
    assert t.accesses[-1].offset == 0x02 and "DMA_MM -> SUCCESS" in (t.accesses[-1].note or "")
    assert t.address == DMA_ADDRESS and t.reply is not None and t.reply.return_status == 0
    # the status poll after the command belongs to the same transfer
    polls = [
        r
        for r in records
        if isinstance(r, RegisterAccess) and r.offset == 0x02 and r.direction.value == "read"
    ]
    assert polls and polls[-1].transfer_id == t.transfer_id
    # the x64 flavour's base address appears in the log
    assert t.accesses[-1].address == 0xFEF10002


def test_pio_mode_guest() -> None:
    guest = Guest.boot(DeviceConfig(strict=True, use_pio=True, flavour="sysbus"))
    assert guest.pio
    status, size = guest.payload_size()
    assert (status, size) == (0, 65496)
    assert guest.set_variable("PioVar", EFI_GLOBAL_VARIABLE, 7, b"hello") == 0
    assert guest.get_variable("PioVar", EFI_GLOBAL_VARIABLE).data == b"hello"
    accesses = [r for r in guest.dev.drain_log() if isinstance(r, RegisterAccess)]
    assert accesses[0].address == 0x0C000000 + accesses[0].offset


def test_pio_message_longer_than_buffer() -> None:
    dev = new_device()
    dev.write(0x04, 4, 64)
    buf = mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(11, bytes(8)))
    buf = buf[:16] + struct.pack("<Q", 100) + buf[24:]  # 24 + 100 > 64
    dev.write(0x02, 2, 4)
    for i in range(0, len(buf), 4):
        dev.write(0x10, 4, int.from_bytes(buf[i : i + 4], "little"))
    dev.write(0x02, 2, 3)
    assert dev.read(0x02, 2) == 0x12


def test_pio_reply_fills_buffer_exactly() -> None:
    """Newest QEMU copies back exactly 24 + L bytes (10.0.2 wrote 24 bytes past the PIO buffer)."""
    dev = new_device()
    size = 72  # QueryVariableInfo as edk2 sends it: 24 + 16 + 32
    dev.write(0x04, 4, size)
    buf = mm_buffer(SMM_VARIABLE_PROTOCOL, var_message(4, bytes(size - 40)))
    assert len(buf) == size
    dev.write(0x02, 2, 4)
    for i in range(0, size, 4):
        dev.write(0x10, 4, int.from_bytes(buf[i : i + 4], "little"))
    dev.write(0x02, 2, 3)
    assert dev.read(0x02, 2) == 0
    assert len(dev.registers.pio_buffer) == size
    dev.write(0x02, 2, 4)
    reply = b"".join(dev.read(0x10, 4).to_bytes(4, "little") for _ in range(size // 4))
    assert reply[:16] == buf[:16] and struct.unpack_from("<QQ", reply, 40) == (262144, 262144)


def test_crc_reads_zero_when_offset_beyond_buffer() -> None:
    """Newest QEMU: CRC32C is 0 when the PIO offset exceeds BUFFER_SIZE (10.0.2 reads past the buffer)."""
    dev = new_device()
    dev.write(0x04, 4, 8)
    dev.write(0x10, 4, 0x01020304)
    dev.write(0x10, 4, 0x05060708)
    assert dev.read(0x18, 4) == crc32c(bytes([4, 3, 2, 1, 8, 7, 6, 5]))
    dev.write(0x04, 4, 4)  # shrink: offset 8 > 4
    assert dev.read(0x18, 4) == 0
