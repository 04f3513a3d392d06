"""The layering contracts in pyproject.toml hold (import-linter), as napari checks its Qt layer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_kept() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    command = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    result = subprocess.run(command + ["--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_uses_only_the_standard_library() -> None:
    for path in (ROOT / "uefivars_gui" / "core").glob("*.py"):
        text = path.read_text()
        for banned in ("import cryptography", "from cryptography", "import pyasn1", "from pyasn1", "PySide6"):
            assert banned not in text, f"{path.name} uses {banned}"
