"""`pic-store import FORMAT SOURCE OUT`: an app of another store as a PIC store service."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.output import (
    EXIT_INVALID,
    EXIT_OK,
    add_validation_options,
    fail,
    validation_options,
)
from app.importers import FORMATS, import_service
from app.importers.common import ImportError_


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import",
        help="translate an app of another store (Runtipi, Umbrel) into a store service",
        description="Read an app's folder of another store (runtipi: config.json and "
        "docker-compose.yml; umbrel: umbrel-app.yml and docker-compose.yml) and write a PIC "
        "store service folder (manifest.json, compose-template.yml) with IMPORT.md, the "
        "report of what was translated, what a person must decide, and what was refused. "
        "Exit 0 when the folder passes validate and nothing was refused, 1 otherwise.",
    )
    parser.add_argument("format", metavar="FORMAT", choices=sorted(FORMATS))
    parser.add_argument("source", metavar="SOURCE", type=Path, help="the app's folder")
    parser.add_argument("out", metavar="OUT", type=Path, help="the service folder to write")
    parser.add_argument("--force", action="store_true", help="write into a non-empty OUT")
    add_validation_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        imported = import_service(
            args.format, args.source, args.out, validation_options(args), args.force
        )
    except ImportError_ as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"cannot write {args.out}: {exc.strerror or exc}")
    print(imported.report)
    if imported.folder.name != imported.service_id:
        sys.stderr.write(
            f"note: review wants the folder named after the id: {imported.service_id}\n"
        )
    return EXIT_OK if imported.status in ("valid", "decide") else EXIT_INVALID
