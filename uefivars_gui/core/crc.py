"""Checksums used by the formats: CRC-32C (Castagnoli) and CRC-32 (zlib)."""

from __future__ import annotations

import zlib


def _make_table(poly: int) -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C_TABLE = _make_table(0x82F63B78)


def crc32c(data: bytes, crc: int = 0) -> int:
    """Standard CRC-32C (reflected poly 0x82F63B78, init ~0, final xor ~0).

    ``crc32c(b"123456789") == 0xE3069283``; ``crc`` continues a previous result.
    """
    value = crc ^ 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        value = table[(value ^ byte) & 0xFF] ^ (value >> 8)
    return value ^ 0xFFFFFFFF


def crc32(data: bytes, crc: int = 0) -> int:
    """Standard CRC-32 (zlib, as edk2's CalculateCrc32)."""
    return zlib.crc32(data, crc) & 0xFFFFFFFF
