"""Replaying captures: run requests through the engine, capture its pcap records in memory
(what PcapWriter writes to a file), and read the calls back."""

from __future__ import annotations

import struct
from uuid import UUID

from uefivars_gui.codec.pcap import MmCaptureRecord, MmRecordType, PcapCapture, decode_pcap, encode_pcap
from uefivars_gui.core.guid import (
    EFI_GLOBAL_VARIABLE,
    END_OF_DXE_EVENT_GROUP,
    SMM_VARIABLE_PROTOCOL,
    VAR_CHECK_POLICY_MMI_HANDLER,
)
from uefivars_gui.core.policy import LockPolicyType, VariablePolicyEntry
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import DeviceConfig, UefiVarsDevice
from uefivars_gui.device.log import LogRecord, PcapRecord
from uefivars_gui.device.mm import build_mm_buffer
from uefivars_gui.ops.replay import ReplayCall, ReplayReset, ReplayUnknown, replay_capture, replay_pcap

G = EFI_GLOBAL_VARIABLE
VENDOR = UUID("11111111-2222-3333-4444-555555555555")
EFI_WRITE_PROTECTED = 0x8000000000000008


class MemoryCapture:
    """PcapWriter's job in memory: each engine pcap record, stamped by a fake clock."""

    def __init__(self) -> None:
        self.records: list[MmCaptureRecord] = []
        self.clock = 1_700_000_000_000_000

    def __call__(self, record: LogRecord) -> None:
        if isinstance(record, PcapRecord):
            self.clock += 1_500
            sec, usec = divmod(self.clock, 1_000_000)
            self.records.append(MmCaptureRecord.capture(record.kind, record.payload, sec, usec))

    def pcap(self) -> bytes:
        return encode_pcap(self.records)


def ucs2(name: str) -> bytes:
    return (name + "\0").encode("utf-16-le")


def var_request(function: int, payload: bytes) -> bytes:
    return build_mm_buffer(SMM_VARIABLE_PROTOCOL, struct.pack("<QQ", function, 0) + payload)


def set_request(name: str, guid: UUID, attrs: int, data: bytes) -> bytes:
    raw = ucs2(name)
    return var_request(3, guid.bytes_le + struct.pack("<QQI", len(data), len(raw), attrs) + raw + data)


def get_request(name: str, guid: UUID, size: int = 64) -> bytes:
    raw = ucs2(name)
    return var_request(1, guid.bytes_le + struct.pack("<QQI", size, len(raw), 0) + raw + bytes(size))


def next_request(name: str, guid: UUID, room: int = 128) -> bytes:
    raw = ucs2(name)
    return var_request(2, guid.bytes_le + struct.pack("<Q", room) + raw + bytes(room - len(raw)))


def register_request(entry: VariablePolicyEntry) -> bytes:
    message = b"VCPC" + struct.pack("<IIQ", 1, 3, 0) + entry.encode()
    return build_mm_buffer(VAR_CHECK_POLICY_MMI_HANDLER, message)


def run_session() -> tuple[UefiVarsDevice, MemoryCapture]:
    capture = MemoryCapture()
    dev = UefiVarsDevice(DeviceConfig(strict=True), VarStore(), None)
    dev.listeners.append(capture)
    dev.hard_reset()
    boot_order = b"\x01\x00\x02\x00\x03\x00"
    for request in (
        set_request("BootOrder", G, 0x07, boot_order),
        get_request("BootOrder", G),
        get_request("BootOrder", G, size=2),
        get_request("Missing", VENDOR),
        next_request("", UUID(int=0)),
        register_request(VariablePolicyEntry(VENDOR, "Locked", lock_policy_type=LockPolicyType.LOCK_NOW)),
        build_mm_buffer(END_OF_DXE_EVENT_GROUP, b"\0"),
        set_request("Locked", VENDOR, 0x07, b"x"),
        set_request("BootOrder", G, 0x07, b""),
        var_request(11, bytes(8)),
    ):
        dev.handle_mm(request)
    dev.hard_reset()
    return dev, capture


def test_replay_lines() -> None:
    _dev, capture = run_session()
    replay = replay_pcap(capture.pcap())
    lines = [entry.line() for entry in replay.entries]
    assert lines == [
        "-- device reset --",
        '#1 SetVariable "BootOrder" EfiGlobalVariable NV|BS|RT (6 bytes) → EFI_SUCCESS',
        '#2 GetVariable "BootOrder" EfiGlobalVariable → EFI_SUCCESS (6 bytes)',
        '#3 GetVariable "BootOrder" EfiGlobalVariable → EFI_BUFFER_TOO_SMALL (needs 6 bytes)',
        '#4 GetVariable "Missing" 11111111-2222-3333-4444-555555555555 → EFI_NOT_FOUND',
        '#5 GetNextVariableName (first) → EFI_SUCCESS "SetupMode" EfiGlobalVariable',
        '#6 VarCheckPolicy REGISTER "Locked" 11111111-2222-3333-4444-555555555555 LOCK_NOW → EFI_SUCCESS',
        "#7 EndOfDxe",
        '#8 SetVariable "Locked" 11111111-2222-3333-4444-555555555555 NV|BS|RT (1 byte) → EFI_WRITE_PROTECTED',
        '#9 SetVariable "BootOrder" EfiGlobalVariable NV|BS|RT (delete) → EFI_SUCCESS',
        "#10 GetPayloadSize → EFI_SUCCESS payload=65496",
        "-- device reset --",
    ]


def test_calls_carry_buffers_times_and_field_trees() -> None:
    _dev, capture = run_session()
    replay = replay_pcap(capture.pcap())
    calls = replay.calls
    assert len(calls) == 10 and not any(call.notes for call in calls)
    get = calls[1]
    assert get.call.status == 0 and get.call.data_size == 6 and get.call.attributes == 7
    assert get.request is not None and get.reply is not None
    assert (get.request.record_index, get.reply.record_index) == (3, 4)
    assert (get.reply.ts_sec, get.reply.ts_usec - get.request.ts_usec) == (get.request.ts_sec, 1500)
    tree = get.reply_fields()
    assert tree is not None
    data = tree.find("Data")
    assert data is not None and data.text.startswith("6 bytes: 01 00 02 00 03 00")
    request_tree = get.request_fields()
    assert request_tree is not None and request_tree.find("Name") is not None
    denied = calls[7]
    assert denied.call.status == EFI_WRITE_PROTECTED
    doc = replay.to_dict(verbose=True)
    assert doc["format"] == "uefivars-replay" and doc["link_type"] == 302
    entry = doc["entries"][2]
    assert entry["operation"] == "GetVariable" and entry["name"] == "BootOrder"
    assert entry["guid_label"] == "EfiGlobalVariable" and entry["status_name"] == "EFI_SUCCESS"
    assert entry["reply_fields"]["name"] == "MM reply" and entry["request_hex"].startswith("33d532ed")


def test_pairing_of_broken_captures() -> None:
    """A REQUEST without REPLY, a REPLY without REQUEST, an unknown record, a truncated one."""
    get = get_request("BootOrder", G)
    big = set_request("Big", VENDOR, 0x07, bytes(65536 - 24 - 16 - 36 - 8))
    assert len(big) == 65536
    records = [
        MmCaptureRecord.capture(MmRecordType.REQUEST, get, 1),
        MmCaptureRecord.capture(MmRecordType.RESET, b"", 2),
        MmCaptureRecord.capture(MmRecordType.REPLY, get, 3),
        MmCaptureRecord.capture(9, b"what", 4),
        MmCaptureRecord.capture(MmRecordType.REQUEST, big, 5),
        MmCaptureRecord.capture(MmRecordType.REPLY, big, 6),
        MmCaptureRecord.capture(MmRecordType.REQUEST, get, 7),
        MmCaptureRecord.capture(MmRecordType.REPLY, set_request("X", G, 7, b"1"), 8),
        MmCaptureRecord.capture(MmRecordType.REQUEST, get, 9),
    ]
    replay = replay_capture(decode_pcap(encode_pcap(records)))
    kinds = [type(entry) for entry in replay.entries]
    assert kinds == [ReplayCall, ReplayReset, ReplayCall, ReplayUnknown, ReplayCall, ReplayCall, ReplayCall]
    first, orphan, big_call, mismatch, last = replay.calls
    assert first.reply is None and first.notes == ("no REPLY follows this REQUEST",)
    assert first.line().endswith("→ (no reply in the capture)  [!] no REPLY follows this REQUEST")
    assert orphan.request is None and "REPLY without a REQUEST" in orphan.notes
    assert orphan.line().startswith('#2 (request not in the capture) GetVariable "BootOrder"')
    assert big_call.call.name == "Big" and big_call.call.data_size == 65536 - 24 - 16 - 36 - 8
    assert "request cut at the snaplen (65532 of 65536 bytes captured)" in big_call.notes
    assert "the reply does not match the request (header GUID or size differ)" in mismatch.notes
    assert last.number == 5 and last.reply is None
    assert replay.entries[3].line() == "-- record 3: unknown type 9 (4 bytes) --"


def test_empty_and_header_only_captures() -> None:
    assert replay_capture(PcapCapture()).entries == ()
    assert replay_pcap(encode_pcap([])).calls == ()


def test_garbage_buffers_do_not_break_the_replay() -> None:
    records = [
        MmCaptureRecord.capture(MmRecordType.REQUEST, b"\x01\x02", 1),
        MmCaptureRecord.capture(MmRecordType.REPLY, b"\x01\x02", 2),
        MmCaptureRecord.capture(MmRecordType.REQUEST, SMM_VARIABLE_PROTOCOL.bytes_le + bytes(8), 3),
        MmCaptureRecord.capture(MmRecordType.REPLY, SMM_VARIABLE_PROTOCOL.bytes_le + bytes(8), 4),
        MmCaptureRecord.capture(MmRecordType.REQUEST, UUID(int=7).bytes_le + bytes(9), 5),
        MmCaptureRecord.capture(MmRecordType.REPLY, UUID(int=7).bytes_le + bytes(9), 6),
    ]
    replay = replay_pcap(encode_pcap(records))
    lines = [call.line() for call in replay.calls]
    assert lines[0].startswith("#1 (truncated header)")
    assert lines[1].startswith("#2 (no function)")
    assert lines[2].startswith("#3 unknown handler 00000000-0000-0000-0000-000000000007")
    for call in replay.calls:
        assert call.request_fields() is not None and call.reply_fields() is not None
        call.to_dict(verbose=True)
