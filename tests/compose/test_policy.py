import pytest

from shared.compose import check_template, render_compose
from shared.errors import RenderError
from shared.manifest import ValidationOptions, parse_manifest
from tests.compose.helpers import context, one_service, plain_manifest
from tests.manifest.helpers import minimal

pytestmark = pytest.mark.unit

SIDECAR = "  side:\n    image: {image}\n"


@pytest.mark.parametrize(
    ("body", "path", "word"),
    [
        ("privileged: true", "privileged", "privileged"),
        ("network_mode: host", "network_mode", "cell network"),
        ("pid: host", "pid", "namespace"),
        ("ipc: host", "ipc", "namespace"),
        ("userns_mode: host", "userns_mode", "namespace"),
        ("pid: 'container:cell-api'", "pid", "namespace"),
        ("cap_add: [NET_ADMIN]", "cap_add[0]", "capability"),
        ("cap_add: [CAP_SYS_ADMIN]", "cap_add[0]", "capability"),
        ("cap_add: [all]", "cap_add[0]", "capability"),
        ("security_opt: ['seccomp:unconfined']", "security_opt[0]", "protection"),
        ("devices: ['/dev/sda:/dev/sda']", "devices", "devices"),
        ("build: .", "build", "do not build"),
        ("env_file: /etc/environment", "env_file", "from the host"),
        ("volumes_from: ['container:cell-api']", "volumes_from", "volumes"),
        ("environment: [HOME]", "environment[0]", "host's environment"),
        ("environment:\n  HOME:", "environment.HOME", "host's environment"),
        ("volumes: ['/:/host']", "volumes[0]", "outside this service's data folder"),
        ("volumes: ['/var/run/docker.sock:/var/run/docker.sock']", "volumes[0]", "outside"),
        ("volumes: ['${PIC_DATA_DIR}:/all']", "volumes[0]", "outside"),
        ("volumes: ['${PIC_DATA_DIR}/other:/x']", "volumes[0]", "outside"),
        ("volumes: ['${PIC_DATA_DIR}/notes/../other:/x']", "volumes[0]", "outside"),
        ("volumes: ['./data:/data']", "volumes[0]", "absolute"),
        ("volumes: ['~/x:/x']", "volumes[0]", "absolute"),
        ("volumes:\n  - {type: bind, source: /etc, target: /x}", "volumes[0]", "outside"),
        ("container_name: cell-api", "container_name", "must be cell-notes"),
    ],
)
def test_template_policy(body, path, word):
    template = one_service(body)
    if "container_name: cell-api" in body:
        template = template.replace("    container_name: cell-notes\n", "", 1)
    with pytest.raises(RenderError) as caught:
        render_compose(template, plain_manifest(), context())
    assert f"$.services.app.{path}" in caught.value.message
    assert word in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        "volumes: ['${PIC_DATA_DIR}/notes:/data']",
        "volumes: ['${PIC_DATA_DIR}/notes/config:/config:ro']",
        "volumes: ['cache:/cache']",
        "cap_add: [NET_BIND_SERVICE]",
        "environment:\n  EMPTY: ''",
        "ports: ['8080:8080']",
    ],
)
def test_allowed_template_settings(body):
    template = one_service(body) + ("volumes:\n  cache: {}\n" if "cache:" in body else "")
    render_compose(template, plain_manifest(), context())


def test_sidecar_images_come_from_the_store_registry():
    template = one_service("") + SIDECAR.format(image="docker.io/library/redis:7")
    issues = check_template(template, plain_manifest())
    assert [i.path for i in issues] == ["$.services.side.image"]
    local = ValidationOptions(allowed_registry="127.0.0.1:5000/roof/")
    template = one_service("") + SIDECAR.format(image="127.0.0.1:5000/roof/redis:7")
    manifest = parse_manifest(minimal(image="127.0.0.1:5000/roof/x:1"), local)
    assert check_template(template, manifest, local) == []


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("include: [other.yml]\n", "$.include"),
        ("secrets:\n  s: {file: /etc/shadow}\n", "$.secrets.s"),
        ("networks:\n  host_net: {external: true}\n", "$.networks.host_net"),
    ],
)
def test_top_level_sections_that_reach_the_host(extra, path):
    issues = check_template(one_service("") + extra, plain_manifest())
    assert path in [i.path for i in issues]
