"""`pic-store reconfigure ID --set KEY=VALUE`: new settings, same secrets, IP and volumes."""

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
from shared.events import ReconfigureCommand, new_operation_id
from shared.events.messages import ReconfigurePayload


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reconfigure",
        help="apply new admin settings to an installed service",
        description="Render the service with new settings; only changed containers are "
        "recreated. Secrets, the IP and the volumes stay.",
    )
    parser.add_argument("service_id", metavar="ID")
    add_settings_option(parser)
    parser.add_argument("--plan", action="store_true", help="show what would be done, do nothing")
    parser.add_argument(
        "--egress",
        metavar="NAME",
        help="the outbound connection, one of the manifest's egress.allowed "
        "(default, wireguard_ext, openvpn, tor, sshuttle, proxy)",
    )
    add_bus_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = dict(args.settings)

    async def work(client: StoreClient) -> int:
        command = ReconfigureCommand(
            operation_id=new_operation_id(),
            service_id=args.service_id,
            payload=ReconfigurePayload(config=settings, plan_only=args.plan, egress=args.egress),
        )
        return report(await client.run(command, print_progress, timeout=args.timeout))

    return with_client(args, work)
