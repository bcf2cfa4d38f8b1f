"""Issue #19, finding 4: a service answers on the cell network to its own container names
only, its other containers stay on a private network of its own, and an install that would
take another installed service's name is refused.

Real installer, real Docker engine; names are looked up by Docker's own DNS from containers
on the cell network."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from shared.client import StoreClient
from tests.installer.helpers import inspect, install, ip_of
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def template(sid: str, image: str, main: dict[str, Any], **sidecars: dict[str, Any]) -> str:
    """A main container keyed by the id, and sidecars; every container serves on 8080."""
    services = {sid: {"image": image, "container_name": f"cell-{sid}", "init": True, **main}}
    for key, body in sidecars.items():
        services[key] = {"image": image, "init": True, **body}
    return json.dumps({"services": services})  # JSON is YAML


def manifest(sid: str, image: str, container_name: str | None = None) -> dict[str, Any]:
    return web_manifest(
        sid, image, container_name=container_name or f"cell-{sid}", volumes=[], env=[]
    )


def lookup(container: str, name: str) -> set[str]:
    """The IPv4 addresses Docker's DNS gives `name` inside `container`."""
    out = docker(
        "exec", container, "busybox", "nslookup", "-type=a", name, "127.0.0.11", check=False
    )
    answer = out.split("Non-authoritative answer:", 1)[-1] if "answer" in out else ""
    return {
        line.split(":", 1)[1].strip()
        for line in answer.splitlines()
        if line.startswith("Address:") and "#" not in line and ":53" not in line
    }


def reaches(container: str, host: str) -> bool:
    """Does `container` get the web page of `host`:8080? (busybox's nc: its wget crashes.)"""
    request = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 " + host + " 8080"
    out = docker("exec", container, "sh", "-c", request, check=False)
    return "hello from" in out


def new_id() -> str:
    return f"n{uuid.uuid4().hex[:7]}"


async def test_a_service_cannot_answer_to_another_services_name(
    stack: Stack, client: StoreClient, images: ImageSet, tmp_path, stack_factory
) -> None:
    """A service with id `cell` once could name a sidecar `cell-<other>` (it starts with its
    id): Docker then answered `cell-<other>` with the sidecar's address on the cell network,
    beside the other service's own. Now only the named container answers to its name."""
    victim, attacker, third = new_id(), "cell", new_id()
    stack_factory.used_ids.extend([victim, attacker, third])
    sidecar = f"cell-{victim}"  # the victim's container_name, as the attacker's service key
    store = write_store(
        tmp_path / "store",
        [
            (manifest(victim, images.web), template(victim, images.web, {})),
            (
                manifest(attacker, images.web, container_name=f"cell-{third}x"),
                template(
                    attacker,
                    images.web,
                    {"container_name": f"cell-{third}x"},
                    **{sidecar: {"container_name": f"cell-{third}x-side"}},
                ),
            ),
            (manifest(third, images.web), template(third, images.web, {})),
        ],
    )
    for sid in (victim, attacker, third):
        result = await install(client, store, sid)
        assert result.payload.status == "succeeded", result.payload.message

    victim_ip = ip_of(inspect(f"cell-{victim}"), stack.network)  # type: ignore[arg-type]
    assert lookup(f"cell-{third}", f"cell-{victim}") == {victim_ip}
    assert reaches(f"cell-{third}", f"cell-{victim}")


async def test_a_sidecar_is_not_reachable_from_another_service(
    stack: Stack, client: StoreClient, images: ImageSet, tmp_path, stack_factory
) -> None:
    """A database sidecar is on its service's private network only: its own main container
    reaches it by its service key; another service's container can neither resolve nor
    reach it."""
    owner, other = new_id(), new_id()
    stack_factory.used_ids.extend([owner, other])
    db = f"{owner}-db"  # a name the old rules allowed too (the id and a suffix)
    store = write_store(
        tmp_path / "store",
        [
            (manifest(owner, images.web), template(owner, images.web, {}, **{db: {}})),
            (manifest(other, images.web), template(other, images.web, {})),
        ],
    )
    for sid in (owner, other):
        result = await install(client, store, sid)
        assert result.payload.status == "succeeded", result.payload.message

    assert reaches(f"cell-{owner}", db), "the main container finds its sidecar"
    assert lookup(f"cell-{other}", db) == set()
    assert not reaches(f"cell-{other}", db)
    sidecar = inspect(f"{owner}-{db}-1")
    assert sidecar is not None
    sidecar_ips = {n["IPAddress"] for n in sidecar["NetworkSettings"]["Networks"].values()}
    for ip in sidecar_ips:
        assert not reaches(f"cell-{other}", ip), ip
    assert stack.network not in sidecar["NetworkSettings"]["Networks"]
    # The private network has no way out: the sidecar reaches nothing beyond it.
    other_ip = ip_of(inspect(f"cell-{other}"), stack.network)  # type: ignore[arg-type]
    assert not reaches(f"{owner}-{db}-1", other_ip)


async def test_an_install_that_takes_an_installed_services_name_is_refused(
    stack: Stack, client: StoreClient, images: ImageSet, tmp_path, stack_factory
) -> None:
    """`wiki` may name a sidecar `cell-wiki-db`; if a service `wiki-db` (whose container is
    `cell-wiki-db`) is installed, the install is refused, naming both services."""
    wiki = new_id()
    wiki_db = f"{wiki}-db"
    stack_factory.used_ids.extend([wiki, wiki_db])
    store = write_store(
        tmp_path / "store",
        [
            (manifest(wiki_db, images.web), template(wiki_db, images.web, {})),
            (
                manifest(wiki, images.web),
                template(wiki, images.web, {}, **{wiki_db: {"container_name": f"cell-{wiki}-db"}}),
            ),
        ],
    )
    first = await install(client, store, wiki_db)
    assert first.payload.status == "succeeded", first.payload.message
    refused = await install(client, store, wiki)
    assert refused.payload.status == "failed"
    message = refused.payload.message or ""
    assert f"cell-{wiki}-db" in message
    assert f"installed service {wiki_db}" in message and wiki in message
    assert inspect(f"cell-{wiki}") is None, "nothing of the refused service runs"
    running = inspect(f"cell-{wiki}-db")
    assert running is not None and running["Config"]["Labels"]["ngo.pic.store.service"] == wiki_db
