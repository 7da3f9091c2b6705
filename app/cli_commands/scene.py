"""storyloom scene add|list|edit|move|remove FILE ... (scene ids are stable integers)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.project import UNSET, AddScene, EditScene, MoveScene, RemoveScene

from . import _describe
from ._common import add_file, editing, names, on_off, print_json, reading, seed


def register(sub: argparse._SubParsersAction) -> None:
    scene = sub.add_parser("scene", help="add, list, edit, move or remove scenes")
    verbs = scene.add_subparsers(dest="verb", metavar="VERB", required=True)

    p = verbs.add_parser("add", help="add a scene; prints its id")
    add_file(p)
    p.add_argument("--prompt", required=True)
    p.add_argument("--duration", type=float, default=4.0, help="seconds (4)")
    p.add_argument("--image", type=Path, help="start image (image-to-video)")
    p.add_argument("--seed", type=seed, help="lock the seed (default: random per take)")
    p.add_argument("--at", type=int, help="0-based timeline index (default: the end)")
    p.add_argument("--elements", type=names, default=[], help="element names, A,B")
    p.set_defaults(func=add)

    p = verbs.add_parser("list", help="list the scenes in timeline order")
    add_file(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_)

    p = verbs.add_parser("edit", help="change a scene")
    add_file(p)
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--prompt")
    p.add_argument("--duration", type=float)
    p.add_argument("--image", type=Path)
    p.add_argument("--no-image", action="store_true", help="drop the start image")
    p.add_argument("--seed", type=seed, default=UNSET, help="a number, or 'random'")
    p.add_argument("--elements", type=names, help="replace the scene's elements, A,B")
    p.add_argument("--carry-over", type=on_off, metavar="on|off")
    p.add_argument(
        "--steps", type=_override(int), metavar="N|default", help="this scene's sampling steps"
    )
    p.add_argument(
        "--guidance", type=_override(float), metavar="G|default", help="this scene's guidance"
    )
    p.set_defaults(func=edit)

    p = verbs.add_parser("move", help="move a scene to another place on the timeline")
    add_file(p)
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--to", type=int, required=True, metavar="INDEX", help="0-based index")
    p.set_defaults(func=move)

    p = verbs.add_parser("remove", help="remove a scene (undo brings it back)")
    add_file(p)
    p.add_argument("id", type=int, metavar="ID")
    p.set_defaults(func=remove)


def add(args: argparse.Namespace) -> int:
    cmd = AddScene(
        prompt=args.prompt,
        duration=args.duration,
        image=args.image,
        seed=args.seed,
        at=args.at,
        elements=args.elements,
    )
    with editing(args.file) as project:
        print(project.execute(cmd))
    return 0


def list_(args: argparse.Namespace) -> int:
    with reading(args.file) as project:
        if args.json:
            print_json(_describe.scenes(project))
            return 0
        for s in project.scenes():
            chosen = f"take {s.chosen_take_id}" if s.chosen_take_id else "no take"
            print(
                f"{s.id}\t#{s.position}\t{s.duration:g}s\t{len(s.takes)} takes, {chosen}\t{s.prompt}"
            )
    return 0


DEFAULT = "default"  # an override set back to the project's value


def _override(kind: type) -> object:
    def parse(text: str) -> object:
        if text == DEFAULT:
            return DEFAULT
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'default'") from None

    return parse


def _given(value: object) -> object:
    return UNSET if value is None else value


def edit(args: argparse.Namespace) -> int:
    image = None if args.no_image else _given(args.image)
    cmd = EditScene(
        scene_id=args.id,
        prompt=_given(args.prompt),
        duration=_given(args.duration),
        image=image,
        seed=args.seed,
        elements=_given(args.elements),
        carry_over=_given(args.carry_over),
    )
    with editing(args.file) as project:
        if args.steps is not None or args.guidance is not None:
            generation = dict(project.scene(args.id).generation)
            for key, value in (("steps", args.steps), ("guidance", args.guidance)):
                if value == DEFAULT:
                    generation.pop(key, None)
                elif value is not None:
                    generation[key] = value
            cmd.generation = generation
        project.execute(cmd)
    return 0


def move(args: argparse.Namespace) -> int:
    with editing(args.file) as project:
        project.execute(MoveScene(scene_id=args.id, to=args.to))
    return 0


def remove(args: argparse.Namespace) -> int:
    with editing(args.file) as project:
        project.execute(RemoveScene(scene_id=args.id))
    return 0
