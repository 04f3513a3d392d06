"""`uefivars`: every store operation headless, for scripts and fleets of VMs.

Exit codes: 0 success; 1 a negative answer (``diff`` found differences, ``check`` found
problems); 2 bad usage or bad input (a message on stderr, no traceback, the input file
untouched); 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_BAD_INPUT = 2
EXIT_BUG = 3

Handler = Callable[[argparse.Namespace], int]


class _BuildFormatter(argparse.HelpFormatter):
    """The formatter argparse uses while :func:`build_parser` builds the parsers.

    argparse makes a formatter for every ``add_argument`` (to check the metavar), and
    ``HelpFormatter`` asks ``shutil.get_terminal_size()`` for its width: importing shutil
    (with bz2, lzma, fnmatch) is ~3 ms of the start-up time of every command. Nothing
    formatted while building depends on the width (the sub-commands' prog is
    "uefivars"), so the build uses a fixed one; the finished parsers print help, usage
    and errors with argparse's own ``HelpFormatter``.
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, 80 if width is None else width)


def _store_arg(parser: argparse.ArgumentParser, name: str = "store", help_text: str = "variable store file (QEMU JSON, edk2 .fd or AWS; detected by content)") -> None:
    parser.add_argument(name, metavar=name.upper(), help=help_text)


def _guid_arg(parser: argparse.ArgumentParser, help_text: str = "vendor GUID or a known name (e.g. EfiGlobalVariable, EfiImageSecurityDatabase)") -> None:
    parser.add_argument("--guid", "-g", metavar="G", help=help_text)


def _add_show(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("show", formatter_class=_BuildFormatter, help="list the variables of a store", description="One line per variable: name, namespace, attributes, size, time, decoded value.")
    _store_arg(p)
    p.add_argument("--verbose", "-v", action="store_true", help="decode every variable fully (certificates, boot entries, device paths)")
    p.add_argument("--json", action="store_true", help="write the store as QEMU JSON to stdout")
    p.add_argument("--history", action="store_true", help="also list deleted records of a flash image")
    p.set_defaults(handler="show")


def _add_convert(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("convert", formatter_class=_BuildFormatter, help="convert a store to another format", description="Convert any store format to any other. An edk2 output needs a template image (--template) or a layout (--size).")
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--to", choices=["json", "edk2", "aws"], help="output format (default: from OUT's extension .json/.fd/.aws)")
    p.add_argument("--template", metavar="FILE", help="edk2 output: a VARS image whose geometry to use")
    p.add_argument("--size", choices=["2M", "4M", "aavmf"], help="edk2 output: the flash layout when there is no template")
    p.add_argument("--force", "-f", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(handler="convert")


def _add_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("diff", formatter_class=_BuildFormatter, help="compare two stores (any formats)", description="Variables added, removed and changed from A to B. Exit 1 when they differ.")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--verbose", "-v", action="store_true", help="show decoded before/after values in full")
    p.set_defaults(handler="diff")


def _add_get(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("get", formatter_class=_BuildFormatter, help="print one variable", description="Print one variable decoded (or its raw bytes with --raw).")
    _store_arg(p)
    p.add_argument("name", metavar="NAME")
    _guid_arg(p)
    p.add_argument("--raw", action="store_true", help="write the raw data bytes to stdout")
    p.add_argument("--hex", action="store_true", help="print the data as hex")
    p.set_defaults(handler="get")


def _add_set(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("set", formatter_class=_BuildFormatter, help="create or change a variable", description="Create or change a variable. The data comes from exactly one of --data, --string, --ascii, --bool, --uint, --file.")
    _store_arg(p)
    p.add_argument("name", metavar="NAME")
    _guid_arg(p, "vendor GUID or known name (needed for a new variable or an ambiguous name)")
    p.add_argument("--attr", "-a", metavar="A", help="attributes, e.g. NV|BS|RT or 0x7 (default: the existing ones, NV|BS|RT for a new variable)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", metavar="HEX", help="data as hex digits")
    src.add_argument("--string", metavar="S", help="data as a NUL-terminated UCS-2 string")
    src.add_argument("--ascii", metavar="S", help="data as a NUL-terminated ASCII string (Lang, PlatformLang)")
    src.add_argument("--bool", metavar="B", help="one byte: true/false, on/off, 1/0")
    src.add_argument("--uint", metavar="N", help="an unsigned integer (decimal or 0x...), little-endian")
    src.add_argument("--file", metavar="F", help="data from a file")
    p.add_argument("--width", type=int, choices=[1, 2, 4, 8], help="--uint: size in bytes (default: the variable's current size, else 4)")
    p.add_argument("--output", "-o", metavar="OUT", help="write the result here instead of changing STORE")
    p.set_defaults(handler="set")


def _add_delete(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("delete", formatter_class=_BuildFormatter, help="delete a variable")
    _store_arg(p)
    p.add_argument("name", metavar="NAME")
    _guid_arg(p)
    p.add_argument("--output", "-o", metavar="OUT", help="write the result here instead of changing STORE")
    p.set_defaults(handler="delete")


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", formatter_class=_BuildFormatter, help="health report of a store", description="Attribute sanity, Secure Boot consistency, expired certificates, boot entries, flash free space. Exit 1 when problems are found.")
    _store_arg(p)
    p.set_defaults(handler="check")


def _module_command(name: str) -> Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]:
    """A sub-command that lives in its own module ``cli/<name>.py`` with ``register(sub)``
    and ``run(args)`` (imported only when that command is built)."""

    def add(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        import importlib

        importlib.import_module(f"{__package__}.{name}").register(sub)

    return add


#: The sub-commands in the order ``uefivars --help`` lists them.
_COMMANDS: dict[str, Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = {
    "show": _add_show,
    "convert": _add_convert,
    "diff": _add_diff,
    "get": _add_get,
    "set": _add_set,
    "delete": _add_delete,
    "check": _add_check,
    **{
        name: _module_command(name)
        for name in ("enroll", "keygen", "sign", "verify", "apply", "rollover", "serve", "replay")
    },
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``uefivars`` parser; with ``only``, just that sub-command.

    ``main`` passes ``only`` when the first argument names a sub-command: building all
    seven sub-parsers costs start-up time (argparse makes a help formatter per argument),
    and a command line starting with a sub-command never needs the others. Anything else
    (``--help``, ``--version``, a mistyped command) gets the full parser.
    """
    parser = argparse.ArgumentParser(
        prog="uefivars",
        formatter_class=_BuildFormatter,
        description="Inspect and edit UEFI variable stores of virtual machines (QEMU uefi-vars JSON, edk2 OVMF/AAVMF flash images, AWS).",
        epilog="Exit codes: 0 ok, 1 negative answer (differences / problems found), 2 bad usage or input.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, add in _COMMANDS.items():
        if only is None or name == only:
            add(sub)
    for built in (parser, *sub.choices.values()):
        built.formatter_class = argparse.HelpFormatter
    return parser


def _handler(args: argparse.Namespace) -> Handler:
    module_name = getattr(args, "handler_module", None)
    if module_name is not None:
        import importlib

        run: Handler = importlib.import_module(f"{__package__}.{module_name}").run
        return run
    name = args.handler
    if name == "show":
        from .show import run_show as handler
    elif name == "convert":
        from .convert import run_convert as handler
    elif name == "diff":
        from .diff import run_diff as handler
    elif name in ("get", "set", "delete"):
        from . import edit

        handler = {"get": edit.run_get, "set": edit.run_set, "delete": edit.run_delete}[name]
    elif name == "check":
        from .check import run_check as handler
    else:  # pragma: no cover - argparse only offers the names above
        raise AssertionError(name)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments and arguments[0] in _COMMANDS else None
    parser = build_parser(command)
    args = parser.parse_args(arguments)
    from ..errors import UefiVarsError

    try:
        return _handler(args)(args)
    except UefiVarsError as exc:
        print(f"uefivars {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `uefivars show ... | head`: not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
