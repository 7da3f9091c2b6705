"""Subcommands of `storyloom`, one module each.

To add one, create `app/cli_commands/NAME.py` with

    def register(sub: argparse._SubParsersAction) -> None:
        p = sub.add_parser("NAME", help="...")
        p.add_argument(...)
        p.set_defaults(func=run)

    def run(args: argparse.Namespace) -> int: ...

`app.cli` finds it at start-up (modules whose name starts with `_` are helpers). Raise a
StoryloomError subclass for anything a user can get wrong; the CLI prints it in one line, exit 2.
Shared helpers: `_common.py` (opening projects, argument types), `_describe.py` (JSON forms).
"""
