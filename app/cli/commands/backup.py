"""`pic-store backup [ID]`, `pic-store backup list [ID]`, `pic-store backup schedule`,
`pic-store backup verify BACKUP`: make, list and verify backups, show the schedule (the
backup service, over the bus as the admin)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.connect import add_bus_options, with_client
from app.cli.output import EXIT_INVALID, EXIT_OK, fail
from shared.backup_client import (
    BackupCommands,
    backup_schedule,
    list_backups,
    run_backup_command,
)
from shared.client import StoreClient
from shared.events import new_operation_id
from shared.events.backups import (
    BackupCommand,
    BackupResult,
    BackupSchedule,
    VerifyCommand,
    VerifyPayload,
)
from shared.ids import id_problem

COLUMNS = ("BACKUP", "SERVICES", "SIZE", "MODE", "VERIFIED")
QUERY_TIMEOUT = 30.0  # a list or the schedule: the backup service answers at once
USAGE = "usage: pic-store backup [ID] | backup list [ID] | backup schedule | backup verify BACKUP"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="back up a service (or all with storage), list or verify backups",
        description="`backup [ID]`: back up one service, or every service with storage. "
        "`backup list [ID]`: the complete backups (of one service). `backup schedule`: the "
        "schedule of the cell config and when each service is due. `backup verify BACKUP`: "
        "restore the backup into a sandbox, compare it with its checksums and record the "
        "result.",
    )
    parser.add_argument("words", nargs="*", metavar="ID | list [ID] | schedule | verify BACKUP")
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
    if words[:1] == ["list"] and len(words) <= 2:
        return show_backups(args, words[1] if len(words) == 2 else None)
    if words == ["schedule"]:
        return show_schedule(args)
    if len(words) == 2 and words[0] == "verify":
        command = VerifyCommand(
            operation_id=new_operation_id(), payload=VerifyPayload(backup=words[1])
        )
        return send(args, command)
    if len(words) <= 1 and words[:1] not in (["verify"], ["list"], ["schedule"]):
        sid = words[0] if words else None
        return send(args, BackupCommand(operation_id=new_operation_id(), service_id=sid))
    return fail(USAGE)


def show_backups(args: argparse.Namespace, service_id: str | None) -> int:
    problem = None if service_id is None else id_problem("service id", service_id)
    if problem is not None:
        return fail(problem)

    async def work(client: StoreClient) -> int:
        timeout = min(float(args.timeout), QUERY_TIMEOUT)
        found = await list_backups(client.bus, service_id, timeout)
        sys.stdout.write(render([b.model_dump(mode="json") for b in found]))
        return EXIT_OK

    return with_client(args, work)


def show_schedule(args: argparse.Namespace) -> int:
    async def work(client: StoreClient) -> int:
        timeout = min(float(args.timeout), QUERY_TIMEOUT)
        sys.stdout.write(render_schedule(await backup_schedule(client.bus, timeout)))
        return EXIT_OK

    return with_client(args, work)


def render_schedule(schedule: BackupSchedule) -> str:
    if schedule.every_hours <= 0:
        head = "No schedule (backup.every_hours is 0 in the cell config)"
    else:
        verified = ", each verified" if schedule.verify_scheduled else ""
        head = f"Every {schedule.every_hours:g} h{verified}"
    lines = [f"{head}; {schedule.keep} good backups kept per service."]
    for row in schedule.services:
        last = row.last_good.isoformat(timespec="seconds") if row.last_good else "never"
        due = row.next_due.isoformat(timespec="seconds") if row.next_due else "-"
        lines.append(f"  {row.service_id}: last good {last}, next {due}")
    if not schedule.services:
        lines.append("  (no installed service has storage)")
    return "\n".join(lines) + "\n"


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
