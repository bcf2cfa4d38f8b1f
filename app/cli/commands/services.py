"""`pic-store list` and `pic-store status ID`: what is installed, read from the cell's state."""

from __future__ import annotations

import argparse
import json

from app.cli.connect import add_bus_options, with_client
from app.cli.output import EXIT_INVALID, EXIT_OK, fail
from shared.client import StoreClient


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = subparsers.add_parser("list", help="list installed services and their state")
    listing.add_argument("--json", action="store_true", help="print JSON")
    add_bus_options(listing)
    listing.set_defaults(func=run_list)
    status = subparsers.add_parser("status", help="one service's state and last error")
    status.add_argument("service_id", metavar="ID")
    status.add_argument("--json", action="store_true", help="print JSON")
    add_bus_options(status)
    status.set_defaults(func=run_status)


def run_list(args: argparse.Namespace) -> int:
    async def work(client: StoreClient) -> int:
        views = await client.services()
        if args.json:
            print(json.dumps([v.model_dump(mode="json") for v in views], indent=2))
            return EXIT_OK
        if not views:
            print("no services installed")
        for v in views:
            error = f"  ({v.last_error})" if v.last_error else ""
            print(
                f"{v.service_id:<20} {v.state:<13} {v.version or '-':<10} "
                f"{v.service_ip or '-':<15}{error}"
            )
        return EXIT_OK

    return with_client(args, work)


def run_status(args: argparse.Namespace) -> int:
    async def work(client: StoreClient) -> int:
        view = await client.service(args.service_id)
        if view is None:
            return fail(f"{args.service_id} is not installed")
        if args.json:
            print(view.model_dump_json(indent=2))
        else:
            for key, value in view.model_dump(mode="json").items():  # times in ISO 8601
                print(f"{key:>15}: {value}")
        return EXIT_OK if view.state != "failed" else EXIT_INVALID

    return with_client(args, work)
