"""Store review of `hostnames`: a label is one store service's, subdomain or hostname; an
index entry that lists hostnames lists the manifest's; the no-open-port warning is a note."""

import json
import shutil

import pytest

from app.review import review_notes, review_service
from tests.manifest.helpers import REPO

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "store"
    shutil.copytree(REPO / "examples" / "store", root)
    return root


def edit(path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def review(store, service):
    return review_service(store / "services" / service, store / "index.json")


def test_the_email_example_lists_its_hostname_and_passes(store):
    index = json.loads((store / "index.json").read_text())
    assert next(e for e in index["services"] if e["id"] == "email")["hostnames"] == ["mail"]
    assert review(store, "email") == []
    assert review_notes(store / "services" / "email") == []


def test_a_hostname_that_is_another_services_subdomain_is_refused(store):
    edit(store / "services" / "email" / "manifest.json", hostnames=["notes"])
    edit(
        store / "index.json",
        services=[
            {**e, "hostnames": ["notes"]} if e["id"] == "email" else e
            for e in json.loads((store / "index.json").read_text())["services"]
        ],
    )
    issues = review(store, "email")
    assert [i.location for i in issues] == ["$.hostnames[0]"]
    assert 'hostname "notes" is already used by "notes"' in issues[0].message


def test_a_subdomain_that_is_another_services_hostname_is_refused(store):
    edit(store / "services" / "notes" / "manifest.json", subdomain="mail")
    edit(
        store / "index.json",
        services=[
            {**e, "subdomain": "mail"} if e["id"] == "notes" else e
            for e in json.loads((store / "index.json").read_text())["services"]
        ],
    )
    issues = review(store, "notes")
    assert [i.location for i in issues] == ["$.subdomain"]
    assert 'subdomain "mail" is already used by "email"' in issues[0].message


def test_the_index_must_list_the_manifests_hostnames(store):
    edit(store / "services" / "email" / "manifest.json", hostnames=["smtp"])
    issues = review(store, "email")
    assert [i.location for i in issues] == ["index.json:$.services[1].hostnames"]
    assert '["mail"]' in issues[0].message and '["smtp"]' in issues[0].message


def test_hostnames_no_port_is_open_for_are_a_note(store):
    edit(store / "services" / "email" / "manifest.json", iptables_rules=[])
    assert review(store, "email") == []
    notes = review_notes(store / "services" / "email")
    assert [n.path for n in notes] == ["$.hostnames"] and "${SERVICE_IP}" in notes[0].message
