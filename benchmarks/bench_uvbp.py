"""GetVariable round trips through ``uefivars serve`` over a Unix socket (UVBP/1).

Two processes: the backend (``python -m uefivars_gui.cli.serve``, the device engine
behind the socket) and this one, a VMM (:class:`~uefivars_gui.live.uvbp_client.UvbpClient`)
driven by edk2's guest drivers (:class:`~uefivars_gui.live.guest.GuestSession` in DMA
mode, :class:`~uefivars_gui.live.guest.VariableClient`). Every GetVariable is a full
DMA round trip: the request written to guest RAM, REG_WRITE of the DMA_MM command, the
backend's DMA_READ and DMA_WRITE served by the VMM, the REG_WRITE reply, REG_READ of
CMD_STS, the reply read from guest RAM. Target: >= 10,000/s on a 2-core machine.

Run: ``.venv/bin/python benchmarks/bench_uvbp.py [--seconds 3] [--runs 5]``. Prints
GetVariable/s (and REG_READ round trips/s) of each run, each with a fresh backend, then
min / median / max over the runs: the machine may be shared, so one run says little.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from uefivars_gui.codec import qemu_json
from uefivars_gui.core.attributes import Attributes
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.live.guest import GuestSession, VariableClient
from uefivars_gui.live.uvbp_client import UvbpClient

N_VARIABLES = 200


def _store() -> bytes:
    store = VarStore(
        Variable(f"Var{i:04d}", EFI_GLOBAL_VARIABLE, Attributes(7), bytes(range(1 + i % 63)))
        for i in range(N_VARIABLES)
    )
    return qemu_json.encode(store)


def _wait_for_socket(proc: subprocess.Popen[bytes], path: Path, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not path.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"the backend exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the backend did not start")
        time.sleep(0.01)


def run(seconds: float) -> tuple[float, float]:
    """(GetVariable/s, REG_READ round trips/s)."""
    with tempfile.TemporaryDirectory(prefix="uvbp-bench-") as tmp:
        store_path = Path(tmp) / "vars.json"
        store_path.write_bytes(_store())
        sock_path = Path(tmp) / "uvbp.sock"
        proc = subprocess.Popen(
            [sys.executable, "-m", "uefivars_gui.cli.serve", str(store_path), "--socket", str(sock_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_socket(proc, sock_path)
            with UvbpClient.connect_unix(sock_path) as target:
                client = VariableClient(GuestSession(target, "dma"))
                client.get_payload_size()
                names = [f"Var{i:04d}" for i in range(0, N_VARIABLES, 7)]
                for name in names:  # warm up, and check the answers
                    result = client.get_variable(name, EFI_GLOBAL_VARIABLE, 64)
                    assert result.status == 0, result
                count = 0
                start = time.perf_counter()
                deadline = start + seconds
                while time.perf_counter() < deadline:
                    for name in names:
                        client.get_variable(name, EFI_GLOBAL_VARIABLE, 64)
                    count += len(names)
                get_rate = count / (time.perf_counter() - start)
                count = 0
                start = time.perf_counter()
                deadline = start + min(seconds, 1.0)
                while time.perf_counter() < deadline:
                    for _ in range(100):
                        target.read(0x02, 2)
                    count += 100
                read_rate = count / (time.perf_counter() - start)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return get_rate, read_rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="GetVariable time of each run")
    parser.add_argument("--runs", type=int, default=1, help="runs, each with a fresh backend")
    args = parser.parse_args(argv if argv is not None else [])
    cores = os.cpu_count() or 0
    gets: list[float] = []
    reads: list[float] = []
    for _ in range(max(1, args.runs)):
        get_rate, read_rate = run(args.seconds)
        gets.append(get_rate)
        reads.append(read_rate)
        print(f"GetVariable over UVBP (DMA, unix socket, 2 processes): {get_rate:,.0f}/s ({cores} cores)")
        print(f"REG_READ round trips over UVBP: {read_rate:,.0f}/s", flush=True)
    if len(gets) > 1:
        for name, rates in (("GetVariable", gets), ("REG_READ", reads)):
            print(
                f"{name}/s over {len(rates)} runs: min {min(rates):,.0f}, "
                f"median {statistics.median(rates):,.0f}, max {max(rates):,.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
