"""Failures leave nothing behind: bad manifests, unhealthy containers, refused steps."""

from __future__ import annotations

import asyncio
import json

import pytest

from shared.bus.kv import raw_items
from shared.client import StoreClient
from shared.contract.presence import Presence, announce
from shared.events import StepRequest
from shared.events.messages import StepResultPayload
from tests.installer.helpers import (
    StandIn,
    containers_of,
    inspect,
    install,
    remove,
    service_id,
    volumes_of,
)
from tests.parts.docker_engine import docker
from tests.parts.eventually import present
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def leases(stack: Stack) -> list[str]:
    """The addresses leased in the cell's IP pool (an empty bucket is the only "none"), read
    with the installer's identity: no other may read its buckets."""
    bus = await stack.bus("installer", name="leases")
    try:
        return list(await raw_items(bus.js, f"pic_ipam_{stack.cell}"))
    finally:
        await bus.close()


def assert_nothing_left(stack: Stack, sid: str) -> None:
    assert containers_of(sid) == []
    assert volumes_of(sid) == []
    assert not (stack.data_dir / "services" / sid / "docker-compose.yml").exists()
    out = docker(
        "network", "inspect", stack.network, "--format", "{{json .Containers}}", check=False
    )
    assert f"cell-{sid}" not in out


async def test_bad_manifest_is_refused_with_every_error(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet
) -> None:
    sid = service_id()
    manifest = web_manifest(
        sid,
        "docker.io/library/nginx:latest",
        container_name="nginx",
        volumes=[{"name": "x", "mount": "/etc"}],
    )
    store = write_store(tmp_path / "bad", [(manifest, web_template(manifest))])
    result = await install(client, store, sid)
    assert result.payload.status == "failed"
    message = result.payload.message
    assert "$.image" in message and "$.container_name" in message and "$.volumes[0]" in message
    assert_nothing_left(stack, sid)
    assert await leases(stack) == []


async def test_unhealthy_container_is_rolled_back(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.unhealthy)
    store = write_store(tmp_path / "sick", [(manifest, web_template(manifest))])
    result = await install(client, store, sid)
    assert result.payload.status == "failed"
    assert "unhealthy" in result.payload.message
    assert_nothing_left(stack, sid)
    assert await leases(stack) == []
    view = await client.service(sid)
    assert view is not None and view.state == "failed" and "unhealthy" in view.last_error
    cleaned = await remove(client, sid)
    assert cleaned.payload.status == "succeeded"
    assert await client.service(sid) is None


async def test_a_refused_remote_step_rolls_back_everything(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    # The router is not built yet in this issue: a stand-in participant refuses the routes
    # step, a fault the missing real router cannot be made to produce.
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(
        sid, images.web, has_subdomain=True, subdomain=sid, backend=f"cell-{sid}:8080"
    )
    store = write_store(tmp_path / "routes", [(manifest, web_template(manifest))])
    asked: list[str] = []

    async def refuse(request: StepRequest) -> StepResultPayload:
        asked.append(f"{request.payload.step}:{request.payload.action.value}")
        ok = request.payload.action.value == "compensate"
        return StepResultPayload(
            step=request.payload.step,
            action=request.payload.action,
            ok=ok,
            reason="" if ok else "port 80 is on fire",
        )

    stop = asyncio.Event()
    bus = await stack.bus("router", name="stand-in")
    tasks = StandIn("router", refuse).tasks(bus, stop)
    try:
        await present(bus, "routes")
        result = await install(client, store, sid)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await bus.close()
    assert result.payload.status == "failed"
    assert "port 80 is on fire" in result.payload.message
    assert asked == ["routes:apply"]
    assert_nothing_left(stack, sid)
    assert await leases(stack) == []


async def test_a_silent_participant_times_out_and_rolls_back(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    # A participant that announces itself but never answers: a fault made on purpose.
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(
        sid,
        images.web,
        has_storage=True,
        backup={"volumes": [{"container": f"cell-{sid}", "path": "/data/notes", "name": "notes"}]},
    )
    store = write_store(tmp_path / "silent", [(manifest, web_template(manifest))])
    stop = asyncio.Event()
    bus = await stack.bus("backup", name="silent")
    task = asyncio.create_task(announce(bus, Presence(service="backup", steps=["backup"]), stop))
    try:
        await present(bus, "backup")
        result = await install(client, store, sid)
    finally:
        stop.set()
        await task
        await bus.close()
    assert result.payload.status == "failed"
    assert "did not answer" in result.payload.message
    assert_nothing_left(stack, sid)


async def test_container_name_taken_by_a_stranger_is_refused_up_front(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    docker(
        "run",
        "-d",
        "--name",
        f"cell-{sid}",
        "--network",
        "none",
        "pic-store-test/busybox:base",
        "sleep",
        "600",
    )
    try:
        manifest = web_manifest(sid, images.web)
        store = write_store(tmp_path / "clash", [(manifest, web_template(manifest))])
        result = await install(client, store, sid)
        assert result.payload.status == "failed"
        assert "pre-flight" in result.payload.message
        assert f"cell-{sid} already exists" in result.payload.message
        stranger = inspect(f"cell-{sid}")
        assert stranger is not None and stranger["State"]["Running"], "never touched"
        assert await leases(stack) == []
    finally:
        docker("rm", "-f", f"cell-{sid}", check=False)


async def test_remove_works_when_the_containers_are_already_gone(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    store = write_store(tmp_path / "gone", [(manifest, web_template(manifest))])
    assert (await install(client, store, sid)).payload.status == "succeeded"
    docker("rm", "-f", f"cell-{sid}")
    result = await remove(client, sid)
    assert result.payload.status == "succeeded", result.payload.message
    assert await leases(stack) == []
    never = await remove(client, service_id())
    assert never.payload.status == "noop" and "not installed" in never.payload.message


async def test_upgrade_keeps_data_and_downgrade_needs_confirmation(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    v1 = web_manifest(sid, images.web, version="1.0.0")
    v2 = web_manifest(sid, images.web_v2, version="1.1.0")
    assert (
        await install(client, write_store(tmp_path / "v1", [(v1, web_template(v1))]), sid)
    ).payload.status == "succeeded"
    docker("exec", f"cell-{sid}", "sh", "-c", "echo keep-me > /data/notes/user-file")
    up = await install(client, write_store(tmp_path / "v2", [(v2, web_template(v2))]), sid)
    assert up.payload.status == "succeeded", up.payload.message
    info = inspect(f"cell-{sid}")
    assert info is not None and info["Config"]["Image"] == images.web_v2
    assert docker("exec", f"cell-{sid}", "cat", "/data/notes/user-file") == "keep-me"
    view = await client.service(sid)
    assert view is not None and view.version == "1.1.0"

    broken = web_manifest(sid, images.unhealthy, version="2.0.0")
    bad = await install(client, write_store(tmp_path / "v3", [(broken, web_template(broken))]), sid)
    assert bad.payload.status == "failed" and "unhealthy" in bad.payload.message
    view = await client.service(sid)
    assert view is not None and (view.state, view.version) == ("installed", "1.1.0")
    assert "unhealthy" in view.last_error
    info = inspect(f"cell-{sid}")
    assert info is not None and info["State"]["Running"], "the old version runs again"
    assert info["Config"]["Image"] == images.web_v2
    assert docker("exec", f"cell-{sid}", "cat", "/data/notes/user-file") == "keep-me"

    down = await install(client, tmp_path / "v1", sid)
    assert down.payload.status == "failed" and "must be confirmed" in down.payload.message
    assert inspect(f"cell-{sid}")["Config"]["Image"] == images.web_v2  # type: ignore[index]
    confirmed = await install(client, tmp_path / "v1", sid, confirm_downgrade=True)
    assert confirmed.payload.status == "succeeded", confirmed.payload.message
    assert docker("exec", f"cell-{sid}", "cat", "/data/notes/user-file") == "keep-me"
    assert json.loads(view.model_dump_json())["state"] == "installed"


async def test_a_full_ip_pool_is_refused_up_front(
    stack_factory,
    tmp_path,
    images: ImageSet,
) -> None:
    stack = stack_factory(PIC_POOL_FIRST="172.20.0.20", PIC_POOL_LAST="172.20.0.20")
    stack.start_installer()
    first, second = service_id(), service_id()
    stack_factory.used_ids.extend([first, second])
    manifests = [web_manifest(sid, images.web) for sid in (first, second)]
    store = write_store(tmp_path / "pool", [(m, web_template(m)) for m in manifests])
    bus = await stack.bus("admin", name="pool-test")
    try:
        client = StoreClient(bus)
        assert (await install(client, store, first)).payload.status == "succeeded"
        refused = await install(client, store, second)
    finally:
        await bus.close()
    assert refused.payload.status == "failed"
    assert "no free cell IP address" in refused.payload.message
    assert containers_of(second) == [] and volumes_of(second) == []


async def test_an_unreachable_docker_engine_is_named() -> None:
    from shared.docker import DockerEngine
    from shared.errors import PartUnavailableError

    engine = DockerEngine("unix:///nonexistent/docker.sock")
    with pytest.raises(PartUnavailableError, match="the Docker engine does not answer"):
        await engine.ping()
    await engine.close()
