"""Admin values can hold anything; none of it may add a key, a service or a variable."""

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.compose import check_template, render_compose
from tests.compose.helpers import compose_value, context, one_service, plain_manifest

pytestmark = pytest.mark.unit

MANIFEST = plain_manifest(
    has_admin_config=True,
    config_schema=[{"key": "title", "type": "string", "label": "Title"}],
    env=[{"key": "FROM_MANIFEST", "value": "${PIC_CFG_TITLE}"}],
)
TEMPLATE = one_service(
    "environment:\n"
    "  WHOLE: ${PIC_CFG_TITLE}\n"
    "  INSIDE: 'before ${PIC_CFG_TITLE} after'\n"
    "command: [serve, '--title=${PIC_CFG_TITLE}']\n"
    "labels:\n"
    "  title: ${PIC_CFG_TITLE}\n"
)

PAYLOADS = [
    "line\nservices:\n  evil:\n    image: evil",
    "key: value",
    "a: b\nc: d",
    "{}",
    "{evil: 1}",
    "[1, 2]",
    "${PIC_SECRET_STOLEN}",
    "$${PIC_DOMAIN}",
    "${HOME}",
    "$HOME",
    "---\nservices: {}",
    "...\n---",
    "&anchor value",
    "*anchor",
    "!!python/object/apply:os.system ['id']",
    "'\"",
    "# comment",
    "|\n  block",
    "  leading and trailing  ",
    "\u2028unicode line separator\u0085",
    "",
]


def render(value):
    return render_compose(TEMPLATE, MANIFEST, context(config={"title": value}))


@pytest.mark.parametrize("value", PAYLOADS)
def test_admin_values_are_data_never_structure(value):
    result = render(value)
    doc = result.document
    assert set(doc) == {"name", "services", "networks"}
    assert set(doc["services"]) == {"cell-notes"}
    service = doc["services"]["cell-notes"]
    assert set(service["environment"]) == {"WHOLE", "INSIDE", "FROM_MANIFEST"}
    assert compose_value(service["environment"]["WHOLE"]) == value
    assert compose_value(service["environment"]["INSIDE"]) == f"before {value} after"
    assert compose_value(service["environment"]["FROM_MANIFEST"]) == value
    assert [compose_value(c) for c in service["command"]] == ["serve", f"--title={value}"]
    assert compose_value(service["labels"]["title"]) == value
    # What Compose itself reads from the written file is the admin's text, unchanged.
    canonical = result.canonical["services"]["cell-notes"]
    assert compose_value(canonical["environment"]["WHOLE"]) == value
    assert [compose_value(c) for c in canonical["command"]] == ["serve", f"--title={value}"]
    assert result.new_secrets == ()  # ${PIC_SECRET_STOLEN} was never read as a variable
    assert yaml.safe_load(result.yaml_text) == doc


@settings(max_examples=120, deadline=None)
@given(st.text(max_size=60).filter(lambda s: "\x00" not in s) | st.sampled_from(["\x85", "\u2028"]))
def test_any_admin_text_round_trips_as_one_value(value):
    result = render(value)
    doc = yaml.safe_load(result.yaml_text)
    assert doc == result.document
    assert set(doc["services"]) == {"cell-notes"}
    assert compose_value(doc["services"]["cell-notes"]["environment"]["WHOLE"]) == value


@pytest.mark.parametrize(
    "body",
    [
        "labels:\n  ${PIC_CFG_TITLE}: key",
        "environment:\n  ${PIC_CFG_TITLE}: x",
        "x-${PIC_SECRET_KEY}: 1",
    ],
)
def test_a_setting_or_secret_can_never_become_a_key(body):
    issues = check_template(one_service(body), MANIFEST)
    assert issues, "a key made from a setting was accepted"
    assert all("may not use a setting or a secret" in i.message for i in issues)
