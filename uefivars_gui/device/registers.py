"""The register window (qemu-uefi-vars.md §1.4) and how QEMU's memory core reaches it.

The device implements 2- and 4-byte callbacks (``impl.min_access_size = 2``,
``max_access_size = 4``, no ``.valid`` limits) that switch on the exact offset. QEMU's
memory core adapts a guest access to that. Measured against QEMU 10.0.2 (qtest, which
takes the same address-space path as KVM MMIO exits):

* an access is split into naturally aligned pieces of at most 4 bytes, each no larger
  than the alignment of its address (an 8-byte access at 0x10 becomes 4 bytes at 0x10
  and 4 at 0x14; a 4-byte read at 0x16 becomes 2 bytes at 0x16 and 2 at 0x18);
  **unaligned accesses are not rejected** (the spec's "rejected" was an inference);
* a 1-byte piece becomes a 2-byte callback at the same offset (so a PIO transfer moves
  2 bytes and the offset advances by 2); a read returns the low byte;
* a piece at an offset that is no register reads all ones (``-1`` truncated), and a
  write there is ignored (so the high half of an 8-byte PIO write is lost);
* bytes beyond the 0x20-byte window read 0 and are not written (unassigned memory).

Commands are executed synchronously by the ``run_command`` callback the engine supplies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..core.crc import crc32c
from .status import FLAG_USE_PIO, MAGIC_VALUE, MAX_BUFFER_SIZE, REGS_SIZE, Register

_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF, 8: 0xFFFFFFFFFFFFFFFF}
_REGISTER_NAMES = {int(r): r.name for r in Register}


def register_name(offset: int) -> str | None:
    return _REGISTER_NAMES.get(offset)


@dataclass(frozen=True, slots=True)
class AccessResult:
    """What one guest access did: the value (reads), and a note when it matters."""

    value: int
    note: str | None = None
    rejected: bool = False


class RegisterFile:
    """Register state: status, buffer size and both buffers' existence, DMA address, PIO."""

    def __init__(self, use_pio: bool, run_command: Callable[[int], int]) -> None:
        self.use_pio = use_pio
        self._run_command = run_command
        self.sts = 0
        self.buf_size = 0
        #: QEMU's ``buffer`` pointer is non-NULL (BUFFER_SIZE written with a non-zero size)
        self.has_buffer = False
        self.addr_lo = 0
        self.addr_hi = 0
        self.pio_offset = 0
        self.pio_buffer = bytearray()
        self._note: str | None = None

    @property
    def dma_address(self) -> int:
        return self.addr_lo | (self.addr_hi << 32)

    def soft_reset(self) -> None:
        """CMD RESET: drop the buffer, size 0, DMA address 0 (PIO buffer and offset stay)."""
        self.has_buffer = False
        self.buf_size = 0
        self.addr_lo = 0
        self.addr_hi = 0

    # -- guest accesses ---------------------------------------------------------------
    def read(self, offset: int, width: int) -> AccessResult:
        bad = self._invalid(offset, width)
        if bad:
            return AccessResult(0, bad, rejected=True)
        self._note = None
        value = 0
        for addr, size in self._pieces(offset, width):
            if addr + size > REGS_SIZE:
                self._add_note("beyond the register window: reads 0")
                continue
            # a 1-byte piece is a 2-byte callback whose low byte is returned
            piece = self._callback_read(addr, 2) & 0xFF if size == 1 else self._callback_read(addr, size)
            value |= piece << (8 * (addr - offset))
        return AccessResult(value, self._note)

    def write(self, offset: int, width: int, value: int) -> AccessResult:
        bad = self._invalid(offset, width)
        if bad:
            return AccessResult(0, bad, rejected=True)
        self._note = None
        value &= _MASKS[width]
        for addr, size in self._pieces(offset, width):
            if addr + size > REGS_SIZE:
                self._add_note("beyond the register window: dropped")
                continue
            piece = (value >> (8 * (addr - offset))) & _MASKS[size]
            self._callback_write(addr, 2 if size == 1 else size, piece)
        return AccessResult(value, self._note)

    @staticmethod
    def _pieces(offset: int, width: int) -> list[tuple[int, int]]:
        """Split like QEMU's ``memory_access_size``: aligned, at most 4 bytes each."""
        pieces = []
        addr, remaining = offset, width
        while remaining:
            limit = 4
            align = addr & -addr
            if align and align < limit:
                limit = align
            size = min(remaining, limit)
            size = 1 << (size.bit_length() - 1)  # round down to a power of two
            pieces.append((addr, size))
            addr += size
            remaining -= size
        return pieces

    @staticmethod
    def _invalid(offset: int, width: int) -> str | None:
        if width not in _MASKS:
            return f"rejected: invalid access width {width}"
        if offset < 0 or offset >= REGS_SIZE:
            return "rejected: outside the register window"
        return None

    def _add_note(self, text: str) -> None:
        self._note = text if self._note is None else f"{self._note}; {text}"

    # -- the device callbacks (size 2 or 4) -------------------------------------------
    def _callback_read(self, addr: int, size: int) -> int:
        mask = _MASKS[size]
        if addr == Register.MAGIC:
            return MAGIC_VALUE & mask
        if addr == Register.CMD_STS:
            return self.sts & mask
        if addr == Register.BUFFER_SIZE:
            return self.buf_size & mask
        if addr == Register.DMA_BUFFER_ADDR_LO:
            return self.addr_lo & mask
        if addr == Register.DMA_BUFFER_ADDR_HI:
            return self.addr_hi & mask
        if addr == Register.PIO_BUFFER_TRANSFER:
            if self.pio_offset + size > self.buf_size:
                self._add_note("PIO read beyond the buffer: 0, offset not advanced")
                return 0
            start = self.pio_offset
            self.pio_offset += size
            return int.from_bytes(self.pio_buffer[start : start + size], "little")
        if addr == Register.PIO_BUFFER_CRC32C:
            if self.pio_offset > self.buf_size:
                return 0
            return crc32c(bytes(self.pio_buffer[: self.pio_offset])) & mask
        if addr == Register.FLAGS:
            return (FLAG_USE_PIO if self.use_pio else 0) & mask
        return mask  # -1 truncated to the access size

    def _callback_write(self, addr: int, size: int, value: int) -> None:
        if addr == Register.CMD_STS:
            self.sts = self._run_command(value & 0xFFFFFFFF) & 0xFFFF
        elif addr == Register.BUFFER_SIZE:
            new_size = min(value, MAX_BUFFER_SIZE)
            if new_size != value:
                self._add_note(f"clamped to {MAX_BUFFER_SIZE}")
            self.buf_size = new_size
            self.has_buffer = new_size > 0
            self.pio_buffer = bytearray(new_size)
        elif addr == Register.DMA_BUFFER_ADDR_LO:
            self.addr_lo = value & 0xFFFFFFFF
        elif addr == Register.DMA_BUFFER_ADDR_HI:
            self.addr_hi = value & 0xFFFFFFFF
        elif addr == Register.PIO_BUFFER_TRANSFER:
            if self.pio_offset + size > self.buf_size:
                self._add_note("PIO write beyond the buffer: dropped")
                return
            start = self.pio_offset
            self.pio_buffer[start : start + size] = value.to_bytes(size, "little")
            self.pio_offset += size
        elif addr in (Register.MAGIC, Register.PIO_BUFFER_CRC32C, Register.FLAGS):
            return
        else:
            self._add_note("no register here: ignored")
