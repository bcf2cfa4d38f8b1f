"""`hostnames`: DNS names at the service's own IP (mail, SSH, a game server), no Caddy route.
Same label rules as `subdomain`; not one of the service's own subdomains; a warning (not a
refusal) when no iptables rule opens a port of ${SERVICE_IP}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main as cli
from shared.manifest import hostnames_of, manifest_notes, names_of, parse_manifest
from tests.manifest.helpers import REPO, by_path, issues_of, notes, only_issue_at

pytestmark = pytest.mark.unit

EMAIL = REPO / "examples" / "store" / "services" / "email" / "manifest.json"
OPEN_993 = {"type": "ACCEPT", "dest_ip": "${SERVICE_IP}", "dest_port": 993, "proto": "tcp"}


def email() -> dict[str, Any]:
    return json.loads(EMAIL.read_text())


def test_the_email_example_names_mail_and_opens_its_ports() -> None:
    data = email()
    assert data["hostnames"] == ["mail"]
    assert parse_manifest(data).hostnames == ["mail"]
    assert manifest_notes(data) == []


def test_hostnames_are_optional_and_default_to_none() -> None:
    assert parse_manifest(notes()).hostnames == []


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Mail", ['"Mail"', "not a valid hostname"]),
        ("a.b", ['"a.b"', "not a valid hostname"]),
        ("-mail", ['"-mail"', "not a valid hostname"]),
        ("", ['""', "not a valid hostname"]),
        ("api", ['"api"', "reserved"]),
        ("registry", ['"registry"', "reserved"]),
    ],
)
def test_a_bad_hostname_is_refused_naming_it(name: str, words: list[str]) -> None:
    data = {**email(), "hostnames": ["mail", name]}
    only_issue_at(data, "$.hostnames[1]", *words)


def test_every_bad_hostname_is_named_at_once() -> None:
    data = {**email(), "hostnames": ["Mail", "a.b", "api", "imap", "imap", 7]}
    found = by_path(issues_of(data))
    assert set(found) == {f"$.hostnames[{i}]" for i in (0, 1, 2, 4, 5)}
    assert '"Mail"' in found["$.hostnames[0]"] and '"a.b"' in found["$.hostnames[1]"]
    assert "reserved" in found["$.hostnames[2]"]
    assert "listed twice" in found["$.hostnames[4]"] and "$.hostnames[3]" in found["$.hostnames[4]"]


def test_a_hostname_may_not_be_one_of_the_services_own_subdomains() -> None:
    data = notes()
    data["extra_subdomains"], data["extra_backends"] = ["dav"], ["cell-notes:81"]
    data["hostnames"] = ["ssh", "notes", "dav"]
    data["iptables_rules"] = [{**OPEN_993, "dest_port": 22}]
    found = by_path(issues_of(data))
    assert set(found) == {"$.hostnames[1]", "$.hostnames[2]"}
    assert '"notes"' in found["$.hostnames[1]"] and "$.subdomain" in found["$.hostnames[1]"]
    assert '"dav"' in found["$.hostnames[2]"]
    assert "$.extra_subdomains[0]" in found["$.hostnames[2]"]


def test_hostnames_without_a_rule_for_the_service_ip_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {**email(), "iptables_rules": []}
    assert issues_of(data) == []  # valid: the name resolves, nothing lets a peer connect
    notes_ = manifest_notes(data)
    assert [n.path for n in notes_] == ["$.hostnames"]
    assert '"mail"' in notes_[0].message and "${SERVICE_IP}" in notes_[0].message
    # A rule for a sidecar does not open the main container's ports either.
    sidecar = {**OPEN_993, "dest_ip": "cell-email-relay"}
    assert manifest_notes({**data, "iptables_rules": [sidecar]}) == notes_
    assert manifest_notes({**data, "iptables_rules": [OPEN_993]}) == []

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    assert cli(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert 'warning: $.hostnames: "mail" will resolve' in err


def test_stored_names_are_read_defensively() -> None:
    stored = {"has_subdomain": True, "subdomain": "web", "hostnames": ["mail", 3, None, "web"]}
    assert hostnames_of(stored) == ["mail", "web"]
    assert names_of(stored) == {"web": "subdomain", "mail": "hostname"}
    assert hostnames_of({"hostnames": "mail"}) == []
    assert names_of({"has_subdomain": False, "subdomain": "web"}) == {}
