"""`pic-store`: the command line for admins and store authors.

Each command is a module in app/cli/commands with `register(subparsers)`; add a command
by appending its module to COMMANDS.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Protocol, TypeAlias

from pydantic import ValidationError

from app.cli.commands import (
    backup,
    config,
    import_app,
    install,
    keygen,
    peers,
    publish,
    reconfigure,
    remove,
    render,
    restore,
    review,
    routes,
    services,
    sign,
    up,
    validate,
    verify,
)
from app.cli.output import EXIT_INTERNAL, EXIT_USAGE
from shared.ids import id_problems

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Command(Protocol):
    """A command module: `register` adds its subparser and sets `func(args) -> int`."""

    def register(self, subparsers: Subparsers) -> None: ...


COMMANDS: list[Command] = [
    # store authors: no running cell needed
    validate,
    render,
    review,
    import_app,
    # the running cell
    up,
    install,
    reconfigure,
    remove,
    services,
    backup,
    restore,
    config,
    # image trust
    keygen,
    sign,
    verify,
    publish,
    # the router
    routes,
    # the accounts service
    peers,
]


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pic-store",
        description="Validate, review, render and run PIC store services.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands:
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2), as a return code
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except ValidationError as exc:
        if not (problems := id_problems(exc)):  # a bug: as any other exception
            return internal_error(exc)
        sys.stderr.write("".join(f"pic-store: {problem}\n" for problem in problems))
        return EXIT_USAGE
    except Exception as exc:
        return internal_error(exc)


def internal_error(exc: Exception) -> int:
    if os.environ.get("PIC_STORE_DEBUG"):
        raise exc
    # The message may hold values (secrets) from the input: name the error type only.
    sys.stderr.write(
        f"pic-store: internal error ({type(exc).__name__}); "
        "run again with PIC_STORE_DEBUG=1 for the traceback, and please report it\n"
    )
    return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
