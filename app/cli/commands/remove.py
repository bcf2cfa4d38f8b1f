"""`pic-store remove ID [--purge]`: remove a service; data stays unless purge is asked."""

from __future__ import annotations

import argparse

from app.cli.connect import add_bus_options, print_progress, report, with_client
from shared.client import StoreClient
from shared.events import RemoveCommand, new_operation_id
from shared.events.messages import RemovePayload


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "remove",
        help="remove an installed service (works on broken ones too)",
        description="Stop and remove the containers, withdraw routes and accounts, release "
        "the IP. Volumes, secrets and config are kept unless --purge is given.",
    )
    parser.add_argument("service_id", metavar="ID")
    parser.add_argument(
        "--purge", action="store_true", help="also delete the service's volumes, secrets and config"
    )
    parser.add_argument("--plan", action="store_true", help="show what would be done, do nothing")
    add_bus_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    async def work(client: StoreClient) -> int:
        command = RemoveCommand(
            operation_id=new_operation_id(),
            service_id=args.service_id,
            payload=RemovePayload(purge=args.purge, plan_only=args.plan),
        )
        return report(await client.run(command, print_progress, timeout=args.timeout))

    return with_client(args, work)
