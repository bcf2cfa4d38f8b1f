"""What every command shares: exit codes, printing issues, the validation options."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from shared.manifest import DEFAULT_ALLOWED_REGISTRY, DEFAULT_PIC_ROOT, Issue, ValidationOptions

EXIT_OK = 0
EXIT_INVALID = 1  # the input broke rules, or a render / file step failed
EXIT_USAGE = 2  # argparse's code for a bad command line
EXIT_INTERNAL = 3  # a bug: an exception nobody meant to raise


def print_issues(issues: Sequence[Issue], as_json: bool, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    if as_json:
        out.write(json.dumps([issue.to_dict() for issue in issues], indent=2) + "\n")
    else:
        for issue in issues:
            out.write(f"{issue}\n")


def summary(issues: Sequence[Issue]) -> str:
    count = len(issues)
    return f"{count} problem{'s' if count != 1 else ''} found"


def fail(message: str) -> int:
    sys.stderr.write(f"pic-store: {message}\n")
    return EXIT_INVALID


def add_validation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allowed-registry",
        metavar="PREFIX",
        default=DEFAULT_ALLOWED_REGISTRY,
        help=f"image namespace store images must live in (default {DEFAULT_ALLOWED_REGISTRY})",
    )
    parser.add_argument(
        "--pic-root",
        metavar="DIR",
        default=DEFAULT_PIC_ROOT,
        help=f"PIC's project folder: volume mounts may not overlap it (default {DEFAULT_PIC_ROOT})",
    )


def validation_options(args: argparse.Namespace) -> ValidationOptions:
    return ValidationOptions(allowed_registry=args.allowed_registry, pic_root=args.pic_root)
