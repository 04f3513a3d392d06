"""GetVariable throughput of the device engine (in-process, no I/O).

Builds a 1000-variable store, then times GetVariable requests through
``UefiVarsDevice.process_mm`` (the full MM path: header, dispatch, lookup, reply, log
records and pcap records) and, separately, through the register interface in DMA mode.

Run: ``.venv/bin/python benchmarks/bench_engine.py [--seconds 2]``. Prints requests/s.
"""

from __future__ import annotations

import argparse
import struct
import time
import uuid

from uefivars_gui.core.attributes import Attributes
from uefivars_gui.core.guid import EFI_GLOBAL_VARIABLE, SMM_VARIABLE_PROTOCOL
from uefivars_gui.core.store import VarStore
from uefivars_gui.core.variable import Variable
from uefivars_gui.device import BytearrayMemory, DeviceConfig, UefiVarsDevice
from uefivars_gui.device.mm import build_mm_buffer

N_VARIABLES = 1000
DMA_ADDRESS = 0x200000


def make_store(n: int = N_VARIABLES) -> VarStore:
    store = VarStore()
    for i in range(n):
        guid = EFI_GLOBAL_VARIABLE if i % 2 else uuid.UUID(int=i)
        store.append(Variable(f"Var{i:04d}", guid, Attributes(7), bytes(range(i % 64))))
    return store


def get_request(name: str, guid: uuid.UUID, data_size: int = 64) -> bytes:
    raw = (name + "\0").encode("utf-16-le")
    msg = struct.pack("<QQ", 1, 0) + guid.bytes_le + struct.pack("<QQI", data_size, len(raw), 0) + raw
    return build_mm_buffer(SMM_VARIABLE_PROTOCOL, msg + bytes(data_size))


def bench_direct(seconds: float, n: int = N_VARIABLES) -> float:
    dev = UefiVarsDevice(DeviceConfig(size=64 << 20, log_limit=1000), make_store(n), None)
    dev.hard_reset()
    requests = [
        get_request(f"Var{i:04d}", EFI_GLOBAL_VARIABLE if i % 2 else uuid.UUID(int=i))
        for i in range(0, n, max(n // 143, 1))
    ]
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for req in requests:
            dev.process_mm(req)
        count += len(requests)
        dev.drain_log()
    return count / (time.perf_counter() - start)


def bench_dma(seconds: float) -> float:
    memory = BytearrayMemory(1 << 22)
    dev = UefiVarsDevice(DeviceConfig(size=4 << 20, log_limit=1000), make_store(), memory)
    dev.hard_reset()
    dev.write(0x02, 2, 1)
    dev.write(0x04, 4, 0x10000)
    dev.write(0x08, 4, DMA_ADDRESS)
    dev.write(0x0C, 4, 0)
    req = get_request("Var0501", EFI_GLOBAL_VARIABLE)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            memory.write(DMA_ADDRESS, req)
            dev.write(0x02, 2, 2)
            dev.read(0x02, 2)
        count += 200
        dev.drain_log()
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    direct = bench_direct(args.seconds)
    dma = bench_dma(args.seconds)
    print(f"GetVariable via process_mm: {direct:,.0f}/s ({N_VARIABLES}-variable store)")
    print(f"GetVariable via registers + DMA: {dma:,.0f}/s")
    # lookups are indexed by (guid, name): the rate must not fall as the store grows
    for n in (10, 100, 1000, 10000):
        print(f"  store of {n:>5} variables: {bench_direct(args.seconds / 2, n):,.0f} GetVariable/s")


if __name__ == "__main__":
    main()
