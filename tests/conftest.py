"""Shared test fixtures: paths to bundled samples and to ../shared where it exists."""

from __future__ import annotations

import os
from pathlib import Path

# Qt tests run without a display unless the caller chose a platform (make test sets it too).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED_SIGNED = ROOT.parent / "shared" / "testdata" / "signed"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def signed_dir() -> Path:
    """Microsoft's real signed updates; never committed, used where ../shared exists."""
    if not SHARED_SIGNED.is_dir():
        pytest.skip(f"real signed samples not available: {SHARED_SIGNED} does not exist (they are not redistributed with the project)")
    return SHARED_SIGNED
