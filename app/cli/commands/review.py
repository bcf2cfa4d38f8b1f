"""`pic-store review SERVICE_DIR --index INDEX_JSON`: the store's review of a submission."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.output import (
    EXIT_INVALID,
    EXIT_OK,
    add_validation_options,
    print_issues,
    summary,
    validation_options,
)
from app.review import review_notes, review_service


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "review",
        help="run the store review on a service folder",
        description="Everything validate checks, plus the store review: subdomains not used by "
        "other store services, install.sh, the index entry, and a version above --previous.",
    )
    parser.add_argument("service_dir", metavar="SERVICE_DIR", type=Path)
    parser.add_argument("--index", metavar="INDEX_JSON", type=Path, required=True)
    parser.add_argument(
        "--previous", metavar="OLD_MANIFEST", type=Path, help="the manifest this one replaces"
    )
    parser.add_argument("--json", action="store_true", help="print the issues as a JSON list")
    add_validation_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    issues = review_service(args.service_dir, args.index, args.previous, validation_options(args))
    print_issues(issues, args.json)
    for note in review_notes(args.service_dir, validation_options(args)):
        sys.stderr.write(f"note: {note}\n")
    if issues:
        if not args.json:
            sys.stderr.write(f"{args.service_dir}: {summary(issues)}\n")
        return EXIT_INVALID
    if not args.json:
        print(f"OK: {args.service_dir} passes the store review")
    return EXIT_OK
