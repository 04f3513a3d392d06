"""`uefivars serve`: run the device engine as a UVBP/1 backend (backend-protocol.md).

::

    uefivars serve STORE --socket PATH [--tcp 127.0.0.1:PORT] [--flavour x64|sysbus]
        [--use-pio] [--force-secure-boot] [--disable-custom-mode] [--size BYTES]
        [--pcap FILE] [--policies FILE] [--save-as FILE.json]

STORE may be any store format; it is persisted as QEMU JSON, so a STORE that is not JSON
needs ``--save-as FILE.json`` (a flash image is never overwritten with JSON). A missing
or empty ``*.json`` STORE starts empty, as QEMU's ``jsonfile=`` does. The store is saved
atomically whenever QEMU would rewrite it and when the backend stops (SIGINT/SIGTERM:
GOODBYE to a connected VMM, save, remove the socket file).

Also runnable before it is wired into ``uefivars``: ``python -m uefivars_gui.cli.serve``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.store import VarStore
    from ..device.auth import Pkcs7Verifier
    from ..device.log import PcapRecord

__all__ = ["main", "register", "run"]


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    raw = text.strip().lower().removesuffix("ib").removesuffix("b")
    factor = 1
    if raw and raw[-1] in units:
        factor = units[raw[-1]]
        raw = raw[:-1]
    try:
        value = int(raw, 0) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 262144, 256K, 0x40000)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"the size must be positive, not {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` sub-command to ``uefivars``."""
    p = subparsers.add_parser(
        "serve",
        help="run the uefi-vars device as a backend for a VMM (UVBP/1)",
        description=(
            "Serve the uefi-vars device (QEMU's register interface, DMA and PIO) to one VMM at a time "
            "over a Unix socket (mode 0600) and/or a loopback TCP port, speaking UVBP/1. The store is "
            "saved as QEMU JSON on every non-volatile change and on exit. Device state survives VMM "
            "reconnects; SIGINT/SIGTERM stop the backend cleanly."
        ),
    )
    p.add_argument(
        "store", metavar="STORE", help="variable store (QEMU JSON, edk2 .fd or AWS; saved as JSON)"
    )
    p.add_argument("--socket", metavar="PATH", help="Unix socket to listen on (created with mode 0600)")
    p.add_argument(
        "--tcp", metavar="HOST:PORT", help="also listen on TCP, loopback addresses only (127.0.0.1:PORT)"
    )
    p.add_argument(
        "--flavour", choices=["x64", "sysbus"], default="x64", help="uefi-vars-x64 or uefi-vars-sysbus"
    )
    p.add_argument(
        "--use-pio", action="store_true", help="FLAGS register bit 0: the guest uses PIO transfers"
    )
    p.add_argument("--force-secure-boot", action="store_true", help="QEMU's force-secure-boot property")
    p.add_argument("--disable-custom-mode", action="store_true", help="QEMU's disable-custom-mode property")
    p.add_argument("--size", type=_size, metavar="BYTES", help="storage quota (QEMU 'size', default 256K)")
    p.add_argument("--pcap", metavar="FILE", help="capture every MM request and reply (LINKTYPE_EDK2_MM)")
    p.add_argument("--policies", metavar="FILE", help="host variable policies, applied after every reset")
    p.add_argument("--save-as", metavar="FILE.json", help="persist to this JSON file instead of STORE")
    p.set_defaults(handler_module="serve")


# --- optional hooks ------------------------------------------------------------------


def _verifier() -> Pkcs7Verifier:
    from ..crypto.engine_verifier import EngineVerifier

    return EngineVerifier(keep_records=16)


def _pcap_hook(path: str) -> tuple[Callable[[PcapRecord], object], Callable[[], object]]:
    from ..errors import UsageError
    from ..live.capture import PcapWriter

    try:
        writer = PcapWriter(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot create the capture: {exc.strerror or exc}") from None
    return writer.write_record, writer.close


# --- the command -----------------------------------------------------------------------


def _load_store(path: str, save_as: str | None) -> tuple[VarStore, str, str]:
    """The store, where to save it, and how STORE was read (for the start line)."""
    import os

    from ..codec.base import StoreFormat
    from ..core.store import VarStore
    from ..errors import UsageError
    from .storefile import open_store

    if save_as is not None and os.path.exists(save_as) and os.path.getsize(save_as) > 0:
        from ..codec import qemu_json
        from .storefile import read_bytes

        if not qemu_json.probe(read_bytes(save_as)):
            raise UsageError(f"--save-as {save_as}: exists and is not a JSON store; refusing to overwrite it")
    missing = not os.path.exists(path)
    if missing or (os.path.isfile(path) and os.path.getsize(path) == 0):
        if save_as is None and not path.lower().endswith(".json"):
            raise UsageError(f"{path}: no such store (a new store must be a .json file, or give --save-as)")
        return VarStore(), save_as or path, "new empty store" if missing else "empty file: empty store"
    opened = open_store(path)
    if opened.format is not StoreFormat.JSON and save_as is None:
        raise UsageError(
            f"{path} is not a JSON store (format: {opened.format.value}); `uefivars serve` saves QEMU JSON "
            "and will not overwrite it: give --save-as FILE.json"
        )
    return opened.store, save_as or path, opened.format.value


def run(args: argparse.Namespace) -> int:
    import logging
    import signal

    from ..device.config import DeviceConfig
    from ..device.engine import UefiVarsDevice
    from ..device.status import DEFAULT_STORAGE_SIZE
    from ..errors import UsageError
    from ..live.server import JsonStoreSaver, UvbpServer, parse_tcp_address

    if args.socket is None and args.tcp is None:
        raise UsageError("give --socket PATH (and/or --tcp 127.0.0.1:PORT)")
    tcp = parse_tcp_address(args.tcp) if args.tcp else None
    store, save_path, how = _load_store(args.store, args.save_as)
    config = DeviceConfig(
        size=args.size or DEFAULT_STORAGE_SIZE,
        use_pio=args.use_pio,
        force_secure_boot=args.force_secure_boot,
        disable_custom_mode=args.disable_custom_mode,
        flavour=args.flavour,
        # nobody reads the register-level log of a backend; pcap records only for --pcap
        log_register_accesses=False,
        emit_pcap=bool(args.pcap),
        log_limit=256,
    )
    verifier = _verifier()
    device = UefiVarsDevice(config, store, None, verifier)
    if args.policies:
        from ..ops.hostpolicy import install_host_policies, load_host_policies

        install_host_policies(device, load_host_policies(args.policies))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("uefivars serve: %(message)s"))
    server_log = logging.getLogger("uefivars_gui.live.server")
    server_log.addHandler(handler)
    server_log.setLevel(logging.INFO)
    server_log.propagate = False
    info: dict[str, object] = {
        "store": str(save_path),
        "device": config.device_name,
        "size": config.size,
        "use_pio": config.use_pio,
        "force_secure_boot": config.force_secure_boot,
        "disable_custom_mode": config.disable_custom_mode,
    }
    server = UvbpServer(
        device,
        unix_path=args.socket,
        tcp=tcp,
        saver=JsonStoreSaver(save_path),
        info=info,
    )
    previous = {}
    close_pcap: Callable[[], object] | None = None
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda _signum, _frame: server.request_stop())
        server.start(reset=False)
        if args.pcap:  # created once the socket is ours, so that a failed start truncates nothing
            server.pcap, close_pcap = _pcap_hook(args.pcap)
        server.reset_device()  # machine start: QEMU's first reset (and JSON rewrite)
        where = [f"socket {args.socket}"] if args.socket else []
        if server.tcp_address is not None:
            where.append(f"tcp {server.tcp_address[0]}:{server.tcp_address[1]}")
        saved = "" if save_path == args.store else f", saved to {save_path}"
        print(
            f"uefivars serve: listening on {', '.join(where)}; store {args.store} ({how}{saved}); "
            f"device {config.device_name}{' (PIO)' if config.use_pio else ''}"
            f"{'' if verifier is not None else '; no PKCS#7 verifier: signed writes are refused'}",
            flush=True,
        )
        server.serve_forever()
    finally:
        server.close()
        for signum, old in previous.items():
            signal.signal(signum, old)
        if close_pcap is not None:
            close_pcap()
        server_log.removeHandler(handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m uefivars_gui.cli.serve ...`` (the same as ``uefivars serve ...``)."""
    from ..errors import UefiVarsError

    parser = argparse.ArgumentParser(prog="uefivars")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except UefiVarsError as exc:
        print(f"uefivars serve: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
