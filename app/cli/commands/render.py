"""`pic-store render PATH ...`: print the docker-compose.yml a cell would write."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.output import (
    EXIT_OK,
    add_validation_options,
    fail,
    print_issues,
    summary,
    validation_options,
)
from app.cli.secrets_file import SecretsFileError, read_secrets, write_secrets
from shared.compose import TEMPLATE_FILE, RenderContext, read_template, render_compose
from shared.errors import RenderError
from shared.manifest import manifest_path, validate_manifest_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "render",
        help="print the rendered docker-compose.yml of a service",
        description="Render a service's compose template with the given cell values and admin "
        "settings, and print the Compose file.",
    )
    parser.add_argument("path", metavar="PATH", type=Path, help="manifest.json or service folder")
    parser.add_argument("--domain", required=True, help="the cell's domain")
    parser.add_argument("--cell-name", required=True, help="the cell's short name")
    parser.add_argument("--data-dir", required=True, help="absolute path of PIC's data folder")
    parser.add_argument("--service-ip", help="the container IP (172.20.0.20-172.20.0.254)")
    parser.add_argument(
        "--set",
        dest="settings",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="an admin setting from config_schema (repeatable)",
    )
    parser.add_argument(
        "--secrets", metavar="FILE", type=Path, help="JSON file of stored secrets, kept up to date"
    )
    parser.add_argument(
        "--template", metavar="FILE", type=Path, help=f"default: {TEMPLATE_FILE} beside PATH"
    )
    add_validation_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = validation_options(args)
    manifest, issues = validate_manifest_file(args.path, options)
    if manifest is None:
        print_issues(issues, as_json=False, stream=sys.stderr)
        return fail(f"{args.path}: {summary(issues)}")
    settings = _settings(args.settings)
    if isinstance(settings, str):
        return fail(settings)
    template = args.template or manifest_path(args.path).parent / TEMPLATE_FILE
    try:
        template_text = read_template(template)
        stored = read_secrets(args.secrets) if args.secrets else {}
    except OSError as exc:
        return fail(
            f"cannot read the template {template}: {exc.strerror or exc.__class__.__name__}"
        )
    except SecretsFileError as exc:
        return fail(str(exc))
    context = RenderContext(
        domain=args.domain,
        cell_name=args.cell_name,
        data_dir=args.data_dir,
        service_ip=args.service_ip,
        config=settings,
        secrets=stored,
        options=options,
    )
    try:
        result = render_compose(template_text, manifest, context)
    except RenderError as exc:
        return fail(exc.message)
    names = ", ".join(result.new_secrets)
    if args.secrets is not None and (result.new_secrets or not args.secrets.exists()):
        try:
            write_secrets(args.secrets, result.secrets)
        except SecretsFileError as exc:
            return fail(str(exc))
        if names:
            sys.stderr.write(f"pic-store: saved new secrets to {args.secrets}: {names}\n")
    elif names and args.secrets is None:
        sys.stderr.write(f"pic-store: generated secrets not saved ({names}): use --secrets FILE\n")
    sys.stdout.write(result.yaml_text)
    return EXIT_OK


def _settings(pairs: list[str]) -> dict[str, object] | str:
    """KEY=VALUE pairs (keys case-insensitive); a message when one is malformed. The
    message never repeats a value: it may be a secret."""
    settings: dict[str, object] = {}
    for position, pair in enumerate(pairs, start=1):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            return f"--set number {position} must be KEY=VALUE (it has no key or no =)"
        settings[key.strip().lower()] = value
    return settings
