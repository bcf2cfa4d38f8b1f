"""Read a manifest from disk: a manifest.json file, or a service folder holding one."""

from __future__ import annotations

import json
from pathlib import Path

from shared.manifest.const import MAX_MANIFEST_BYTES
from shared.manifest.issues import Issue, ManifestInvalidError
from shared.manifest.model import Manifest
from shared.manifest.options import DEFAULT_OPTIONS, ValidationOptions
from shared.manifest.validate import check_manifest

MANIFEST_FILE = "manifest.json"
TEMPLATE_FILE = "compose-template.yml"


def manifest_path(path: Path) -> Path:
    """The manifest.json a path means: itself, or the one inside a folder."""
    return path / MANIFEST_FILE if path.is_dir() else path


def read_json_file(path: Path, max_bytes: int = MAX_MANIFEST_BYTES) -> tuple[object, list[Issue]]:
    """(data, []) or (None, [the one Issue at `$` saying why the file cannot be read])."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        return None, [Issue("$", f"file not found: {path}")]
    except IsADirectoryError:
        return None, [Issue("$", f"{path} is a folder, not a file")]
    except OSError as exc:
        return None, [Issue("$", f"cannot read {path}: {exc.strerror or exc}")]
    if len(raw) > max_bytes:
        return None, [Issue("$", f"{path} is larger than the {max_bytes // 1024} KiB limit")]
    return parse_json_text(raw, path.name)


def parse_json_text(raw: bytes, name: str) -> tuple[object, list[Issue]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Issue("$", f"{name} is not UTF-8 text (byte {exc.start})")]
    try:
        return json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant
        ), []
    except json.JSONDecodeError as exc:
        return None, [
            Issue(
                "$", f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            )
        ]
    except RecursionError:
        return None, [Issue("$", f"{name} is nested too deeply")]
    except ValueError as exc:
        return None, [Issue("$", f"{name} is not valid JSON: {exc}")]


def validate_manifest_file(
    path: Path, options: ValidationOptions = DEFAULT_OPTIONS
) -> tuple[Manifest | None, list[Issue]]:
    """Read and validate; (manifest, []) or (None, issues). Never raises for a bad file."""
    file = manifest_path(path)
    if path.is_dir() and not file.exists():
        return None, [Issue("$", f"no {MANIFEST_FILE} in the folder {path}")]
    data, issues = read_json_file(file)
    if issues:
        return None, issues
    return check_manifest(data, options)


def load_manifest(path: Path | str, options: ValidationOptions = DEFAULT_OPTIONS) -> Manifest:
    """The valid manifest at a path (file or service folder), or ManifestInvalidError."""
    manifest, issues = validate_manifest_file(Path(path), options)
    if manifest is None:
        raise ManifestInvalidError(issues)
    return manifest


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            # Parsers disagree on which copy wins: refuse rather than guess.
            raise ValueError(f"the key {json.dumps(key[:60])} appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not allowed in JSON")
