"""UCS-2 (UTF-16LE) strings as UEFI stores them."""

from __future__ import annotations

from ..errors import DecodeError


def encode_ucs2(text: str, *, nul: bool = True) -> bytes:
    """UTF-16LE bytes; lone surrogates pass through so that any decoded name round-trips."""
    raw = text.encode("utf-16-le", "surrogatepass")
    return raw + b"\0\0" if nul else raw


def decode_ucs2(data: bytes, offset: int = 0, *, what: str = "string") -> str:
    """Decode a UCS-2 string that must be NUL-terminated exactly at the end of ``data``."""
    if len(data) % 2:
        raise DecodeError(f"{what}: odd byte length {len(data)}", offset)
    if len(data) < 2 or data[-2:] != b"\0\0":
        raise DecodeError(f"{what}: not NUL-terminated", offset + max(len(data) - 2, 0))
    text = data[:-2].decode("utf-16-le", "surrogatepass")
    if "\0" in text:
        raise DecodeError(f"{what}: NUL inside the string", offset + 2 * text.index("\0"))
    return text


def read_ucs2z(data: bytes, offset: int, limit: int | None = None, *, what: str = "string") -> tuple[str, int]:
    """Read a NUL-terminated UCS-2 string starting at ``offset``.

    Returns the text and the number of bytes consumed (including the NUL).
    """
    end = len(data) if limit is None else min(limit, len(data))
    pos = offset
    while pos + 1 < end:
        if data[pos] == 0 and data[pos + 1] == 0:
            text = bytes(data[offset:pos]).decode("utf-16-le", "surrogatepass")
            return text, pos + 2 - offset
        pos += 2
    raise DecodeError(f"{what}: no NUL terminator", offset)


def name_size(name: str) -> int:
    """NameSize as UEFI counts it: UTF-16 bytes including the terminating NUL."""
    return len(encode_ucs2(name))
