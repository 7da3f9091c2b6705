"""storyloom element add FILE --name N [--description D] [--image PATH ...]"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.project import AddElement
from app.project.models import ELEMENT_KINDS

from ._common import add_file, editing


def register(sub: argparse._SubParsersAction) -> None:
    element = sub.add_parser("element", help="add elements (characters, props, places, styles)")
    verbs = element.add_subparsers(dest="verb", metavar="VERB", required=True)
    p = verbs.add_parser("add", help="add an element; prints its id")
    add_file(p)
    p.add_argument("--name", required=True, help="as written after @ in prompts")
    p.add_argument("--description", default="")
    p.add_argument("--kind", choices=ELEMENT_KINDS, default="character")
    p.add_argument(
        "--image", type=Path, nargs="+", action="extend", default=[], help="reference images"
    )
    p.set_defaults(func=add)


def add(args: argparse.Namespace) -> int:
    cmd = AddElement(
        name=args.name, description=args.description, kind=args.kind, images=args.image
    )
    with editing(args.file) as project:
        print(project.execute(cmd))
    return 0
