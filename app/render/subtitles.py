"""Subtitles from an SRT file, as cues on the project timeline."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import RenderError
from .settings import Cue

_TIME = re.compile(
    r"(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
)
_TAGS = re.compile(r"</?[a-zA-Z][^>]*>|\{\\[^}]*\}")  # <i>, <font ...>, {\an8}


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def parse_srt(text: str, name: str = "subtitles") -> tuple[Cue, ...]:
    """SRT text -> cues in time order. Formatting tags are dropped (cards draw plain text)."""
    cues: list[Cue] = []
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    line_no = 1
    for block in blocks:
        lines = block.strip("\n").split("\n")
        if not block.strip():
            line_no += block.count("\n") + 2
            continue
        timing = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        m = _TIME.search(lines[timing]) if timing is not None else None
        if m is None:
            raise RenderError(f"{name}: the cue near line {line_no} has no valid timing")
        start, end = _seconds(*m.groups()[:4]), _seconds(*m.groups()[4:])
        if end <= start:
            raise RenderError(f"{name}: the cue near line {line_no} ends before it starts")
        body = "\n".join(_TAGS.sub("", ln).strip() for ln in lines[timing + 1 :]).strip()
        if body:
            cues.append(Cue(start, end, body))
        line_no += block.count("\n") + 2
    return tuple(sorted(cues, key=lambda c: c.start))


def load_srt(path: Path) -> tuple[Cue, ...]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RenderError(f"{path}: cannot be read ({e.strerror})") from e
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return parse_srt(data.decode(enc), path.name)
        except UnicodeDecodeError:
            continue
    raise RenderError(f"{path}: not a text file")  # pragma: no cover - latin-1 decodes anything


def active(cues: tuple[Cue, ...], t: float) -> list[str]:
    """Texts of the cues on screen at timeline time `t`."""
    return [c.text for c in cues if c.start <= t < c.end]
