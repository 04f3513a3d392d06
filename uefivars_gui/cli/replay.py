"""`uefivars replay CAPTURE.pcap`: the calls in a capture of the uefi-vars device.

One line per call (``#12 GetVariable "BootOrder" EfiGlobalVariable → EFI_SUCCESS (6
bytes)``), a marker per device reset; ``--verbose`` adds the decoded request and reply
trees, ``--json`` prints the same as one JSON document. Exit 0, or 2 with a message
when the file cannot be read or is not a LINKTYPE_EDK2_MM capture.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..errors import UefiVarsError
from ..ops.replay import Replay, ReplayCall, replay_pcap

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``replay`` sub-command."""
    p = subparsers.add_parser(
        "replay",
        help="list the calls in a pcap capture of the uefi-vars device",
        description=(
            "Decode a capture written by QEMU's uefi-vars pcapfile= property (or by the "
            "workbench's backend): one line per MM call with its result, a marker per reset."
        ),
    )
    p.add_argument("capture", metavar="CAPTURE.pcap", help="a LINKTYPE_EDK2_MM (302) pcap file")
    p.add_argument("--json", action="store_true", help="print machine-readable records (one JSON document)")
    p.add_argument(
        "--verbose", "-v", action="store_true", help="show the decoded request and reply of every call"
    )
    p.set_defaults(handler_module="replay")


def run(args: argparse.Namespace) -> int:
    path = str(args.capture)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return _fail(f"cannot read {path}: {exc.strerror or exc}")
    try:
        replay = replay_pcap(data)
    except UefiVarsError as exc:
        return _fail(f"{path}: {exc}")
    if getattr(args, "json", False):
        json.dump(replay.to_dict(verbose=bool(getattr(args, "verbose", False))), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_text(replay, bool(getattr(args, "verbose", False)))
    return EXIT_OK


def _print_text(replay: Replay, verbose: bool) -> None:
    out = sys.stdout
    if not replay.entries:
        out.write("(no records)\n")
        return
    for entry in replay.entries:
        out.write(entry.line() + "\n")
        if verbose and isinstance(entry, ReplayCall):
            _print_details(entry)


def _print_details(call: ReplayCall) -> None:
    out = sys.stdout
    when = call.time
    if when is not None:
        stamp = datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds")
        out.write(f"    time: {stamp}\n")
    for tree in (call.request_fields(), call.reply_fields()):
        if tree is not None:
            out.write("    " + tree.render().replace("\n", "\n    ") + "\n")


def _fail(message: str) -> int:
    sys.stderr.write(f"uefivars replay: error: {message}\n")
    return EXIT_BAD_INPUT
