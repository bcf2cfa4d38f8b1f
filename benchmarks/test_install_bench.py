"""Install time through pic-store against `docker compose up -d` of the same rendered file.

Both sides start from the image present locally and the cell network in place, and stop the
clock when port 8080 answers at the service's IP (the installer's health condition for a
service without a healthcheck). What pic-store adds on top of Compose is the bus, the
verify step, the IP, the policy, the journal and the health wait.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from shared.client import StoreClient
from shared.docker.compose import compose_binary
from tests.installer.helpers import install, remove, service_id
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

ROUNDS = 10
AT_ONCE = 10


def _answers(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_for_port(ip: str) -> None:
    deadline = time.monotonic() + 30
    while not _answers(ip, 8080):
        assert time.monotonic() < deadline, f"{ip}:8080 never answered"
        time.sleep(0.01)


def _compose(project: str, file: Path, *args: str) -> None:
    subprocess.run(
        [compose_binary(), "-p", project, "-f", str(file), *args], check=True, capture_output=True
    )


def compose_up(project: str, file: Path, ip: str) -> float:
    """`docker compose up -d` of a rendered file until its port answers."""
    started = time.perf_counter()
    _compose(project, file, "up", "-d")
    _wait_for_port(ip)
    return time.perf_counter() - started


def compose_down(project: str, file: Path) -> None:
    _compose(project, file, "down", "-v", "--timeout", "1")


def _store(tmp_path: Path, sid: str, image: str) -> Path:
    # A backend makes the installer's health condition "port 8080 answers", as for Compose.
    manifest = web_manifest(
        sid, image, has_subdomain=True, subdomain=sid, backend=f"cell-{sid}:8080"
    )
    return write_store(tmp_path / sid, [(manifest, web_template(manifest))])


async def _installed_file(
    client: StoreClient, stack: Stack, tmp_path: Path, sid: str, image: str
) -> tuple[float, Path, str]:
    """Install through pic-store (timed), keep a copy of the file it ran, remove it."""
    store = _store(tmp_path, sid, image)
    started = time.perf_counter()
    result = await install(client, store, sid)
    elapsed = time.perf_counter() - started
    assert result.payload.status == "succeeded", result.payload.message
    view = await client.service(sid)
    assert view is not None and view.service_ip
    kept = tmp_path / f"{sid}.yml"
    shutil.copy(stack.data_dir / "services" / sid / "docker-compose.yml", kept)
    await remove(client, sid, purge=True)
    return elapsed, kept, view.service_ip


@pytest.mark.integration
async def test_install_against_docker_compose_up(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    docker("pull", "-q", images.web)
    ours, compose = [], []
    for _ in range(ROUNDS):
        sid = service_id()
        stack_factory.used_ids.append(sid)
        elapsed, file, ip = await _installed_file(client, stack, tmp_path, sid, images.web)
        ours.append(elapsed)
        compose.append(await asyncio.to_thread(compose_up, sid, file, ip))
        await asyncio.to_thread(compose_down, sid, file)
    ours_ms, compose_ms = statistics.median(ours) * 1000, statistics.median(compose) * 1000
    print(
        f"\ninstall of one container (median of {ROUNDS}): pic-store {ours_ms:.0f} ms, "
        f"docker compose up -d of the same file {compose_ms:.0f} ms, "
        f"ratio {ours_ms / compose_ms:.2f}"
    )
    assert ours_ms / compose_ms < 20, "sanity bound only"


@pytest.mark.integration
async def test_ten_installs_at_once(
    stack: Stack, client: StoreClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    """Wall time of ten at once over ten in a row, for pic-store and for Compose alone (the
    Compose side runs the files pic-store rendered, each with its own IP)."""
    docker("pull", "-q", images.web)
    ids = [service_id() for _ in range(AT_ONCE * 2)]
    stack_factory.used_ids.extend(ids)
    in_a_row, at_once = ids[:AT_ONCE], ids[AT_ONCE:]

    ours_serial = 0.0
    for sid in in_a_row:
        store = _store(tmp_path, sid, images.web)
        started = time.perf_counter()
        result = await install(client, store, sid)
        ours_serial += time.perf_counter() - started
        assert result.payload.status == "succeeded", result.payload.message
    files = []
    for sid in in_a_row:
        view = await client.service(sid)
        assert view is not None and view.service_ip
        kept = tmp_path / f"{sid}.yml"
        shutil.copy(stack.data_dir / "services" / sid / "docker-compose.yml", kept)
        files.append((sid, kept, view.service_ip))
        await remove(client, sid, purge=True)

    stores = [_store(tmp_path, sid, images.web) for sid in at_once]
    started = time.perf_counter()
    results = await asyncio.gather(
        *(install(client, store, sid) for store, sid in zip(stores, at_once, strict=True))
    )
    ours_parallel = time.perf_counter() - started
    assert all(r.payload.status == "succeeded" for r in results)
    for sid in at_once:
        await remove(client, sid, purge=True)

    compose_serial = 0.0
    for sid, file, ip in files:
        compose_serial += await asyncio.to_thread(compose_up, sid, file, ip)
    await asyncio.gather(*(asyncio.to_thread(compose_down, sid, file) for sid, file, _ in files))
    started = time.perf_counter()
    await asyncio.gather(*(asyncio.to_thread(compose_up, sid, file, ip) for sid, file, ip in files))
    compose_parallel = time.perf_counter() - started
    await asyncio.gather(*(asyncio.to_thread(compose_down, sid, file) for sid, file, _ in files))

    ours, theirs = ours_parallel / ours_serial, compose_parallel / compose_serial
    print(
        f"\n{AT_ONCE} installs at once over {AT_ONCE} in a row: pic-store {ours:.2f} "
        f"({ours_parallel:.1f} s / {ours_serial:.1f} s), docker compose up {theirs:.2f} "
        f"({compose_parallel:.1f} s / {compose_serial:.1f} s), difference "
        f"{ours - theirs:+.2f}"
    )
    assert ours < 3, "sanity bound only"
