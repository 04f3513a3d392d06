"""Start-up cost of `uefivars` (issue 2): what `show` imports, and the lean parser.

docs/performance.md has the timing; these tests keep the imports that made it slow from
coming back unnoticed.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from uefivars_gui.cli import main as cli_main

DATA = Path(__file__).resolve().parent.parent / "data"
MS_FD = DATA / "ovmf" / "OVMF_VARS_4M.ms.fd"

#: Modules `uefivars show FLASH.fd` must not import (each costs milliseconds of start-up).
NOT_FOR_SHOW = {
    "dataclasses",  # and inspect: @value classes need neither
    "inspect",
    "typing",
    "json",
    "pathlib",
    "shutil",  # argparse's HelpFormatter, only when help is printed
    "ipaddress",
    "hashlib",
    "datetime",
    "uefivars_gui.codec.aws",
    "uefivars_gui.codec.qemu_json",
    "uefivars_gui.core.policy",
    "uefivars_gui.crypto",
}


def _modules_after(argv: list[str]) -> set[str]:
    code = (
        "import contextlib, io, sys\n"
        "from uefivars_gui.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    code = main({argv!r})\n"
        "assert code == 0, code\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_show_imports_only_what_it_needs() -> None:
    # Whatever the interpreter loads before our code runs (site, sitecustomize) is not ours.
    bare = subprocess.run(
        [sys.executable, "-c", "import sys; print(' '.join(sys.modules))"], capture_output=True, text=True, check=True
    ).stdout.split()
    loaded = _modules_after(["show", str(MS_FD)])
    assert "uefivars_gui.core.typed" in loaded
    assert not loaded & (NOT_FOR_SHOW - set(bare))


def _help(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exit_info:
        parser.parse_args(argv)
    return exit_info.value.code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", list(cli_main._COMMANDS))
def test_a_one_command_parser_behaves_like_the_full_one(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    for argv in ([command, "--help"], [command], [command, "a", "b", "c", "d", "--bogus"]):
        assert _help(cli_main.build_parser(command), argv) == _help(cli_main.build_parser(), argv)


def test_built_parsers_format_with_the_standard_formatter() -> None:
    parser = cli_main.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(subparsers.choices) == list(cli_main._COMMANDS)
    for built in (parser, *subparsers.choices.values()):
        assert built.formatter_class is argparse.HelpFormatter
