"""The `storyloom` command: headless and scriptable, on the same project layer as the editor.
`storyloom` with no arguments, or with just a `.storyloom` file, opens the editor instead.

Each subcommand lives in its own module under `app/cli_commands/` with a
`register(subparsers)` function; modules are found at start-up, so adding a command (generate,
export, demo, ...) is adding a file there. A user-facing error (any StoryloomError) prints one
line to stderr and exits 2; argparse mistakes do the same.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import NoReturn

from app import cli_commands
from app.project.errors import StoryloomError

PROG = "storyloom"


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as a single line (not usage + message) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="Storyloom: storyboard to film, headless.")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser
    )
    for mod in sorted(pkgutil.iter_modules(cli_commands.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{cli_commands.__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def _wants_editor(argv: list[str]) -> bool:
    """`storyloom` alone or `storyloom FILE.storyloom` opens the editor, as a desktop program."""
    return not argv or (len(argv) == 1 and argv[0].endswith(".storyloom"))


def open_editor(argv: list[str]) -> int:
    # Imported by name: the headless commands must never load Qt (import-linter contract).
    editor = importlib.import_module("app.__main__")
    return int(editor.main(argv))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if _wants_editor(argv):
        return open_editor(argv)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except StoryloomError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
