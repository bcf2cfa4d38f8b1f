"""The real parts the suite stands on answer: a container runs, JetStream acknowledges."""

from __future__ import annotations

import uuid

import pytest
from nats.aio.client import Client as NATS

from tests.parts.docker_engine import docker
from tests.parts.images import build_base

pytestmark = pytest.mark.integration


def test_a_container_runs_and_prints(docker_engine: None) -> None:
    image = build_base()
    word = uuid.uuid4().hex
    out = docker("run", "--rm", "--network", "none", image, "echo", word)
    assert out == word


async def test_jetstream_acknowledges_a_publish(nc: NATS) -> None:
    js = nc.jetstream()
    stream = f"PROBE_{uuid.uuid4().hex[:8]}"
    await js.add_stream(name=stream, subjects=[f"probe.{stream}"])
    ack = await js.publish(f"probe.{stream}", b"hello")
    assert ack.stream == stream
    assert ack.seq == 1
    msg = await (await js.pull_subscribe(f"probe.{stream}", durable="p")).fetch(1, timeout=5)
    assert msg[0].data == b"hello"
    await js.delete_stream(stream)


def test_images_are_pushed_to_the_local_registry(docker_engine: None, registry_host: str) -> None:
    from tests.parts.images import push

    ref = push(build_base(), f"{registry_host}/roof/busybox:probe")
    assert ref.startswith(f"{registry_host}/roof/busybox@sha256:")
    docker("rmi", f"{registry_host}/roof/busybox:probe")
    docker("pull", "-q", ref)
