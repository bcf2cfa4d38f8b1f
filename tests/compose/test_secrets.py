import re

import pytest

from shared.compose import render_compose
from shared.errors import RenderError
from tests.compose.helpers import TEMPLATE, context, notes_manifest, one_service, plain_manifest

pytestmark = pytest.mark.unit

TWO = one_service(
    "environment:\n  A: ${PIC_SECRET_DB}\n  B: ${PIC_SECRET_DB}\n  C: ${PIC_SECRET_OTHER}\n"
)


def test_secrets_are_generated_once_per_name():
    result = render_compose(TWO, plain_manifest(), context())
    env = result.document["services"]["cell-notes"]["environment"]
    assert env["A"] == env["B"] == result.secrets["DB"]
    assert env["C"] == result.secrets["OTHER"] != env["A"]
    assert result.new_secrets == ("DB", "OTHER")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", env["A"])  # token_urlsafe(24)


def test_stored_secrets_are_reused_and_kept():
    first = render_compose(TWO, plain_manifest(), context(secrets={"UNUSED": "keep-me"}))
    again = render_compose(TWO, plain_manifest(), context(secrets=first.secrets))
    assert again.new_secrets == ()
    assert again.yaml_text == first.yaml_text
    assert again.secrets == first.secrets
    assert first.secrets["UNUSED"] == "keep-me"


def test_only_missing_secrets_are_new():
    result = render_compose(TWO, plain_manifest(), context(secrets={"DB": "stored-db-secret"}))
    assert result.new_secrets == ("OTHER",)
    assert result.document["services"]["cell-notes"]["environment"]["A"] == "stored-db-secret"


def test_two_first_renders_give_different_secrets():
    one = render_compose(TWO, plain_manifest(), context()).secrets["DB"]
    two = render_compose(TWO, plain_manifest(), context()).secrets["DB"]
    assert one != two


def test_secrets_never_appear_in_errors_or_reprs():
    stored = {"DB": "very-secret-db-value"}
    admin = {"smtp_password": "admin-secret-value"}
    broken = TEMPLATE.replace("restart: unless-stopped", "restart: ${PIC_NOPE}")
    with pytest.raises(RenderError) as caught:
        render_compose(broken, notes_manifest(), context(secrets=stored, config=admin))
    assert "very-secret-db-value" not in caught.value.message
    assert "admin-secret-value" not in caught.value.message
    result = render_compose(TEMPLATE, notes_manifest(), context(secrets=stored, config=admin))
    assert "admin-secret-value" in result.yaml_text  # it does belong in the compose file
    for shown in (repr(result), repr(context(secrets=stored, config=admin))):
        assert "very-secret-db-value" not in shown
        assert "admin-secret-value" not in shown
        assert result.secrets["NOTES_SECRET"] not in shown


def test_a_secret_in_a_key_based_error_is_redacted():
    template = one_service("labels:\n  ${PIC_SECRET_DB}: a\n  stored-secret-value: b")
    with pytest.raises(RenderError) as caught:
        render_compose(template, plain_manifest(), context(secrets={"DB": "stored-secret-value"}))
    assert "stored-secret-value" not in caught.value.message
