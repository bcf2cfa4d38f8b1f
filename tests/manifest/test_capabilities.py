import pytest

from tests.manifest.helpers import by_path, issues_of, minimal, notes, only_issue_at

pytestmark = pytest.mark.unit

BLOCKS = {
    "subdomain": "notes",
    "backend": "cell-notes:8080",
    "accounts": {"manager": "http", "credentials": ["password"]},
    "backup": {"volumes": [], "config_paths": ["config/notes"]},
    "egress": {"default": "default", "allowed": ["default"]},
    "config_schema": [{"key": "title", "type": "string", "label": "Title"}],
}


@pytest.mark.parametrize(
    ("flag", "blocks"),
    [
        ("has_subdomain", ["subdomain", "backend"]),
        ("has_accounts", ["accounts"]),
        ("has_storage", ["backup"]),
        ("has_egress", ["egress"]),
        ("has_admin_config", ["config_schema"]),
    ],
)
def test_a_true_flag_needs_its_blocks(flag, blocks):
    found = by_path(issues_of(minimal(**{flag: True})))
    assert set(found) == {f"$.{b}" for b in blocks}
    for block in blocks:
        assert f"{flag} is true" in found[f"$.{block}"]
    assert issues_of(minimal(**{flag: True}, **{b: BLOCKS[b] for b in blocks})) == []


@pytest.mark.parametrize(
    ("block", "flag"),
    [
        ("subdomain", "has_subdomain"),
        ("backend", "has_subdomain"),
        ("accounts", "has_accounts"),
        ("backup", "has_storage"),
        ("egress", "has_egress"),
        ("config_schema", "has_admin_config"),
    ],
)
def test_a_block_without_its_flag_is_an_error(block, flag):
    only_issue_at(minimal(**{block: BLOCKS[block]}), f"$.{block}", f"{flag} is not true")


@pytest.mark.parametrize(
    ("field", "value", "flag"),
    [
        ("extra_subdomains", ["files"], "has_subdomain"),
        ("peer_config_template", {"url": "https://{domain}/"}, "has_accounts"),
    ],
)
def test_optional_blocks_need_their_flag(field, value, flag):
    found = by_path(issues_of(minimal(**{field: value})))
    assert f"{flag} is not true" in found[f"$.{field}"]


def test_flags_default_to_false_and_explicit_false_is_fine():
    assert issues_of(minimal(has_subdomain=False, has_accounts=False, has_api_hooks=False)) == []


def test_has_api_hooks_must_be_false():
    only_issue_at(minimal(has_api_hooks=True), "$.has_api_hooks", "reserved", "false")


@pytest.mark.parametrize("value", ["true", 1, None, [True]])
def test_flags_are_booleans(value):
    only_issue_at(minimal(has_storage=value), "$.has_storage", "true or false")


def test_a_broken_flag_does_not_add_block_errors():
    data = notes()
    data["has_egress"] = "yes"
    assert [i.path for i in issues_of(data)] == ["$.has_egress"]


def test_admin_config_needs_at_least_one_field():
    data = notes()
    data["config_schema"] = []
    data["env"] = data["env"][:2]
    only_issue_at(data, "$.config_schema", "at least one field")
