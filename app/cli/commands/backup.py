"""`pic-store backup [ID]`, `pic-store backup list`, `pic-store backup verify BACKUP`: make,
list and verify backups (the backup service; list through its HTTP API)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from app.cli.connect import add_bus_options, with_client
from app.cli.output import EXIT_INVALID, EXIT_OK, fail
from app.embedded.api_token import api_token_path
from shared.backup_client import BackupCommands, run_backup_command
from shared.client import StoreClient
from shared.events import new_operation_id
from shared.events.backups import BackupCommand, BackupResult, VerifyCommand, VerifyPayload
from shared.roster import HTTP_PORTS

DEFAULT_URL = f"http://127.0.0.1:{HTTP_PORTS['backup']}"
COLUMNS = ("BACKUP", "SERVICES", "SIZE", "MODE", "VERIFIED")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="back up a service (or all with storage), list or verify backups",
        description="`backup [ID]`: back up one service, or every service with storage. "
        "`backup list`: the complete backups. `backup verify BACKUP`: restore the backup into "
        "a sandbox, compare it with its checksums and record the result.",
    )
    parser.add_argument("words", nargs="*", metavar="ID | list | verify BACKUP")
    parser.add_argument(
        "--backup-url",
        default=os.environ.get("PIC_BACKUP_URL", DEFAULT_URL),
        help=f"the backup service's HTTP address, for list (default {DEFAULT_URL})",
    )
    add_bus_options(parser)
    parser.set_defaults(func=run)


def print_result(result: BackupResult) -> int:
    p = result.payload
    stream = sys.stdout if p.ok else sys.stderr
    stream.write(f"{p.action.value}: {'ok' if p.ok else 'failed'}: {p.message}\n")
    return EXIT_OK if p.ok else EXIT_INVALID


def send(args: argparse.Namespace, command: BackupCommands) -> int:
    async def work(client: StoreClient) -> int:
        return print_result(await run_backup_command(client.bus, command, args.timeout))

    return with_client(args, work)


def run(args: argparse.Namespace) -> int:
    words: list[str] = args.words
    if words == ["list"]:
        return list_backups(args)
    if len(words) == 2 and words[0] == "verify":
        command = VerifyCommand(
            operation_id=new_operation_id(), payload=VerifyPayload(backup=words[1])
        )
        return send(args, command)
    if len(words) <= 1 and words[:1] != ["verify"]:
        sid = words[0] if words else None
        return send(args, BackupCommand(operation_id=new_operation_id(), service_id=sid))
    return fail("usage: pic-store backup [ID] | backup list | backup verify BACKUP")


def list_backups(args: argparse.Namespace) -> int:
    url = str(args.backup_url).rstrip("/")
    token_file = api_token_path(Path(args.data_dir))
    try:
        token = token_file.read_text().strip()
    except OSError:
        return fail(f"no API token at {token_file}: give --data-dir of the cell's `pic-store up`")
    try:
        with httpx.Client(trust_env=False, timeout=15.0) as client:
            resp = client.get(f"{url}/backups", headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        return fail(f"the backup service does not answer at {url} ({type(exc).__name__})")
    if resp.status_code != 200:
        return fail(f"the backup service at {url} said HTTP {resp.status_code}: {resp.text[:200]}")
    sys.stdout.write(render(resp.json()))
    return EXIT_OK


def render(rows: list[dict[str, Any]]) -> str:
    table = [COLUMNS]
    for row in rows:
        verified = row.get("verified")
        table.append(
            (
                row["backup_id"],
                ", ".join(f"{k} {v}" for k, v in row["services"].items()),
                f"{row['size'] / 1024**2:.1f} MiB",
                ", ".join(sorted(set(row["consistency"].values()))),
                "-" if verified is None else ("ok" if verified else "FAILED"),
            )
        )
    widths = [max(len(str(r[i])) for r in table) for i in range(len(COLUMNS))]
    return "".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() + "\n"
        for r in table
    )
