"""Format detection by content and the format-independent load / dump entry points."""

from __future__ import annotations

from ..core.store import VarStore
from ..errors import EncodeError, UnknownFormatError
from .base import StoreDocument, StoreFormat

#: Larger inputs are refused before parsing (an AAVMF image padded to 64 MiB is the
#: largest real store).
MAX_STORE_FILE = 128 * 1024 * 1024

# The codecs are imported only for the format at hand (start-up time of the CLI). The
# AWS probe is repeated here so that probing does not import codec.aws (zlib
# dictionary, hashlib): the binary magic "AMZNUEFI", or the first ten characters of its
# base64 (tests/codec/test_registry.py checks these agree with aws.probe).
_AWS_MAGIC = b"AMZNUEFI"
_AWS_ARMORED_MAGIC_PREFIX = b"QU1aTlVFRk"
_WHITESPACE = b" \t\r\n\v\f"


def _probe_aws(data: bytes) -> bool:
    if data[: len(_AWS_MAGIC)] == _AWS_MAGIC:
        return True
    return data.lstrip(_WHITESPACE)[: len(_AWS_ARMORED_MAGIC_PREFIX)] == _AWS_ARMORED_MAGIC_PREFIX


def probe(data: bytes) -> StoreFormat:
    """Which store format ``data`` is, judged by content (never by file name)."""
    from . import edk2

    if edk2.probe(data):
        return StoreFormat.EDK2
    if _probe_aws(data):
        return StoreFormat.AWS
    from . import qemu_json

    if qemu_json.probe(data):
        return StoreFormat.JSON
    raise UnknownFormatError(
        "not a variable store this tool knows (expected QEMU JSON, an edk2 VARS flash image or an AWS uefi-data file)",
        0,
    )


def decode(data: bytes, fmt: StoreFormat | None = None) -> StoreDocument:
    """Decode a store of the given format (detected when None)."""
    if len(data) > MAX_STORE_FILE:
        raise UnknownFormatError(f"file too large for a variable store ({len(data)} bytes)", 0)
    fmt = fmt or probe(data)
    if fmt is StoreFormat.JSON:
        from . import qemu_json

        return qemu_json.decode(data)
    if fmt is StoreFormat.EDK2:
        from . import edk2

        image = edk2.decode(data)
        return StoreDocument(StoreFormat.EDK2, image.store, image)
    from . import aws

    return aws.decode(data)


def encode(store: VarStore, fmt: StoreFormat, origin: object = None, *, layout: str | None = None) -> bytes:
    """Encode ``store`` as ``fmt``.

    ``origin`` is the ``StoreDocument.origin`` of a file of the same format (keeps its
    style, geometry and untouched bytes). An edk2 image needs ``origin`` (a template
    image) or ``layout`` ("2M", "4M", "aavmf").
    """
    if fmt is StoreFormat.JSON:
        from . import qemu_json

        return qemu_json.encode(store, origin if isinstance(origin, qemu_json.JsonOrigin) else None)
    if fmt is StoreFormat.EDK2:
        from . import edk2

        if isinstance(origin, edk2.FlashImage):
            return edk2.encode(store, origin)
        if layout is None:
            raise EncodeError("writing an edk2 flash image needs a template image or a layout (2M, 4M, aavmf)")
        return edk2.encode_new(store, edk2.layout_by_name(layout))
    from . import aws

    return aws.encode(store, origin)
