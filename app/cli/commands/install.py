"""`pic-store install ID`: install (or upgrade) a service from a store, with progress."""

from __future__ import annotations

import argparse

from app.cli.connect import (
    add_bus_options,
    add_settings_option,
    print_progress,
    report,
    with_client,
)
from shared.client import StoreClient
from shared.events import InstallCommand, new_operation_id
from shared.events.messages import InstallPayload


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "install",
        help="install or upgrade a store service on the running cell",
        description="Fetch the service from the store, validate, verify and start it; "
        "progress is shown as it happens. Exit 0 when installed, 1 with the reason when not.",
    )
    parser.add_argument("service_id", metavar="ID")
    parser.add_argument(
        "--store",
        metavar="STORE",
        help="the name of a store of the cell config's `stores`, or a store folder or git "
        "repository URL (default: the cell's `default_store`)",
    )
    add_settings_option(parser)
    parser.add_argument("--plan", action="store_true", help="show what would be done, do nothing")
    parser.add_argument(
        "--egress",
        metavar="NAME",
        help="the outbound connection, one of the manifest's egress.allowed "
        "(default, wireguard_ext, openvpn, tor, sshuttle, proxy)",
    )
    parser.add_argument(
        "--confirm-downgrade",
        action="store_true",
        help="allow installing an older version than the installed one",
    )
    add_bus_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = dict(args.settings)

    async def work(client: StoreClient) -> int:
        command = InstallCommand(
            operation_id=new_operation_id(),
            service_id=args.service_id,
            payload=InstallPayload(
                store=args.store,
                config=settings,
                plan_only=args.plan,
                confirm_downgrade=args.confirm_downgrade,
                egress=args.egress,
            ),
        )
        print(f"install {args.service_id} ({command.operation_id})", flush=True)
        return report(await client.run(command, print_progress, timeout=args.timeout))

    return with_client(args, work)
