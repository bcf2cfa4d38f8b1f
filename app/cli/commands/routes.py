"""`pic-store routes`: the routes and DNS records the router manages, and whether Caddy and
DNS agree with them (asked of the router's `GET /routes`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import httpx

from app.cli.output import EXIT_INVALID, EXIT_OK, fail
from shared.roster import HTTP_PORTS

DEFAULT_ROUTER = f"http://127.0.0.1:{HTTP_PORTS['router']}"
AGREEING = {"ok", "in progress", ""}
COLUMNS = ("HOST", "SERVICE", "UPSTREAM", "CADDY", "DNS")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "routes",
        help="list the Caddy routes and DNS records, and whether they agree",
        description="List every Caddy route and DNS record the router manages for the "
        "installed services, and whether Caddy and DNS hold them as needed. Exit 0 when "
        "everything agrees, 1 when something does not or the router cannot tell.",
    )
    parser.add_argument(
        "--router",
        metavar="URL",
        default=os.environ.get("PIC_ROUTER_URL", DEFAULT_ROUTER),
        help=f"the router's HTTP address (default $PIC_ROUTER_URL or {DEFAULT_ROUTER})",
    )
    parser.add_argument("--json", action="store_true", help="print the router's report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url = str(args.router).rstrip("/")
    try:
        with httpx.Client(trust_env=False, timeout=15.0) as client:
            resp = client.get(f"{url}/routes")
    except httpx.HTTPError as exc:
        return fail(
            f"the router does not answer at {url} ({type(exc).__name__}); is it "
            "running? (`pic-store up`, or `python -m services.router`; --router URL)"
        )
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200 or not isinstance(body, dict):
        detail = body.get("detail") if isinstance(body, dict) else resp.text[:200]
        return fail(f"the router at {url} could not report: HTTP {resp.status_code}: {detail}")
    if args.json:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        sys.stdout.write(render(body))
    return EXIT_OK if body.get("agree") is True else EXIT_INVALID


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
