"""A manifest's `config_schema` (the admin settings form) as a JSON Schema, draft 2020-12.

A form library (or a hand-written form) draws one input per property, in order: `title` is
the field's label, `description` its help text, `default` its initial value. Each field type
becomes:

    string   {"type": "string", "maxLength": N, "pattern": "^(?:P)$"?}
    secret   the same, with "writeOnly": true and "format": "password" (never shown back)
    int      {"type": "integer", "minimum"?: MIN, "maximum"?: MAX}
    bool     {"type": "boolean"}
    enum     {"type": "string", "enum": [OPTIONS]}

`required` lists the required fields; a required text field also has `"minLength": 1` (the
installer refuses it empty). `maxLength` is the field's `max_length`, else the installer's
limit for every value. A pattern is RE2 (the installer matches the whole value); it is given
anchored as `^(?:P)$`, which means the same in the ECMAScript dialect of JSON Schema for every
pattern that uses neither RE2-only syntax (`\\z`, `\\C`, `(?P<name>`) nor flags. The form's
check is a courtesy: the installer checks every value again (shared/manifest/config_schema.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.manifest.const import MAX_VALUE_LENGTH
from shared.manifest.model import ConfigField, Manifest

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TEXT_TYPES = ("string", "secret")


def field_schema(field: ConfigField) -> dict[str, Any]:
    """The JSON Schema of one field."""
    schema: dict[str, Any] = {"title": field.label}
    if field.description:
        schema["description"] = field.description
    if field.type in TEXT_TYPES:
        schema["type"] = "string"
        if field.required:
            schema["minLength"] = 1
        schema["maxLength"] = field.max_length or MAX_VALUE_LENGTH
        if field.pattern is not None:
            schema["pattern"] = f"^(?:{field.pattern})$"
        if field.type == "secret":
            schema["format"] = "password"
            schema["writeOnly"] = True
    elif field.type == "int":
        schema["type"] = "integer"
        if field.min is not None:
            schema["minimum"] = field.min
        if field.max is not None:
            schema["maximum"] = field.max
    elif field.type == "bool":
        schema["type"] = "boolean"
    else:  # enum
        schema["type"] = "string"
        schema["enum"] = list(field.options or [])
    if field.default is not None and field.type != "secret":
        schema["default"] = field.default
    return schema


def config_json_schema(
    fields: Sequence[ConfigField], title: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """The form of a list of fields: an object with one property per field, in order, no
    other property (the installer refuses an unknown setting)."""
    schema: dict[str, Any] = {"$schema": DIALECT, "type": "object"}
    if title:
        schema["title"] = title
    if description:
        schema["description"] = description
    schema["properties"] = {field.key: field_schema(field) for field in fields}
    schema["required"] = [field.key for field in fields if field.required]
    schema["additionalProperties"] = False
    return schema


def manifest_json_schema(manifest: Manifest) -> dict[str, Any]:
    """The settings form of a manifest (an object with no properties when it has none)."""
    return config_json_schema(manifest.config_fields, title=f"{manifest.name} settings")
