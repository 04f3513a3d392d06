"""pcap captures of QEMU's uefi-vars device (``pcapfile=``, LINKTYPE_EDK2_MM 302).

QEMU writes a classic libpcap file (qemu-uefi-vars.md §5.4), host-endian (little-endian
on every supported host)::

    file header, 24 bytes
      0  u32 magic          0xa1b2c3d4 (microsecond timestamps)
      4  u16 version_major  2
      6  u16 version_minor  4
      8  i32 thiszone       0
      12 u32 sigfigs        0
      16 u32 snaplen        65536
      20 u32 network        302 (LINKTYPE_EDK2_MM)
    then one record per event
      0  u32 ts_sec
      4  u32 ts_usec        (nanoseconds in a 0xa1b23c4d file)
      8  u32 incl_len       min(orig_len, snaplen): the bytes that follow
      12 u32 orig_len       4 + the size of the event's data
      16 u32 type           1 RESET (no data), 2 REQUEST, 3 REPLY (24 + MessageLength bytes)
      20 ...                the data, cut at snaplen - 4 bytes

A request of a full 64 KiB buffer is therefore 4 bytes short in the capture
(:attr:`MmCaptureRecord.truncated`). Reading also accepts the byte-swapped magic (a
big-endian writer) and the nanosecond magic; :func:`encode_pcap` writes whatever header
the capture carries, so ``encode_pcap(decode_pcap(x)) == x`` for every file
:func:`decode_pcap` accepts.

Bytes only: no clock and no files. Timestamps are values the caller passes in.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from enum import IntEnum
from typing import Literal

from ..core.fields import Field
from ..core.record import field, value
from ..errors import DecodeError, EncodeError

#: Magic of a file with microsecond timestamps (what QEMU writes).
PCAP_MAGIC = 0xA1B2C3D4
#: Magic of a file with nanosecond timestamps.
PCAP_MAGIC_NSEC = 0xA1B23C4D
PCAP_VERSION_MAJOR = 2
PCAP_VERSION_MINOR = 4
#: QEMU's snaplen.
PCAP_SNAPLEN = 65536
#: The link type of QEMU's uefi-vars captures.
LINKTYPE_EDK2_MM = 302
FILE_HEADER_SIZE = 24
RECORD_HEADER_SIZE = 16
#: The u32 record type that starts every packet.
TYPE_SIZE = 4
#: libpcap's MAXIMUM_SNAPLEN: no record of a sane file is longer.
MAX_RECORD_SIZE = 262144

_WHAT = "pcap"
_FILE = struct.Struct("IHHiIII")
_RECORD = struct.Struct("IIII")
_U32 = struct.Struct("I")
_U32_MAX = 0xFFFFFFFF

ByteOrder = Literal["<", ">"]


class MmRecordType(IntEnum):
    """The u32 that starts each LINKTYPE_EDK2_MM record."""

    RESET = 1
    REQUEST = 2
    REPLY = 3


def record_type_name(kind: int) -> str:
    try:
        return MmRecordType(kind).name
    except ValueError:
        return f"UNKNOWN({kind})"


@value
class PcapHeader:
    """The 24-byte file header. The defaults are what QEMU writes."""

    byte_order: ByteOrder = "<"
    nanosecond: bool = False
    version_major: int = PCAP_VERSION_MAJOR
    version_minor: int = PCAP_VERSION_MINOR
    thiszone: int = 0
    sigfigs: int = 0
    snaplen: int = PCAP_SNAPLEN
    network: int = LINKTYPE_EDK2_MM

    @property
    def magic(self) -> int:
        return PCAP_MAGIC_NSEC if self.nanosecond else PCAP_MAGIC

    @property
    def record_limit(self) -> int:
        """The largest ``incl_len`` a record of this file may have."""
        return self.snaplen if 0 < self.snaplen < MAX_RECORD_SIZE else MAX_RECORD_SIZE

    def fields(self) -> Field:
        order = "little-endian" if self.byte_order == "<" else "big-endian (byte-swapped magic)"
        unit = "nanosecond" if self.nanosecond else "microsecond"
        return Field(
            "pcap file header",
            0,
            FILE_HEADER_SIZE,
            f"{order}, {unit} timestamps",
            (
                Field("magic", 0, 4, f"0x{self.magic:08x}"),
                Field("version", 4, 4, f"{self.version_major}.{self.version_minor}"),
                Field("thiszone", 8, 4, str(self.thiszone)),
                Field("sigfigs", 12, 4, str(self.sigfigs)),
                Field("snaplen", 16, 4, str(self.snaplen)),
                Field("network", 20, 4, str(self.network)),
            ),
        )


@value
class MmCaptureRecord:
    """One record: its type, the captured data after the type, and its timestamp.

    ``orig_len`` is the record's original length (4 + the full data size); a record cut
    at the snaplen has ``orig_len > 4 + len(data)``. ``offset`` is where the record
    header starts in the file it was read from (-1 for records built in memory).
    """

    kind: int
    data: bytes = b""
    ts_sec: int = 0
    ts_nsec: int = 0
    orig_len: int = -1
    offset: int = field(default=-1, compare=False)

    def __post_init__(self) -> None:
        if self.orig_len == -1:
            object.__setattr__(self, "orig_len", TYPE_SIZE + len(self.data))

    @classmethod
    def capture(
        cls, kind: int, data: bytes, ts_sec: int = 0, ts_usec: int = 0, snaplen: int = PCAP_SNAPLEN
    ) -> MmCaptureRecord:
        """The record QEMU writes for an event: ``data`` cut at ``snaplen - 4`` bytes."""
        room = max(0, snaplen - TYPE_SIZE)
        return cls(int(kind), bytes(data[:room]), ts_sec, ts_usec * 1000, TYPE_SIZE + len(data))

    @property
    def incl_len(self) -> int:
        return TYPE_SIZE + len(self.data)

    @property
    def truncated(self) -> bool:
        return self.orig_len > self.incl_len

    @property
    def ts_usec(self) -> int:
        return self.ts_nsec // 1000

    @property
    def time(self) -> float:
        """Seconds since the epoch."""
        return self.ts_sec + self.ts_nsec / 1e9

    @property
    def kind_name(self) -> str:
        return record_type_name(self.kind)

    def fields(self, nanosecond: bool = False) -> Field:
        """The record's fields, with spans in the file it was read from."""
        base = max(self.offset, 0)
        frac = f"{self.ts_nsec} ns" if nanosecond else f"{self.ts_usec} µs"
        children = [
            Field("ts_sec", base, 4, str(self.ts_sec)),
            Field("ts_usec" if not nanosecond else "ts_nsec", base + 4, 4, frac),
            Field("incl_len", base + 8, 4, str(self.incl_len)),
            Field(
                "orig_len",
                base + 12,
                4,
                str(self.orig_len),
                warning="record cut at the snaplen" if self.truncated else None,
            ),
            Field("type", base + 16, 4, f"{self.kind_name} ({self.kind})"),
        ]
        if self.data:
            children.append(Field("data", base + 20, len(self.data), f"{len(self.data)} bytes"))
        return Field(
            "pcap record",
            base,
            RECORD_HEADER_SIZE + self.incl_len,
            self.kind_name,
            tuple(children),
        )


@value
class PcapCapture:
    """A whole capture: the file header and the records in file order."""

    records: tuple[MmCaptureRecord, ...] = ()
    header: PcapHeader = field(default_factory=PcapHeader)


# --------------------------------------------------------------------------------------
# reading


def probe(data: bytes) -> bool:
    """True if ``data`` starts like a LINKTYPE_EDK2_MM capture."""
    try:
        decode_pcap_header(data)
    except DecodeError:
        return False
    return True


def decode_pcap_header(data: bytes) -> PcapHeader:
    """The file header; DecodeError for a short file, a foreign magic or link type."""
    if len(data) < FILE_HEADER_SIZE:
        raise DecodeError(
            f"the file is {len(data)} bytes; a pcap header needs {FILE_HEADER_SIZE}", len(data), what=_WHAT
        )
    byte_order: ByteOrder
    magic_le = _U32.unpack_from(data, 0)[0]
    magic_be = struct.unpack_from(">I", data, 0)[0]
    if magic_le in (PCAP_MAGIC, PCAP_MAGIC_NSEC):
        byte_order, magic = "<", magic_le
    elif magic_be in (PCAP_MAGIC, PCAP_MAGIC_NSEC):
        byte_order, magic = ">", magic_be
    else:
        raise DecodeError(f"not a pcap file (magic 0x{magic_le:08x})", 0, what=_WHAT)
    _magic, major, minor, thiszone, sigfigs, snaplen, network = struct.unpack_from(
        byte_order + _FILE.format, data, 0
    )
    if major != PCAP_VERSION_MAJOR:
        raise DecodeError(f"pcap version {major}.{minor} is not 2.x", 4, what=_WHAT)
    if network & 0xFFFF != LINKTYPE_EDK2_MM:
        raise DecodeError(
            f"link type {network & 0xFFFF} is not LINKTYPE_EDK2_MM ({LINKTYPE_EDK2_MM}): "
            "not a capture of the uefi-vars device",
            20,
            what=_WHAT,
        )
    return PcapHeader(byte_order, magic == PCAP_MAGIC_NSEC, major, minor, thiszone, sigfigs, snaplen, network)


def iter_records(data: bytes, header: PcapHeader | None = None) -> Iterator[MmCaptureRecord]:
    """The records after the file header, one at a time (DecodeError at the first bad one)."""
    if header is None:
        header = decode_pcap_header(data)
    record = struct.Struct(header.byte_order + _RECORD.format)
    u32 = struct.Struct(header.byte_order + "I")
    frac_limit = 1_000_000_000 if header.nanosecond else 1_000_000
    limit = header.record_limit
    offset = FILE_HEADER_SIZE
    end = len(data)
    while offset < end:
        if end - offset < RECORD_HEADER_SIZE:
            raise DecodeError(
                f"truncated record header ({end - offset} of {RECORD_HEADER_SIZE} bytes)", offset, what=_WHAT
            )
        ts_sec, ts_frac, incl_len, orig_len = record.unpack_from(data, offset)
        if ts_frac >= frac_limit:
            unit = "nanoseconds" if header.nanosecond else "microseconds"
            raise DecodeError(f"timestamp fraction {ts_frac} {unit} is out of range", offset + 4, what=_WHAT)
        if incl_len > limit:
            raise DecodeError(f"record length {incl_len} exceeds the limit {limit}", offset + 8, what=_WHAT)
        if incl_len > orig_len:
            raise DecodeError(
                f"captured length {incl_len} exceeds the original length {orig_len}", offset + 8, what=_WHAT
            )
        if incl_len < TYPE_SIZE:
            raise DecodeError(f"record of {incl_len} bytes has no type field", offset + 8, what=_WHAT)
        body = offset + RECORD_HEADER_SIZE
        if end - body < incl_len:
            raise DecodeError(
                f"truncated record: {end - body} of {incl_len} bytes present", offset, what=_WHAT
            )
        kind = u32.unpack_from(data, body)[0]
        ts_nsec = ts_frac if header.nanosecond else ts_frac * 1000
        yield MmCaptureRecord(
            _known_kind(kind),
            bytes(data[body + TYPE_SIZE : body + incl_len]),
            ts_sec,
            ts_nsec,
            orig_len,
            offset,
        )
        offset = body + incl_len


def decode_pcap(data: bytes) -> PcapCapture:
    """A whole capture; DecodeError (with the byte offset) for anything malformed."""
    header = decode_pcap_header(data)
    return PcapCapture(tuple(iter_records(data, header)), header)


def _known_kind(kind: int) -> int:
    try:
        return MmRecordType(kind)
    except ValueError:
        return kind


# --------------------------------------------------------------------------------------
# writing


def encode_pcap_header(header: PcapHeader | None = None) -> bytes:
    """The 24-byte file header (QEMU's by default)."""
    header = header or PcapHeader()
    try:
        return struct.pack(
            header.byte_order + _FILE.format,
            header.magic,
            header.version_major,
            header.version_minor,
            header.thiszone,
            header.sigfigs,
            header.snaplen,
            header.network,
        )
    except struct.error as exc:
        raise EncodeError(f"pcap header field out of range: {exc}") from exc


def encode_record(record: MmCaptureRecord, header: PcapHeader | None = None) -> bytes:
    """One record (16-byte header, u32 type, data) for a file with ``header``."""
    header = header or PcapHeader()
    incl_len = record.incl_len
    if incl_len > header.record_limit:
        raise EncodeError(
            f"record of {incl_len} bytes exceeds the snaplen {header.record_limit}; "
            "build it with MmCaptureRecord.capture() to cut it"
        )
    if record.orig_len < incl_len:
        raise EncodeError(f"orig_len {record.orig_len} is below the captured length {incl_len}")
    if header.nanosecond:
        frac = record.ts_nsec
        if not 0 <= frac < 1_000_000_000:
            raise EncodeError(f"nanoseconds {frac} out of range")
    else:
        frac = record.ts_usec
        if not 0 <= record.ts_nsec < 1_000_000_000:
            raise EncodeError(f"nanoseconds {record.ts_nsec} out of range")
    if not 0 <= record.ts_sec <= _U32_MAX:
        raise EncodeError(f"ts_sec {record.ts_sec} does not fit 32 bits")
    try:
        head = struct.pack(
            header.byte_order + "IIIII", record.ts_sec, frac, incl_len, record.orig_len, record.kind
        )
    except struct.error as exc:
        raise EncodeError(f"pcap record field out of range: {exc}") from exc
    return head + record.data


def encode_pcap(capture: PcapCapture | Iterable[MmCaptureRecord]) -> bytes:
    """A whole file: the capture's header (QEMU's for a bare list of records), then the records."""
    if isinstance(capture, PcapCapture):
        header, records = capture.header, capture.records
    else:
        header, records = PcapHeader(), tuple(capture)
    return encode_pcap_header(header) + b"".join(encode_record(r, header) for r in records)
