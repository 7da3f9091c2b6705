"""storyloom demo [-o OUT.mp4] [--project FILE] [--preset NAME]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.render import PRESETS
from app.render.demo import run_demo

from .export import progress_line


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="build the sample storyboard and render it to a film")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("demo.mp4"),
        metavar="OUT",
        help="the film (demo.mp4)",
    )
    p.add_argument(
        "--project",
        type=Path,
        metavar="FILE",
        help="where the sample project goes (default: OUT with .storyloom)",
    )
    p.add_argument("--preset", default="native", choices=sorted(PRESETS))
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.add_argument(
        "--sample-footage",
        action="store_true",
        help="skip the engine: procedural footage, labelled as such, for every scene",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    show = None if args.quiet or not sys.stderr.isatty() else progress_line
    gen_progress = None
    if not args.quiet and not args.sample_footage:
        from .generate import Bars

        gen_progress = Bars(sys.stderr)
    result, project = run_demo(
        args.output,
        args.project,
        args.preset,
        show,
        generate=not args.sample_footage,
        on_generate=gen_progress,
        on_sample_footage=None if args.sample_footage else _say_sample_footage,
    )
    print(
        f"{result.path}  {result.width}x{result.height} @ {result.fps:g} fps, "
        f"{result.duration:.2f} s ({result.seconds:.1f} s to export); project: {project}"
    )
    return 0


def _say_sample_footage(titles: list[str]) -> None:
    print(
        f"note: {len(titles)} scene(s) could not be generated and use procedural sample footage "
        f"(labelled so in the project): {', '.join(titles)}",
        file=sys.stderr,
    )
