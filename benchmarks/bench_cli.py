"""Start-up cost of `uefivars show` against `virt-fw-vars --print --verbose`.

Target (issue 2): `uefivars show` on OVMF_VARS_4M.ms.fd takes at most half the wall
time of virt-fw-vars on the same file. virt-fw-vars is installed into its own venv
(.venv-bench) on first use, so the project's own venv stays clean.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "ovmf" / "OVMF_VARS_4M.ms.fd"
BENCH_VENV = ROOT / ".venv-bench"


def _virt_fw_vars() -> Path | None:
    exe = BENCH_VENV / "bin" / "virt-fw-vars"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        result = subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q", "virt-firmware"], check=False)
        if result.returncode != 0:
            return None
    return exe


def _time(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # warm the page cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(runs: int = 21) -> dict[str, float]:
    ours = _time([str(ROOT / ".venv" / "bin" / "uefivars"), "show", str(SAMPLE)], runs)
    print(f"uefivars show OVMF_VARS_4M.ms.fd:            {ours * 1000:7.1f} ms (median of {runs})")
    results = {"uefivars_show_ms": ours * 1000}
    peer = _virt_fw_vars()
    if peer is None:
        print("virt-fw-vars: could not be installed; no comparison")
        return results
    theirs = _time([str(peer), "-i", str(SAMPLE), "--print", "--verbose"], runs)
    print(f"virt-fw-vars -i FILE --print --verbose:      {theirs * 1000:7.1f} ms (median of {runs})")
    print(f"ratio: {ours / theirs:.2f} (target <= 0.50)")
    results.update({"virt_fw_vars_ms": theirs * 1000, "ratio": ours / theirs})
    return results


if __name__ == "__main__":
    main()
