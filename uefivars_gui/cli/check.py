"""`uefivars check`."""

from __future__ import annotations

import argparse

from ..core.guid import guid_label
from ..ops.check import Severity, check_store
from .storefile import open_store

_LABEL = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.ERROR: "error"}


def run_check(args: argparse.Namespace) -> int:
    opened = open_store(args.store)
    report = check_store(opened.store, opened.document.origin)
    for finding in sorted(report.findings, key=lambda f: -f.severity):
        where = f" [{finding.variable[1]} in {guid_label(finding.variable[0])}]" if finding.variable else ""
        print(f"{_LABEL[finding.severity]:7} {finding.message}{where}")
    problems = len(report.problems)
    print(f"{opened.path}: {len(opened.store)} variables, {problems} problem{'s' if problems != 1 else ''}")
    return 1 if problems else 0
