import time

import pytest

from shared.manifest import parse_manifest, validate_config_values
from tests.manifest.helpers import by_path, issues_of, minimal, notes, only_issue_at

pytestmark = pytest.mark.unit


def schema(*fields):
    return minimal(has_admin_config=True, config_schema=list(fields))


def field(**attributes):
    return {"key": "x", "type": "string", "label": "X", **attributes}


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"type": "string", "default": "a", "max_length": 3, "pattern": "[a-z]+"},
        {"type": "int", "default": 5, "min": 1, "max": 10},
        {"type": "int", "required": True},
        {"type": "bool"},
        {"type": "bool", "default": True},
        {"type": "enum", "options": ["a", "b"], "default": "b"},
        {"type": "secret"},
        {"type": "secret", "required": True, "pattern": "[A-Z]{8}"},
        {"description": "Help text\nwith lines"},
    ],
)
def test_good_fields(attributes):
    assert issues_of(schema(field(**attributes))) == []


@pytest.mark.parametrize(
    ("attributes", "path", "words"),
    [
        ({"key": "Title"}, "key", ["not a valid config key"]),
        ({"key": "1x"}, "key", ["not a valid config key"]),
        ({"type": "float"}, "type", ["one of", "'string'"]),
        ({"label": ""}, "label", ["must not be empty"]),
        ({"default": 3}, "default", ["must be text"]),
        ({"default": "abcd", "max_length": 3}, "default", ["at most 3"]),
        ({"default": "ABC", "pattern": "[a-z]+"}, "default", ["pattern"]),
        ({"pattern": "("}, "pattern", ["regular expression", "missing )"]),
        ({"pattern": "a{1001}"}, "pattern", ["RE2", "repetition"]),
        ({"pattern": r"\p{L}{1000}"}, "pattern", ["RE2", "too large", "smaller repetition"]),
        ({"pattern": "a" * 201}, "pattern", ["at most 200"]),
        ({"max_length": 0}, "max_length", ["from 1 to"]),
        ({"type": "int", "default": "5"}, "default", ["whole number"]),
        ({"type": "int", "default": True}, "default", ["whole number"]),
        ({"type": "int", "default": 11, "max": 10}, "default", ["at most 10"]),
        ({"type": "int", "default": 0, "min": 1}, "default", ["at least 1"]),
        ({"type": "int", "min": 5, "max": 1, "default": 5}, "max", ["must not be below min"]),
        ({"type": "int"}, None, ["optional int field needs a default"]),
        ({"type": "bool", "default": "true"}, "default", ["true or false"]),
        ({"type": "enum", "default": "a"}, "options", ["non-empty list of options"]),
        ({"type": "enum", "options": [], "default": "a"}, "options", ["non-empty"]),
        ({"type": "enum", "options": ["a", "a"], "default": "a"}, "options", ["repeat"]),
        ({"type": "enum", "options": ["a", "b"], "default": "c"}, "default", ["one of a, b"]),
        ({"type": "enum", "options": ["a"]}, None, ["optional enum field needs a default"]),
        (
            {"type": "secret", "default": "hunter2"},
            "default",
            ["secret fields cannot have a default"],
        ),
        ({"options": ["a"]}, "options", ["only for enum"]),
        ({"type": "bool", "min": 1}, "min", ["only for int"]),
        ({"type": "int", "default": 1, "pattern": "x"}, "pattern", ["only for string and secret"]),
        ({"required": True, "default": "a"}, "default", ["required field cannot have a default"]),
        ({"default": [1]}, "default", ["text, a whole number or true/false"]),
        ({"colour": "red"}, "colour", ["unknown field"]),
    ],
)
def test_bad_fields(attributes, path, words):
    where = "$.config_schema[0]" + (f".{path}" if path else "")
    issue = only_issue_at(schema(field(**attributes)), where, *words)
    assert "hunter2" not in issue.message


def test_keys_are_unique():
    only_issue_at(schema(field(), field()), "$.config_schema[1].key", '"x"', "used twice")


def test_a_broken_field_still_lets_other_fields_be_checked():
    data = schema(field(type="nope"), field(key="y", type="int", default="1"))
    assert set(by_path(issues_of(data))) == {
        "$.config_schema[0].type",
        "$.config_schema[1].default",
    }


FIELDS = parse_manifest(notes()).config_fields


def test_values_get_defaults_and_types():
    typed, issues = validate_config_values(FIELDS, {})
    assert issues == []
    assert typed == {
        "site_title": "Notes",
        "max_upload_mb": 10,
        "registration_open": False,
        "theme": "light",
        "smtp_password": "",
    }


@pytest.mark.parametrize(
    ("key", "given", "expected"),
    [
        ("max_upload_mb", "20", 20),
        ("max_upload_mb", " 20 ", 20),
        ("max_upload_mb", 20, 20),
        ("registration_open", "true", True),
        ("registration_open", "YES", True),
        ("registration_open", "0", False),
        ("registration_open", False, False),
        ("theme", "dark", "dark"),
        ("site_title", "My: {notes}\n", "My: {notes}\n"),
    ],
)
def test_values_are_coerced_to_the_field_type(key, given, expected):
    typed, issues = validate_config_values(FIELDS, {key: given})
    assert issues == []
    assert typed[key] == expected
    assert type(typed[key]) is type(expected)


@pytest.mark.parametrize(
    ("values", "path", "words"),
    [
        ({"nope": "1"}, "config.nope", ["unknown setting", "site_title"]),
        ({"max_upload_mb": "abc"}, "config.max_upload_mb", ["whole number", '"abc"']),
        ({"max_upload_mb": "1.5"}, "config.max_upload_mb", ["whole number"]),
        ({"max_upload_mb": True}, "config.max_upload_mb", ["whole number"]),
        ({"max_upload_mb": "0"}, "config.max_upload_mb", ["at least 1"]),
        ({"max_upload_mb": 5000}, "config.max_upload_mb", ["at most 1024"]),
        ({"max_upload_mb": "9" * 40}, "config.max_upload_mb", ["whole number"]),
        ({"registration_open": "maybe"}, "config.registration_open", ["true or false"]),
        ({"theme": "blue"}, "config.theme", ["one of light, dark"]),
        ({"site_title": "x" * 81}, "config.site_title", ["at most 80"]),
        ({"site_title": 5}, "config.site_title", ["must be text"]),
        ({"weird key!": "1"}, 'config["weird key!"]', ["unknown setting"]),
    ],
)
def test_bad_values(values, path, words):
    _, issues = validate_config_values(FIELDS, values)
    assert [i.path for i in issues] == [path]
    for word in words:
        assert word in issues[0].message


def test_required_values_and_secret_values_never_echoed():
    fields = parse_manifest(
        schema(field(key="token", type="secret", required=True, pattern="[A-Z]+"))
    ).config_fields
    _, issues = validate_config_values(fields, {})
    assert [(i.path, "required" in i.message) for i in issues] == [("config.token", True)]
    _, issues = validate_config_values(fields, {"token": "lowercase-secret"})
    assert [i.path for i in issues] == ["config.token"]
    assert "lowercase-secret" not in issues[0].message
    typed, issues = validate_config_values(fields, {"token": "ABC"})
    assert (typed, issues) == ({"token": "ABC"}, [])


def text_field(pattern):
    return parse_manifest(schema(field(key="code", pattern=pattern))).config_fields


@pytest.mark.timeout(60)  # Python's backtracking re would take years: fail fast instead
def test_a_catastrophic_pattern_is_matched_in_linear_time():
    fields = text_field("(a+)+$")
    started = time.monotonic()
    _, refused = validate_config_values(fields, {"code": "a" * 4000 + "!"})
    typed, accepted = validate_config_values(fields, {"code": "a" * 4000})
    assert time.monotonic() - started < 10
    assert [i.path for i in refused] == ["config.code"]
    assert "does not match the pattern (a+)+$" in refused[0].message
    assert (typed, accepted) == ({"code": "a" * 4000}, [])


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"(a)\1", ["backreferences", r"\1"]),
        ("(?=a)a", ["lookaround", "(?="]),
        ("(?<!a)b", ["lookaround"]),
        (r"a\Z", ["RE2", r"\z"]),
    ],
)
def test_patterns_only_python_understands_are_refused_at_validate_time(pattern, words):
    data = schema(field(), field(key="y", pattern=pattern))
    issue = only_issue_at(data, "$.config_schema[1].pattern", "RE2", *words)
    assert "linear time" in issue.message


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (".{4}", "café", True),
        (".{5}", "café", False),
        ("[a-zé]+", "café", True),
        (r"\p{L}+", "Zürich", True),
        (r"\p{L}+", "Zürich1", False),
        ("[^a-z]+", "日本", True),
        ("(?i)ÉTÉ", "été", True),
    ],
)
def test_patterns_match_unicode_text_character_by_character(pattern, value, matches):
    _, issues = validate_config_values(text_field(pattern), {"code": value})
    assert (issues == []) is matches, issues


def test_a_value_that_is_not_unicode_text_is_refused_not_crashed():
    _, issues = validate_config_values(text_field("[a-z]+"), {"code": "ab\ud800"})
    assert [i.path for i in issues] == ["config.code"]
    assert "Unicode" in issues[0].message


def test_a_pattern_that_is_not_unicode_text_is_refused():
    only_issue_at(schema(field(pattern="a\udfff")), "$.config_schema[0].pattern", "Unicode")
