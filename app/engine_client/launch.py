"""The command line that starts the engine process, from a source install or a frozen bundle.

From source the engine is `python -m engine`. In a PyInstaller bundle `sys.executable` is the
Storyloom program itself (there is no python), so the program takes a hidden first argument,
`--storyloom-engine`, and runs the engine's command line instead of the app's (see
`packaging/storyloom_entry.py`). The same for pip (`--storyloom-pip`), which installs the CUDA
build of torch from a bundle (`app.engine_client.torch_env`).

A CUDA torch the user chose to install lives outside the bundle; the engine process finds it
through `TORCH_PATH_ENV` (frozen) or PYTHONPATH (from source), set by `engine_env`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENGINE_FLAG = "--storyloom-engine"
PIP_FLAG = "--storyloom-pip"
TORCH_PATH_ENV = "STORYLOOM_TORCH_PATH"


def frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def engine_command(python: str | None = None) -> list[str]:
    """`[python, -m, engine]`, or the frozen program with its hidden engine flag."""
    if python is not None and python != sys.executable:
        return [python, "-m", "engine"]
    if frozen():
        return [sys.executable, ENGINE_FLAG]
    return [sys.executable, "-m", "engine"]


def pip_command() -> list[str]:
    """pip, run by this interpreter or by the frozen program."""
    return [sys.executable, PIP_FLAG] if frozen() else [sys.executable, "-m", "pip"]


def engine_env(base: dict[str, str], torch_dir: Path | None) -> dict[str, str]:
    """The engine's environment: `base`, plus the folder of a pinned CUDA torch when there is
    one, put in front of everything else so its torch wins over the bundled CPU build."""
    env = dict(base)
    if torch_dir is None:
        return env
    env[TORCH_PATH_ENV] = str(torch_dir)
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(torch_dir), *([old] if old else [])])
    return env
