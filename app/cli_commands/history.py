"""storyloom undo FILE / storyloom redo FILE (the history is kept in the project file)."""

from __future__ import annotations

import argparse

from app.project import ProjectError

from ._common import add_file, editing


def register(sub: argparse._SubParsersAction) -> None:
    for verb in ("undo", "redo"):
        p = sub.add_parser(verb, help=f"{verb} the last edit (also after reopening)")
        add_file(p)
        p.set_defaults(func=run, verb=verb)


def run(args: argparse.Namespace) -> int:
    with editing(args.file) as project:
        step = project.undo() if args.verb == "undo" else project.redo()
    if step is None:
        raise ProjectError(f"nothing to {args.verb}")
    print(f"{args.verb}: {step.label}")
    return 0
