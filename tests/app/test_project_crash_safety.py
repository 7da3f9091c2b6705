"""A child process editing the project is SIGKILLed at random moments, 50 times; afterwards the
file passes PRAGMA integrity_check and every edit the child reported as committed is there."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time

from app.project import AddAudioClip, AddScene, EditScene, Project

ROUNDS = 50


def _child(path, wav, round_no: int, w_fd: int) -> None:  # type: ignore[no-untyped-def]
    """Runs in the forked child: edit until killed, reporting each commit on the pipe."""
    try:
        with Project.open(path) as p:
            os.write(w_fd, b"ready\n")
            k = 0
            while True:
                sid = p.execute(AddScene(prompt=f"r{round_no}-{k}", duration=1.0 + k % 3))
                os.write(w_fd, f"add r{round_no}-{k}\n".encode())
                if k % 2:
                    p.execute(EditScene(scene_id=sid, duration=9.25))
                    os.write(w_fd, f"edit r{round_no}-{k}\n".encode())
                if k % 5 == 4:
                    p.execute(AddAudioClip(path=wav, start=float(k)))
                    os.write(w_fd, f"audio {k}\n".encode())
                k += 1
    finally:
        os._exit(0)


def test_sigkill_at_random_moments_loses_no_committed_edit(project_file, media):
    rng = random.Random(1234)
    added: set[str] = set()
    edited: set[str] = set()
    for round_no in range(ROUNDS):
        r_fd, w_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r_fd)
            _child(project_file, media.wav, round_no, w_fd)
        os.close(w_fd)
        with os.fdopen(r_fd, "rb") as f:
            f.readline()  # the child has the project open (on a busy machine that takes a while)
            time.sleep(rng.uniform(0.0, 0.05))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            lines = f.read().decode().splitlines()
        for line in lines:
            if line.count(" ") != 1:
                continue  # a report cut off by the kill: its edit may or may not be there
            kind, name = line.split(" ")
            {"add": added, "edit": edited}.get(kind, set()).add(name)

    db = sqlite3.connect(project_file)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    rows = dict(db.execute("SELECT prompt, duration FROM scenes").fetchall())
    positions = sorted(p for (p,) in db.execute("SELECT position FROM scenes"))
    db.close()

    assert len(added) >= 10  # the child really got work done between kills
    assert added <= set(rows)
    assert all(rows[name] == 9.25 for name in edited)
    assert positions == list(range(len(positions)))
    with Project.open(project_file) as p:  # the history is consistent too: undo works
        n = len(p.scenes())
        step = p.undo()
        assert step is not None
        assert p.integrity_check() == "ok"
        assert len(p.scenes()) in (n, n - 1)
