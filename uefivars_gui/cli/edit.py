"""`uefivars get`, `set` and `delete`."""

from __future__ import annotations

import argparse
import sys

from ..core.attributes import NV_BS_RT, parse_attributes
from ..core.guid import parse_guid
from ..core.store import VarStore
from ..core.ucs2 import encode_ucs2
from ..core.variable import Variable
from ..errors import UsageError, VariableNotFoundError
from .render import variable_block
from .storefile import OpenedStore, open_store, read_bytes, save_store

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


def _find(store: VarStore, name: str, guid_text: str | None) -> Variable:
    return store.resolve(name, parse_guid(guid_text) if guid_text else None)


def run_get(args: argparse.Namespace) -> int:
    opened = open_store(args.store)
    var = _find(opened.store, args.name, args.guid)
    if args.raw:
        sys.stdout.buffer.write(var.data)
    elif args.hex:
        print(var.data.hex())
    else:
        print(variable_block(var))
    return 0


def _parse_uint(text: str, width: int) -> bytes:
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(f"--uint: not a number: {text!r}") from None
    if not 0 <= value < 1 << (8 * width):
        raise UsageError(f"--uint: {value} does not fit in {width} bytes")
    return value.to_bytes(width, "little")


def _new_data(args: argparse.Namespace, existing: Variable | None) -> bytes:
    if args.data is not None:
        text = "".join(args.data.split()).removeprefix("0x")
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise UsageError(f"--data: not hex digit pairs: {args.data!r}") from None
    if args.string is not None:
        return encode_ucs2(args.string)
    if args.ascii is not None:
        ascii_text: str = args.ascii
        if not ascii_text.isascii():
            raise UsageError("--ascii: the text has non-ASCII characters")
        return ascii_text.encode("ascii") + b"\0"
    if args.bool is not None:
        word = args.bool.strip().lower()
        if word in _TRUE:
            return b"\x01"
        if word in _FALSE:
            return b"\x00"
        raise UsageError(f"--bool: expected true/false, on/off or 1/0, not {args.bool!r}")
    if args.uint is not None:
        width = args.width or (existing.size if existing is not None and existing.size in (1, 2, 4, 8) else 4)
        return _parse_uint(args.uint, width)
    return read_bytes(args.file)


def _write_back(opened: OpenedStore, store: VarStore, output: str | None) -> None:
    target = output or opened.path
    save_store(target, store, opened.format, opened.document.origin)


def run_set(args: argparse.Namespace) -> int:
    opened = open_store(args.store)
    store = opened.store.copy()
    guid = parse_guid(args.guid) if args.guid else None
    try:
        existing: Variable | None = store.resolve(args.name, guid)
    except VariableNotFoundError:
        existing = None
    if existing is None and guid is None:
        raise UsageError(f"{args.name!r} does not exist yet: give its vendor GUID with --guid")
    attributes = parse_attributes(args.attr) if args.attr else (existing.attributes if existing else NV_BS_RT)
    data = _new_data(args, existing)
    if existing is not None:
        var = existing.evolve(attributes=attributes, data=data)
    else:
        assert guid is not None
        var = Variable(args.name, guid, attributes, data)
    store.set(var)
    _write_back(opened, store, args.output)
    verb = "changed" if existing else "created"
    print(f"{verb} {var.describe()}", file=sys.stderr)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    opened = open_store(args.store)
    store = opened.store.copy()
    var = _find(store, args.name, args.guid)
    store.remove(var.guid, var.name)
    _write_back(opened, store, args.output)
    print(f"deleted {var.describe()}", file=sys.stderr)
    return 0
