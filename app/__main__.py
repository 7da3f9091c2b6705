"""`python -m app [FILE]` (what `make run` starts): the editor, on FILE, the last project, or the
sample storyboard on first start."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(
            "usage: python -m app [FILE.storyloom]\nOpens the Storyloom editor (the headless command is `storyloom`)."
        )
        return 0
    from app.ui.app import run  # Qt is imported only when the window is wanted

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
