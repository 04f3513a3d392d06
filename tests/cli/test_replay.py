"""`uefivars replay`: the command's register()/run() (the lead wires them into main)."""

from __future__ import annotations

import argparse
import json
import struct
from pathlib import Path

import pytest

from uefivars_gui.cli import replay as replay_cli
from uefivars_gui.codec.pcap import MmCaptureRecord, MmRecordType, encode_pcap
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, SMM_VARIABLE_PROTOCOL
from uefivars_gui.core.store import VarStore
from uefivars_gui.device import DeviceConfig, UefiVarsDevice
from uefivars_gui.device.log import PcapRecord
from uefivars_gui.device.mm import build_mm_buffer


def _get(name: str, size: int = 16) -> bytes:
    raw = (name + "\0").encode("utf-16-le")
    payload = EFI_GLOBAL_VARIABLE.bytes_le + struct.pack("<QQI", size, len(raw), 0) + raw + bytes(size)
    return build_mm_buffer(SMM_VARIABLE_PROTOCOL, struct.pack("<QQ", 1, 0) + payload)


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """A capture of a reset and two GetVariable calls, made by the engine."""
    dev = UefiVarsDevice(DeviceConfig(strict=True), VarStore(), None)
    records: list[MmCaptureRecord] = []

    def listener(record: object) -> None:
        if isinstance(record, PcapRecord):
            records.append(MmCaptureRecord.capture(record.kind, record.payload, 1_700_000_000, len(records)))

    dev.listeners.append(listener)
    dev.hard_reset()
    dev.handle_mm(_get("SecureBoot"))
    dev.handle_mm(_get("NoSuchVariable"))
    path = tmp_path / "uefi-vars.pcap"
    path.write_bytes(encode_pcap(records))
    return path


def _args(path: Path | str, **options: bool) -> argparse.Namespace:
    return argparse.Namespace(
        capture=str(path), json=options.get("json", False), verbose=options.get("verbose", False)
    )


def test_register_adds_the_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="uefivars")
    sub = parser.add_subparsers(dest="command")
    replay_cli.register(sub)
    args = parser.parse_args(["replay", "x.pcap", "--json", "-v"])
    assert (args.command, args.capture, args.json, args.verbose) == ("replay", "x.pcap", True, True)
    assert args.handler_module == "replay"


def test_lines(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_cli.run(_args(capture)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "-- device reset --",
        '#1 GetVariable "SecureBoot" EfiGlobalVariable → EFI_SUCCESS (1 byte)',
        '#2 GetVariable "NoSuchVariable" EfiGlobalVariable → EFI_NOT_FOUND',
    ]


def test_verbose_prints_the_field_trees(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_cli.run(_args(capture, verbose=True)) == 0
    out = capsys.readouterr().out
    assert "    time: 2023-11-14T22:13:20.000001+00:00" in out
    assert "\n    MM request: GetVariable(" in out and "\n    MM reply: EFI_SUCCESS" in out
    assert '\n        Name: "SecureBoot"' in out and "\n        Data: 1 bytes: 00" in out
    assert "ReturnStatus: EFI_NOT_FOUND" in out


def test_json(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_cli.run(_args(capture, json=True)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["format"] == "uefivars-replay"
    kinds = [entry["type"] for entry in doc["entries"]]
    assert kinds == ["reset", "call", "call"]
    call = doc["entries"][1]
    assert (call["operation"], call["name"], call["status_name"], call["data_size"]) == (
        "GetVariable",
        "SecureBoot",
        "EFI_SUCCESS",
        1,
    )
    assert "request_fields" not in call
    assert replay_cli.run(_args(capture, json=True, verbose=True)) == 0
    doc = json.loads(capsys.readouterr().out)
    call = doc["entries"][1]
    assert call["reply_fields"]["name"] == "MM reply" and call["request_hex"].startswith("33d532ed")


def test_empty_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(encode_pcap([]))
    assert replay_cli.run(_args(path)) == 0
    assert capsys.readouterr().out == "(no records)\n"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "a pcap header needs 24"),
        (b"not a capture at all, just some text\n", "not a pcap file"),
        (encode_pcap([MmCaptureRecord(MmRecordType.REQUEST, b"abc")])[:-1], "truncated record"),
        (bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"), "link type 1"),
    ],
)
def test_bad_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: str
) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    assert replay_cli.run(_args(path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("uefivars replay: error: ")
    assert words in captured.err and "Traceback" not in captured.err


def test_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_cli.run(_args(tmp_path / "nope.pcap")) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "nope.pcap" in err and "Traceback" not in err
    assert replay_cli.run(_args(tmp_path)) == 2  # a directory
