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
import logging
import pkgutil
import sys
from typing import NoReturn

from app import cli_commands
from app.app_log import setup_logging
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


def _command_log(argv: list[str]) -> logging.Logger:
    """The application log (platform log folder) records each command, so "Collect
    diagnostics" also covers headless use; a log folder that cannot be written is no error."""
    log = logging.getLogger("storyloom.cli")
    try:
        setup_logging()
    except OSError:
        log.addHandler(logging.NullHandler())  # and nothing extra on stderr
        return log
    log.info("storyloom %s", " ".join(argv))
    return log


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if _wants_editor(argv):
        return open_editor(argv)
    args = build_parser().parse_args(argv)
    log = _command_log(argv)
    try:
        code = int(args.func(args) or 0)
    except StoryloomError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        log.error("%s failed: %s", argv[0] if argv else PROG, e)
        return 2
    except KeyboardInterrupt:
        log.info("%s interrupted", argv[0] if argv else PROG)
        return 130
    log.info("%s finished (exit %d)", argv[0] if argv else PROG, code)
    return code


if __name__ == "__main__":
    sys.exit(main())
