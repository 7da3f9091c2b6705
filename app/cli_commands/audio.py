"""storyloom audio add FILE PATH [--track NAME] [--start S] [--gain DB] [--fade-in S] [--fade-out S]"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.project import AddAudioClip
from app.project.commands.audio import DEFAULT_TRACK

from ._common import add_file, editing


def register(sub: argparse._SubParsersAction) -> None:
    audio = sub.add_parser("audio", help="add music, voice-over and effects")
    verbs = audio.add_subparsers(dest="verb", metavar="VERB", required=True)
    p = verbs.add_parser("add", help="put an audio file on a track; prints the clip id")
    add_file(p)
    p.add_argument("path", type=Path, metavar="PATH", help="audio file (wav, mp3, ogg, flac, ...)")
    p.add_argument(
        "--track", default=DEFAULT_TRACK, help=f"track name, made if new ({DEFAULT_TRACK})"
    )
    p.add_argument("--start", type=float, default=0.0, help="seconds on the timeline")
    p.add_argument("--gain", type=float, default=0.0, help="dB")
    p.add_argument("--fade-in", type=float, default=0.0, help="seconds")
    p.add_argument("--fade-out", type=float, default=0.0, help="seconds")
    p.add_argument("--in", dest="in_point", type=float, default=0.0, help="seconds into the file")
    p.add_argument("--out", dest="out_point", type=float, help="seconds into the file")
    p.set_defaults(func=add)


def add(args: argparse.Namespace) -> int:
    cmd = AddAudioClip(
        path=args.path,
        track=args.track,
        start=args.start,
        in_point=args.in_point,
        out_point=args.out_point,
        gain_db=args.gain,
        fade_in=args.fade_in,
        fade_out=args.fade_out,
    )
    with editing(args.file) as project:
        print(project.execute(cmd))
    return 0
