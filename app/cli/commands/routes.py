"""`pic-store routes`: the routes and DNS records the router manages, and whether Caddy and
DNS agree with them (asked of the router over the bus, as the admin)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from app.cli.connect import add_bus_options, with_client
from app.cli.output import EXIT_INVALID, EXIT_OK
from shared.client import StoreClient
from shared.events.routes import AGREEING
from shared.routes_client import routes_report

QUERY_TIMEOUT = 30.0  # the router answers at once, or its parts' timeouts say why not
COLUMNS = ("HOST", "SERVICE", "UPSTREAM", "CADDY", "DNS")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "routes",
        help="list the Caddy routes and DNS records, and whether they agree",
        description="List every Caddy route and DNS record the router manages for the "
        "installed services, and whether Caddy and DNS hold them as needed. Exit 0 when "
        "everything agrees, 1 when something does not or the router cannot tell.",
    )
    parser.add_argument("--json", action="store_true", help="print the router's report as JSON")
    add_bus_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    async def work(client: StoreClient) -> int:
        report = await routes_report(client.bus, min(float(args.timeout), QUERY_TIMEOUT))
        body = report.model_dump(mode="json")
        if args.json:
            sys.stdout.write(json.dumps(body, indent=2) + "\n")
        else:
            sys.stdout.write(render(body))
        return EXIT_OK if report.agree else EXIT_INVALID

    return with_client(args, work)


def render(report: dict[str, Any]) -> str:
    """The report as a table, then where Caddy and DNS are and what does not agree."""
    rows = [r for r in report.get("routes") or [] if isinstance(r, dict)]
    lines: list[str] = []
    if rows:
        table = [COLUMNS] + [_row(r) for r in rows]
        widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
        lines += [
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in table
        ]
    else:
        lines.append(f"No routes: no installed service of {report.get('domain')} has a subdomain.")
    lines.append(f"Caddy: {report.get('caddy')}   DNS: {report.get('dns')}")
    if report.get("caddy_error"):
        lines.append(f"Caddy did not answer: {report['caddy_error']}")
    if report.get("dns_error"):
        lines.append(f"DNS did not answer: {report['dns_error']}")
    lines += [f"problem: {p}" for p in report.get("problems") or []]
    bad = sum(1 for r in rows if not _agrees(r))
    if report.get("agree") is True:
        lines.append(f"All {len(rows)} routes and records agree." if rows else "All agree.")
    else:
        lines.append(
            f"{bad} of {len(rows)} disagree with what the installed services need."
            if bad
            else "Caddy and DNS could not all be checked."
        )
    return "\n".join(lines) + "\n"


def _row(route: dict[str, Any]) -> tuple[str, str, str, str, str]:
    dns = str(route.get("dns") or "-")
    if route.get("address") and dns == "ok":
        dns = f"ok ({route['address']})"
    return (
        str(route.get("host", "?")),
        str(route.get("service_id", "?")),
        str(route.get("upstream") or "-"),
        str(route.get("caddy") or "-"),
        dns,
    )


def _agrees(route: dict[str, Any]) -> bool:
    return route.get("caddy", "") in AGREEING and route.get("dns", "") in AGREEING
