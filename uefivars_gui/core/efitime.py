"""EFI_TIME: the 16-byte timestamp of time-based authenticated variables."""

from __future__ import annotations

import struct

from ..errors import DecodeError
from .record import value

TYPE_CHECKING = False
if TYPE_CHECKING:  # datetime is imported only when needed: start-up time of `uefivars show`
    import datetime as _dt

EFI_TIME_SIZE = 16
_STRUCT = struct.Struct("<HBBBBBBIhBB")


@value
class EfiTime:
    year: int = 0
    month: int = 0
    day: int = 0
    hour: int = 0
    minute: int = 0
    second: int = 0
    pad1: int = 0
    nanosecond: int = 0
    timezone: int = 0
    daylight: int = 0
    pad2: int = 0

    @classmethod
    def from_bytes(cls, data: bytes, offset: int = 0) -> EfiTime:
        chunk = data[offset : offset + EFI_TIME_SIZE]
        if len(chunk) != EFI_TIME_SIZE:
            raise DecodeError("truncated EFI_TIME", offset)
        return cls(*_STRUCT.unpack(chunk))

    def to_bytes(self) -> bytes:
        return _STRUCT.pack(
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.pad1,
            self.nanosecond, self.timezone, self.daylight, self.pad2,
        )

    @classmethod
    def from_datetime(cls, when: _dt.datetime) -> EfiTime:
        """A UTC timestamp as firmware tools write it (pads, nanosecond, zone zero)."""
        import datetime as _dt

        if when.tzinfo is not None:
            when = when.astimezone(_dt.UTC)
        return cls(when.year, when.month, when.day, when.hour, when.minute, when.second)

    @classmethod
    def parse(cls, text: str) -> EfiTime:
        """Parse ``YYYY-MM-DDTHH:MM:SS[Z]`` (UTC)."""
        import datetime as _dt

        stripped = text.strip().removesuffix("Z").removesuffix("z")
        try:
            when = _dt.datetime.fromisoformat(stripped)
        except ValueError as exc:
            raise DecodeError(f"not a timestamp (YYYY-MM-DDTHH:MM:SS): {text!r}", what="time") from exc
        return cls.from_datetime(when)

    @property
    def is_zero(self) -> bool:
        return self == ZERO_TIME

    def sort_key(self) -> tuple[int, int, int, int, int, int]:
        """The fields edk2 compares (nanosecond ignored)."""
        return (self.year, self.month, self.day, self.hour, self.minute, self.second)

    def is_later_than(self, other: EfiTime) -> bool:
        """edk2's rule for authenticated writes: strictly later, ignoring nanoseconds."""
        return self.sort_key() > other.sort_key()

    def to_datetime(self) -> _dt.datetime | None:
        import datetime as _dt

        try:
            return _dt.datetime(self.year, self.month, self.day, self.hour, self.minute, self.second,
                                tzinfo=_dt.UTC)
        except ValueError:
            return None

    def __str__(self) -> str:
        if self.is_zero:
            return "-"
        text = (f"{self.year:04d}-{self.month:02d}-{self.day:02d}T"
                f"{self.hour:02d}:{self.minute:02d}:{self.second:02d}")
        if self.nanosecond:
            text += f".{self.nanosecond:09d}"
        return text


ZERO_TIME = EfiTime()
