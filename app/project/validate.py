"""Checks on values a user types, each failing with a one-line InvalidValueError."""

from __future__ import annotations

import math

from .errors import InvalidValueError

MAX_SEED = 2**63 - 1


def text(value: str, what: str, *, empty_ok: bool = True) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:  # surrogate escapes: the bytes given were not UTF-8
        raise InvalidValueError(f"{what} is not valid UTF-8") from e
    if "\x00" in value:
        raise InvalidValueError(f"{what} contains a NUL character")
    if not empty_ok and not value.strip():
        raise InvalidValueError(f"{what} must not be empty")
    return value


def positive(value: float, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise InvalidValueError(f"{what} must be a positive number of seconds, got {value:g}")
    return float(value)


def non_negative(value: float, what: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise InvalidValueError(f"{what} must be zero or more, got {value:g}")
    return float(value)


def finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise InvalidValueError(f"{what} must be a finite number")
    return float(value)


def seed(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_SEED:
        raise InvalidValueError(f"seed must be between 0 and {MAX_SEED}, got {value}")
    return value


def frame_size(width: int, height: int) -> tuple[int, int]:
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise InvalidValueError(f"frame size {width}x{height} is out of range (16..8192 each)")
    if width % 2 or height % 2:
        raise InvalidValueError(f"frame size {width}x{height} must have even sides")
    return width, height


def fps(value: float) -> float:
    if not math.isfinite(value) or not 1 <= value <= 240:
        raise InvalidValueError(f"fps must be between 1 and 240, got {value:g}")
    return float(value)


# Per-scene overrides of the project's generation defaults: name -> (type, low, high)
SCENE_GENERATION = {
    "steps": (int, 1, 500),
    "guidance": (float, 0.0, 50.0),
    "context_guidance": (float, 0.0, 50.0),
}


def scene_generation(value: object) -> dict[str, float | int]:
    """A scene's generation overrides: only known settings, each in range; {} for none."""
    if not isinstance(value, dict):
        raise InvalidValueError("a scene's generation settings must be a mapping")
    out: dict[str, float | int] = {}
    for key, v in value.items():
        if key not in SCENE_GENERATION:
            known = ", ".join(SCENE_GENERATION)
            raise InvalidValueError(f"unknown generation setting {key!r} (one of {known})")
        kind, lo, hi = SCENE_GENERATION[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidValueError(f"{key} must be a number")
        if kind is int and v != int(v):
            raise InvalidValueError(f"{key} must be a whole number, got {v:g}")
        if not lo <= v <= hi:
            raise InvalidValueError(f"{key} must be between {lo:g} and {hi:g}, got {v:g}")
        out[key] = kind(v)
    return out
