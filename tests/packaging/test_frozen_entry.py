"""The frozen program's entry point, run unfrozen: the hidden engine and pip flags reach the
engine's and pip's command lines, anything else is the `storyloom` command; and the app builds
the engine's command line for each case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.engine_client import launch

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "packaging" / "storyloom_entry.py"


def entry(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(ENTRY), *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_the_engine_flag_runs_the_engine_command_line_with_the_default_model():
    r = entry(launch.ENGINE_FLAG, "info", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["name"] == "storyloom-tiny" and info["torch"].startswith("2.")


def test_a_pinned_torch_folder_comes_first_on_the_engine_path(tmp_path: Path):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise SystemExit('the pinned torch')\n")
    env = launch.engine_env(dict(os.environ), tmp_path)
    r = entry(launch.ENGINE_FLAG, "info", env=env)
    assert "the pinned torch" in r.stderr


def test_the_pip_flag_runs_pip_and_anything_else_is_the_storyloom_command():
    r = entry(launch.PIP_FLAG, "--version")
    assert r.returncode == 0 and r.stdout.startswith("pip "), r.stderr
    r = entry("info", "--help")
    assert r.returncode == 0 and "storyloom info" in r.stdout


def test_the_engine_command_line_from_source_and_frozen(monkeypatch):
    assert launch.engine_command() == [sys.executable, "-m", "engine"]
    assert launch.engine_command("/opt/py/bin/python") == ["/opt/py/bin/python", "-m", "engine"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert launch.engine_command() == [sys.executable, launch.ENGINE_FLAG]
    assert launch.pip_command() == [sys.executable, launch.PIP_FLAG]
