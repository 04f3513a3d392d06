"""A :class:`~uefivars_gui.live.guest.Target` for the in-process device engine.

:class:`EngineTarget` puts a :class:`~uefivars_gui.device.engine.UefiVarsDevice` and a
bytearray guest RAM behind the four ``Target`` methods, so that
:class:`~uefivars_gui.live.guest.GuestSession` and
:class:`~uefivars_gui.live.guest.VariableClient` drive the engine exactly as they drive
QEMU (qtest) or ``uefivars serve`` (UVBP) — no sockets, no threads.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.store import VarStore
from ..device.auth import Pkcs7Verifier
from ..device.config import DeviceConfig
from ..device.engine import BytearrayMemory, UefiVarsDevice

__all__ = ["DEFAULT_MEMORY_BASE", "DEFAULT_MEMORY_SIZE", "EngineTarget"]

#: Guest RAM of the target: 128 KiB at 2 MiB, room for edk2's 64 KiB DMA buffer.
DEFAULT_MEMORY_BASE = 0x00200000
DEFAULT_MEMORY_SIZE = 0x20000


class EngineTarget:
    """Register window and guest RAM of an in-process :class:`UefiVarsDevice`.

    With ``device=None`` a device is made from ``config`` and ``store`` and gets its
    machine-start hard reset. A given device keeps its state; its guest memory is
    replaced by this target's RAM unless it already is a :class:`BytearrayMemory`.
    ``dma_buffer_addr`` is where :class:`~uefivars_gui.live.guest.GuestSession` puts its
    DMA buffer by default (the start of the RAM).
    """

    def __init__(
        self,
        device: UefiVarsDevice | None = None,
        *,
        config: DeviceConfig | None = None,
        store: VarStore | None = None,
        verifier: Pkcs7Verifier | None = None,
        memory: BytearrayMemory | None = None,
        memory_base: int = DEFAULT_MEMORY_BASE,
        memory_size: int = DEFAULT_MEMORY_SIZE,
        serve_dma: bool = True,
    ) -> None:
        if memory is None:
            existing = device.memory if device is not None else None
            memory = (
                existing
                if isinstance(existing, BytearrayMemory)
                else BytearrayMemory(memory_size, memory_base)
            )
        self.memory = memory
        if device is None:
            device = UefiVarsDevice(
                config or DeviceConfig(), store if store is not None else VarStore(), None, verifier
            )
            device.memory = memory if serve_dma else None
            device.hard_reset()
        else:
            device.memory = memory if serve_dma else None
        self.device = device
        self.dma_buffer_addr = memory.base

    # -- Target ---------------------------------------------------------------------------
    def read(self, offset: int, width: int) -> int:
        return self.device.read(offset, width)

    def write(self, offset: int, width: int, value: int) -> None:
        self.device.write(offset, width, value)

    def mem_read(self, addr: int, length: int) -> bytes:
        return self.memory.read(addr, length)

    def mem_write(self, addr: int, data: bytes) -> None:
        self.memory.write(addr, bytes(data))

    # -- BurstTarget (PIO transfers without per-call overhead) ---------------------------
    def read_burst(self, offset: int, width: int, count: int) -> list[int]:
        read = self.device.read
        return [read(offset, width) for _ in range(count)]

    def write_burst(self, offset: int, width: int, values: Sequence[int]) -> None:
        write = self.device.write
        for value in values:
            write(offset, width, value)

    # -- conveniences -------------------------------------------------------------------
    @property
    def store(self) -> VarStore:
        return self.device.store

    def reset(self) -> None:
        """The device's hard reset (what a UVBP RESET or a machine reset does)."""
        self.device.hard_reset()
