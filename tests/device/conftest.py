"""Device tests: make the in-test guest helper (device_guest.py) importable.

The project runs pytest with ``--import-mode=importlib``, which does not put test
directories on ``sys.path``; this directory is added here so that test modules can
``from device_guest import ...``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
