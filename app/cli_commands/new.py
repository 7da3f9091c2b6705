"""storyloom new FILE --title T [--size 1280x720] [--fps 24]"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.project import Project

from ._common import add_file, frame_size


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new", help="create a project file")
    add_file(p)
    p.add_argument("--title", required=True, help="the film's title")
    p.add_argument("--size", type=frame_size, default=(1280, 720), help="WIDTHxHEIGHT (1280x720)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (24)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with Project.create(Path(args.file), args.title, size=args.size, fps=args.fps) as project:
        print(project.path)
    return 0
