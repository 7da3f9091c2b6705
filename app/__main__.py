"""`python -m app` (what `make run` starts): the editor. Until the editor lands this says what it
will do and exits 0; the UI engineer replaces the body with the window launch."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print(
        "Storyloom editor: not built yet. It will open a window with the timeline of scenes, the\n"
        "elements, the media bin, the preview and the render queue, on a .storyloom project.\n"
        "Meanwhile the headless command works: storyloom --help (or python -m app.cli --help)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
