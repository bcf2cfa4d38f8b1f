"""A manifest's config_schema as a JSON Schema (draft 2020-12) a form can be drawn from: every
field type, its label, help, default and bounds, secret fields write-only, the required ones;
and the schema accepts what the installer accepts and refuses what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from shared.manifest import ConfigField, parse_manifest, validate_config_values
from shared.manifest.const import CONFIG_TYPES, MAX_VALUE_LENGTH
from shared.manifest.json_schema import DIALECT, config_json_schema, manifest_json_schema
from tests.manifest.helpers import minimal, notes

jsonschema_rs = pytest.importorskip("jsonschema_rs")
pytestmark = pytest.mark.unit

FIELDS: list[dict[str, Any]] = [
    {
        "key": "title",
        "type": "string",
        "label": "Site title",
        "description": "Shown on every page",
        "default": "Notes",
        "max_length": 20,
        "pattern": "[A-Za-z ]+|x",
    },
    {
        "key": "uploads",
        "type": "int",
        "label": "Largest upload",
        "default": 10,
        "min": 1,
        "max": 99,
    },
    {"key": "open", "type": "bool", "label": "Open sign-up", "default": False},
    {
        "key": "theme",
        "type": "enum",
        "label": "Theme",
        "options": ["light", "dark"],
        "default": "dark",
    },
    {"key": "password", "type": "secret", "label": "SMTP password", "required": True},
    {"key": "motto", "type": "string", "label": "Motto"},
]


def fields() -> list[ConfigField]:
    return [ConfigField.model_validate(item) for item in FIELDS]


def schema() -> dict[str, Any]:
    return config_json_schema(fields(), title="Notes settings")


def test_the_fields_cover_every_type() -> None:
    assert {item["type"] for item in FIELDS} == set(CONFIG_TYPES)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    made = schema()
    assert made["$schema"] == DIALECT
    assert jsonschema_rs.meta.is_valid(made)
    assert made["type"] == "object" and made["additionalProperties"] is False
    assert list(made["properties"]) == [item["key"] for item in FIELDS]  # the form's order


def test_each_field_type_becomes_its_input() -> None:
    props = schema()["properties"]
    assert props["title"] == {
        "title": "Site title",
        "description": "Shown on every page",
        "type": "string",
        "maxLength": 20,
        "pattern": "^(?:[A-Za-z ]+|x)$",
        "default": "Notes",
    }
    assert props["uploads"] == {
        "title": "Largest upload",
        "type": "integer",
        "minimum": 1,
        "maximum": 99,
        "default": 10,
    }
    assert props["open"] == {"title": "Open sign-up", "type": "boolean", "default": False}
    assert props["theme"] == {
        "title": "Theme",
        "type": "string",
        "enum": ["light", "dark"],
        "default": "dark",
    }
    assert props["password"] == {
        "title": "SMTP password",
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_VALUE_LENGTH,
        "format": "password",
        "writeOnly": True,
    }
    # an optional text field without a default: any text up to the installer's limit
    assert props["motto"] == {"title": "Motto", "type": "string", "maxLength": MAX_VALUE_LENGTH}


def test_only_secret_fields_are_write_only() -> None:
    props = schema()["properties"]
    assert [key for key, prop in props.items() if prop.get("writeOnly")] == ["password"]
    assert [key for key, prop in props.items() if prop.get("format") == "password"] == ["password"]


def test_required_lists_the_required_fields() -> None:
    assert schema()["required"] == ["password"]


@pytest.mark.parametrize(
    ("values", "valid"),
    [
        ({"password": "s3cret"}, True),
        ({"password": "s3cret", "title": "My notes", "uploads": 99, "theme": "light"}, True),
        ({"password": "s3cret", "title": "x"}, True),  # the pattern's other branch
        ({}, False),  # the required secret
        ({"password": ""}, False),  # required: not empty either
        ({"password": "p", "uploads": 0}, False),  # below min
        ({"password": "p", "uploads": 100}, False),  # above max
        ({"password": "p", "theme": "blue"}, False),  # not an option
        ({"password": "p", "title": "x" * 21}, False),  # longer than max_length
        ({"password": "p", "title": "Notes 2"}, False),  # the pattern matches the whole value
        ({"password": "p", "title": "x1"}, False),
        ({"password": "p", "colour": "red"}, False),  # unknown setting
    ],
)
def test_the_schema_agrees_with_the_installer(values: dict[str, Any], valid: bool) -> None:
    validator = jsonschema_rs.Draft202012Validator(schema())
    assert validator.is_valid(values) is valid
    _, issues = validate_config_values(fields(), values)
    assert (not issues) is valid, issues


def test_the_form_asks_for_json_types() -> None:
    """The installer also takes `--set uploads=5` as text; a form sends a number."""
    validator = jsonschema_rs.Draft202012Validator(schema())
    assert not validator.is_valid({"password": "p", "uploads": "5"})
    assert not validator.is_valid({"password": "p", "open": "yes"})


def test_the_example_notes_form() -> None:
    made = manifest_json_schema(parse_manifest(notes()))
    assert jsonschema_rs.meta.is_valid(made)
    assert made["title"] == "Notes settings"
    props = made["properties"]
    assert props["max_upload_mb"]["minimum"] == 1 and props["max_upload_mb"]["maximum"] == 1024
    assert props["site_title"]["maxLength"] == 80
    assert props["smtp_password"]["writeOnly"] is True
    assert "default" not in props["smtp_password"]
    assert jsonschema_rs.Draft202012Validator(made).is_valid({})  # every default fills in


def test_a_manifest_without_settings_has_an_empty_form() -> None:
    made = manifest_json_schema(parse_manifest(minimal()))
    assert made["properties"] == {} and made["required"] == []
    validator = jsonschema_rs.Draft202012Validator(made)
    assert validator.is_valid({}) and not validator.is_valid({"x": 1})
