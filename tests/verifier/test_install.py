"""End to end: `publish` an image into the real registry, then install it with the real
installer and verifier processes and the real Docker engine, in enforce and in warn mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main
from app.publish import PublishRequest, publish
from shared.bus import Bus
from shared.client import StoreClient
from shared.events import Message, ProgressEvent, StepResult
from shared.events.channels import STEP_RESULT
from tests.installer.helpers import inspect, install, service_id
from tests.installer.test_failures import assert_nothing_left, leases
from tests.parts.docker_engine import docker
from tests.parts.eventually import present
from tests.parts.image_set import ImageSet
from tests.parts.images import BASE_TAG, build_image, push
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store
from tests.verifier.conftest import Signer, cell_config, service_folder

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Cell = tuple[Stack, StoreClient]


@pytest.fixture
async def make_cell(
    stack_factory,
    registry_host: str,
) -> AsyncIterator[Callable[..., Awaitable[Cell]]]:
    buses: list[Bus] = []

    async def make(mode: str, *signers: Signer) -> Cell:
        stack = stack_factory(
            cell_config={
                "image_verification": {
                    "mode": mode,
                    "public_keys": [s.public_pem.decode() for s in signers],
                    "insecure_registries": [registry_host],
                }
            }
        )
        stack.start("verifier")
        stack.start("installer")
        bus = await stack.bus("admin", name="test-trust")
        buses.append(bus)
        await present(bus, "verify")
        return stack, StoreClient(bus)

    yield make
    for bus in buses:
        await bus.close()


async def published(
    tmp_path: Path,
    registry_host: str,
    signer: Signer,
    sid: str,
    local_tags: list[str],
    label: str = "1",
) -> Path:
    """A store whose service `sid` is built, pushed, signed by `signer` and pinned."""
    folder = service_folder(tmp_path / sid, registry_host, sid, label)
    local_tags.append(f"{registry_host}/roof/{sid}:1.0.0")
    await publish(PublishRequest(folder, f"{registry_host}/roof", signer.key, insecure=True))
    return tmp_path / sid


def manifest_image(store: Path, sid: str) -> str:
    return str(json.loads((store / "services" / sid / "manifest.json").read_text())["image"])


def verifier_log(stack: Stack) -> list[dict[str, Any]]:
    proc = next(p for p in stack.processes if p.name.startswith("verifier-"))
    lines = proc.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


async def test_a_published_image_installs_and_runs_its_verified_digest(
    make_cell,
    stack_factory,
    tmp_path,
    registry_host,
    signer: Signer,
    images: ImageSet,
    local_tags,
    monkeypatch,
) -> None:
    stack, client = await make_cell("enforce", signer)
    sid = service_id()
    stack_factory.used_ids.append(sid)
    folder = service_folder(tmp_path / "store", registry_host, sid)
    tag = f"{registry_host}/roof/{sid}:1.0.0"
    local_tags.append(tag)
    monkeypatch.setenv("COSIGN_PASSWORD", signer.password)
    key, _ = signer.write(tmp_path / "keys")
    code = await asyncio.to_thread(
        main,
        [
            "publish",
            str(folder),
            "--registry",
            f"{registry_host}/roof",
            "--key",
            str(key),
            "--bundle",
            "--insecure-registry",
        ],
    )
    assert code == 0
    pinned = manifest_image(tmp_path / "store", sid)
    assert pinned.startswith(f"{registry_host}/roof/{sid}@sha256:")

    # The tag is moved to other content after publishing: what runs must not change.
    moved = push(
        build_image(
            f"pic-store-test/moved:{sid}", f"FROM {BASE_TAG}\nLABEL ngo.pic.test.moved={sid}\n"
        ),
        tag,
    )
    local_tags.append(f"pic-store-test/moved:{sid}")
    assert moved.split("@")[1] != pinned.split("@")[1]

    progress: list[ProgressEvent] = []
    result = await install(client, tmp_path / "store", sid, progress)
    assert result.payload.status == "succeeded", result.payload.message
    assert "warnings" not in result.payload.message
    assert any(e.payload.step == "verify" and e.payload.status == "done" for e in progress)
    info = inspect(f"cell-{sid}")
    assert info is not None and info["State"]["Running"]
    assert info["Config"]["Image"] == pinned
    repo_digests = json.loads(
        docker("image", "inspect", info["Image"], "--format", "{{json .RepoDigests}}")
    )
    assert pinned in repo_digests and moved not in repo_digests
    verified = [e for e in verifier_log(stack) if e["event"] == "image_verified"]
    assert verified and verified[-1]["image"] == pinned
    assert verified[-1]["key_id"] == signer.key_id and verified[-1]["operation_id"]


async def test_unsigned_and_foreign_images_are_refused_leaving_nothing(
    make_cell,
    stack_factory,
    tmp_path,
    registry_host,
    signer: Signer,
    stranger: Signer,
    images: ImageSet,
    local_tags,
) -> None:
    stack, client = await make_cell("enforce", signer)
    unsigned_id, foreign_id = service_id(), service_id()
    stack_factory.used_ids.extend([unsigned_id, foreign_id])
    manifest = web_manifest(unsigned_id, images.web)  # pushed by digest, never signed
    unsigned = await install(
        client,
        write_store(tmp_path / "unsigned", [(manifest, web_template(manifest))]),
        unsigned_id,
    )
    assert unsigned.payload.status == "failed"
    assert f"image {images.web} refused: no signature found for" in unsigned.payload.message
    assert_nothing_left(stack, unsigned_id)

    store = await published(tmp_path, registry_host, stranger, foreign_id, local_tags)
    foreign = await install(client, store, foreign_id)
    assert foreign.payload.status == "failed"
    assert "signature does not verify under any trusted key" in foreign.payload.message
    assert_nothing_left(stack, foreign_id)
    assert await leases(stack) == []
    refused = [e for e in verifier_log(stack) if e["event"] == "image_refused"]
    assert len(refused) == 2 and all(e["mode"] == "enforce" for e in refused)


async def test_warn_mode_installs_with_a_warning(
    make_cell, stack_factory, tmp_path, signer: Signer, images: ImageSet
) -> None:
    stack, client = await make_cell("warn", signer)
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    warnings: list[str] = []

    async def on_result(message: Message) -> None:
        if isinstance(message, StepResult) and message.payload.warning:
            warnings.append(message.payload.warning)

    async with client.bus.watch(STEP_RESULT, on_result):
        result = await install(
            client, write_store(tmp_path / "warn", [(manifest, web_template(manifest))]), sid
        )
    assert result.payload.status == "succeeded", result.payload.message
    assert "not verified: no signature found for" in result.payload.message
    assert warnings and "no signature found" in warnings[0]  # the warning event
    info = inspect(f"cell-{sid}")
    assert info is not None and info["State"]["Running"]
    logged = [e for e in verifier_log(stack) if e["event"] == "image_not_verified"]
    assert logged and logged[-1]["mode"] == "warn" and logged[-1]["level"] == "warning"


async def test_a_key_change_is_picked_up_without_a_restart(
    make_cell,
    stack_factory,
    tmp_path,
    registry_host,
    signer: Signer,
    stranger: Signer,
    images: ImageSet,
    local_tags,
) -> None:
    stack, client = await make_cell("enforce", stranger)
    pids = [p.pid for p in stack.processes]
    sid = service_id()
    stack_factory.used_ids.append(sid)
    store = await published(tmp_path, registry_host, signer, sid, local_tags)
    refused = await install(client, store, sid)
    assert refused.payload.status == "failed"
    assert "does not verify under any trusted key" in refused.payload.message
    assert_nothing_left(stack, sid)

    signer.write(stack.data_dir / "config" / "api" / "keys")
    cell_config(
        stack.data_dir,
        mode="enforce",
        public_keys=["keys/cosign.pub"],
        insecure_registries=[registry_host],
    )
    accepted = await install(client, store, sid)
    assert accepted.payload.status == "succeeded", accepted.payload.message
    info = inspect(f"cell-{sid}")
    assert info is not None and info["Config"]["Image"] == manifest_image(store, sid)
    assert [p.pid for p in stack.processes] == pids and all(p.running() for p in stack.processes)


def add_sidecar(store: Path, sid: str, image: str) -> None:
    template = store / "services" / sid / "compose-template.yml"
    template.write_text(
        template.read_text() + f"  {sid}-side:\n    image: {image}\n"
        f"    container_name: cell-{sid}-side\n    init: true\n"
    )


async def test_sidecar_images_are_verified_too(
    make_cell, stack_factory, tmp_path, registry_host, signer: Signer, images: ImageSet, local_tags
) -> None:
    """Under enforce a sidecar's image needs a pin and a signature like the main one."""
    stack, client = await make_cell("enforce", signer)
    sid, donor = service_id(), service_id()
    stack_factory.used_ids.extend([sid, donor])
    store = await published(tmp_path, registry_host, signer, sid, local_tags)
    add_sidecar(store, sid, images.web)  # pushed by digest, never signed
    refused = await install(client, store, sid)
    assert refused.payload.status == "failed"
    assert f"image {images.web} refused: no signature found for" in refused.payload.message
    assert_nothing_left(stack, sid)

    signed = manifest_image(
        await published(tmp_path, registry_host, signer, donor, local_tags, label="donor"), donor
    )
    store = await published(tmp_path / "again", registry_host, signer, sid, local_tags)
    add_sidecar(store, sid, signed)
    result = await install(client, store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    side = inspect(f"cell-{sid}-side")
    assert side is not None and side["Config"]["Image"] == signed
