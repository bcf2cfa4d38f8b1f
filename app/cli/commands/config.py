"""`pic-store config check [--data-dir DIR]`: is the cell config file one the services accept?

Every problem is printed with the file and the key (a typo under `backup`, a value of the
wrong type), as the services would report it; the exit code is 1 when there is one. The
services keep their last good config when a change is bad, and refuse to start on one."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from pydantic import ValidationError

from app.cli.output import EXIT_OK, fail
from shared.config import CELL_CONFIG_RELATIVE, CellConfig, config_problems


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("config", help="the cell config: check it")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    check = verbs.add_parser(
        "check",
        help="check the cell config file: every unknown key and bad value, by name",
    )
    check.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("PIC_DATA_DIR", "var/pic")),
        help="the cell's data folder (default $PIC_DATA_DIR or var/pic)",
    )
    parser.set_defaults(func=run)


def problems(path: Path) -> list[str]:
    """Every reason the services would refuse the file, each naming the key."""
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        return [f"{path}: cannot be read ({exc.strerror or type(exc).__name__})"]
    except ValueError as exc:
        return [f"{path}: not JSON: {exc}"]
    try:
        CellConfig.model_validate(raw)
    except ValidationError as exc:
        return [f"{path}: {problem}" for problem in config_problems(exc)]
    return []


def run(args: argparse.Namespace) -> int:
    path = Path(args.data_dir) / CELL_CONFIG_RELATIVE
    if not path.exists():
        print(f"{path} does not exist: the services use the defaults")
        return EXIT_OK
    found = problems(path)
    if found:
        return [fail(line) for line in found][-1]
    print(f"OK: {path}")
    return EXIT_OK
