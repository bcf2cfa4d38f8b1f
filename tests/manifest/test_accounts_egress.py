import pytest

from tests.manifest.helpers import by_path, issues_of, notes, only_issue_at

pytestmark = pytest.mark.unit


def changed(block, **changes):
    data = notes()
    data[block].update(changes)
    return data


@pytest.mark.parametrize("manager", ["http", "email", "calendar", "files"])
def test_known_account_managers(manager):
    assert issues_of(changed("accounts", manager=manager)) == []


def test_unknown_account_manager():
    only_issue_at(changed("accounts", manager="ldap"), "$.accounts.manager", '"ldap"', "http")


@pytest.mark.parametrize(
    ("credentials", "path", "word"),
    [
        (["password", "pin"], "$.accounts.credentials[1]", "credential kind"),
        (["password", "password"], "$.accounts.credentials[1]", "listed twice"),
        ("password", "$.accounts.credentials", "must be a list"),
    ],
)
def test_bad_credentials(credentials, path, word):
    only_issue_at(changed("accounts", credentials=credentials), path, word)


def test_credentials_are_not_empty_and_the_template_must_use_declared_ones():
    found = by_path(issues_of(changed("accounts", credentials=[])))
    assert "at least one" in found["$.accounts.credentials"]
    assert "not one of the credentials" in found["$.peer_config_template.password"]


def test_known_credential_kinds():
    data = changed("accounts", credentials=["password", "token", "ssh_key"])
    assert issues_of(data) == []


@pytest.mark.parametrize(
    "value",
    [
        "https://notes.{domain}/",
        "{peer.username}@{domain}",
        "{peer.service_credentials.notes.password}",
        "literal {{braces}}",
        "no placeholder",
    ],
)
def test_good_peer_config_placeholders(value):
    data = notes()
    data["peer_config_template"]["x"] = value
    assert issues_of(data) == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("{peer.password}", ["unknown placeholder"]),
        ("{domain", ["without a closing }"]),
        ("domain}", ["without an opening {"]),
        ("{peer.service_credentials.email.password}", ["own credentials"]),
        ("{peer.service_credentials.notes.token}", ['"token"', "not one of the credentials"]),
        ("{peer.service_credentials.notes}", ["<id>.<credential>"]),
        ("{}", ["unknown placeholder"]),
    ],
)
def test_bad_peer_config_placeholders(value, words):
    data = notes()
    data["peer_config_template"]["x"] = value
    only_issue_at(data, "$.peer_config_template.x", *words)


def test_peer_config_template_values_are_text():
    data = notes()
    data["peer_config_template"]["port"] = 8080
    only_issue_at(data, "$.peer_config_template.port", "must be text")


def test_egress_choices():
    assert (
        issues_of(
            changed(
                "egress",
                allowed=["default", "wireguard_ext", "openvpn", "tor", "sshuttle", "proxy"],
            )
        )
        == []
    )
    assert issues_of(changed("egress", default="tor", allowed=["default", "tor"])) == []


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"allowed": ["tor"], "default": "tor"}, "$.egress.allowed", ['include "default"']),
        ({"default": "proxy"}, "$.egress.default", ['"proxy"', "allowed"]),
        ({"allowed": ["default", "vpn"]}, "$.egress.allowed[1]", ['"vpn"', "not an egress choice"]),
        ({"allowed": ["default", "default"]}, "$.egress.allowed[1]", ["used twice"]),
        ({"default": "nowhere"}, "$.egress.default", ["not an egress choice"]),
    ],
)
def test_bad_egress(changes, path, words):
    only_issue_at(changed("egress", **changes), path, *words)
