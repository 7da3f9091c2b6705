"""Project file at scale: 1,000 scenes, 5,000 takes, 200 MB of media.

Prints the time to open the project and list its timeline, to add a scene and to undo, each
against a plain `sqlite3` query of the same rows measured in the same run (median of --repeat),
as a ratio. Opening and listing must stay interactive: well under half a second.

    .venv/bin/python benchmarks/project_scale.py [--scenes 1000 --takes 5000 --media-mb 200]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.project import AddScene, AddTake, MediaInfo, Project  # noqa: E402

PLAIN_LIST = (
    "SELECT id, position, prompt, duration, seed, chosen_take_id, "
    "(SELECT group_concat(id) FROM takes t WHERE t.scene_id = s.id) "
    "FROM scenes s ORDER BY position"
)


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def build(path: Path, scenes: int, takes: int, media_bytes: int) -> None:
    per_take = max(1, media_bytes // takes)
    info = MediaInfo("video", "mp4", 2.0, 256, 144, 24.0)
    with Project.create(path, "Scale", size=(256, 144)) as p, p.group("Build"):
        ids = [
            p.execute(AddScene(prompt=f"scene {i} of a long film", duration=2.0))
            for i in range(scenes)
        ]
        for k in range(takes):
            sid = ids[k % scenes]
            # Random bytes: incompressible and all distinct, so nothing dedupes away.
            p.execute(
                AddTake(
                    scene_id=sid,
                    video=os.urandom(per_take),
                    info=info,
                    recipe={"model": "bench", "seed": k},
                    choose=k >= takes - scenes,
                )
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=1000)
    ap.add_argument("--takes", type=int, default=5000)
    ap.add_argument("--media-mb", type=float, default=200)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=None, help="where to build (default: a temp dir)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "scale.storyloom"
        t = time.perf_counter()
        build(path, args.scenes, args.takes, int(args.media_mb * 1e6))
        print(
            f"built {args.scenes} scenes, {args.takes} takes, {path.stat().st_size / 1e6:.0f} MB "
            f"file in {time.perf_counter() - t:.1f} s"
        )

        def ours_open_list() -> None:
            with Project.open(path) as p:  # the timeline as export and the editor read it
                assert len(p.timeline()) == args.scenes

        def plain_open_list() -> None:
            db = sqlite3.connect(path)
            assert len(db.execute(PLAIN_LIST).fetchall()) == args.scenes
            db.close()

        rows = [
            (
                "open + list timeline",
                median_time(ours_open_list, args.repeat),
                median_time(plain_open_list, args.repeat),
            )
        ]

        with Project.open(path) as p:
            added: list[int] = []
            ours_add = median_time(
                lambda: added.append(p.execute(AddScene(prompt="new scene"))), args.repeat
            )
            ours_undo = median_time(p.undo, args.repeat)  # undoes the adds, newest first
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA synchronous = FULL")  # the same durability the project uses
        plain_ids: list[int] = []

        def plain_add() -> None:
            cur = db.execute(
                "INSERT INTO scenes(position, title, prompt, negative_prompt, duration, carry_over,"
                " carry_over_strength) VALUES (?, '', 'new scene', '', 4.0, 1, 1.0)",
                (args.scenes,),
            )
            plain_ids.append(cur.lastrowid)

        def plain_delete() -> None:
            db.execute("DELETE FROM scenes WHERE id = ?", (plain_ids.pop(),))

        rows.append(("add scene", ours_add, median_time(plain_add, args.repeat)))
        rows.append(("undo add scene", ours_undo, median_time(plain_delete, args.repeat)))
        db.close()

    print(f"{'operation':<22}{'storyloom':>12}{'plain sqlite3':>16}{'ratio':>8}")
    for name, ours, plain in rows:
        print(f"{name:<22}{ours * 1e3:>10.1f}ms{plain * 1e3:>14.2f}ms{ours / plain:>7.1f}x")
    interactive = rows[0][1] < 0.5
    print(f"open + list {'is' if interactive else 'is NOT'} interactive (< 500 ms)")
    return 0 if interactive else 1


if __name__ == "__main__":
    sys.exit(main())
