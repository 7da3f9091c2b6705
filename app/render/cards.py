"""Drawn pictures: title and end cards, the placeholder of a scene without a take, subtitles.

OpenCV's Hershey fonts draw ASCII only, so text is folded to ASCII first (accents dropped,
other characters shown as '?'); sizes scale with the frame so a 480p draft and a 1080p master
look alike.
"""

from __future__ import annotations

import unicodedata

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_DUPLEX
WHITE = (255, 255, 255)
GREY = (170, 170, 178)


def ascii_text(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = folded.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    folded = folded.replace("\u201d", '"').replace("\u2014", "-").replace("\u2026", "...")
    return folded.encode("ascii", "replace").decode("ascii")


def _wrap(text: str, scale: float, thickness: int, max_width: int) -> list[str]:
    lines: list[str] = []
    for para in ascii_text(text).split("\n"):
        line = ""
        for word in para.split():
            trial = f"{line} {word}".strip()
            if line and cv2.getTextSize(trial, FONT, scale, thickness)[0][0] > max_width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def _draw_lines(
    img: np.ndarray,
    lines: list[tuple[str, float, tuple[int, int, int]]],
    centre_y: float | None,
    bottom: int | None = None,
    outline: bool = False,
) -> None:
    """Centred lines of (text, scale, colour), as a block centred on `centre_y` or ending at
    `bottom` (pixels from the top)."""
    h, w = img.shape[:2]
    sizes = []
    for text, scale, _ in lines:
        th = max(1, round(scale * 1.6))
        (tw, tht), base = cv2.getTextSize(text, FONT, scale, th)
        sizes.append((tw, tht + base, th, base))
    gap = [round(s[1] * 0.45) for s in sizes]
    total = sum(s[1] for s in sizes) + sum(gap[:-1])
    y = (bottom - total) if bottom is not None else round((centre_y or h / 2) - total / 2)
    for (text, scale, colour), (tw, lh, th, base), g in zip(lines, sizes, gap, strict=True):
        org = ((w - tw) // 2, y + lh - base)
        if outline:  # the text itself shifted around it (a thicker stroke would advance wider)
            r = max(1, th)
            for dx, dy in ((-r, 0), (r, 0), (0, -r), (0, r), (-r, -r), (r, r), (-r, r), (r, -r)):
                o = (org[0] + dx, org[1] + dy)
                cv2.putText(img, text, o, FONT, scale, (0, 0, 0), th, cv2.LINE_AA)
        cv2.putText(img, text, org, FONT, scale, colour, th, cv2.LINE_AA)
        y += lh + g


def _scale(h: int, w: int, size: float) -> float:
    """Hershey scale for `size` at 720p, kept legible (>= 0.3) on tiny frames."""
    return max(0.3, size * min(h / 720, w / 1280 * 1.25))


def title_card(text: str, size: tuple[int, int]) -> np.ndarray:
    """White title centred on black. (H, W, 3) uint8 RGB."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    scale = _scale(h, w, 1.8)
    lines = _wrap(text, scale, max(1, round(scale * 1.6)), int(w * 0.86))
    _draw_lines(img, [(ln, scale, WHITE) for ln in lines], h / 2)
    return img


def placeholder_card(lines: tuple[str, ...], size: tuple[int, int]) -> np.ndarray:
    """A scene without a take: its number large, its title and prompt, on a slate with stripes."""
    w, h = size
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (38, 40, 48)
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = ((xx + yy) // max(8, h // 12)) % 2 == 0
    img[stripes] = (46, 48, 58)
    big, small = _scale(h, w, 1.6), _scale(h, w, 0.8)
    out: list[tuple[str, float, tuple[int, int, int]]] = []
    for i, text in enumerate(lines):
        scale = big if i == 0 else small
        colour = WHITE if i < len(lines) - 1 else GREY
        for ln in _wrap(text, scale, max(1, round(scale * 1.6)), int(w * 0.86))[:3]:
            out.append((ln, scale, colour))
    _draw_lines(img, out, h / 2)
    return img


def draw_subtitles(img: np.ndarray, texts: list[str]) -> np.ndarray:
    """A copy of `img` with the texts at the bottom, white with a black outline."""
    if not texts:
        return img
    h, w = img.shape[:2]
    out = img.copy()
    scale = _scale(h, w, 0.9)
    lines = [ln for t in texts for ln in _wrap(t, scale, max(1, round(scale * 1.6)), int(w * 0.9))]
    _draw_lines(
        out, [(ln, scale, WHITE) for ln in lines], None, bottom=round(h * 0.93), outline=True
    )
    return out
