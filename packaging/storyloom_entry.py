"""The frozen program's entry point (PyInstaller runs this file as `Storyloom`).

`sys.executable` is this program in a bundle, so the processes the app starts come back here:
    Storyloom --storyloom-engine ARGS   the engine's command line (`python -m engine ARGS`)
    Storyloom --storyloom-pip ARGS      pip (installs the CUDA build of torch, if asked)
    Storyloom ARGS                      the `storyloom` command; alone or with a file: the editor
The flags are spelled in app/engine_client/launch.py; the app never imports the engine, so only
this file (outside both packages) knows both. It works the same unfrozen, which the tests use.
"""

from __future__ import annotations

import multiprocessing
import os
import sys

ENGINE_FLAG = "--storyloom-engine"
PIP_FLAG = "--storyloom-pip"
TORCH_PATH_ENV = "STORYLOOM_TORCH_PATH"


def main(argv: list[str]) -> int:
    if argv[:1] == [ENGINE_FLAG]:
        torch_dir = os.environ.get(TORCH_PATH_ENV)
        if torch_dir and os.path.isdir(torch_dir):  # a CUDA torch the user installed, pinned
            sys.path.insert(0, torch_dir)
        from engine.cli import main as engine_main

        return int(engine_main(argv[1:]) or 0)
    if argv[:1] == [PIP_FLAG]:
        from pip._internal.cli.main import main as pip_main

        return int(pip_main(argv[1:]) or 0)
    from app.cli import main as app_main

    return int(app_main(argv) or 0)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main(sys.argv[1:]))
