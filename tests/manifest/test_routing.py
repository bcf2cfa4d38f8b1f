import pytest

from tests.manifest.helpers import by_path, issues_of, notes, only_issue_at

pytestmark = pytest.mark.unit


def routed(**changes):
    data = notes()
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "name", ["api", "webui", "admin", "www", "ns1", "ns2", "git", "registry", "install"]
)
def test_reserved_subdomains_are_refused(name):
    only_issue_at(routed(subdomain=name), "$.subdomain", "reserved", f'"{name}"')


@pytest.mark.parametrize(
    "name", ["Notes", "notes.x", "-notes", "notes-", "no tes", "a" * 64, "", "notes\n"]
)
def test_a_subdomain_is_one_lowercase_dns_label(name):
    only_issue_at(routed(subdomain=name), "$.subdomain", "not a valid subdomain")


def test_extra_subdomains_pair_with_extra_backends():
    ok = routed(
        extra_subdomains=["dav", "files"], extra_backends=["cell-notes-dav:80", "cell-notes:8081"]
    )
    assert issues_of(ok) == []
    only_issue_at(
        routed(extra_subdomains=["dav", "files"], extra_backends=["cell-notes:80"]),
        "$.extra_backends",
        "2 extra_subdomains but 1",
    )
    only_issue_at(routed(extra_subdomains=["dav"]), "$.extra_backends", "one backend for each")


def test_extra_subdomains_are_checked_like_the_primary_one():
    data = routed(
        extra_subdomains=["dav", "api", "notes", "dav"], extra_backends=["cell-notes:1"] * 4
    )
    found = by_path(issues_of(data))
    assert set(found) == {"$.extra_subdomains[1]", "$.extra_subdomains[2]", "$.extra_subdomains[3]"}
    assert "reserved" in found["$.extra_subdomains[1]"]
    assert "used twice" in found["$.extra_subdomains[2]"]
    assert "$.subdomain" in found["$.extra_subdomains[2]"]
    assert "$.extra_subdomains[0]" in found["$.extra_subdomains[3]"]


@pytest.mark.parametrize(
    ("backend", "word"),
    [
        ("cell-notes", "container:port"),
        (":8080", "container:port"),
        ("cell-notes:0", "invalid port"),
        ("cell-notes:65536", "invalid port"),
        ("cell-notes:08080", "invalid port"),
        ("cell-notes:80x", "invalid port"),
        ("cell-notes:-1", "invalid port"),
        ("Cell-Notes:80", "invalid container"),
        ("cell notes:80", "invalid container"),
        ("cell-notes\n:80", "invalid container"),
        ('cell-notes"}:80', "invalid container"),
        ("cell-notes/x:80", "invalid container"),
        ("http://cell-notes:80", "invalid container"),
    ],
)
def test_backends_are_container_and_port_with_nothing_injectable(backend, word):
    only_issue_at(routed(backend=backend), "$.backend", word)


@pytest.mark.parametrize("backend", ["cell-notes:1", "cell-notes:65535", "cell-notes-web:80"])
def test_good_backends(backend):
    assert issues_of(routed(backend=backend)) == []


@pytest.mark.parametrize(
    "backend", ["cell-api:8000", "cell-caddy:2019", "cell-notesx:80", "other:80"]
)
def test_a_backend_must_be_one_of_the_services_own_containers(backend):
    only_issue_at(routed(backend=backend), "$.backend", "own containers", "cell-notes-<name>")


def test_an_extra_backend_must_be_own_too():
    only_issue_at(
        routed(extra_subdomains=["dav"], extra_backends=["cell-api:1"]),
        "$.extra_backends[0]",
        "own containers",
    )
