"""`pic-store validate PATH`: check a manifest (and, for a folder, its compose template)."""

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
from shared.compose import TEMPLATE_FILE, check_template_file
from shared.manifest import (
    MANIFEST_FILE,
    manifest_notes,
    manifest_path,
    read_json_file,
    stand_in_manifest,
    validate_manifest_file,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a manifest against every rule",
        description="Check a manifest.json (or a service folder: its manifest.json and "
        f"{TEMPLATE_FILE}) against every rule. Exit 0 when valid, 1 when not.",
    )
    parser.add_argument("path", metavar="PATH", type=Path, help="manifest.json or service folder")
    parser.add_argument("--json", action="store_true", help="print the issues as a JSON list")
    add_validation_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = validation_options(args)
    path: Path = args.path
    manifest, issues = validate_manifest_file(path, options)
    template = path / TEMPLATE_FILE
    if path.is_dir() and template.is_file():
        # Every issue at once: a manifest with issues still judges the template, through a
        # stand-in made of its sound fields (no stand-in: the template waits for the id).
        judge = manifest
        if judge is None:
            raw, unreadable = read_json_file(path / MANIFEST_FILE)
            judge = None if unreadable else stand_in_manifest(raw, options)
        if judge is not None:
            issues = [*issues, *check_template_file(template, judge, options)]
    print_issues(issues, args.json)
    if manifest is not None:  # valid, probably not meant: said on stderr, never a refusal
        raw, _ = read_json_file(manifest_path(path))
        for note in manifest_notes(raw):
            sys.stderr.write(f"warning: {note}\n")
    if issues:
        if not args.json:
            sys.stderr.write(f"{path}: {summary(issues)}\n")
        return EXIT_INVALID
    if not args.json and manifest is not None:
        print(f"OK: {manifest.id} {manifest.version} is valid ({path})")
    return EXIT_OK
