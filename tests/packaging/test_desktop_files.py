"""The desktop integration files in packaging/: they validate, agree with each other and
with the application, and the icons and screenshots they name exist."""

from __future__ import annotations

import configparser
import os
import runpy
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from uefivars_gui import __version__
from uefivars_gui.qt.app import DESKTOP_FILE_NAME

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / f"{DESKTOP_FILE_NAME}.desktop"
METAINFO = PACKAGING / f"{DESKTOP_FILE_NAME}.metainfo.xml"
MIME = PACKAGING / f"{DESKTOP_FILE_NAME}.mime.xml"
OVMF = ROOT / "tests" / "data" / "ovmf"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package {package}); the file was not validated")
    return path


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_desktop_file_validates() -> None:
    result = subprocess.run(
        [_tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP)], capture_output=True, text=True
    )
    # one main category, so menus list the application once
    problems = [line for line in result.stdout.splitlines() if "error:" in line or "warning:" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_metainfo_validates() -> None:
    result = subprocess.run(
        [_tool("appstreamcli", "appstream"), "validate", "--no-net", "--pedantic", str(METAINFO)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [line for line in result.stdout.splitlines() if line.startswith(("E:", "W:"))], result.stdout


def test_desktop_entry_matches_the_application() -> None:
    entry = _desktop_entry()
    scripts = _pyproject()["project"]["gui-scripts"]  # type: ignore[index]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "uefivars-gui %f" and "uefivars-gui" in scripts
    assert entry["Icon"] == DESKTOP_FILE_NAME
    assert entry["Categories"] == "System;"
    mime_types = entry["MimeType"].split(";")
    assert "application/json" in mime_types and "application/x-edk2-varstore" in mime_types


def test_metainfo_matches_the_application() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == DESKTOP_FILE_NAME
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == _pyproject()["project"]["license"]["text"]  # type: ignore[index]
    project = _pyproject()["project"]
    binaries = {element.text for element in root.iterfind("provides/binary")}
    assert binaries == set(project["scripts"]) | set(project["gui-scripts"])  # type: ignore[index]
    release = root.find("releases/release")
    assert release is not None and release.get("version") == __version__
    assert release.get("date") == "2026-11-26"
    assert root.find("content_rating") is not None


def test_icons_are_rendered_and_the_application_uses_the_same_svg() -> None:
    render = runpy.run_path(str(PACKAGING / "render_icons.py"))
    assert render["stale"]() == []
    assert render["SOURCE"].read_bytes() == (ROOT / "uefivars_gui/qt/resources/icons/app.svg").read_bytes()
    for size in render["SIZES"]:
        assert render["png_size"](render["png_path"](size)) == (size, size)
    assert min(render["SIZES"]) == 16 and max(render["SIZES"]) == 512


def test_data_files_in_pyproject_exist() -> None:
    data_files = _pyproject()["tool"]["setuptools"]["data-files"]  # type: ignore[index]
    listed = {path for paths in data_files.values() for path in paths}
    for path in listed:
        assert (ROOT / path).is_file(), path
    assert f"packaging/{DESKTOP.name}" in listed and f"packaging/{METAINFO.name}" in listed


def _magic_matches(data: bytes) -> bool:
    """The MIME definition's magic, evaluated here (nested matches are ANDed)."""

    def value(text: str) -> bytes:
        return text.encode("latin-1").decode("unicode_escape").encode("latin-1")

    def match(element: ET.Element) -> bool:
        offset = int(element.get("offset", "0"))
        wanted = value(element.get("value", ""))
        if data[offset : offset + len(wanted)] != wanted:
            return False
        children = element.findall(f"{MIME_NS}match")
        return not children or any(match(child) for child in children)

    magic = ET.parse(MIME).getroot().find(f"{MIME_NS}mime-type/{MIME_NS}magic")
    assert magic is not None
    return any(match(element) for element in magic.findall(f"{MIME_NS}match"))


def test_mime_magic_recognises_edk2_stores() -> None:
    for sample in ("OVMF_VARS_4M.fd", "OVMF_VARS_4M.ms.fd", "OVMF_VARS_4M.snakeoil.fd"):
        assert _magic_matches((OVMF / sample).read_bytes()[:64]), sample
    assert not _magic_matches(bytes(64))
    assert not _magic_matches(b'{"version": 2, "variables": []}' + bytes(32))


def test_mime_type_with_the_shared_mime_database(tmp_path: Path) -> None:
    """Installed the way a package would install it, Qt's QMimeDatabase (which reads the
    shared MIME database) tells edk2 stores from other *.fd files."""
    update = _tool("update-mime-database", "shared-mime-info")
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(MIME, packages)
    subprocess.run([update, str(tmp_path / "mime")], check=True, capture_output=True)
    (tmp_path / "OVMF_VARS.fd").write_bytes((OVMF / "OVMF_VARS_4M.ms.fd").read_bytes())
    (tmp_path / "floppy.fd").write_bytes(bytes(1 << 16))
    code = (
        "import sys\n"
        "from PySide6.QtCore import QMimeDatabase\n"
        "db = QMimeDatabase()\n"
        "print(' '.join(db.mimeTypeForFile(p).name() for p in sys.argv[1:]))\n"
    )
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "OVMF_VARS.fd"), str(tmp_path / "floppy.fd")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    edk2, floppy = result.stdout.split()
    assert edk2 == "application/x-edk2-varstore"
    assert floppy != "application/x-edk2-varstore"
