"""storyloom generate FILE [--scene ID ... | --all | --missing] [--takes N] [--engine URL --token T]
[--model DIR] [--device D]

Renders takes through the engine: a local engine process started for the run (on loopback, with
a random token), or a running one given by --engine and --token ($STORYLOOM_ENGINE_TOKEN also
works). Shows a progress bar per scene and exits 1 if any scene failed or was skipped.
"""

from __future__ import annotations

import argparse
import os
import sys

from app.engine_client.process import TOKEN_ENV, LocalEngine, RemoteEngine
from app.engine_client.runner import GenerationRunner, Progress
from app.project import StoryloomError

from ._common import add_file, editing

BAR = 24


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="render takes of scenes with the engine")
    add_file(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--scene", type=int, action="append", metavar="ID", help="this scene (repeatable)"
    )
    which.add_argument("--all", action="store_true", help="every scene, in timeline order")
    which.add_argument("--missing", action="store_true", help="scenes without a take (the default)")
    p.add_argument("--takes", type=int, default=1, metavar="N", help="takes per scene (default 1)")
    p.add_argument("--engine", metavar="URL", help="a running engine (python -m engine serve)")
    p.add_argument(
        "--token", help=f"the engine's token (or ${TOKEN_ENV}; write --token=T if T starts with -)"
    )
    p.add_argument("--model", metavar="DIR", help="model folder for the local engine")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (local engine)")
    p.set_defaults(func=run)


class Bars:
    """One line per scene on stderr: redrawn in place on a terminal, printed once otherwise."""

    def __init__(self, stream=None) -> None:
        stream = stream or sys.stderr  # looked up now: tests swap sys.stderr
        self.stream, self.live = stream, stream.isatty()

    def __call__(self, p: Progress) -> None:
        take = f" take {p.take + 1}/{p.takes}" if p.takes > 1 else ""
        head = f"scene {p.scene_id}{take}"
        if p.status == "running":
            if self.live:
                fill = int(p.progress * BAR)
                eta = f" eta {p.eta_s:.0f}s" if p.eta_s is not None else ""
                self.stream.write(
                    f"\r{head} [{'#' * fill}{'-' * (BAR - fill)}] {p.progress:4.0%} "
                    f"step {p.step}/{p.steps}{eta}   "
                )
                self.stream.flush()
            return
        if p.status == "queued":
            return
        end = f": {p.error}" if p.error else ""
        prefix = "\r" if self.live else ""
        self.stream.write(f"{prefix}{head} {p.status}{end}{' ' * 20 if self.live else ''}\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    if args.takes < 1:
        raise StoryloomError(f"--takes must be at least 1, got {args.takes}")
    token = args.token or os.environ.get(TOKEN_ENV)
    if args.engine and not token:
        raise StoryloomError("--engine needs --token (or $STORYLOOM_ENGINE_TOKEN)")
    if args.token and not args.engine:
        raise StoryloomError("--token is for --engine URL; a local engine makes its own")
    with editing(args.file) as project:
        scenes = project.scenes()
        if args.scene:
            known = {s.id for s in scenes}
            unknown = [i for i in args.scene if i not in known]
            if unknown:
                raise StoryloomError(f"no scene with id {unknown[0]}")
            ids = list(dict.fromkeys(args.scene))
        elif args.all:
            ids = [s.id for s in scenes]
        else:
            ids = [s.id for s in scenes if not s.takes]
        if not ids:
            print("nothing to generate", file=sys.stderr)
            return 0
        engine = (
            RemoteEngine(args.engine, token)
            if args.engine
            else LocalEngine(args.model, args.device)
        )
        try:
            results = GenerationRunner(project, engine, on_progress=Bars()).render(ids, args.takes)
        finally:
            engine.close()
    bad = [r for r in results if r.status != "done"]
    made = sum(len(r.take_ids) for r in results)
    print(
        f"{made} take(s) for {len(results) - len(bad)} of {len(results)} scene(s)", file=sys.stderr
    )
    return 1 if bad else 0
