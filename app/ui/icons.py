"""Icons shipped in `resources/icons/` (SVG, so they are sharp at any HiDPI scale)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from .first_run import resources_dir


def icon(name: str) -> QIcon:
    """The icon `resources/icons/NAME.svg`; an empty icon if it is missing (never an error)."""
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()
