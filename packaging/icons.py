"""The application icon at every size a desktop wants, drawn from resources/icons/storyloom.svg
with Qt at build time (no binary icons in the repository):

    python packaging/icons.py OUT_DIR
    -> OUT_DIR/hicolor/SIZExSIZE/apps/storyloom.png  (16 ... 512, for Linux and the AppImage)
       OUT_DIR/storyloom.ico                          (Windows: 16 ... 256 in one file, by Qt)
       OUT_DIR/storyloom.icns                         (macOS: PNG chunks, written here)
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "storyloom.svg"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# OSTypes of PNG-carrying icns chunks: ic07 128, ic08 256, ic09 512, ic10 1024 (512@2x),
# ic11 32 (16@2x), ic12 64 (32@2x), ic13 256 (128@2x), ic14 512 (256@2x)
ICNS_TYPES = (
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic13", 256),
    (b"ic08", 256),
    (b"ic14", 512),
    (b"ic09", 512),
    (b"ic10", 1024),
)


def render(svg: QSvgRenderer, size: int) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    svg.render(p)
    p.end()
    return img


def png_bytes(img: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    buf.close()
    return bytes(data)


def icns(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """An .icns file: 'icns' + total length, then (OSType, 8 + len, data) per chunk."""
    body = b"".join(kind + struct.pack(">I", 8 + len(data)) + data for kind, data in chunks)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def ico(images: list[bytes]) -> bytes:
    """A .ico file whose entries are PNGs (Windows Vista and later read them at every size)."""
    head = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for data in images:
        w, h = struct.unpack(">II", data[16:24])  # the PNG's IHDR
        entries += struct.pack(
            "<BBBBHHII", w % 256, h % 256, 0, 0, 1, 32, len(data), offset + len(blobs)
        )
        blobs += data
    return head + entries + blobs


def write_icons(out: Path, svg_path: Path = SVG) -> list[Path]:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    svg = QSvgRenderer(str(svg_path))
    if not svg.isValid():
        raise SystemExit(f"icons: cannot read {svg_path}")
    written = []
    for size in PNG_SIZES:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / "storyloom.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(render(svg, size)))
        written.append(path)
    (out / "storyloom.ico").write_bytes(ico([png_bytes(render(svg, s)) for s in ICO_SIZES]))
    (out / "storyloom.icns").write_bytes(
        icns([(kind, png_bytes(render(svg, size))) for kind, size in ICNS_TYPES])
    )
    return [*written, out / "storyloom.ico", out / "storyloom.icns"]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python packaging/icons.py OUT_DIR")
    for p in write_icons(Path(sys.argv[1])):
        print(p)
