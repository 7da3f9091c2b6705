"""Two processes on one project: the second editor gets a clear 'open elsewhere' error; readers
still work; a lock left by a killed process does not block."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.project import AddScene, Project, ProjectLockedError

ROOT = Path(__file__).parents[2]
HOLDER = (
    "import sys; from app.project import Project; p = Project.open(sys.argv[1]); "
    "print('ready', flush=True); sys.stdin.read()"
)


def _cli(*argv: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *map(str, argv)], capture_output=True, text=True, cwd=ROOT
    )


@pytest.fixture
def holder(project_file):  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(project_file)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_second_process_gets_open_elsewhere_and_reads_still_work(project_file, holder):
    r = _cli("scene", "add", project_file, "--prompt", "p")
    assert r.returncode == 2
    assert "open elsewhere" in r.stderr and f"pid {holder.pid}" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    with pytest.raises(ProjectLockedError):
        Project.open(project_file)
    info = _cli("info", project_file, "--json")
    assert info.returncode == 0 and '"scenes": []' in info.stdout


def test_lock_of_a_killed_process_does_not_block(project_file, holder):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (project_file.parent / (project_file.name + ".lock")).exists()  # stale sidecar
    r = _cli("scene", "add", project_file, "--prompt", "after the crash")
    assert r.returncode == 0, r.stderr
    with Project.open(project_file) as p:
        assert [s.prompt for s in p.scenes()] == ["after the crash"]


def test_lock_is_released_on_close_and_per_open(project_file):
    p = Project.open(project_file)
    with pytest.raises(ProjectLockedError):
        Project.open(project_file)  # even in the same process
    p.close()
    with Project.open(project_file) as q:
        q.execute(AddScene(prompt="x"))
    assert not (project_file.parent / (project_file.name + ".lock")).exists()
