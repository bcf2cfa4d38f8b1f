"""Turn pydantic's errors into Issues a store author understands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from shared.manifest.issues import Issue, PathPart, describe, json_path, show

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def issues_from_error(error: ValidationError, root: str = "$") -> list[Issue]:
    return [_issue(dict(detail), root) for detail in error.errors(include_url=False)]


def _issue(detail: dict[str, Any], root: str) -> Issue:
    loc = _clean_loc(detail.get("loc", ()))
    kind = str(detail.get("type", ""))
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    field = loc[-1] if loc and isinstance(loc[-1], str) else None
    if kind == "missing":
        message = f"{field} is required" if field else "a required value is missing"
    elif kind == "extra_forbidden":
        message = (
            f"unknown field {show(field)}: check the spelling (see docs/manifest.md for the fields)"
            if field
            else "unknown field"
        )
    elif kind in _TYPE_WORDS:
        message = f"must be {_TYPE_WORDS[kind]}, got {_what(value)}"
    elif kind == "value_error":
        message = str(ctx.get("error", detail.get("msg", "is not valid")))
    elif kind == "literal_error":
        message = f"must be one of {ctx.get('expected', '')}, got {show(value)}"
    else:
        message = str(detail.get("msg", "is not valid"))
    return Issue(json_path(*loc, root=root), message)


def _what(value: object) -> str:
    if value is None or isinstance(value, bool):
        return show(value)
    if isinstance(value, int | float):
        return f"the number {show(value)}"
    if isinstance(value, str):
        return f"the text {show(value)}"
    return describe(value)


def _clean_loc(loc: Sequence[Any]) -> list[PathPart]:
    """pydantic marks dict-key errors with a trailing "[key]"; the path is the key itself."""
    parts = list(loc)
    if parts and parts[-1] == "[key]":
        parts.pop()
    return [part if isinstance(part, int) else str(part) for part in parts]
