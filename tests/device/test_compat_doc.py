"""docs/compat.md lists every intended difference, and every test it names exists."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from uefivars_gui.device import INTENDED_DIFFERENCES, OPEN_QUESTIONS

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / "docs" / "compat.md"
_TEST_ID = re.compile(r"tests/[\w/]+\.py::\w+")
#: The numbered decisions of intended-differences.md (14 lives in live/, not in the engine).
SPEC_NUMBERS = {str(n) for n in range(1, 17)}


def _rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in COMPAT.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*(\d+|A\d+)\s*\|", line)
        if match:
            assert match.group(1) not in rows, f"row {match.group(1)} appears twice"
            rows[match.group(1)] = line
    return rows


@cache
def _test_functions(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )


def _exists(test_id: str) -> bool:
    path, name = test_id.split("::")
    return (ROOT / path).is_file() and name in _test_functions(path)


def test_every_intended_difference_has_a_row_with_its_test() -> None:
    rows = _rows()
    for number, _ours, _qemu, test in INTENDED_DIFFERENCES:
        assert number in rows, f"intended difference {number} is missing from docs/compat.md"
        assert test in rows[number], f"row {number} of docs/compat.md does not name {test}"


def test_every_numbered_decision_is_documented() -> None:
    assert set(_rows()) >= SPEC_NUMBERS


def test_rows_are_only_known_differences() -> None:
    known = {number for number, *_ in INTENDED_DIFFERENCES} | SPEC_NUMBERS
    assert set(_rows()) <= known


def test_every_named_test_exists() -> None:
    named = set(_TEST_ID.findall(COMPAT.read_text(encoding="utf-8")))
    named |= {test for *_, test in INTENDED_DIFFERENCES}
    named |= {test for _, test in OPEN_QUESTIONS}
    missing = sorted(test for test in named if not _exists(test))
    assert not missing, f"tests named but not found: {missing}"


def test_open_questions_are_listed() -> None:
    text = COMPAT.read_text(encoding="utf-8")
    for _question, test in OPEN_QUESTIONS:
        assert test in text
