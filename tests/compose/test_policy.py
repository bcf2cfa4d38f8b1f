"""The closed policy: a corpus of hostile templates, each refused by the same check that
`validate`, `review`, `render` and the installer run, and the allowed keys, accepted.

Every hostile entry is tried as written and again through a YAML merge key; the settings
cases put the hostile value in an admin setting, which the policy judges after filling in.
"""

import pytest

from shared.compose import check_template, render_compose
from shared.compose.keys import (
    CHECKED_SERVICE_KEYS,
    PLAIN_SERVICE_KEYS,
    REFUSED_SERVICE_KEYS,
)
from shared.errors import RenderError
from shared.manifest import ValidationOptions, parse_manifest
from tests.compose.helpers import context, one_service, plain_manifest
from tests.manifest.helpers import minimal

pytestmark = pytest.mark.unit

SIDECAR = "  notes-side:\n    image: {image}\n"

# (the main service's body, the path of the issue below $.services.notes, a word of it)
HOSTILE = [
    ("privileged: true", "privileged", "root on the host"),
    ("privileged: 'true'", "privileged", "root on the host"),
    ("network_mode: host", "network_mode", "cell network"),
    ("network_mode: 'container:cell-api'", "network_mode", "cell network"),
    ("pid: host", "pid", "namespace"),
    ("ipc: host", "ipc", "namespace"),
    ("uts: host", "uts", "namespace"),
    ("userns_mode: host", "userns_mode", "namespace"),
    ("cgroup: host", "cgroup", "namespace"),
    ("cgroup_parent: /", "cgroup_parent", "cgroup"),
    ("cap_add: [NET_ADMIN]", "cap_add[0]", "capability"),
    ("cap_add: [CAP_SYS_ADMIN]", "cap_add[0]", "capability"),
    ("cap_add: [all]", "cap_add[0]", "capability"),
    ("cap_add: [ALL]", "cap_add[0]", "capability"),
    ("cap_add: [BPF]", "cap_add[0]", "capability"),
    ("cap_add: [PERFMON]", "cap_add[0]", "capability"),
    ("cap_add: [SYS_TIME]", "cap_add[0]", "capability"),
    ("cap_add: [SYS_MODULE]", "cap_add[0]", "capability"),
    ("cap_add: [DAC_READ_SEARCH]", "cap_add[0]", "capability"),
    ("security_opt: ['seccomp:unconfined']", "security_opt[0]", "no-new-privileges"),
    ("security_opt: ['apparmor=unconfined']", "security_opt[0]", "no-new-privileges"),
    ("security_opt: ['label:disable']", "security_opt[0]", "no-new-privileges"),
    ("security_opt: ['systempaths=unconfined']", "security_opt[0]", "no-new-privileges"),
    ("devices: ['/dev/sda:/dev/sda']", "devices", "devices"),
    ("device_cgroup_rules: ['a *:* rwm']", "device_cgroup_rules", "devices"),
    ("gpus: all", "gpus", "devices"),
    ("runtime: runc", "runtime", "runtime"),
    ("build: .", "build", "do not build"),
    ("env_file: /etc/environment", "env_file", "from the host"),
    ("label_file: /etc/passwd", "label_file", "from the host"),
    ("extends: {file: /etc/passwd, service: x}", "extends", "another file"),
    ("volumes_from: ['container:cell-api']", "volumes_from", "volumes"),
    ("links: ['cell-api']", "links", "by name"),
    ("external_links: ['cell-api']", "external_links", "own containers"),
    ("ports: ['8080:8080']", "ports", "Caddy"),
    ("ports: [{target: 80, published: 80}]", "ports", "Caddy"),
    ("dns: [1.1.1.1]", "dns", "cell's DNS"),
    ("extra_hosts: ['api.cell:6.6.6.6']", "extra_hosts", "other addresses"),
    ("oom_kill_disable: true", "oom_kill_disable", "starve"),
    ("oom_score_adj: -1000", "oom_score_adj", "negative"),
    ("sysctls: {kernel.shmmax: 1}", 'sysctls["kernel.shmmax"]', "net.*"),
    ("logging: {driver: syslog}", "logging.driver", "log driver"),
    (
        "logging: {driver: json-file, options: {syslog-address: x}}",
        'logging.options["syslog-address"]',
        "log option",
    ),
    (
        "deploy: {resources: {reservations: {devices: [{capabilities: [gpu]}]}}}",
        "deploy.resources.reservations.devices",
        "not allowed",
    ),
    ("profiles: [debug]", "profiles", "must start"),
    ("pull_policy: always", "pull_policy", "verifying"),
    ("use_api_socket: true", "use_api_socket", "Docker engine"),
    ("environment: [HOME]", "environment[0]", "host's environment"),
    ("environment:\n  HOME:", "environment.HOME", "host's environment"),
    (
        "labels: {com.docker.compose.project: other}",
        'labels["com.docker.compose.project"]',
        "belong to the cell",
    ),
    ("volumes: ['/:/host']", "volumes[0].source", "outside this service's data folder"),
    ("volumes: ['/var/run/docker.sock:/var/run/docker.sock']", "volumes[0].source", "outside"),
    ("volumes: ['${PIC_DATA_DIR}:/all']", "volumes[0].source", "outside"),
    ("volumes: ['${PIC_DATA_DIR}/notes:/all']", "volumes[0].source", "own folder"),
    ("volumes: ['${PIC_DATA_DIR}/notes/a/b:/x']", "volumes[0].source", "a container can write"),
    ("volumes: ['./.hidden:/x']", "volumes[0].source", "directly in"),
    ("ulimits: {rtprio: 99}", "ulimits.rtprio", "starve the host"),
    ("volumes: ['${PIC_DATA_DIR}/other:/x']", "volumes[0].source", "outside"),
    ("volumes: ['${PIC_DATA_DIR}/notes/../other:/x']", "volumes[0].source", "outside"),
    ("volumes: ['${PIC_DATA_DIR}/notes-other:/x']", "volumes[0].source", "outside"),
    ("volumes: ['../escape:/x']", "volumes[0].source", "outside"),
    ("volumes: ['~/x:/x']", "volumes[0].source", "outside"),
    ("volumes:\n  - {type: bind, source: /etc, target: /x}", "volumes[0].source", "outside"),
    (
        "volumes:\n  - {type: bind, source: '${PIC_DATA_DIR}/notes', target: /x, "
        "bind: {propagation: rshared}}",
        "volumes[0].bind.propagation",
        "host",
    ),
    (
        "volumes:\n  - {type: npipe, source: //./pipe/docker_engine, target: /x}",
        "volumes[0].type",
        "not allowed",
    ),
    (
        "networks:\n  pic-cell:\n    aliases: [smtp.gmail.com]",
        'networks["pic-cell"].aliases[0]',
        "answers to its container_name only",
    ),
    (
        "networks:\n  pic-cell:\n    aliases: [cell-files]",
        'networks["pic-cell"].aliases[0]',
        "answers to its container_name only",
    ),
    (
        "networks:\n  pic-cell:\n    mac_address: 02:42:ac:11:00:02",
        'networks["pic-cell"].mac_address',
        "not allowed",
    ),
    ("networks: [default]", "networks.default", "cell network"),
    ("container_name: cell-api", "container_name", "must be cell-notes"),
]


def _path(service_path: str, service: str = "notes") -> str:
    return f"$.services.{service}.{service_path}"


def _hostile_template(body: str) -> str:
    template = one_service(body)
    if "container_name: cell-api" in body:  # the main container must still be there
        template = template.replace("    container_name: cell-notes\n", "", 1)
        template += (
            "  notes-main:\n    image: git.pic.ngo/roof/x:1\n    container_name: cell-notes\n"
        )
    return template


@pytest.mark.parametrize(("body", "path", "word"), HOSTILE)
def test_hostile_templates_are_refused(body, path, word):
    issues = {i.path: i.message for i in check_template(_hostile_template(body), plain_manifest())}
    where = _path(path)
    assert where in issues, f"{where} not refused; issues: {issues}"
    assert word in issues[where]


@pytest.mark.parametrize(
    ("body", "path", "word"), [case for case in HOSTILE if "container_name" not in case[0]]
)
def test_hostile_keys_are_refused_through_a_merge_key(body, path, word):
    """A YAML merge key hides the key one level down; it is judged once merged."""
    indented = "".join(f"  {line}\n" for line in body.splitlines())
    template = f"x-hostile: &hostile\n{indented}" + _hostile_template("<<: *hostile")
    issues = {i.path: i.message for i in check_template(template, plain_manifest())}
    assert _path(path) in issues, f"{_path(path)} not refused; issues: {issues}"


SETTING = plain_manifest(
    has_admin_config=True,
    config_schema=[{"key": "value", "type": "string", "label": "Value"}],
)


@pytest.mark.parametrize(
    ("body", "value", "path"),
    [
        ("cap_add: ['${PIC_CFG_VALUE}']", "ALL", "cap_add[0]"),
        ("volumes: ['${PIC_CFG_VALUE}:/data']", "/etc", "volumes[0].source"),
        (
            "volumes: ['${PIC_DATA_DIR}/notes/${PIC_CFG_VALUE}:/data']",
            "../../..",
            "volumes[0].source",
        ),
        ("volumes: ['${PIC_CFG_VALUE}']", "/:/host", "volumes[0].source"),
        ("network_mode: '${PIC_CFG_VALUE}'", "host", "network_mode"),
        ("security_opt: ['${PIC_CFG_VALUE}']", "seccomp:unconfined", "security_opt[0]"),
    ],
)
def test_a_setting_cannot_open_the_container(body, value, path):
    """Validate passes a harmless sample, so the installer's render judges the real value."""
    with pytest.raises(RenderError) as caught:
        render_compose(one_service(body), SETTING, context(config={"value": value}))
    assert _path(path) in caught.value.message


@pytest.mark.parametrize("address", ["172.20.0.99", "${SERVICE_IP}"])
def test_only_the_main_container_has_a_fixed_address(address):
    sidecar = (
        f"  notes-db:\n    image: git.pic.ngo/roof/db:1\n    container_name: cell-notes-db\n"
        f"    networks:\n      pic-cell:\n        ipv4_address: '{address}'\n"
    )
    issues = {
        i.path: i.message for i in check_template(one_service("") + sidecar, plain_manifest())
    }
    assert (
        "allocated by the cell"
        in issues['$.services["notes-db"].networks["pic-cell"].ipv4_address']
    )


def test_more_than_one_container_per_service_is_refused():
    issues = check_template(one_service("deploy: {replicas: 3}"), plain_manifest())
    assert issues and all(i.path.startswith("$.services") for i in issues)
    assert issues[0].message.startswith("Docker Compose refuses the file")


def test_the_owner_label_cannot_be_spoofed():
    """A template that names another service as owner is overruled by the cell."""
    template = one_service("labels: {ngo.pic.store.service: other}")
    canonical = render_compose(template, plain_manifest(), context()).canonical
    assert canonical["services"]["cell-notes"]["labels"] == {"ngo.pic.store.service": "notes"}


def test_cap_add_as_a_single_value_is_refused_by_compose_itself():
    issues = check_template(one_service("cap_add: ALL"), plain_manifest())
    assert [i.path for i in issues] == ["$.services.notes.cap_add"]
    assert "must be a array" in issues[0].message


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("include: [other.yml]\n", "$.include"),
        ("secrets:\n  s: {file: /etc/shadow}\n", "$.secrets"),
        ("configs:\n  c: {content: x}\n", "$.configs"),
        (
            "volumes:\n  data: {driver_opts: {type: none, o: bind, device: /etc}}\n",
            "$.volumes.data.driver_opts",
        ),
        ("volumes:\n  data: {external: true, name: other_data}\n", "$.volumes.data.external"),
        ("volumes:\n  data: {name: other_data}\n", "$.volumes.data.name"),
        ("networks:\n  host_net: {external: true}\n", "$.networks.host_net"),
        ("x-other: 1\nmodels: {m: {model: x}}\n", "$.models"),
    ],
)
def test_top_level_sections_that_reach_the_host(extra, path):
    body = "volumes: ['data:/data']" if "data:" in extra else ""
    issues = check_template(one_service(body) + extra, plain_manifest())
    assert path in [i.path for i in issues]


@pytest.mark.parametrize(
    "body",
    [
        "volumes: ['${PIC_DATA_DIR}/notes/data:/data']",
        "volumes: ['${PIC_DATA_DIR}/notes/config:/config:ro']",
        "volumes: ['./uploads:/uploads']",  # relative to the service's own folder
        "volumes: ['cache:/cache']",
        "volumes:\n  - {type: tmpfs, target: /scratch}",
        "cap_add: [NET_BIND_SERVICE]",
        "cap_drop: [ALL]\ncap_add: [CHOWN, SETUID, SETGID]",
        "security_opt: [no-new-privileges:true]",
        "environment:\n  EMPTY: ''",
        "sysctls: {net.ipv4.ip_unprivileged_port_start: 80}",
        "logging: {driver: json-file, options: {max-size: 10m, max-file: '3'}}",
        "deploy: {resources: {limits: {cpus: '0.5', memory: 256M}}}",
        "labels: {ngo.pic.service: notes, org.example.role: web}",
        "networks: [pic-cell]",
        "mem_limit: 256m\ncpus: 0.5\nshm_size: 64m\npids_limit: 100",
        "stop_grace_period: 3s\nstop_signal: SIGINT\ninit: true\nread_only: true",
        "tmpfs: [/run]\nuser: '1000:1000'\nworking_dir: /srv\nhostname: notes",
        "healthcheck: {test: [CMD, 'true'], interval: 5s, start_interval: 1s, start_period: 10s}",
        "ulimits: {nofile: {soft: 1024, hard: 2048}}",
        "oom_score_adj: 100",
        "command: serve --fast\nentrypoint: [/bin/app]",
    ],
)
def test_allowed_template_settings(body):
    template = one_service(body) + ("volumes:\n  cache: {}\n" if "cache:" in body else "")
    assert check_template(template, plain_manifest()) == []
    render_compose(template, plain_manifest(), context())


def test_sidecar_images_come_from_the_store_registry():
    template = one_service("") + SIDECAR.format(image="docker.io/library/redis:7")
    issues = check_template(template, plain_manifest())
    assert [i.path for i in issues] == ['$.services["notes-side"].image']
    local = ValidationOptions(allowed_registry="127.0.0.1:5000/roof/")
    template = one_service("") + SIDECAR.format(image="127.0.0.1:5000/roof/redis:7")
    manifest = parse_manifest(minimal(image="127.0.0.1:5000/roof/x:1"), local)
    assert check_template(template, manifest, local) == []


@pytest.mark.parametrize("name", ["db", "smtp.gmail.com", "cell-files", "api"])
def test_a_sidecars_key_is_a_name_on_the_private_network_only(name):
    """Any key will do: the sidecar is on the service's private network alone."""
    template = one_service("") + f"  {name}:\n    image: git.pic.ngo/roof/db:1\n"
    assert check_template(template, plain_manifest()) == []
    canonical = render_compose(template, plain_manifest(), context()).canonical
    assert set(canonical["services"][name]["networks"]) == {"default"}


@pytest.mark.parametrize(
    ("sidecar", "path", "message"),
    [
        ("networks: [pic-cell]", "networks", "give it one (cell-notes-<name>)"),
        ("container_name: cell-notes-x\n    networks: [default]", "networks.default", "only"),
        ("container_name: cell-notes", "container_name", "is one container's"),
    ],
)
def test_a_container_on_the_cell_network_answers_to_its_container_name(sidecar, path, message):
    template = one_service("") + f"  db:\n    image: git.pic.ngo/roof/db:1\n    {sidecar}\n"
    issues = check_template(template, plain_manifest())
    assert any(i.path.startswith(f"$.services.db.{path}") for i in issues), issues
    assert any(message in i.message for i in issues), issues


def test_a_key_taken_by_a_container_name_on_the_cell_network_is_refused():
    """The main container is keyed by its container_name in the rendered file."""
    template = one_service("") + "  cell-notes:\n    image: git.pic.ngo/roof/db:1\n"
    issues = check_template(template, plain_manifest())
    assert [i.path for i in issues] == ["$.services.notes.container_name"]
    assert "another service of the template has that key" in issues[0].message


def test_every_compose_key_is_either_allowed_or_refused():
    """The tables do not overlap, so no key is both allowed and refused."""
    assert not PLAIN_SERVICE_KEYS & CHECKED_SERVICE_KEYS
    assert not (PLAIN_SERVICE_KEYS | CHECKED_SERVICE_KEYS) & set(REFUSED_SERVICE_KEYS)


def test_an_unknown_key_is_refused():
    issues = check_template(one_service("x-note: fine\nstorage_opt: {size: 1G}"), plain_manifest())
    assert [i.path for i in issues] == ["$.services.notes.storage_opt"]


def test_the_manifest_reference_lists_every_key_of_the_tables():
    """docs/manifest.md says which keys are allowed and refused; it cannot drift."""
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "manifest.md").read_text()
    tables = PLAIN_SERVICE_KEYS | CHECKED_SERVICE_KEYS | set(REFUSED_SERVICE_KEYS)
    missing = sorted(key for key in tables if f"`{key}`" not in doc)
    assert missing == []
