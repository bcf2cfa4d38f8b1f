import pytest

from shared.compose import render_compose
from shared.errors import RenderError
from tests.compose.helpers import IP, compose_value, context, one_service, plain_manifest
from tests.manifest.helpers import minimal

pytestmark = pytest.mark.unit

CONFIG = [
    {"key": "port", "type": "int", "label": "Port", "default": 8080},
    {"key": "open", "type": "bool", "label": "Open", "default": True},
    {"key": "title", "type": "string", "label": "Title", "default": "123"},
    {"key": "mode", "type": "enum", "label": "Mode", "options": ["a", "b"], "default": "a"},
    {"key": "token", "type": "secret", "label": "Token"},
]
MANIFEST = plain_manifest(has_admin_config=True, config_schema=CONFIG)


def label(value, config=None, **ctx):
    template = one_service(f"labels:\n  x: {value}")
    result = render_compose(template, MANIFEST, context(config=config or {}, **ctx))
    return result.document["services"]["cell-notes"]["labels"]["x"]


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("${PIC_DOMAIN}", "pic.example.org"),
        ("${PIC_CELL_NAME}", "home"),
        ("${PIC_DATA_DIR}", "/srv/pic/data"),
        ("${PIC_SERVICE_ID}", "notes"),
        ("${SERVICE_IP}", IP),
        ("'https://${PIC_SERVICE_ID}.${PIC_DOMAIN}/'", "https://notes.pic.example.org/"),
        ("${PIC_CFG_PORT}", 8080),
        ("${PIC_CFG_OPEN}", True),
        ("${PIC_CFG_TITLE}", "123"),
        ("${PIC_CFG_MODE}", "a"),
        ("${PIC_CFG_TOKEN}", ""),
        ("'port ${PIC_CFG_PORT}, open ${PIC_CFG_OPEN}'", "port 8080, open true"),
    ],
)
def test_every_variable(scalar, expected):
    value = label(scalar)
    assert value == expected
    assert type(value) is type(expected)


def test_admin_values_are_typed_from_text():
    assert label("${PIC_CFG_PORT}", {"port": "9000"}) == 9000
    assert label("${PIC_CFG_OPEN}", {"open": "no"}) is False
    assert label("'${PIC_CFG_PORT}'", {"port": "9000"}) == 9000  # quoting in YAML does not matter


def test_dollar_dollar_is_a_literal_dollar_and_stays_escaped_for_compose():
    value = label("'costs $$5 and $${HOME}'")
    assert value == "costs $$5 and $${HOME}"
    assert compose_value(value) == "costs $5 and ${HOME}"


@pytest.mark.parametrize(
    ("scalar", "words"),
    [
        ("${PIC_NOPE}", ["${PIC_NOPE}", "not a PIC variable"]),
        ("${PIC_CFG_NOPE}", ["${PIC_CFG_NOPE}", "no config_schema field"]),
        ("${HOME}", ["${HOME}", "host's environment"]),
        ("$HOME", ["$HOME without braces"]),
        ("'x ${PIC_DOMAIN:-y}'", ["only ${NAME}"]),
        ("'5$'", ["lone $"]),
        ("'${PIC_DOMAIN'", ["closing }"]),
    ],
)
def test_unknown_or_broken_variables_are_errors_naming_the_place(scalar, words):
    with pytest.raises(RenderError) as caught:
        label(scalar)
    assert "$.services.notes.labels.x" in caught.value.message
    for word in words:
        assert word in caught.value.message


def test_service_ip_without_an_address_is_an_error():
    with pytest.raises(RenderError, match="no service IP"):
        label("${SERVICE_IP}", service_ip=None)


def test_every_problem_is_listed_at_once():
    template = one_service("labels:\n  a: ${PIC_A}\n  b: ${PIC_B}\nenvironment:\n  - X=${HOME}")
    with pytest.raises(RenderError) as caught:
        render_compose(template, MANIFEST, context())
    for path in ("labels.a", "labels.b", "environment[0]"):
        assert f"$.services.notes.{path}" in caught.value.message


def test_variables_in_keys_are_filled_in_and_cannot_collide():
    template = one_service("labels:\n  ${PIC_SERVICE_ID}.role: web")
    doc = render_compose(template, MANIFEST, context()).document
    assert doc["services"]["cell-notes"]["labels"] == {
        "notes.role": "web",
        "ngo.pic.store.service": "notes",
    }
    template = one_service("labels:\n  notes: a\n  ${PIC_SERVICE_ID}: b")
    with pytest.raises(RenderError, match="repeats another key"):
        render_compose(template, MANIFEST, context())


def test_manifest_env_uses_the_same_substitution():
    manifest = plain_manifest(env=[{"key": "URL", "value": "https://${PIC_DOMAIN}/$$x"}])
    env = render_compose(one_service(""), manifest, context()).document["services"]["cell-notes"][
        "environment"
    ]
    assert compose_value(env["URL"]) == "https://pic.example.org/$x"


def test_a_manifest_without_config_schema_has_no_config_variables():
    with pytest.raises(RenderError, match="PIC_CFG_PORT"):
        render_compose(one_service("labels:\n  x: ${PIC_CFG_PORT}"), plain_manifest(), context())
    assert minimal()  # the plain manifest really has no schema
