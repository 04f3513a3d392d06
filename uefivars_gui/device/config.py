"""Device properties (QEMU's ``-device uefi-vars-x64,...``) and engine options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import UsageError
from .status import DEFAULT_STORAGE_SIZE, SYSBUS_BASE_ADDRESS, X64_BASE_ADDRESS

Flavour = Literal["x64", "sysbus"]


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """The device's properties plus a few engine options.

    QEMU properties: ``size`` (storage quota), ``use_pio``, ``force_secure_boot``,
    ``disable_custom_mode``; ``flavour`` picks the register base shown in logs
    (uefi-vars-x64 at 0xfef10000, uefi-vars-sysbus typically at 0x0c000000).

    Engine options:

    * ``allow_unsigned_pk_in_setup_mode`` — accept a PK written in setup mode with a bare
      24-byte WIN_CERTIFICATE_UEFI_GUID (edk2/OVMF with ``PcdRequireSelfSignedPk`` FALSE,
      what EnrollDefaultKeys does). QEMU (and the default here) requires a self-signed PK.
    * ``log_register_accesses`` / ``emit_pcap`` — record those (cheap; on by default).
    * ``log_limit`` — how many records ``drain_log`` keeps before dropping the oldest.
    * ``strict`` — re-raise internal errors instead of answering ERR_UNKNOWN (tests).
    """

    size: int = DEFAULT_STORAGE_SIZE
    use_pio: bool = False
    force_secure_boot: bool = False
    disable_custom_mode: bool = False
    flavour: Flavour = "x64"
    allow_unsigned_pk_in_setup_mode: bool = False
    log_register_accesses: bool = True
    emit_pcap: bool = True
    log_limit: int = 100_000
    strict: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.size < 1 << 63:
            raise UsageError(f"storage size must be positive, not {self.size}")
        if self.flavour not in ("x64", "sysbus"):
            raise UsageError(f"flavour must be 'x64' or 'sysbus', not {self.flavour!r}")
        if self.log_limit < 1:
            raise UsageError("log_limit must be at least 1")

    @property
    def base_address(self) -> int:
        return X64_BASE_ADDRESS if self.flavour == "x64" else SYSBUS_BASE_ADDRESS

    @property
    def device_name(self) -> str:
        return f"uefi-vars-{self.flavour}"
