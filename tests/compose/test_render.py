import pytest
import yaml

from shared.compose import CELL_NETWORK, render_compose, render_env, render_iptables_rules
from shared.errors import RenderError
from tests.compose.helpers import IP, TEMPLATE, context, notes_manifest, one_service, plain_manifest

pytestmark = pytest.mark.unit


def test_the_example_renders_to_a_compose_file():
    result = render_compose(TEMPLATE, notes_manifest(), context())
    doc = result.document
    assert list(doc) == ["name", "services", "networks", "volumes"]
    assert doc["name"] == "notes"
    service = doc["services"]["cell-notes"]
    assert service["container_name"] == "cell-notes"
    assert service["image"] == "git.pic.ngo/roof/pic-notes:1.0.0"
    # One container: the cell network only, keyed by its container_name (its one name there).
    assert list(doc["services"]) == ["cell-notes"]
    assert service["networks"] == {CELL_NETWORK: {"ipv4_address": IP}}
    assert doc["networks"] == {CELL_NETWORK: {"external": True}}
    assert service["volumes"] == ["notes-data:/data/notes"]
    assert doc["volumes"] == {"notes-data": {}}
    assert service["environment"]["NOTES_BASE_URL"] == "https://notes.pic.example.org/"
    assert service["environment"]["NOTES_TITLE"] == "Notes"
    assert yaml.safe_load(result.yaml_text) == doc
    assert result.yaml_text.startswith("# Rendered by pic-store for notes 1.0.0")


def test_the_main_image_is_the_manifests_even_when_the_template_differs():
    digest = "git.pic.ngo/roof/pic-notes@sha256:" + "b" * 64
    result = render_compose(TEMPLATE, notes_manifest(image=digest), context())
    assert result.document["services"]["cell-notes"]["image"] == digest


def test_without_a_service_ip_the_container_joins_without_an_address():
    result = render_compose(
        one_service("restart: always"), plain_manifest(), context(service_ip=None)
    )
    networks = result.document["services"]["cell-notes"]["networks"]
    assert networks == {CELL_NETWORK: {}}


def test_a_sidecar_is_on_the_private_network_only():
    """The private network (the project's `default`, internal) has every container; the cell
    network only those that need it, keyed by container_name (no other name there)."""
    template = (
        one_service("depends_on: [db]")
        + "  db:\n    image: git.pic.ngo/roof/db:1\n"
        + "  web:\n    image: git.pic.ngo/roof/db:1\n    container_name: cell-notes-web\n"
        + "    networks: [pic-cell]\n    depends_on:\n      notes: {condition: service_started}\n"
    )
    result = render_compose(template, plain_manifest(), context())
    doc = result.document
    assert list(doc["services"]) == ["cell-notes", "db", "cell-notes-web"]
    main = doc["services"]["cell-notes"]
    assert main["networks"] == {
        "default": {"aliases": ["notes"]},
        CELL_NETWORK: {"ipv4_address": IP},
    }
    assert main["depends_on"] == ["db"]
    assert doc["services"]["db"]["networks"] == {"default": {}}
    web = doc["services"]["cell-notes-web"]
    assert web["networks"] == {"default": {"aliases": ["web"]}, CELL_NETWORK: {}}
    assert list(web["depends_on"]) == ["cell-notes"]
    assert doc["networks"] == {"default": {"internal": True}, CELL_NETWORK: {"external": True}}
    canonical = result.canonical
    assert canonical["networks"]["default"] == {
        "name": "notes_default",
        "ipam": {},
        "internal": True,
    }
    assert set(canonical["services"]["db"]["networks"]) == {"default"}


def test_a_sidecar_written_with_the_main_image_runs_the_published_one():
    """One image, two containers (the files example): the template's main image stands for
    the manifest's wherever it appears; another image stays as written."""
    digest = "git.pic.ngo/roof/pic-notes@sha256:" + "c" * 64
    written = yaml.safe_load(one_service(""))["services"]["notes"]["image"]
    template = (
        one_service("")
        + f"  notes-dav:\n    image: {written}\n    command: [dav]\n"
        + "  notes-db:\n    image: git.pic.ngo/roof/db:1\n"
    )
    services = render_compose(template, plain_manifest(image=digest), context()).document[
        "services"
    ]
    assert services["cell-notes"]["image"] == digest
    assert services["notes-dav"]["image"] == digest
    assert services["notes-db"]["image"] == "git.pic.ngo/roof/db:1"


def test_a_network_of_the_template_is_refused_for_every_service():
    template = one_service("networks: [internal]") + (
        "  notes-db:\n    image: git.pic.ngo/roof/db:1\n    networks: [internal]\n"
        "networks:\n  internal: {}\n"
    )
    with pytest.raises(RenderError) as caught:
        render_compose(template, plain_manifest(), context())
    assert "$.networks.internal: only the cell network" in caught.value.message


def test_manifest_env_merges_into_the_main_service_and_wins():
    manifest = plain_manifest(
        env=[{"key": "A", "value": "from-manifest"}, {"key": "C", "value": "${PIC_DOMAIN}"}]
    )
    template = one_service("environment:\n  - A=from-template\n  - B=kept")
    env = render_compose(template, manifest, context()).document["services"]["cell-notes"][
        "environment"
    ]
    assert env == {"A": "from-manifest", "B": "kept", "C": "pic.example.org"}


def test_manifest_volumes_replace_a_template_mount_at_the_same_path():
    manifest = plain_manifest(volumes=[{"name": "data", "mount": "/data/"}])
    template = (
        one_service("volumes:\n  - old:/data\n  - cache:/cache\n")
        + "volumes:\n  old: {}\n  cache: {}\n"
    )
    doc = render_compose(template, manifest, context()).document
    assert doc["services"]["cell-notes"]["volumes"] == ["cache:/cache", "data:/data"]
    assert doc["volumes"] == {"old": {}, "cache": {}, "data": {}}


def test_render_env_and_iptables_rules():
    manifest = notes_manifest()
    first = render_compose(TEMPLATE, manifest, context())
    env = render_env(manifest, context(secrets=first.secrets))
    assert env == {
        "NOTES_SECRET": first.secrets["NOTES_SECRET"],
        "ACCOUNTS_API_SECRET": first.secrets["ACCOUNTS_API"],  # the account API's own secret
        "NOTES_BASE_URL": "https://notes.pic.example.org/",
        "NOTES_TITLE": "Notes",
    }
    rules = render_iptables_rules(manifest, context())
    assert [(r.type, r.dest_ip, r.dest_port, r.proto) for r in rules] == [
        ("ACCEPT", IP, 8080, "tcp")
    ]


def test_render_env_needs_stored_secrets_and_rules_need_an_ip():
    with pytest.raises(RenderError, match="NOTES_SECRET has not been generated"):
        render_env(notes_manifest(), context())
    with pytest.raises(RenderError, match=r"\$\{SERVICE_IP\}"):
        render_iptables_rules(notes_manifest(), context(service_ip=None))


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        ({"domain": "bad domain"}, "domain"),
        ({"domain": "a\nservices:"}, "domain"),
        ({"cell_name": "Home!"}, "cell name"),
        ({"data_dir": "relative/dir"}, "data dir"),
        ({"service_ip": "10.0.0.5"}, "172.20.0.0/16"),
        ({"service_ip": "not-an-ip"}, "172.20.0.0/16"),
    ],
)
def test_cell_values_are_checked(changes, word):
    with pytest.raises(RenderError, match=word):
        render_compose(TEMPLATE, notes_manifest(), context(**changes))


def test_admin_config_errors_name_the_key():
    with pytest.raises(RenderError) as caught:
        render_compose(
            TEMPLATE, notes_manifest(), context(config={"max_upload_mb": "lots", "colour": "red"})
        )
    assert "config.max_upload_mb" in caught.value.message
    assert "config.colour" in caught.value.message
