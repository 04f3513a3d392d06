"""Start-up cost of `uefivars show` against `virt-fw-vars --print --verbose`.

Target (issue 2): `uefivars show` on OVMF_VARS_4M.ms.fd takes at most half the wall time of
virt-fw-vars on the same file. virt-fw-vars is installed into its own venv (.venv-bench) on
first use, so the project's own venv stays clean.

Both commands run as a user runs them: with compiled bytecode. PYTHONDONTWRITEBYTECODE is
removed from their environment (with it set no .pyc file is ever written, so a checkout
recompiles every module on every run, which an installed package does not) and the
project's sources are compiled first. docs/performance.md has the results.
Results are the median of ``runs`` wall-clock times, after one warm-up run each.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "ovmf" / "OVMF_VARS_4M.ms.fd"
BENCH_VENV = ROOT / ".venv-bench"
TARGET_RATIO = 0.5


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _virt_fw_vars() -> Path | None:
    exe = BENCH_VENV / "bin" / "virt-fw-vars"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        result = subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q", "virt-firmware"], check=False)
        if result.returncode != 0:
            return None
    return exe


def _compile(python: Path, *paths: Path) -> None:
    """Write the .pyc files a real installation has."""
    subprocess.run([str(python), "-m", "compileall", "-q", *map(str, paths)], env=_env(), check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def _time(commands: list[list[str]], runs: int) -> list[list[float]]:
    """``runs`` wall times per command, the commands taking turns (a busy machine slows
    them alike), after a warm-up run of each (page cache, any missing .pyc files)."""
    env = _env()
    for cmd in commands:
        _run(cmd, env)
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for cmd, times in zip(commands, samples, strict=True):
            times.append(_run(cmd, env))
    return samples


def _line(label: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return f"{label:44} {statistics.median(ms):7.1f} ms median (min {ms[0]:.1f}, max {ms[-1]:.1f}, {len(ms)} runs)"


def main(runs: int = 21) -> dict[str, float]:
    _compile(ROOT / ".venv" / "bin" / "python", ROOT / "uefivars_gui")
    ours_cmd = [str(ROOT / ".venv" / "bin" / "uefivars"), "show", str(SAMPLE)]
    peer = _virt_fw_vars()
    if peer is None:
        [ours] = _time([ours_cmd], runs)
        print(_line("uefivars show OVMF_VARS_4M.ms.fd:", ours))
        print("virt-fw-vars: could not be installed; no comparison")
        return {"uefivars_show_ms": statistics.median(ours) * 1000}
    peer_cmd = [str(peer), "-i", str(SAMPLE), "--print", "--verbose"]
    ours, theirs = _time([ours_cmd, peer_cmd], runs)
    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    print(_line("uefivars show OVMF_VARS_4M.ms.fd:", ours))
    print(_line("virt-fw-vars -i FILE --print --verbose:", theirs))
    ratio = ours_ms / theirs_ms
    print(f"ratio: {ratio:.2f} (target <= {TARGET_RATIO:.2f}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    return {"uefivars_show_ms": ours_ms, "virt_fw_vars_ms": theirs_ms, "ratio": ratio}


if __name__ == "__main__":
    main()
