"""`uefivars convert`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..codec.base import StoreFormat
from ..errors import UsageError
from .storefile import format_for_output, open_store, save_store


def run_convert(args: argparse.Namespace) -> int:
    source = open_store(args.input)
    fmt = format_for_output(args.output, args.to, None)
    if Path(args.output).exists() and not args.force:
        raise UsageError(f"{args.output} exists; use --force to overwrite it")
    origin: object = None
    if fmt is StoreFormat.EDK2:
        if args.template:
            template = open_store(args.template)
            if template.format is not StoreFormat.EDK2:
                raise UsageError(f"{args.template} is not an edk2 flash image")
            origin = template.document.origin
        elif source.format is StoreFormat.EDK2:
            origin = source.document.origin
        elif not args.size:
            raise UsageError("edk2 output needs --template FILE or --size 2M|4M|aavmf")
    elif source.format is fmt:
        origin = source.document.origin
    save_store(args.output, source.store, fmt, origin, layout=args.size)
    print(f"wrote {len(source.store)} variables to {args.output} ({fmt.value})", file=sys.stderr)
    return 0
