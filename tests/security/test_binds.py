"""Issue #19, finding 1: Docker resolves a bind's source on the host at every start, so no
bind source may lie below a folder a container can write. Binds are sibling folders exactly
one level below the service's own folder, which no container mounts; the installer makes each
one a real folder right before `docker compose up`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.client import StoreClient
from shared.compose import check_template
from shared.manifest import parse_manifest
from tests.installer.helpers import containers_of, install, service_id
from tests.manifest.helpers import minimal
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

NESTED = (
    "      - ${PIC_DATA_DIR}/{sid}/a:/data/a\n      - ${PIC_DATA_DIR}/{sid}/a/b/etc:/host-etc\n"
)
SIBLINGS = "      - ${PIC_DATA_DIR}/{sid}/a:/data/a\n      - ${PIC_DATA_DIR}/{sid}/b:/data/b\n"


def _template(manifest: dict[str, Any], binds: str) -> str:
    return web_template(manifest) + binds.replace("{sid}", manifest["id"])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("${PIC_DATA_DIR}/notes/a/b/etc", "below ${PIC_DATA_DIR}/notes/a"),
        ("./a/b", "below ${PIC_DATA_DIR}/notes/a"),
        ("${PIC_DATA_DIR}/notes", "the service's own folder"),
        (".", "the service's own folder"),
    ],
)
def test_validate_refuses_a_bind_below_a_folder_a_container_can_write(
    source: str, why: str
) -> None:
    template = (
        "services:\n  notes:\n    image: git.pic.ngo/roof/x:1\n    container_name: cell-notes\n"
        f"    volumes:\n      - ${{PIC_DATA_DIR}}/notes/a:/data\n      - {source}:/host-etc\n"
    )
    issues = {i.path: i.message for i in check_template(template, parse_manifest(minimal()))}
    message = issues.get("$.services.notes.volumes[1].source", "")
    assert why in message, issues
    assert "${PIC_DATA_DIR}/notes/<name>" in message  # what to write instead
    assert "$.services.notes.volumes[0].source" not in issues  # a sibling folder is fine


@pytest.mark.integration
@pytest.mark.slow
async def test_a_container_that_swaps_its_folder_for_a_symlink_mounts_nothing_of_the_host(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    canary = tmp_path / "canary"  # outside the data dir: what the attack aims at
    canary.mkdir()
    (canary / "passwd").write_text("root:x:0:0\n")
    manifest = web_manifest(sid, images.web)

    nested = write_store(tmp_path / "nested", [(manifest, _template(manifest, NESTED))])
    refused = await install(client, nested, sid)
    assert refused.payload.status == "failed", "a bind below a writable folder was installed"
    assert f"${{PIC_DATA_DIR}}/{sid}/a/b/etc" in refused.payload.message
    assert containers_of(sid) == []

    store = write_store(tmp_path / "store", [(manifest, _template(manifest, SIBLINGS))])
    result = await install(client, store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    own = stack.data_dir / "data" / sid
    container = f"cell-{sid}"
    # The tenant turns every folder it can write into a way to the canary, then exits.
    for folder in ("/data/a", "/data/b"):
        docker("exec", container, "busybox", "rm", "-rf", f"{folder}/b", f"{folder}/etc")
        docker("exec", container, "busybox", "ln", "-s", str(canary), f"{folder}/b")
        docker("exec", container, "busybox", "ln", "-s", "/", f"{folder}/etc")
    docker("restart", "--time", "1", container)
    compose_file = stack.data_dir / "services" / sid / "docker-compose.yml"
    docker(
        "compose", "-p", sid, "--project-directory", str(own), "-f", str(compose_file),
        "up", "-d", "--force-recreate", "--no-build", "--pull", "never",
    )  # fmt: skip

    assert sorted(p.name for p in canary.iterdir()) == ["passwd"]
    assert (canary / "passwd").read_text() == "root:x:0:0\n"
    binds = docker(
        "inspect", "--format", '{{range .Mounts}}{{if eq .Type "bind"}}{{.Source}} {{end}}{{end}}',
        container,
    )  # fmt: skip
    assert sorted(binds.split()) == [str(own / "a"), str(own / "b")]
    seen = docker("exec", container, "busybox", "cat", "/data/a/b/passwd", check=False)
    assert "root:x" not in seen
    for name in ("a", "b"):  # still the real folders the installer made
        assert (own / name).is_dir() and not (own / name).is_symlink()
