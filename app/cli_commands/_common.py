"""Helpers shared by the subcommands: opening projects and parsing argument values."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.project import Project, ProjectLockedError, ReadOnlyError


@contextmanager
def editing(path: str) -> Iterator[Project]:
    """Open for editing: takes the lock, so a second editor gets 'open elsewhere'."""
    with Project.open(Path(path)) as project:
        yield project


@contextmanager
def reading(path: str) -> Iterator[Project]:
    """Open for reading; falls back to a read-only view when the project is open elsewhere or
    cannot be written (SQLite's WAL lets a reader see the last committed state safely)."""
    try:
        project = Project.open(Path(path))
    except (ProjectLockedError, ReadOnlyError):
        project = Project.open(Path(path), readonly=True)
    with project:
        yield project


def add_file(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the project file (NAME.storyloom)")


def frame_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}") from e
    return w, h


def seed(text: str) -> int | None:
    if text.lower() in ("random", "none"):
        return None
    try:
        return int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"seed must be a whole number or 'random', got {text!r}"
        ) from e


def names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def on_off(text: str) -> bool:
    if text.lower() not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")
    return text.lower() == "on"


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
