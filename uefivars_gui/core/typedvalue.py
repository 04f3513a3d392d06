"""The :class:`TypedValue` protocol of :mod:`.typed` (and its ``Decoder`` alias).

It lives apart from :mod:`.typed` only so that decoding (``uefivars show``) does not
import :mod:`typing` at start-up; :mod:`.typed` re-exports both names, built on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .fields import Field


@runtime_checkable
class TypedValue(Protocol):
    """What every typed decoder returns."""

    @property
    def kind(self) -> str: ...

    def summary(self) -> str:
        """One short line for tables and the CLI."""
        ...

    def fields(self) -> Field:
        """The decoded-field tree; the root spans the whole data."""
        ...

    def to_bytes(self) -> bytes: ...


Decoder = Callable[[bytes], TypedValue]
