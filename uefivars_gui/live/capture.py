"""Write the engine's pcap records to a file, as QEMU's ``pcapfile=`` does.

QEMU (qemu-uefi-vars.md §5.4) opens the file with ``O_WRONLY|O_TRUNC`` when the device
is realized, writes the classic libpcap header (magic 0xa1b2c3d4, version 2.4, snaplen
65536, link type 302), then one record per RESET / REQUEST / REPLY with the wall-clock
time, and flushes after every record. :class:`PcapWriter` does the same with the
:class:`~uefivars_gui.device.log.PcapRecord` values the engine emits::

    writer = PcapWriter("uefi-vars.pcap")
    device.listeners.append(writer.listener)     # or writer.write_record(rec) yourself
    ...
    writer.close()

A capture is a log, not a file the user edits: it is truncated and appended to, never
written atomically. The byte layout lives in :mod:`uefivars_gui.codec.pcap`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import BinaryIO

from ..codec.pcap import PCAP_SNAPLEN, MmCaptureRecord, PcapHeader, encode_pcap_header, encode_record
from ..device.log import LogRecord, PcapRecord
from ..errors import UsageError

#: A clock returning nanoseconds since the epoch (``time.time_ns``).
Clock = Callable[[], int]


class PcapWriter:
    """A pcap file fed with the engine's :class:`PcapRecord` values."""

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock = time.time_ns) -> None:
        self.path = os.fspath(path)
        self._clock = clock
        self._header = PcapHeader()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
        try:
            self._file: BinaryIO | None = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        self.records_written = 0
        try:
            self._file.write(encode_pcap_header(self._header))
            self._file.flush()
        except BaseException:
            self._file.close()
            self._file = None
            raise

    @property
    def closed(self) -> bool:
        return self._file is None

    def write_record(self, record: PcapRecord) -> None:
        """Append one record stamped with the clock's current time, and flush."""
        if self._file is None:
            raise UsageError(f"the capture {self.path} is closed")
        now = self._clock()
        sec, nsec = divmod(now, 1_000_000_000)
        rec = MmCaptureRecord.capture(int(record.kind), record.payload, sec, nsec // 1000, PCAP_SNAPLEN)
        self._file.write(encode_record(rec, self._header))
        self._file.flush()
        self.records_written += 1

    def listener(self, record: LogRecord) -> None:
        """An engine listener: writes the pcap records, ignores every other record."""
        if isinstance(record, PcapRecord):
            self.write_record(record)

    def close(self) -> None:
        """Flush and close (a second call does nothing)."""
        if self._file is not None:
            file, self._file = self._file, None
            file.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
