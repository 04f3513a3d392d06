"""Reset behaviour (QMP system_reset vs hard_reset) and the register interface."""

from __future__ import annotations

import random
import struct

import pytest
from conftest import SMALL_STORE, PairFactory
from sequences import (
    BS,
    EFI_SUCCESS,
    LOCK_NOW,
    NV,
    NV_BS_RT,
    RT,
    VENDOR,
    Pair,
    RegisterOp,
    allowed_pio_readback_difference,
    end_of_dxe,
    exit_boot_services,
    get_variable,
    policy_entry,
    policy_lock,
    reg_read,
    reg_write,
    register_policy,
    set_variable,
)

from uefivars_gui.core.crc import crc32c
from uefivars_gui.core.guid import CUSTOM_MODE_ENABLE, EFI_GLOBAL_VARIABLE, SMM_VARIABLE_PROTOCOL

pytestmark = pytest.mark.qemu

MAGIC, CMD_STS, BUFFER_SIZE, ADDR_LO, ADDR_HI, PIO, CRC, FLAGS = (
    0x00,
    0x02,
    0x04,
    0x08,
    0x0C,
    0x10,
    0x18,
    0x1C,
)


def test_reset_clears_boot_state_volatiles_and_policies(pair_factory: PairFactory) -> None:
    pair = pair_factory(SMALL_STORE)
    pair.same(set_variable("Volatile", VENDOR, BS | RT, b"gone after reset"))
    pair.same(set_variable("Kept", VENDOR, NV_BS_RT, b"kept"))
    pair.same(set_variable("CustomMode", CUSTOM_MODE_ENABLE, NV | BS, b"\x01"))
    pair.same(set_variable("SetupMode", EFI_GLOBAL_VARIABLE, BS | RT, b"\x00"))
    pair.same(register_policy(policy_entry(VENDOR, "Kept", lock_type=LOCK_NOW)))
    pair.same(policy_lock())
    pair.same(end_of_dxe())
    pair.same(exit_boot_services())
    pair.compare_stores()
    pair.reset(reinit=False)
    # the reset freed the buffer and cleared the DMA address; CMD_STS keeps its value
    pair.registers(
        [reg_read(off, w) for off, w in ((MAGIC, 2), (CMD_STS, 2), (BUFFER_SIZE, 4), (ADDR_LO, 4))]
    )
    pair.registers([reg_read(ADDR_HI), reg_read(FLAGS)])
    pair.ours.session.initialize()
    pair.theirs.session.initialize()
    pair.compare_stores()  # QEMU rewrote the file at reset (auth_init)
    assert pair.same(set_variable("Kept", VENDOR, NV_BS_RT, b"policy gone")).status == EFI_SUCCESS
    assert pair.same(register_policy(policy_entry(VENDOR, "New"))).policy_result == EFI_SUCCESS  # unlocked
    pair.snapshot()  # BS variables visible again, Volatile gone, CustomMode 0, SetupMode recomputed
    pair.compare_stores()


def test_repeated_resets(pair: Pair) -> None:
    for round_ in range(3):
        pair.same(set_variable(f"Round{round_}", VENDOR, NV_BS_RT, bytes([round_])))
        pair.same(set_variable("Vol", VENDOR, BS, bytes([round_])))
        pair.reset()
        pair.snapshot()
        pair.compare_stores()


def test_session_registers(pair: Pair) -> None:
    """Everything edk2's VirtMmCommunicationDxe reads, plus the unmapped offsets."""
    pair.registers([reg_read(off, 2) for off in (MAGIC, CMD_STS)])
    pair.registers([reg_read(off, 4) for off in (BUFFER_SIZE, ADDR_LO, ADDR_HI, FLAGS, 0x14)])
    pair.registers([reg_read(off, w) for off in (0x00, 0x02, 0x06, 0x1E) for w in (1, 2)])


def test_device_commands_and_status(pair: Pair) -> None:
    ops = [
        reg_write(CMD_STS, 2, 0x09),  # unknown command -> 0x11
        reg_read(CMD_STS, 2),
        reg_write(CMD_STS, 2, 0x04),  # PIO_ZERO_OFFSET
        reg_read(CMD_STS, 2),
        reg_write(BUFFER_SIZE, 4, 0x20000),  # clamped to 64 KiB
        reg_read(BUFFER_SIZE),
        reg_write(BUFFER_SIZE, 4, 16),  # smaller than the MM header
        reg_write(CMD_STS, 2, 0x02),  # DMA_MM -> 0x12
        reg_read(CMD_STS, 2),
        reg_write(CMD_STS, 2, 0x01),  # RESET: buffer freed, address cleared
        reg_read(BUFFER_SIZE),
        reg_read(ADDR_LO),
        reg_write(CMD_STS, 2, 0x02),  # no buffer -> 0x12
        reg_read(CMD_STS, 2),
        reg_write(CMD_STS, 2, 0x03),  # PIO_MM, no buffer -> 0x12
        reg_read(CMD_STS, 2),
        reg_write(MAGIC, 2, 0x1234),  # ignored
        reg_read(MAGIC, 2),
        reg_write(FLAGS, 4, 0xFFFFFFFF),  # ignored
        reg_read(FLAGS),
        reg_write(CRC, 4, 0x12345678),  # read-only
    ]
    pair.registers(ops)
    pair.ours.session.initialize()
    pair.theirs.session.initialize()
    pair.same(get_variable("SetupMode", EFI_GLOBAL_VARIABLE, 8))


def _dma_request(message_length: int, function: int = 4) -> bytes:
    message = struct.pack("<QQ", function, 0) + bytes(32)
    return SMM_VARIABLE_PROTOCOL.bytes_le + struct.pack("<Q", message_length) + message


def test_dma_buffer_size_limits(pair: Pair) -> None:
    """BUFFER_SIZE below 24 + MessageLength -> 0x12 without write-back; exactly enough -> served."""
    if pair.mode != "dma":
        pytest.skip("DMA transfers only")
    request = _dma_request(48)
    ops: list[RegisterOp] = []
    for size in (24, 24 + 47, 24 + 48, 100):
        ops += [
            reg_write(BUFFER_SIZE, 4, size),
            RegisterOp("mem_write", 0, data=request),
            reg_write(CMD_STS, 2, 0x02),
            reg_read(CMD_STS, 2),
        ]
        ops += [RegisterOp("mem_read", off, 8) for off in range(0, len(request), 8)]
    pair.registers(ops)


def test_pio_transfer_register(pair: Pair) -> None:
    """PIO: widths, CRC32C, reads and writes beyond BUFFER_SIZE (dropped, offset kept)."""
    words = [0x11223344, 0x55667788, 0x99AABBCC, 0xDDEEFF00]
    ops = [reg_write(BUFFER_SIZE, 4, 16), reg_write(CMD_STS, 2, 0x04)]
    ops += [reg_write(PIO, 4, w) for w in words]
    ops += [reg_read(CRC), reg_write(PIO, 4, 0xDEADBEEF), reg_read(CRC)]  # beyond: dropped
    ops += [reg_write(CMD_STS, 2, 0x04), reg_read(PIO, 2), reg_read(PIO, 1), reg_read(PIO, 4), reg_read(CRC)]
    ops += [reg_read(PIO, 4), reg_read(PIO, 4), reg_read(PIO, 4), reg_read(CRC)]  # the last is beyond
    ops += [reg_write(CMD_STS, 2, 0x04), reg_write(PIO, 2, 0xABCD), reg_write(PIO, 1, 0xEF), reg_read(CRC)]
    pair.registers(ops)
    assert crc32c(b"123456789") == 0xE3069283


def test_pio_buffer_after_reallocation(pair: Pair) -> None:
    """Intended difference 4: a BUFFER_SIZE write gives a zeroed PIO buffer (QEMU 10.0.2: g_malloc)."""
    pair.same(set_variable("Filler", VENDOR, NV_BS_RT, b"\xa5" * 200))
    pair.same(get_variable("Filler", VENDOR, 300))
    script = [reg_write(BUFFER_SIZE, 4, 0x10000), reg_write(CMD_STS, 2, 0x04)]
    targets = (pair.ours.session.target, pair.theirs.session.target)
    for target in targets:
        for op in script:
            op.apply(target)
    ours, theirs = (b"".join(t.read(PIO, 4).to_bytes(4, "little") for _ in range(128)) for t in targets)
    assert ours == bytes(512)
    if ours != theirs:  # what 10.0.2 shows depends on its heap; seen: old bytes
        assert allowed_pio_readback_difference(ours, theirs) == "4", (ours.hex(), theirs.hex())
    pair.ours.session.initialize()
    pair.theirs.session.initialize()
    pair.same(get_variable("Filler", VENDOR, 300))


@pytest.mark.parametrize("seed", [1, 2])
def test_random_register_accesses(pair: Pair, seed: int) -> None:
    """A seeded random walk over the register window (regdiff from the engine's oracle runs).

    Avoided, because QEMU 10.0.2 crashes or differs on purpose there: DMA/PIO MM commands
    (covered elsewhere), CRC reads with the PIO offset beyond BUFFER_SIZE (A6, reads past
    QEMU's heap buffer), and old PIO bytes after a BUFFER_SIZE write (4: zero-filled here).
    """
    rng = random.Random(seed)
    dev = pair.device

    def zero_fill() -> None:
        size = dev.registers.buf_size
        fill = [reg_write(CMD_STS, 2, 4)] + [reg_write(PIO, 4, 0)] * (size // 4)
        fill += [reg_write(PIO, 2, 0)] * (size % 4 // 2) + [reg_write(CMD_STS, 2, 4)]
        pair.registers(fill)

    pair.registers([reg_write(BUFFER_SIZE, 4, 0x100)])
    zero_fill()
    for _ in range(250):
        width = rng.choice([1, 2, 4, 8])
        offset = rng.choice([0, 2, 4, 8, 0xC, 0x10, 0x10, 0x10, 0x14, 0x18, 0x1C])
        offset -= offset % width
        if rng.random() < 0.5:
            if offset in (0, 2) and width in (1, 2):
                value = rng.choice([1, 4, 4, 9])
            elif offset == 4:
                value = rng.choice([0, 16, 24, 64, 0x100])
            else:
                value = rng.randrange(1 << (8 * width))
            touches_cmd = offset <= 2 < offset + width and ((value >> (8 * (2 - offset))) & 0xFFFF) in (2, 3)
            big_buffer = offset != 4 and offset < 8 and offset + width > 4  # keeps the zero-fills short
            if touches_cmd or big_buffer:
                continue
            op = reg_write(offset, width, value)
            pair.registers([op])
            if offset <= 4 < offset + width:  # a (re)allocation: zero the PIO buffer on both (difference 4)
                zero_fill()
        else:
            if (
                offset < CRC + 4
                and offset + width > CRC
                and dev.registers.pio_offset > dev.registers.buf_size
            ):
                continue
            pair.registers([reg_read(offset, width)])
    pair.ours.session.initialize()
    pair.theirs.session.initialize()
    pair.same(get_variable("SetupMode", EFI_GLOBAL_VARIABLE, 8))
