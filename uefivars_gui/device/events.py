"""Boot-phase state and the guided events that change it (qemu-uefi-vars.md §2.1, §2.5).

* EndOfDxe (header GUID only) enables the variable policies.
* ReadyToBoot (header GUID or variable function 5) is recorded only.
* ExitBootServices (header GUID or variable function 6) switches the access rule from
  BOOTSERVICE_ACCESS to RUNTIME_ACCESS.

All three are cleared by a hard reset. The message content of a guided event is ignored
(edk2 sends ``MessageLength = 1, Data[0] = 0``).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ..core.guid import END_OF_DXE_EVENT_GROUP, EVENT_EXIT_BOOT_SERVICES, EVENT_READY_TO_BOOT

#: Header GUID -> QEMU's trace name of the event.
GUIDED_EVENTS: dict[UUID, str] = {
    END_OF_DXE_EVENT_GROUP: "end-of-dxe",
    EVENT_READY_TO_BOOT: "ready-to-boot",
    EVENT_EXIT_BOOT_SERVICES: "exit-boot-service",
}


@dataclass(slots=True)
class BootState:
    end_of_dxe: bool = False
    ready_to_boot: bool = False
    exit_boot_service: bool = False

    def reset(self) -> None:
        self.end_of_dxe = False
        self.ready_to_boot = False
        self.exit_boot_service = False

    def signal(self, name: str) -> None:
        """Set the flag of the event with QEMU's trace ``name``."""
        if name == "end-of-dxe":
            self.end_of_dxe = True
        elif name == "ready-to-boot":
            self.ready_to_boot = True
        elif name == "exit-boot-service":
            self.exit_boot_service = True

    def handle_guided_event(self, guid: UUID) -> str | None:
        """Process an MM message whose header GUID may be an event; the event name or None."""
        name = GUIDED_EVENTS.get(guid)
        if name is not None:
            self.signal(name)
        return name

    @property
    def phase(self) -> str:
        """A readable boot phase."""
        if self.exit_boot_service:
            return "runtime"
        if self.ready_to_boot:
            return "ready-to-boot"
        if self.end_of_dxe:
            return "after EndOfDxe"
        return "DXE"
