"""`pic-store restore BACKUP [ID] [--replace]`: restore a service (or every service of the
backup) from a backup; over an installed service only with --replace."""

from __future__ import annotations

import argparse

from app.cli.commands.backup import send
from app.cli.connect import add_bus_options
from shared.events import new_operation_id
from shared.events.backups import RestoreCommand, RestorePayload


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="restore a service (or all in the backup) from a backup",
        description="Check the backup's checksums first (a corrupt backup is refused before "
        "anything is touched), install the service when it is not (the version, config and "
        "secrets of the backup), put its volumes and config paths back, start it.",
    )
    parser.add_argument("backup", metavar="BACKUP")
    parser.add_argument("service_id", metavar="ID", nargs="?", default=None)
    parser.add_argument(
        "--replace", action="store_true", help="restore over an installed service (its data)"
    )
    add_bus_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    command = RestoreCommand(
        operation_id=new_operation_id(),
        service_id=args.service_id,
        payload=RestorePayload(backup=args.backup, replace=args.replace),
    )
    return send(args, command)
