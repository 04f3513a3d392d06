"""The `uefivars` command: behaviour, exit codes, and clean errors for bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from uefivars_gui.cli.main import main
from uefivars_gui.codec import registry

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"
EMPTY_FD = DATA / "ovmf" / "OVMF_VARS_4M.fd"
SNAKEOIL_FD = DATA / "ovmf" / "OVMF_VARS_4M.snakeoil.fd"
QEMU_JSON = DATA / "qemu" / "OVMF_VARS_4M.ms.qemu-10.0.2-rewritten.json"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def work(tmp_path: Path) -> Path:
    for src in (MS_FD, EMPTY_FD, QEMU_JSON):
        shutil.copy(src, tmp_path / src.name)
        os.chmod(tmp_path / src.name, 0o644)
    return tmp_path


def test_show_lists_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", MS_FD)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "NAMESPACE", "ATTR", "SIZE", "TIME", "VALUE"]
    assert len(lines) == 1 + 21
    pk = next(line for line in lines if line.startswith("PK "))
    assert "EfiGlobalVariable" in pk and "NV|BS|RT|AT" in pk and "2026-01-04T18:19:20" in pk
    boot = next(line for line in lines if line.startswith("Boot0000"))
    assert "UiApp" in boot
    assert "21 variables (edk2)" in err


def test_show_verbose_decodes_certificates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "--verbose", MS_FD)
    assert code == 0
    assert "Microsoft Corporation KEK CA 2011" in out
    assert "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)" in out


def test_show_json_is_qemu_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "--json", QEMU_JSON)
    assert code == 0
    assert out.rstrip("\n") == QEMU_JSON.read_text()


def test_show_history_lists_deleted_records(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "--history", MS_FD)
    assert code == 0
    assert "deleted records (18)" in out


def test_convert_fd_to_json_matches_virt_fw_vars(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_path = work / "out.json"
    code, _, _ = run(capsys, "convert", work / MS_FD.name, out_path)
    assert code == 0
    ours = json.loads(out_path.read_text())["variables"]
    theirs = json.loads((DATA / "ovmf" / "OVMF_VARS_4M.ms.virt-fw-vars-26.10.json").read_text())["variables"]
    zero = "0" * 32
    assert [(v["name"], v["guid"], v["attr"], v["data"], v.get("time", zero)) for v in ours] == [
        (v["name"], v["guid"], v["attr"], v["data"], v.get("time", zero)) for v in theirs
    ]


def test_convert_json_to_fd_needs_a_layout(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "convert", work / QEMU_JSON.name, work / "out.fd")
    assert code == 2 and "--size" in err
    assert not (work / "out.fd").exists()
    code, _, _ = run(capsys, "convert", work / QEMU_JSON.name, work / "out.fd", "--size", "4M")
    assert code == 0
    assert registry.decode((work / "out.fd").read_bytes()).store == registry.decode(QEMU_JSON.read_bytes()).store
    code, _, _ = run(capsys, "convert", work / QEMU_JSON.name, work / "t.fd", "--template", work / EMPTY_FD.name)
    assert code == 0 and (work / "t.fd").stat().st_size == EMPTY_FD.stat().st_size


def test_convert_refuses_to_overwrite(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = work / QEMU_JSON.name
    before = target.read_bytes()
    code, _, err = run(capsys, "convert", work / MS_FD.name, target)
    assert code == 2 and "--force" in err and target.read_bytes() == before


def test_convert_to_aws_and_back(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "convert", work / MS_FD.name, work / "x.aws")
    assert code == 0
    assert registry.probe((work / "x.aws").read_bytes()).value == "aws"
    code, out, _ = run(capsys, "diff", work / MS_FD.name, work / "x.aws")
    assert code == 0 and "no differences" in out


def test_diff(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", MS_FD, QEMU_JSON)
    assert code == 1
    assert "+ CustomMode" in out or "+ VendorKeysNv" in out
    code, out, _ = run(capsys, "diff", MS_FD, SNAKEOIL_FD)
    assert code == 1 and "~ PK (EfiGlobalVariable) changed" in out
    code, out, _ = run(capsys, "diff", MS_FD, MS_FD)
    assert code == 0 and "no differences" in out


def test_get_set_delete_round(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = work / QEMU_JSON.name
    code, out, _ = run(capsys, "get", store, "Timeout", "--hex")
    assert code == 0 and out.strip() == "0000"
    code, _, _ = run(capsys, "set", store, "Timeout", "--uint", "5")
    assert code == 0
    code, out, _ = run(capsys, "get", store, "Timeout", "--hex")
    assert out.strip() == "0500"
    code, _, err = run(capsys, "set", store, "NewVar", "--string", "hi")
    assert code == 2 and "--guid" in err
    code, _, _ = run(capsys, "set", store, "NewVar", "--guid", "3f1c1f0e-1d3e-4a5b-9c8d-7e6f5a4b3c2d",
                     "--attr", "NV|BS", "--string", "hi")
    assert code == 0
    doc = registry.decode(store.read_bytes())
    var = doc.store.resolve("NewVar")
    assert var.data == "hi\0".encode("utf-16-le") and int(var.attributes) == 3
    code, _, _ = run(capsys, "delete", store, "NewVar")
    assert code == 0 and not registry.decode(store.read_bytes()).store.named("NewVar")


def test_set_on_flash_image_keeps_geometry(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fd = work / MS_FD.name
    code, _, _ = run(capsys, "set", fd, "Timeout", "--uint", "3", "-o", work / "new.fd")
    assert code == 0
    assert fd.read_bytes() == MS_FD.read_bytes()
    new = work / "new.fd"
    assert new.stat().st_size == fd.stat().st_size
    assert registry.decode(new.read_bytes()).store.resolve("Timeout").data == b"\x03\x00"


def test_ambiguous_name_asks_for_guid(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = work / QEMU_JSON.name
    run(capsys, "set", store, "Timeout", "--guid", "3f1c1f0e-1d3e-4a5b-9c8d-7e6f5a4b3c2d", "--uint", "1", "--width", "2")
    code, _, err = run(capsys, "get", store, "Timeout")
    assert code == 2 and "several namespaces" in err and "--guid" in err
    code, out, _ = run(capsys, "get", store, "Timeout", "--guid", "EfiGlobalVariable", "--hex")
    assert code == 0 and out.strip() == "0000"


def test_non_ascii_name_into_json_refused_and_file_untouched(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = work / QEMU_JSON.name
    before = store.read_bytes()
    code, _, err = run(capsys, "set", store, "Grüße", "--guid", "EfiGlobalVariable", "--data", "00")
    assert code == 2 and "non-ASCII" in err
    assert store.read_bytes() == before


BAD_INPUTS = {
    "empty": b"",
    "random": bytes(range(256)) * 4,
    "truncated-fd": MS_FD.read_bytes()[:5000],
    "bad-json": b'{"version": 2, "variables": [{"name": 1}]}',
    "text": b"hello world\n",
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", [["show"], ["check"], ["get", "{}", "PK"], ["set", "{}", "PK", "--data", "00"]])
def test_bad_input_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, command: list[str]) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_INPUTS[name])
    args = [a.replace("{}", str(path)) for a in command]
    if len(args) == 1:
        args.append(str(path))
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "Traceback" not in err and err.startswith("uefivars ")
    assert path.read_bytes() == BAD_INPUTS[name]


@pytest.mark.parametrize("args", [["show", "/nonexistent/file.json"], ["show", "/"], ["diff", "/nonexistent", "/nonexistent"]])
def test_missing_files(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2 and "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["set", "x.json", "Name"])  # no data source
    assert info.value.code == 2


def test_console_script_runs_in_a_subprocess(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fd"
    bad.write_bytes(b"\xff" * 1000)
    result = subprocess.run([sys.executable, "-m", "uefivars_gui.cli.main", "show", str(bad)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "error" in result.stderr
    result = subprocess.run([sys.executable, "-m", "uefivars_gui.cli.main", "show", str(MS_FD)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "PK" in result.stdout


ALL_COMMANDS = ["show", "convert", "diff", "get", "set", "delete", "check", "enroll", "keygen", "sign",
                "verify", "apply", "rollover", "serve", "replay"]


def test_every_command_is_wired_and_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    listing = capsys.readouterr().out
    for command in ALL_COMMANDS:
        assert f"    {command} " in listing
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        assert f"usage: uefivars {command}" in capsys.readouterr().out
