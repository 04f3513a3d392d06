"""The one exception hierarchy of the project.

Every error a library function raises on purpose derives from :class:`UefiVarsError`.
Decode errors carry the byte offset at which the input stopped making sense, so that a
view can point at it.
"""

from __future__ import annotations


class UefiVarsError(Exception):
    """Root of every error this package raises on purpose."""


class DecodeError(UefiVarsError):
    """Input bytes (or text) that do not have the expected structure."""

    def __init__(self, message: str, offset: int | None = None, *, what: str | None = None) -> None:
        self.message = message
        self.offset = offset
        self.what = what
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" at byte offset {self.offset} (0x{self.offset:x})" if self.offset is not None else ""
        prefix = f"{self.what}: " if self.what else ""
        return f"{prefix}{self.message}{where}"


class UnknownFormatError(DecodeError):
    """The input is none of the store formats we know."""


class EncodeError(UefiVarsError):
    """A value cannot be represented in the requested format."""


class StoreFullError(EncodeError):
    """The variables do not fit into a fixed-size store (flash image)."""

    def __init__(self, message: str, missing: int) -> None:
        self.missing = missing
        super().__init__(message)


class VariableNotFoundError(UefiVarsError):
    """No variable with that name (and GUID) exists in the store."""


class AmbiguousNameError(UefiVarsError):
    """A bare variable name matches variables in more than one namespace."""


class UsageError(UefiVarsError):
    """A request that is malformed regardless of the data (bad option value, ...)."""
