"""Errors an export can meet, one line each, naming the scene, clip or file concerned."""

from __future__ import annotations

from app.project.errors import StoryloomError


class RenderError(StoryloomError):
    """The film cannot be rendered or written as asked; nothing was left under the output name."""


class ExportCancelled(RenderError):
    """The export was cancelled; the temporary file is gone and any existing output untouched."""
