"""What the readers of every format share: reading YAML and JSON safely, the time zone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from app.importers.model import FormField

MAX_SOURCE_BYTES = 1024 * 1024


class ImportError_(Exception):
    """The source cannot be read as the format says: the message names what is wrong."""


def read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        raise ImportError_(f"{path.name} not found in {path.parent}") from None
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_SOURCE_BYTES:
        raise ImportError_(f"{path} is larger than {MAX_SOURCE_BYTES // 1024} KiB")
    return raw.decode("utf-8", "replace")


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        raise ImportError_(
            f"{path.name} is not valid YAML: {' '.join(str(exc).split())[:200]}"
        ) from None
    if not isinstance(data, dict):
        raise ImportError_(f"{path.name} must be a YAML mapping")
    return data


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ImportError_(
            f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    if not isinstance(data, dict):
        raise ImportError_(f"{path.name} must be a JSON object")
    return data


def time_zone_field() -> FormField:
    """TZ, which both stores fill in from the host, becomes a setting of the service."""
    return FormField(
        key="tz",
        variable="TZ",
        type="string",
        label="Time zone",
        description="A tz database name such as Europe/Berlin.",
        default="UTC",
        max_length=64,
    )
