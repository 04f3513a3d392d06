"""Reading and writing the store files named on the command line."""

from __future__ import annotations

import os

from ..codec.base import StoreDocument, StoreFormat
from ..core.record import value
from ..core.store import VarStore
from ..errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pathlib is imported only when needed: start-up time of `uefivars show`
    from pathlib import Path

_EXTENSIONS = {".json": StoreFormat.JSON, ".fd": StoreFormat.EDK2, ".aws": StoreFormat.AWS}


@value
class OpenedStore:
    #: The path as given on the command line.
    location: str | os.PathLike[str]
    document: StoreDocument

    @property
    def path(self) -> Path:
        from pathlib import Path

        return Path(self.location)

    @property
    def store(self) -> VarStore:
        return self.document.store

    @property
    def format(self) -> StoreFormat:
        return self.document.format


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def open_store(path: str | os.PathLike[str]) -> OpenedStore:
    from ..codec import registry
    from ..errors import DecodeError

    data = read_bytes(path)
    try:
        return OpenedStore(path, registry.decode(data))
    except DecodeError as exc:
        raise DecodeError(exc.message, exc.offset, what=f"{path}" + (f": {exc.what}" if exc.what else "")) from None


def format_for_output(path: str | os.PathLike[str], requested: str | None, default: StoreFormat | None) -> StoreFormat:
    """The output format: as requested, else by the new file's extension, else ``default``."""
    from pathlib import Path

    if requested:
        return StoreFormat(requested)
    by_ext = _EXTENSIONS.get(Path(path).suffix.lower())
    if by_ext is not None:
        return by_ext
    if default is not None:
        return default
    raise UsageError(f"cannot tell the output format from {path!r}: give --to json|edk2|aws")


def save_store(
    path: str | os.PathLike[str],
    store: VarStore,
    fmt: StoreFormat,
    origin: object = None,
    *,
    layout: str | None = None,
) -> None:
    """Encode and write atomically (temp file, fsync, rename): a failure leaves the old file."""
    from ..codec import registry
    from ..live.atomic import atomic_write

    data = registry.encode(store, fmt, origin, layout=layout)
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
