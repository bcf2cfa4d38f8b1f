"""`pic-store peers add NAME | remove NAME | list | rotate NAME SERVICE | config NAME`: the
VPN peers the accounts service provisions, over the bus as the admin. `config` and `rotate`
print credentials: they come sealed to a key made for this one request."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.cli.connect import add_bus_options, with_client
from app.cli.output import EXIT_OK, fail
from shared.client import StoreClient
from shared.events.peers import PeerAction
from shared.peer_client import add_peer, ask_peer, remove_peer


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "peers",
        help="add, remove and list VPN peers; show or rotate their service credentials",
        description="Every peer gets an account in every installed service that has "
        "accounts. add/remove publish the same events the gateway does.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (
        ("add", "add a peer: it gets an account in every service with accounts"),
        ("remove", "remove a peer: its accounts go"),
        ("config", "print the peer's ready-to-use configs, by service (credentials!)"),
    ):
        sub = verbs.add_parser(verb, help=text)
        sub.add_argument("name", metavar="NAME")
        if verb == "config":
            sub.add_argument(
                "--get",
                metavar="SERVICE.KEY",
                help="print one value only (e.g. files.password), for `$(...)` in a command",
            )
        add_bus_options(sub)
    listing = verbs.add_parser("list", help="the current peers")
    add_bus_options(listing)
    rotate = verbs.add_parser("rotate", help="new credentials for a peer in one service")
    rotate.add_argument("name", metavar="NAME")
    rotate.add_argument("service", metavar="SERVICE")
    add_bus_options(rotate)
    parser.set_defaults(func=run)


def _print(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def run(args: argparse.Namespace) -> int:
    timeout = min(float(args.timeout), 60.0)

    async def work(client: StoreClient) -> int:
        bus = client.bus
        if args.verb == "add":
            await add_peer(bus, args.name)
            print(f"peer {args.name} added; its accounts are being made")
        elif args.verb == "remove":
            await remove_peer(bus, args.name)
            print(f"peer {args.name} removed; its accounts are being deleted")
        elif args.verb == "list":
            for name in (await ask_peer(bus, PeerAction.list, timeout=timeout))["peers"]:
                print(name)
        elif args.verb == "config":
            configs = await ask_peer(bus, PeerAction.config, args.name, timeout=timeout)
            if args.get is None:
                _print(configs)
                return EXIT_OK
            service, _, key = args.get.partition(".")
            value = configs.get(service, {}).get(key)
            if value is None:
                known = ", ".join(f"{s}.{k}" for s, c in configs.items() for k in c) or "none yet"
                return fail(f"peer {args.name} has no {args.get} (it has: {known})")
            print(value)
        else:
            _print(await ask_peer(bus, PeerAction.rotate, args.name, args.service, timeout=timeout))
        return EXIT_OK

    return with_client(args, work)
