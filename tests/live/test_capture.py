"""PcapWriter: QEMU's pcapfile= behaviour (truncate, header, one flushed record per event)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from uefivars_gui.codec.pcap import MmCaptureRecord, MmRecordType, decode_pcap, encode_pcap
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, SMM_VARIABLE_PROTOCOL
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import DeviceConfig, UefiVarsDevice
from uefivars_gui.device.log import Notice, PcapRecord
from uefivars_gui.device.mm import build_mm_buffer
from uefivars_gui.device.status import PcapRecordType
from uefivars_gui.errors import UsageError
from uefivars_gui.live.capture import PcapWriter
from uefivars_gui.ops.replay import replay_pcap


class FakeClock:
    def __init__(self, start: int = 1_700_000_000_123_456_789) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1_000_000  # 1 ms per record
        return self.now


def test_header_and_records_match_the_codec(tmp_path: Path) -> None:
    path = tmp_path / "cap.pcap"
    clock = FakeClock()
    with PcapWriter(path, clock=clock) as writer:
        assert path.read_bytes() == encode_pcap([])  # header written (and flushed) at once
        writer.write_record(PcapRecord(PcapRecordType.RESET, b""))
        writer.write_record(PcapRecord(PcapRecordType.REQUEST, b"abc"))
        # flushed per record: visible before close
        assert len(decode_pcap(path.read_bytes()).records) == 2
    assert writer.closed and writer.records_written == 2
    expected = [
        MmCaptureRecord.capture(MmRecordType.RESET, b"", 1_700_000_000, 124456),
        MmCaptureRecord.capture(MmRecordType.REQUEST, b"abc", 1_700_000_000, 125456),
    ]
    assert path.read_bytes() == encode_pcap(expected)


def test_truncates_an_existing_file_and_cuts_big_records(tmp_path: Path) -> None:
    path = tmp_path / "cap.pcap"
    path.write_bytes(b"old content " * 1000)
    writer = PcapWriter(path, clock=FakeClock())
    writer.write_record(PcapRecord(PcapRecordType.REQUEST, bytes(65536)))
    writer.close()
    writer.close()  # idempotent
    raw = path.read_bytes()
    assert struct.unpack_from("<II", raw, 24 + 8) == (65536, 65540)
    (rec,) = decode_pcap(raw).records
    assert rec.truncated and len(rec.data) == 65532
    with pytest.raises(UsageError, match="closed"):
        writer.write_record(PcapRecord(PcapRecordType.RESET, b""))


def test_engine_listener_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "engine.pcap"
    writer = PcapWriter(path, clock=FakeClock())
    dev = UefiVarsDevice(DeviceConfig(strict=True), VarStore(), None)
    dev.listeners.append(writer.listener)
    dev.hard_reset()
    raw_name = "SetupMode\0".encode("utf-16-le")
    payload = EFI_GLOBAL_VARIABLE.bytes_le + struct.pack("<QQI", 8, len(raw_name), 0) + raw_name + bytes(8)
    dev.handle_mm(build_mm_buffer(SMM_VARIABLE_PROTOCOL, struct.pack("<QQ", 1, 0) + payload))
    writer.listener(Notice("not a pcap record"))  # ignored
    writer.close()
    lines = [entry.line() for entry in replay_pcap(path.read_bytes()).entries]
    assert lines == [
        "-- device reset --",
        '#1 GetVariable "SetupMode" EfiGlobalVariable → EFI_SUCCESS (1 byte)',
    ]


def test_unwritable_path_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        PcapWriter(tmp_path / "missing-dir" / "cap.pcap")
