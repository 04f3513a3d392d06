"""A UEFI variable as a value."""

from __future__ import annotations

from uuid import UUID

from .attributes import AT, Attributes, format_attributes
from .efitime import EfiTime
from .guid import guid_label
from .record import replace, value
from .ucs2 import encode_ucs2

VariableKey = tuple[UUID, str]


@value
class Variable:
    """One variable: its identity (GUID, name), attributes, data and auth metadata.

    ``timestamp`` is the stored EFI_TIME of a time-based authenticated variable (None
    where the source had none). ``digest`` is QEMU's signer digest for private
    authenticated variables (kept so that a round trip through our tools loses nothing).
    """

    name: str
    guid: UUID
    attributes: Attributes
    data: bytes
    timestamp: EfiTime | None = None
    digest: bytes | None = None

    @property
    def key(self) -> VariableKey:
        return (self.guid, self.name)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def name_bytes(self) -> bytes:
        """UCS-2 name including the NUL terminator."""
        return encode_ucs2(self.name)

    @property
    def is_time_authenticated(self) -> bool:
        return bool(self.attributes & AT)

    def with_data(self, data: bytes) -> Variable:
        return replace(self, data=bytes(data))

    def evolve(self, **changes: object) -> Variable:
        return replace(self, **changes)

    def describe(self) -> str:
        return f"{self.name} ({guid_label(self.guid)}, {format_attributes(self.attributes)}, {self.size} bytes)"
