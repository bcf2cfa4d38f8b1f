"""Validate a manifest: field formats (pydantic) and cross-field rules, every issue at once."""

from __future__ import annotations

import re

from pydantic import ValidationError

from shared.manifest.const import OPTIONAL_BLOCKS, REQUIRED_BLOCKS
from shared.manifest.hosts import hostname_notes
from shared.manifest.issues import Issue, ManifestInvalidError, describe, show, unique
from shared.manifest.model import Manifest
from shared.manifest.options import DEFAULT_OPTIONS, ValidationOptions
from shared.manifest.rules import cross_field_issues
from shared.manifest.translate import issues_from_error

_TOP_FIELD = re.compile(r"\$\.([A-Za-z_][A-Za-z0-9_]*)")
_FIELD_ORDER = {name: index for index, name in enumerate(Manifest.model_fields)}


def check_manifest(
    data: object, options: ValidationOptions = DEFAULT_OPTIONS
) -> tuple[Manifest | None, list[Issue]]:
    """(the manifest, []) when valid, else (None, every issue in manifest field order)."""
    if not isinstance(data, dict):
        return None, [Issue("$", f"a manifest must be a JSON object, got {describe(data)}")]
    odd_keys = [key for key in data if not isinstance(key, str)]
    if odd_keys:
        return None, [Issue("$", f"object keys must be text, got {show(odd_keys[0])}")]
    manifest: Manifest | None = None
    issues: list[Issue] = []
    try:
        manifest = Manifest.model_validate(data, strict=True, context={"options": options})
    except ValidationError as exc:
        issues.extend(issues_from_error(exc))
    except RecursionError:
        issues.append(Issue("$", "the manifest is nested too deeply"))
    issues.extend(cross_field_issues(data))
    issues = sorted(unique(issues), key=_field_position)
    return (None if issues else manifest), issues


def validate_manifest(data: object, options: ValidationOptions = DEFAULT_OPTIONS) -> list[Issue]:
    """Every issue of a manifest (already parsed from JSON); [] when it is valid."""
    return check_manifest(data, options)[1]


def manifest_notes(data: object) -> list[Issue]:
    """Warnings: what passes every rule but is probably not meant (printed by `pic-store
    validate` and `pic-store review`, never a refusal). Today: hostnames no port is open for."""
    return hostname_notes(data) if isinstance(data, dict) else []


def parse_manifest(data: object, options: ValidationOptions = DEFAULT_OPTIONS) -> Manifest:
    """The valid Manifest, or ManifestInvalidError carrying every issue."""
    manifest, issues = check_manifest(data, options)
    if manifest is None:
        raise ManifestInvalidError(issues)
    return manifest


def _field_position(issue: Issue) -> int:
    match = _TOP_FIELD.match(issue.path)
    if match is None:
        return -1 if issue.path == "$" else len(_FIELD_ORDER)
    return _FIELD_ORDER.get(match.group(1), len(_FIELD_ORDER))


# Placeholders for identity fields that have issues, so the template can still be judged.
_STAND_INS: dict[str, object] = {
    "schema_version": 3,
    "kind": "store",
    "name": "stand-in",
    "description": "stand-in",
    "version": "0.0.0",
    "author": "stand-in",
}


def stand_in_manifest(
    data: object, options: ValidationOptions = DEFAULT_OPTIONS
) -> Manifest | None:
    """When a manifest has issues: a Manifest made of its fields that have none (an identity
    field with issues is replaced, other fields are dropped, and a capability flag is kept
    only with its blocks), so the compose template can be judged too and every issue
    reported at once. None when even that is not possible (no usable id)."""
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        return None
    raw: dict[str, object] = dict(data)
    for _ in range(4):
        manifest, issues = check_manifest(raw, options)
        if manifest is not None:
            return manifest
        for issue in issues:
            match = _TOP_FIELD.match(issue.path)
            field = match.group(1) if match else None
            if field is None or field in ("id",):
                return None
            if field == "container_name":
                raw[field] = f"cell-{raw.get('id')}"
            elif field == "image":
                raw[field] = f"{options.allowed_registry.rstrip('/')}/stand-in:0.0.0"
            elif field in _STAND_INS:
                raw[field] = _STAND_INS[field]
            else:
                raw.pop(field, None)
        for flag, blocks in REQUIRED_BLOCKS.items():
            if raw.get(flag) is True and any(raw.get(block) is None for block in blocks):
                raw[flag] = False
        for flag in REQUIRED_BLOCKS.keys() | OPTIONAL_BLOCKS.keys():
            if raw.get(flag) is not True:
                for block in (*REQUIRED_BLOCKS.get(flag, ()), *OPTIONAL_BLOCKS.get(flag, ())):
                    raw.pop(block, None)
    return None
