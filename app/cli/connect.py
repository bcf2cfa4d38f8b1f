"""What the commands that talk to a running cell share: bus options, progress, results."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from app.cli.output import EXIT_INVALID, EXIT_OK, fail
from shared.bus import Bus
from shared.bus.auth import seed_path
from shared.client import StoreClient
from shared.errors import PicStoreError
from shared.events import OperationResult, ProgressEvent
from shared.events.layout import CELL_LAYOUT
from shared.events.messages import ConfigValue, StepStatus
from shared.logging import configure_logging

T = TypeVar("T")
MARK = {
    StepStatus.started: "…",
    StepStatus.done: "✓",
    StepStatus.failed: "✗",
    StepStatus.skipped: "-",
    StepStatus.rolled_back: "↺",
}


def add_bus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nats",
        metavar="URL",
        default=os.environ.get("PIC_NATS_URL", "nats://127.0.0.1:4222"),
        help="the cell's NATS server (default $PIC_NATS_URL or 127.0.0.1:4222)",
    )
    parser.add_argument(
        "--cell",
        default=os.environ.get("PIC_CELL", "cell"),
        help="the cell's name (default $PIC_CELL or 'cell')",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("PIC_DOCKER_HOST", "local"),
        help="the Docker host to act on (default 'local')",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("PIC_DATA_DIR", "var/pic")),
        help="the data folder of a local `pic-store up`, where the admin identity is found "
        "(default $PIC_DATA_DIR or var/pic)",
    )
    parser.add_argument(
        "--nats-seed",
        type=Path,
        default=Path(os.environ["PIC_NATS_SEED"]) if os.environ.get("PIC_NATS_SEED") else None,
        help="the admin identity's nkey seed file (default $PIC_NATS_SEED, else the one in "
        "the data folder)",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds to wait for the result (default 900)"
    )


def admin_seed(args: argparse.Namespace) -> Path:
    """The admin identity: given, else the one `pic-store up` made in its data folder."""
    if args.nats_seed is not None:
        return Path(args.nats_seed)
    return seed_path(Path(args.data_dir).resolve() / "secrets" / "nats", args.cell, "admin")


def with_client(args: argparse.Namespace, work: Callable[[StoreClient], Awaitable[int]]) -> int:
    configure_logging("pic-store-cli", "ERROR")  # the command speaks for itself

    async def run() -> int:
        try:
            seed = admin_seed(args)
            if not seed.is_file():
                return fail(
                    f"no admin identity at {seed}: give --data-dir of the cell's `pic-store "
                    "up`, or --nats-seed (the cell's admin seed file)"
                )
            bus = await Bus.connect(
                args.nats,
                args.cell,
                name="pic-store-cli",
                seed=seed,
                role="admin",
                timeout=3.0,
                reconnect_attempts=1,
                layout=CELL_LAYOUT,
            )
        except PicStoreError as exc:
            return fail(f"{exc.message}; is the cell running (`pic-store up`)?")
        try:
            return await work(StoreClient(bus, host=args.host))
        except PicStoreError as exc:
            return fail(exc.message)
        finally:
            await bus.close()

    return asyncio.run(run())


def print_progress(event: ProgressEvent) -> None:
    p = event.payload
    if p.status == StepStatus.started:
        return
    detail = f": {p.message}" if p.message else ""
    print(f"  [{p.index}/{p.total}] {MARK[p.status]} {p.step} {p.status.value}{detail}", flush=True)


def report(result: OperationResult) -> int:
    p = result.payload
    if p.plan is not None and p.status.value == "planned":
        print(p.plan.model_dump_json(indent=2, exclude_defaults=True))
    stream = sys.stdout if p.status.value != "failed" else sys.stderr
    stream.write(f"{p.kind.value} {result.service_id}: {p.status.value}: {p.message}\n")
    return EXIT_INVALID if p.status.value == "failed" else EXIT_OK


def add_settings_option(parser: argparse.ArgumentParser) -> None:
    """`--set KEY=VALUE`, repeatable; the installer types values by the config_schema."""
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        type=_setting,
        metavar="KEY=VALUE",
        help="an admin setting (repeat for more)",
    )


def _setting(pair: str) -> tuple[str, ConfigValue]:
    key, sep, value = pair.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{pair!r} is not KEY=VALUE")
    return key.strip().lower(), value
