"""The admin settings form: rules of a config_schema, and checking an admin's values.

Values are checked against the schema, coerced from `--set KEY=VALUE` text to each field's
type, and completed with defaults. Messages never quote the value of a secret field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from shared.manifest.config_fields import pattern_matches
from shared.manifest.const import CONFIG_TYPES, MAX_VALUE_LENGTH
from shared.manifest.issues import Issue, json_path, show
from shared.manifest.model import ConfigField, ConfigValue

_INT_TEXT = re.compile(r"[+-]?[0-9]{1,18}")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_TYPED_ATTRIBUTES = {
    "options": ("enum",),
    "min": ("int",),
    "max": ("int",),
    "pattern": ("string", "secret"),
    "max_length": ("string", "secret"),
}


def schema_issues(raw: object) -> list[Issue]:
    """Rules between the attributes of each field, and between fields (unique keys)."""
    if not isinstance(raw, list):
        return []
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            continue
        key = item.get("key")
        if isinstance(key, str):
            if key in seen:
                issues.append(
                    Issue(
                        json_path("config_schema", index, "key"),
                        f"key {show(key)} is used twice "
                        f"(also at {json_path('config_schema', seen[key])})",
                    )
                )
            seen.setdefault(key, index)
        if item.get("type") in CONFIG_TYPES:
            issues.extend(_field_issues(index, item))
    return issues


def _field_issues(index: int, item: dict[str, object]) -> list[Issue]:
    kind = str(item["type"])
    out: list[Issue] = []

    def add(attribute: str | None, message: str) -> None:
        parts = ("config_schema", index, attribute) if attribute else ("config_schema", index)
        out.append(Issue(json_path(*parts), message))

    for attribute, kinds in _TYPED_ATTRIBUTES.items():
        if item.get(attribute) is not None and kind not in kinds:
            add(attribute, f"{attribute} is only for {' and '.join(kinds)} fields, not {kind}")
    options = item.get("options")
    if kind == "enum":
        if not isinstance(options, list) or not options:
            add("options", "an enum field needs a non-empty list of options")
        elif len(set(map(repr, options))) != len(options):
            add("options", "options must not repeat")
    low, high = item.get("min"), item.get("max")
    if _is_int(low) and _is_int(high) and low > high:  # type: ignore[operator]
        add("max", f"max ({show(high)}) must not be below min ({show(low)})")
    default = item.get("default")
    if out:  # the default cannot be judged against broken attributes
        return out
    if default is None:
        if kind in ("int", "enum") and item.get("required") is not True:
            add(None, f"an optional {kind} field needs a default (or required: true)")
        return out
    if item.get("required") is True:
        add(
            "default",
            "a required field cannot have a default (the default would always satisfy it)",
        )
    if kind == "secret":
        add("default", "secret fields cannot have a default: the admin enters the value")
    elif isinstance(default, str | int | bool):
        field = _field_or_none(item)
        if field is not None:
            _, problem = coerce_value(field, default, strict=True)
            if problem:
                add("default", f"the default {problem}")
    return out


def _is_unicode(value: str) -> bool:
    """False for a lone surrogate (JSON's "\\ud800"): no UTF-8 file or RE2 match can hold it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field_or_none(item: dict[str, object]) -> ConfigField | None:
    """The field as a model when its attributes are well-formed (other rules report the rest)."""
    try:
        return ConfigField.model_validate(item, strict=True)
    except ValueError:
        return None


def validate_config_values(
    schema: Sequence[ConfigField], values: Mapping[str, object]
) -> tuple[dict[str, ConfigValue], list[Issue]]:
    """Check an admin's values: return every field's typed value (defaults applied) and the
    issues, each at `config.<key>`."""
    by_key = {field.key: field for field in schema}
    typed: dict[str, ConfigValue] = {}
    issues: list[Issue] = []
    for key, value in values.items():
        field = by_key.get(key) if isinstance(key, str) else None
        if field is None:
            known = ", ".join(by_key) or "none"
            issues.append(
                Issue(
                    json_path(str(key), root="config"),
                    f"unknown setting {show(str(key))} (known settings: {known})",
                )
            )
            continue
        coerced, problem = coerce_value(field, value)
        if problem:
            issues.append(Issue(json_path(key, root="config"), problem))
        elif coerced is not None:
            typed[key] = coerced
    for field in schema:
        if field.key in typed or field.key in values:
            continue
        if field.default is not None:
            typed[field.key] = field.default
        elif field.required:
            issues.append(
                Issue(
                    json_path(field.key, root="config"), f"{field.label} ({field.key}) is required"
                )
            )
        else:
            typed[field.key] = False if field.type == "bool" else ""
    return typed, issues


def coerce_value(
    field: ConfigField, value: object, strict: bool = False
) -> tuple[ConfigValue | None, str | None]:
    """(typed value, None) or (None, why). `strict` refuses text for int and bool (defaults)."""
    shown = "" if field.type == "secret" else f", got {show(value)}"
    if field.type in ("string", "secret", "enum"):
        if not isinstance(value, str):
            return None, f"must be text{shown}"
        return _check_text(field, value)
    if field.type == "bool":
        if isinstance(value, bool):
            return value, None
        if not strict and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE, None
        return None, f"must be true or false{shown}"
    if isinstance(value, str) and not strict and _INT_TEXT.fullmatch(value.strip()):
        value = int(value.strip())
    if not _is_int(value):
        return None, f"must be a whole number{shown}"
    assert isinstance(value, int)
    if field.min is not None and value < field.min:
        return None, f"must be at least {field.min}{shown}"
    if field.max is not None and value > field.max:
        return None, f"must be at most {field.max}{shown}"
    return value, None


def _check_text(field: ConfigField, value: str) -> tuple[ConfigValue | None, str | None]:
    secret = field.type == "secret"
    shown = "" if secret else f", got {show(value)}"
    if field.type == "enum":
        options = field.options or []
        if value not in options:
            return None, f"must be one of {', '.join(options)}{shown}"
        return value, None
    if field.required and not value:
        return None, f"{field.label} ({field.key}) is required and must not be empty"
    limit = field.max_length or MAX_VALUE_LENGTH
    if len(value) > limit:
        return None, f"must be at most {limit} characters"
    if "\x00" in value:
        return None, "must not contain NUL characters"
    if not _is_unicode(value):
        return None, "must be Unicode text (it contains a lone surrogate)"
    if field.pattern is not None and value and not pattern_matches(field.pattern, value):
        return None, f"does not match the pattern {field.pattern}{shown}"
    return value, None
