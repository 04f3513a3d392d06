#!/usr/bin/env python3
"""Render the application icon's PNG sizes from its SVG, and copy the SVG to where the
running application loads it.

    python packaging/render_icons.py [--check]

Source: packaging/icons/hicolor/scalable/apps/io.github.uefivars_gui.svg. Writes
packaging/icons/hicolor/NxN/apps/io.github.uefivars_gui.png for every size in SIZES and
uefivars_gui/qt/resources/icons/app.svg. Renders with rsvg-convert (Debian: librsvg2-bin)
when it is installed, else with Qt's QSvgRenderer. ``--check`` only reports what is
missing or out of date (exit 1).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICON_NAME = "io.github.uefivars_gui"
HICOLOR = ROOT / "packaging" / "icons" / "hicolor"
SOURCE = HICOLOR / "scalable" / "apps" / f"{ICON_NAME}.svg"
APP_SVG = ROOT / "uefivars_gui" / "qt" / "resources" / "icons" / "app.svg"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return HICOLOR / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"


def render_rsvg(size: int, out: Path) -> None:
    subprocess.run(
        ["rsvg-convert", "--width", str(size), "--height", str(size), "--output", str(out), str(SOURCE)],
        check=True,
    )


def render_qt(size: int, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["render_icons", "-platform", "offscreen"])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: Qt cannot read {SOURCE}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):  # type: ignore[call-overload]
        raise SystemExit(f"render_icons: cannot write {out}")


def png_size(path: Path) -> tuple[int, int] | None:
    head = path.read_bytes()[:24] if path.exists() else b""
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def stale() -> list[Path]:
    """PNGs that are missing or of the wrong size, and an app.svg that differs from the SVG."""
    found = [png_path(size) for size in SIZES if png_size(png_path(size)) != (size, size)]
    if not APP_SVG.exists() or APP_SVG.read_bytes() != SOURCE.read_bytes():
        found.append(APP_SVG)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report missing or stale outputs")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        for path in outdated:
            print(f"render_icons: out of date: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if outdated else 0
    render = render_rsvg if shutil.which("rsvg-convert") else render_qt
    for size in SIZES:
        out = png_path(size)
        out.parent.mkdir(parents=True, exist_ok=True)
        render(size, out)
        print(f"{out.relative_to(ROOT)} ({render.__name__.removeprefix('render_')})")
    shutil.copyfile(SOURCE, APP_SVG)
    print(f"{APP_SVG.relative_to(ROOT)} (copy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
