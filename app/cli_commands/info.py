"""storyloom info FILE [--json]"""

from __future__ import annotations

import argparse

from . import _describe
from ._common import add_file, print_json, reading


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show the project: settings, scenes, elements, audio")
    add_file(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with reading(args.file) as project:
        d = _describe.project(project)
    if args.json:
        print_json(d)
        return 0
    print(
        f"{d['title']}  {d['width']}x{d['height']} @ {d['fps']:g} fps  (schema {d['schema_version']})"
    )
    print(f"scenes: {len(d['scenes'])}")
    for s in d["scenes"]:
        image = f" image={s['image']['name']}" if s["image"] else ""
        els = f" elements={','.join(s['elements'])}" if s["elements"] else ""
        print(
            f"  [{s['position']}] id {s['id']}  {s['duration']:g}s  takes {len(s['takes'])}"
            f" chosen {s['chosen_take']}{image}{els}  {s['prompt']}"
        )
    print(f"elements: {len(d['elements'])}")
    for e in d["elements"]:
        print(f"  {e['name']} ({e['kind']}, {len(e['images'])} images)  {e['description']}")
    print(f"audio tracks: {len(d['audio_tracks'])}")
    for t in d["audio_tracks"]:
        print(f"  {t['name']}  gain {t['gain_db']:g} dB{'  muted' if t['mute'] else ''}")
        for c in t["clips"]:
            print(f"    clip {c['id']}  {c['media']['name']} at {c['start']:g}s")
    if d["interrupted_jobs"]:
        print(f"interrupted render jobs: {', '.join(map(str, d['interrupted_jobs']))}")
    return 0
