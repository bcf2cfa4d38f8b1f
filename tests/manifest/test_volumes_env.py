import pytest

from shared.manifest import SYSTEM_PATHS, ValidationOptions
from tests.manifest.helpers import by_path, issues_of, minimal, notes, only_issue_at

pytestmark = pytest.mark.unit


def with_volume(mount, name="data"):
    return minimal(volumes=[{"name": name, "mount": mount}])


@pytest.mark.parametrize(
    ("mount", "words"),
    [
        ("/", ["system path /"]),
        ("/etc", ["system path /etc"]),
        ("/var/", ["system path /var"]),
        ("/etc/../etc", ["system path /etc"]),
        ("//etc", ["system path /etc"]),
        ("/data/../proc", ["system path /proc"]),
        ("/./sys/.", ["system path /sys"]),
        ("/dev", ["/dev"]),
        ("/app", ["/app"]),
        ("/run", ["/run"]),
        ("/boot", ["/boot"]),
        ("/run/docker.sock", ["inside the system path /run"]),
        ("/proc/self", ["inside the system path /proc"]),
        ("/sys/fs/cgroup", ["inside the system path /sys"]),
        ("/dev/shm", ["inside the system path /dev"]),
        ("/boot/efi", ["inside the system path /boot"]),
        ("/var/../dev/x", ["inside the system path /dev"]),
        ("//run//lock/", ["inside the system path /run"]),
        ("/opt/pic", ["overlaps the PIC project root"]),
        ("/opt/pic/config", ["overlaps the PIC project root"]),
        ("/opt", ["overlaps the PIC project root"]),
        ("data", ["absolute"]),
        ("./data", ["absolute"]),
        ("", ["absolute"]),
        ("/data:/etc", ["no spaces, colons"]),
        ("/data,ro", ["no spaces, colons"]),
        ("/my data", ["no spaces, colons"]),
        ("/data\n", ["no spaces, colons"]),
    ],
)
def test_volume_mounts_that_are_refused(mount, words):
    issue = only_issue_at(with_volume(mount), "$.volumes[0].mount", *words)
    assert mount.strip() in issue.message or not mount.strip()


@pytest.mark.parametrize("system", SYSTEM_PATHS)
def test_every_system_path_itself_is_refused(system):
    only_issue_at(with_volume(system + "/."), "$.volumes[0].mount", f"system path {system}")


@pytest.mark.parametrize(
    "mount",
    [
        "/data/notes",
        "/srv/notes",
        "/etcetera",
        "/variable",
        "/opt/picture",
        "/home/notes",
        "/runner",
        "/device",
    ],
)
def test_volume_mounts_that_pass(mount):
    assert issues_of(with_volume(mount)) == []


@pytest.mark.parametrize(
    "mount",
    [
        "/var/lib/postgresql/data",
        "/var/lib/mysql",
        "/var/www/html",
        "/var/lib/docker",
        "/etc/nginx",
        "/etc/letsencrypt/",
        "/app/data",
        "/app/data/storage",
        "/app/./data",
    ],
)
def test_data_folders_below_var_etc_and_app_pass(mount):
    """Official images keep their data there (postgres, mysql, php, node apps)."""
    assert issues_of(with_volume(mount)) == []


def test_a_system_path_itself_suggests_a_folder_below_it_when_one_is_allowed():
    issue = only_issue_at(with_volume("/var"), "$.volumes[0].mount", "system path /var")
    assert "below it" in issue.message
    issue = only_issue_at(with_volume("/proc"), "$.volumes[0].mount", "system path /proc")
    assert "below it" not in issue.message


def test_the_pic_root_is_configurable():
    options = ValidationOptions(pic_root="/srv/pic/")
    assert [i.path for i in issues_of(with_volume("/srv/pic/data"), options)] == [
        "$.volumes[0].mount"
    ]
    assert [i.path for i in issues_of(with_volume("/srv"), options)] == ["$.volumes[0].mount"]
    assert issues_of(with_volume("/opt/pic"), options) == []


def test_a_pic_root_below_var_is_still_protected_while_other_data_folders_pass():
    options = ValidationOptions(pic_root="/var/lib/pic")
    issues = issues_of(with_volume("/var/lib/pic/data"), options)
    assert [(i.path, "overlaps the PIC project root" in i.message) for i in issues] == [
        ("$.volumes[0].mount", True)
    ]
    assert issues_of(with_volume("/var/lib/mysql"), options) == []


@pytest.mark.parametrize("name", ["../x", "a/b", "-x", "", "x y", "a" * 129])
def test_volume_names_must_be_docker_names(name):
    only_issue_at(with_volume("/data", name), "$.volumes[0].name", "Docker volume name")


def test_volume_names_and_mounts_do_not_repeat():
    data = minimal(volumes=[{"name": "a", "mount": "/data"}, {"name": "a", "mount": "/data/"}])
    found = by_path(issues_of(data))
    assert set(found) == {"$.volumes[1].name", "$.volumes[1].mount"}
    assert "$.volumes[0]" in found["$.volumes[1].mount"]


def env(*pairs):
    return [{"key": k, "value": v} for k, v in pairs]


@pytest.mark.parametrize("key", ["1X", "A-B", "A B", "", "Ä", "A=B"])
def test_env_keys_must_be_names(key):
    only_issue_at(minimal(env=env((key, "x"))), "$.env[0].key", "environment variable name")


def test_env_keys_do_not_repeat():
    only_issue_at(minimal(env=env(("A", "1"), ("A", "2"))), "$.env[1].key", "set twice", "$.env[0]")


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "",
        "${PIC_DOMAIN}",
        "https://notes.${PIC_DOMAIN}:${PIC_CELL_NAME}/${PIC_SERVICE_ID}",
        "${PIC_DATA_DIR}/x",
        "${PIC_SECRET_DB_PASSWORD}",
        "${SERVICE_IP}",
        "costs $$5",
        "$${HOME}",
    ],
)
def test_env_values_may_use_the_known_variables(value):
    assert issues_of(minimal(env=env(("A", value)))) == []


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("${PIC_FOO}", ["${PIC_FOO}", "not a PIC variable"]),
        ("${HOME}", ["${HOME}", "host's environment"]),
        ("$HOME", ["without braces"]),
        ("costs $5", ["lone $"]),
        ("${PIC_DOMAIN", ["without a closing }"]),
        ("${PIC_DOMAIN:-x}", ["only ${NAME}"]),
        ("${PIC_SECRET_lower}", ["uppercase"]),
        ("${PIC_CFG_title}", ["uppercase"]),
        ("${PIC_CFG_TITLE}", ["no field has the key title"]),
        ("x" * 4097, ["at most 4096"]),
    ],
)
def test_env_values_with_unknown_or_broken_variables(value, words):
    only_issue_at(minimal(env=env(("A", value))), "$.env[0].value", *words)


def test_config_variables_must_name_a_config_schema_key():
    data = notes()
    data["env"].append({"key": "X", "value": "${PIC_CFG_THEME}-${PIC_CFG_NOPE}"})
    last = len(data["env"]) - 1
    only_issue_at(data, f"$.env[{last}].value", "${PIC_CFG_NOPE}", "no field has the key nope")
