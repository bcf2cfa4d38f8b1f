"""Install, reconfigure and remove a real service through the real installer process."""

from __future__ import annotations

import asyncio
import subprocess
import urllib.request
from pathlib import Path

import pytest

from shared.client import StoreClient
from shared.events import ProgressEvent
from tests.installer.helpers import (
    containers_of,
    env_of,
    inspect,
    install,
    ip_of,
    reconfigure,
    remove,
    service_id,
    volumes_of,
)
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def compose_ps(project: str) -> str:
    """What an admin sees with `docker compose -p <id> ps` (no file needed)."""
    done = subprocess.run(
        ["docker", "compose", "-p", project, "ps"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def commit_to_git(folder: Path) -> Path:
    git = ["git", "-C", str(folder), "-c", "user.email=t@example.test", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "store"]):
        subprocess.run([*git, *args], check=True)
    return folder


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


@pytest.fixture
def web_store(tmp_path, images: ImageSet, stack_factory):  # type: ignore[no-untyped-def]
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    return sid, write_store(tmp_path / "store", [(manifest, web_template(manifest))])


async def test_install_reconfigure_remove(stack: Stack, client: StoreClient, web_store) -> None:
    sid, store = web_store
    progress: list[ProgressEvent] = []
    result = await install(client, store, sid, progress=progress)
    assert result.payload.status == "succeeded", result.payload.message
    steps = [(p.payload.step, p.payload.status.value) for p in progress]
    assert ("containers", "done") in steps and ("health", "done") in steps

    info = inspect(f"cell-{sid}")
    assert info is not None and info["State"]["Running"]
    ip = ip_of(info, stack.network)
    assert ip == "172.20.0.20"
    env = env_of(info)
    assert env["NOTES_GREETING"] == "hello"
    assert env["NOTES_MODE"] == "test"  # from the manifest's env
    secret = env["NOTES_SECRET"]
    assert len(secret) >= 32
    labels = info["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == sid
    assert labels["com.docker.compose.service"] == f"cell-{sid}"  # keyed by container_name
    mounts = {m["Destination"]: m for m in info["Mounts"]}
    assert mounts["/data/notes"]["Name"] == f"{sid}_notes-data"
    assert "NOTES_GREETING=hello" in fetch(f"http://{ip}:8080/env.txt")
    compose = stack.data_dir / "services" / sid / "docker-compose.yml"
    assert compose.exists() and secret in compose.read_text()
    assert (compose.stat().st_mode & 0o077) == 0
    view = await client.service(sid)
    assert view is not None and view.state == "installed" and view.service_ip == ip
    assert f"cell-{sid}" in compose_ps(sid)

    first_id = info["Id"]
    result = await reconfigure(client, sid, config={"greeting": "bonjour"})
    assert result.payload.status == "succeeded", result.payload.message
    info = inspect(f"cell-{sid}")
    assert info is not None and info["Id"] != first_id
    assert ip_of(info, stack.network) == ip
    env = env_of(info)
    assert env["NOTES_GREETING"] == "bonjour" and env["NOTES_SECRET"] == secret
    started = fetch(f"http://{ip}:8080/env.txt")
    assert "bonjour" in started

    same = await reconfigure(client, sid, config={"greeting": "bonjour"})
    assert same.payload.status == "noop"
    assert inspect(f"cell-{sid}")["Id"] == info["Id"]  # type: ignore[index]

    result = await remove(client, sid)
    assert result.payload.status == "succeeded", result.payload.message
    assert containers_of(sid) == []
    assert volumes_of(sid) == [f"{sid}_notes-data"], "remove keeps data unless purge"
    assert await client.service(sid) is None

    again = await install(client, store, sid)
    assert again.payload.status == "succeeded", again.payload.message
    info = inspect(f"cell-{sid}")
    assert info is not None and env_of(info)["NOTES_SECRET"] == secret, "secrets are kept"

    result = await remove(client, sid, purge=True)
    assert result.payload.status == "succeeded", result.payload.message
    assert containers_of(sid) == [] and volumes_of(sid) == []
    assert not (stack.data_dir / "services" / sid).exists()
    assert secret not in stack.log(), "a generated secret reached the logs"


async def test_reconfigure_recreates_only_changed_containers(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    template = web_template(manifest) + (
        f"  {sid}-side:\n    image: {images.web}\n    init: true\n"
        f"    container_name: cell-{sid}-side\n"
        "    networks: [pic-cell]\n"  # on the cell network too: it has an address there
        "    environment:\n      APP_ROLE: sidecar\n"
    )
    store = write_store(tmp_path / "two", [(manifest, template)])
    result = await install(client, store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    assert sorted(containers_of(sid)) == sorted([f"cell-{sid}", f"cell-{sid}-side"])
    app, side = inspect(f"cell-{sid}"), inspect(f"cell-{sid}-side")
    assert app is not None and side is not None
    assert ip_of(side, stack.network).startswith("172.20.1"), "sidecars stay out of the pool"
    result = await reconfigure(client, sid, config={"greeting": "salut"})
    assert result.payload.status == "succeeded", result.payload.message
    assert result.payload.plan is not None
    assert result.payload.plan.recreate == [f"cell-{sid}"]
    assert inspect(f"cell-{sid}")["Id"] != app["Id"]  # type: ignore[index]
    assert inspect(f"cell-{sid}-side")["Id"] == side["Id"]  # type: ignore[index]


async def test_plan_shows_everything_and_changes_nothing(
    stack: Stack, client: StoreClient, web_store
) -> None:
    sid, store = web_store
    result = await install(client, store, sid, plan_only=True)
    assert result.payload.status == "planned"
    plan = result.payload.plan
    assert plan is not None
    assert plan.containers == [f"cell-{sid}"] and plan.volumes == [f"{sid}_notes-data"]
    assert "allocate_ip" in plan.steps and "containers" in plan.steps
    assert containers_of(sid) == [] and volumes_of(sid) == []
    assert await client.service(sid) is None
    # A plan that is refused (a setting the manifest does not have) changes nothing either:
    # no failed record for a service that was never installed.
    refused = await install(client, store, sid, plan_only=True, config={"no_such_key": "x"})
    assert refused.payload.status == "failed" and "no_such_key" in refused.payload.message
    assert await client.service(sid) is None


async def test_duplicate_command_changes_nothing(
    stack: Stack, client: StoreClient, web_store
) -> None:
    sid, store = web_store
    first = await install(client, store, sid, operation_id="op-dup-" + sid)
    assert first.payload.status == "succeeded", first.payload.message
    container = inspect(f"cell-{sid}")["Id"]  # type: ignore[index]
    second = await install(client, store, sid, operation_id="op-dup-" + sid)
    assert second.payload.status == "succeeded"
    assert second.payload.message == first.payload.message
    assert inspect(f"cell-{sid}")["Id"] == container  # type: ignore[index]
    same_version = await install(client, store, sid)
    assert same_version.payload.status == "noop"
    assert "already installed" in same_version.payload.message


async def test_concurrent_installs_get_distinct_ips(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    stack.start_installer()  # two replicas share the work and race for addresses
    ids = [service_id() for _ in range(10)]
    stack_factory.used_ids.extend(ids)
    manifests = [web_manifest(sid, images.web) for sid in ids]
    store = write_store(tmp_path / "store10", [(m, web_template(m)) for m in manifests])
    results = await asyncio.gather(*(install(client, store, sid, timeout=240) for sid in ids))
    assert [r.payload.status for r in results] == ["succeeded"] * 10, [
        r.payload.message for r in results
    ]
    addresses = [ip_of(inspect(f"cell-{sid}"), stack.network) for sid in ids]  # type: ignore[arg-type]
    assert len(set(addresses)) == 10
    assert all(a.startswith("172.20.0.") for a in addresses)


async def test_install_from_a_git_store(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    store = commit_to_git(write_store(tmp_path / "repo", [(manifest, web_template(manifest))]))
    result = await install(client, f"file://{store}", sid)
    assert result.payload.status == "succeeded", result.payload.message
    assert containers_of(sid) == [f"cell-{sid}"]
    missing = await install(client, f"file://{tmp_path}/nothing.git", service_id())
    assert missing.payload.status == "failed"
    assert "could not clone the store" in missing.payload.message
