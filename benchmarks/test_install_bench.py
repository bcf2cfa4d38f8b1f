"""Install time of a one-container service, against Docker doing the same work by hand.

Both sides start from the image present locally, create the network, the named volume and
the container with its fixed IP, start it, and stop the clock when port 8080 answers at
that IP (the installer's health condition for a service without a healthcheck).
"""

from __future__ import annotations

import socket
import statistics
import time
import uuid

import pytest

from shared.client import StoreClient
from tests.installer.helpers import install, remove, service_id
from tests.parts.docker_engine import docker
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store
from tests.parts.test_images import ImageSet

ROUNDS = 5


def _answers(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.2):
            return True
    except OSError:
        return False


def docker_by_hand(image: str) -> float:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    docker("network", "create", "--subnet", "172.20.0.0/16", "--ip-range", "172.20.128.0/17",
           name)
    docker("volume", "create", f"{name}_data")
    docker("run", "-d", "--init", "--name", name, "--network", name, "--ip", "172.20.0.20",
           "-v", f"{name}_data:/data/notes", "-e", "NOTES_GREETING=hello", image)
    while not _answers("172.20.0.20", 8080):
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    docker("rm", "-f", name)
    docker("volume", "rm", f"{name}_data")
    docker("network", "rm", name)
    return elapsed


@pytest.mark.integration
async def test_install_time_against_docker_by_hand(stack: Stack, client: StoreClient, tmp_path,
                                                   images: ImageSet, stack_factory) -> None:
    docker("pull", "-q", images.web)
    by_hand = [docker_by_hand(images.web) for _ in range(ROUNDS)]
    ours = []
    for _ in range(ROUNDS):
        sid = service_id()
        stack_factory.used_ids.append(sid)
        # A backend makes the installer's health condition "port 8080 answers", as below.
        manifest = web_manifest(sid, images.web, has_subdomain=True, subdomain=sid,
                                backend=f"cell-{sid}:8080")
        store = write_store(tmp_path / sid, [(manifest, web_template(manifest))])
        started = time.perf_counter()
        result = await install(client, store, sid)
        ours.append(time.perf_counter() - started)
        assert result.payload.status == "succeeded", result.payload.message
        await remove(client, sid, purge=True)
    docker_ms = statistics.median(by_hand) * 1000
    ours_ms = statistics.median(ours) * 1000
    print(f"\ninstall of one container (median of {ROUNDS}): pic-store {ours_ms:.0f} ms, "
          f"docker CLI by hand {docker_ms:.0f} ms, ratio {ours_ms / docker_ms:.2f}")
    assert ours_ms / docker_ms < 20, "sanity bound only"
