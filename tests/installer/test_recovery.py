"""Crash safety and reconciliation: kill the installer mid-way, change Docker behind its back."""

from __future__ import annotations

import asyncio

import pytest

from shared.bus.kv import raw_items
from shared.client import StoreClient
from shared.events import Message, ProgressEvent, ReconcileReport
from shared.events.channels import RECONCILED
from tests.installer.helpers import containers_of, install, service_id, volumes_of
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def leases(stack: Stack) -> dict[str, str]:
    """The cell's IP leases, read with the installer's identity (no other may)."""
    bus = await stack.bus("installer", name="leases")
    try:
        return await _leases(bus.js, stack.cell)
    finally:
        await bus.close()


async def _leases(js, cell: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v.decode() for k, v in (await raw_items(js, f"pic_ipam_{cell}")).items()}


@pytest.mark.parametrize("step", ["allocate_ip", "compose_file", "containers", "health"])
async def test_killed_mid_install_converges(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory, step: str
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    victim = stack.installer

    def kill_at_step(event: ProgressEvent) -> None:
        if event.payload.step == step and event.payload.status.value == "started":
            victim.kill()

    install_task = asyncio.create_task(install(client, store, sid, timeout=90, progress=None))
    # Watch progress separately so the kill happens at the step, not after it.
    from shared.events.channels import PROGRESS

    async def on_progress(message: Message) -> None:
        if isinstance(message, ProgressEvent) and message.service_id == sid:
            kill_at_step(message)

    async with client.bus.watch(PROGRESS, on_progress):
        for _ in range(200):
            if not victim.running():
                break
            await asyncio.sleep(0.05)
    assert not victim.running(), f"the installer was not killed at {step}"
    stack.start_installer()
    result = await install_task
    assert result.payload.status == "succeeded", result.payload.message
    assert containers_of(sid) == [f"cell-{sid}"]
    assert volumes_of(sid) == [f"{sid}_notes-data"]
    held = await leases(stack)
    assert len(held) == 1 and sid in next(iter(held.values()))
    view = await client.service(sid)
    assert view is not None and view.state == "installed"


async def test_startup_reconciles_with_what_docker_runs(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    sid, stray = service_id(), service_id()
    stack_factory.used_ids.extend([sid, stray])
    manifest = web_manifest(sid, images.web)
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    assert (await install(client, store, sid)).payload.status == "succeeded"
    stack.installer.stop()
    docker("rm", "-f", f"cell-{sid}")
    docker(
        "run",
        "-d",
        "--name",
        f"cell-{stray}",
        "--network",
        "none",
        "--label",
        f"com.docker.compose.project={stray}",
        "--label",
        f"ngo.pic.store.service={stray}",
        "pic-store-test/busybox:base",
        "sleep",
        "600",
    )
    reports: list[ReconcileReport] = []
    arrived = asyncio.Event()

    async def on_report(message: Message) -> None:
        reports.append(message)  # type: ignore[arg-type]
        arrived.set()

    async with client.bus.watch(RECONCILED, on_report):
        stack.start_installer()
        await asyncio.wait_for(arrived.wait(), 30)
    corrections = {(c.service_id, c.what) for c in reports[0].payload.corrections}
    assert (sid, f"started cell-{sid} again (docker compose up)") in corrections
    assert (stray, f"removed orphan container cell-{stray}") in corrections
    assert containers_of(sid) == [f"cell-{sid}"]
    assert containers_of(stray) == []
