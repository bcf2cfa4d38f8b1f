import pytest

from tests.manifest.helpers import by_path, issues_of, minimal, notes, only_issue_at

pytestmark = pytest.mark.unit

RULE = {"type": "ACCEPT", "dest_ip": "${SERVICE_IP}", "dest_port": 8080, "proto": "tcp"}


def rule(**changes):
    return minimal(iptables_rules=[{**RULE, **changes}])


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"proto": "udp"},
        {"dest_ip": "10.0.0.5"},
        {"dest_ip": "fd00::1"},
        {"dest_port": 1},
        {"dest_port": 65535},
    ],
)
def test_good_rules(changes):
    assert issues_of(rule(**changes)) == []


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("type", "DROP", ["only ACCEPT", '"DROP"']),
        ("type", "accept", ["only ACCEPT"]),
        ("proto", "icmp", ['"tcp" or "udp"']),
        ("dest_port", 0, ["1 to 65535"]),
        ("dest_port", 65536, ["1 to 65535"]),
        ("dest_port", "8080", ["whole number"]),
        ("dest_port", 10**40, ["1 to 65535", "very large"]),
        ("dest_ip", "${SERVICE_IP} ", ["IPv4 or IPv6"]),
        ("dest_ip", "0.0.0.0/0", ["IPv4 or IPv6"]),
        ("dest_ip", "10.0.0.1; rm -rf /", ["IPv4 or IPv6"]),
        ("dest_ip", "${PIC_DOMAIN}", ["IPv4 or IPv6"]),
    ],
)
def test_bad_rules(field, value, words):
    only_issue_at(rule(**{field: value}), f"$.iptables_rules[0].{field}", *words)


def test_every_rule_field_is_required():
    data = minimal(iptables_rules=[{}])
    assert set(by_path(issues_of(data))) == {f"$.iptables_rules[0].{f}" for f in RULE}


def with_backup(**changes):
    data = notes()
    data["backup"].update(changes)
    return data


def test_the_example_backup_passes_and_config_paths_may_nest():
    assert issues_of(with_backup(config_paths=["config/notes", "notes/settings.json"])) == []


@pytest.mark.parametrize("path", ["../etc", "/etc", "config/../../etc", "", ".", "a\\b", "C:x"])
def test_config_paths_stay_relative(path):
    only_issue_at(with_backup(config_paths=[path]), "$.backup.config_paths[0]", "config path")


@pytest.mark.parametrize("name", ["../x", "/x", "a/b", "", "..", ".hidden"])
def test_backup_names_cannot_escape(name):
    data = with_backup(volumes=[{"container": "cell-notes", "path": "/data/notes", "name": name}])
    only_issue_at(data, "$.backup.volumes[0].name", "backup name")


@pytest.mark.parametrize("path", ["data", "/", "/data/../", "/da ta"])
def test_backup_paths_are_absolute_container_paths(path):
    data = with_backup(volumes=[{"container": "cell-notes", "path": path, "name": "x"}])
    only_issue_at(data, "$.backup.volumes[0].path")


def backup_from(container):
    return with_backup(volumes=[{"container": container, "path": "/data", "name": "x"}])


@pytest.mark.parametrize("container", ["cell-notes", "cell-notes-db", "cell-notes-worker-2"])
def test_backup_containers_may_be_the_service_or_its_sidecars(container):
    """A sidecar's volume (the database of cell-notes-db) is backed up without it being a
    backend: a database never gets a subdomain."""
    assert issues_of(backup_from(container)) == []


@pytest.mark.parametrize("container", ["cell-api", "cell-notesdb", "cell-note", "cell-caddy"])
def test_backup_containers_of_other_services_are_refused(container):
    issue = only_issue_at(
        backup_from(container),
        "$.backup.volumes[0].container",
        f'"{container}"',
        "not one of this service's containers",
    )
    assert "cell-notes or cell-notes-<name>" in issue.message


def test_a_backend_does_not_make_another_services_container_backupable():
    data = backup_from("cell-other")
    data["extra_subdomains"], data["extra_backends"] = ["db"], ["cell-other:5432"]
    found = by_path(issues_of(data))
    assert set(found) == {"$.extra_backends[0]", "$.backup.volumes[0].container"}


def test_backup_names_do_not_repeat_and_backups_are_not_empty():
    volume = {"container": "cell-notes", "path": "/data", "name": "x"}
    only_issue_at(with_backup(volumes=[volume, volume]), "$.backup.volumes[1].name", "used twice")
    only_issue_at(with_backup(volumes=[], config_paths=[]), "$.backup", "nothing to back up")
