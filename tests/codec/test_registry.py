"""Format detection: the registry probes without importing codecs it does not need."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from uefivars_gui.codec import aws, registry
from uefivars_gui.codec.base import StoreFormat

DATA = Path(__file__).resolve().parent.parent / "data"
SAMPLES = sorted((DATA / "aws").glob("*.aws")) + sorted((DATA / "ovmf").glob("*")) + sorted((DATA / "qemu").glob("*.json"))


def test_the_inline_aws_probe_is_the_codecs_probe() -> None:
    assert registry._AWS_MAGIC == aws.AWS_MAGIC
    assert registry._AWS_ARMORED_MAGIC_PREFIX == aws._ARMORED_MAGIC_PREFIX
    assert registry._WHITESPACE == aws._WHITESPACE
    container = aws.AWS_MAGIC + bytes(24)
    armored = base64.b64encode(container)
    cases = [
        b"",
        container,
        armored,
        b"  \r\n\t" + armored,
        b"\n" + container,
        base64.b64encode(b"AMZNUEFX" + bytes(8)),
        armored[:9],
        b'{"version": 2, "variables": []}',
        b"\xff" * 64,
    ]
    cases += [path.read_bytes() for path in SAMPLES]
    for data in cases:
        assert registry._probe_aws(data) == aws.probe(data), data[:16]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_probe_by_content(path: Path) -> None:
    expected = {".aws": StoreFormat.AWS, ".fd": StoreFormat.EDK2, ".json": StoreFormat.JSON}[path.suffix]
    assert registry.probe(path.read_bytes()) is expected


def test_decoding_a_flash_image_imports_neither_aws_nor_json() -> None:
    code = (
        "import sys\n"
        "from uefivars_gui.codec import registry\n"
        f"registry.decode(open({str(DATA / 'ovmf' / 'OVMF_VARS_4M.ms.fd')!r}, 'rb').read())\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())
    assert "uefivars_gui.codec.edk2" in loaded
    assert not loaded & {"uefivars_gui.codec.aws", "uefivars_gui.codec.qemu_json", "json", "hashlib"}
