"""Manifests for tests: the example store's notes manifest (valid, every capability) and a
minimal one (identity only), returned as fresh dicts so each test may mutate them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from shared.manifest import Issue, ValidationOptions, validate_manifest

REPO = Path(__file__).resolve().parents[2]
NOTES_DIR = REPO / "examples" / "store" / "services" / "notes"
DATA = Path(__file__).resolve().parent / "data"
_NOTES = json.loads((NOTES_DIR / "manifest.json").read_text())

MINIMAL: dict[str, Any] = {
    "schema_version": 3,
    "id": "notes",
    "name": "Notes",
    "description": "Self-hosted Markdown notes",
    "version": "1.0.0",
    "author": "your-name",
    "kind": "store",
    "image": "git.pic.ngo/roof/pic-notes:latest",
    "container_name": "cell-notes",
}


def notes() -> dict[str, Any]:
    return copy.deepcopy(_NOTES)


def minimal(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(MINIMAL), **changes}


def issues_of(data: object, options: ValidationOptions | None = None) -> list[Issue]:
    return validate_manifest(data, options) if options else validate_manifest(data)


def by_path(issues: list[Issue]) -> dict[str, str]:
    """path -> messages joined (a path can carry several issues)."""
    out: dict[str, str] = {}
    for issue in issues:
        out[issue.path] = (
            f"{out[issue.path]} | {issue.message}" if issue.path in out else issue.message
        )
    return out


def only_issue_at(data: object, path: str, *words: str) -> Issue:
    """Assert the manifest has exactly one issue, at `path`, mentioning every word."""
    issues = issues_of(data)
    assert [i.path for i in issues] == [path], issues
    for word in words:
        assert word in issues[0].message, issues[0].message
    return issues[0]
