"""The accounts tests' parts: the demo image from examples/, a store around it, peers and
their configs over the bus, logins against the real container."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from shared.bus import Bus
from shared.client import StoreClient
from shared.events.peers import PeerAction
from shared.peer_client import Configs, ask_peer
from shared.roster import HTTP_PORTS
from tests.installer.helpers import inspect, ip_of, service_id
from tests.parts.docker_engine import docker
from tests.parts.eventually import present
from tests.parts.images import build_base, build_image, push
from tests.parts.stack import Stack
from tests.parts.store import write_store

DEMO = Path(__file__).resolve().parents[2] / "examples" / "store" / "services" / "accounts-demo"
ENV = {
    "PIC_STEP_TIMEOUT": "20",
    "PIC_ACCOUNTS_RECONCILE_PERIOD": "1",
    "PIC_ACCOUNTS_CALL_TIMEOUT": "1",
    "PIC_ACCOUNTS_START_WINDOW": "4",
}
assert HTTP_PORTS["accounts"] == 8474


def build_demo(registry_host: str) -> str:
    build_base()
    files = {name: (DEMO / name).read_text() for name in ("entrypoint.sh", "serve.sh")}
    dockerfile = (
        (DEMO / "Dockerfile")
        .read_text()
        .replace("pic-store/busybox:base", "pic-store-test/busybox:base")
    )
    tag = build_image("pic-store-test/accounts-demo:1", dockerfile, files)
    return push(tag, f"{registry_host}/roof/accounts-demo:1")


def demo_service(sid: str, image: str, **accounts: Any) -> tuple[dict[str, Any], str]:
    """The demo's manifest and template as service `sid` (container `cell-<sid>`)."""
    manifest = json.loads((DEMO / "manifest.json").read_text())
    template = (DEMO / "compose-template.yml").read_text()
    container = f"cell-{sid}"
    manifest.update(
        id=sid,
        image=image,
        container_name=container,
        subdomain=sid,
        backend=f"{container}:8080",
        peer_config_template={
            "url": "https://" + sid + ".{domain}/login",
            "username": "{peer.username}",
            "password": "{peer.service_credentials." + sid + ".password}",
        },
    )
    manifest["accounts"].update(accounts)
    template = (
        template.replace("git.pic.ngo/roof/pic-accounts-demo:1.0.0", image)
        .replace("cell-accounts-demo", container)
        .replace("  accounts-demo:", f"  {sid}:")
    )
    return manifest, template


def demo_store(root: Path, sid: str, image: str, **accounts: Any) -> Path:
    return write_store(root, [demo_service(sid, image, **accounts)])


def api_secret(sid: str) -> str:
    """The secret pic-store handed the container for its account API (from its env)."""
    info = inspect(f"cell-{sid}")
    assert info is not None, f"cell-{sid} does not exist"
    prefix = "ACCOUNTS_API_SECRET="
    values = [e[len(prefix) :] for e in info["Config"]["Env"] if e.startswith(prefix)]
    assert values and values[0], f"cell-{sid} got no {prefix[:-1]}"
    return values[0]


def address(stack: Stack, sid: str) -> str:
    info = inspect(f"cell-{sid}")
    assert info is not None, f"cell-{sid} does not exist"
    return ip_of(info, stack.network)


def usernames(stack: Stack, sid: str) -> list[str]:
    response = httpx.get(
        f"http://{address(stack, sid)}:8080/service-api/accounts",
        headers={"Authorization": f"Bearer {api_secret(sid)}"},
        timeout=3,
    )
    response.raise_for_status()
    return sorted(response.json())


def logs_in(stack: Stack, sid: str, config: dict[str, str]) -> bool:
    response = httpx.get(
        f"http://{address(stack, sid)}:8080/login",
        auth=(config["username"], config["password"]),
        timeout=3,
    )
    return response.status_code == 200


async def configs(bus: Bus, peer: str) -> Configs:
    return await ask_peer(bus, PeerAction.config, peer, timeout=10)


async def started(stack_factory, demo_image: str, tmp_path: Path, **accounts: object):  # type: ignore[no-untyped-def]
    stack = stack_factory(**ENV)
    stack.start("installer")
    stack.start("accounts")
    sid = service_id()
    stack_factory.used_ids.append(sid)
    store = demo_store(tmp_path / "store", sid, demo_image, **accounts)
    bus = await stack.bus("admin")
    await present(bus, "accounts")
    return stack, sid, store, bus


def bus_client(bus: Bus) -> StoreClient:
    return StoreClient(bus)


async def started_with(stack_factory, tmp_path: Path, services: list[tuple[dict[str, Any], str]]):  # type: ignore[no-untyped-def]
    """A stack with the installer and accounts running, and a store of `services`."""
    stack = stack_factory(**ENV)
    stack.start("installer")
    stack.start("accounts")
    stack_factory.used_ids.extend(manifest["id"] for manifest, _ in services)
    store = write_store(tmp_path / "store", services)
    bus = await stack.bus("admin")
    await present(bus, "accounts")
    return stack, store, bus


def raw_request(stack: Stack, url: str, method: str, body: str = "", *headers: str) -> int:
    """One HTTP request sent from a throwaway container on the cell network (a neighbour),
    as raw text through busybox nc; the status code it got (0: no answer)."""
    host, _, rest = url.removeprefix("http://").partition("/")
    ip, _, port = host.partition(":")
    lines = [f"{method} /{rest} HTTP/1.0", f"Content-Length: {len(body)}", *headers, "", body]
    answer = docker(
        "run",
        "--rm",
        "--network",
        stack.network,
        "-e",
        "REQ=" + "\r\n".join(lines),
        "pic-store-test/busybox:base",
        "sh",
        "-c",
        f'printf "%s" "$REQ" | nc -w 3 {ip} {port or 80} | head -1',
        check=False,
    )
    status = answer.split(" ")
    return int(status[1]) if len(status) > 1 and status[1].isdigit() else 0


def accounts_log(stack: Stack) -> str:
    proc = stack.running("accounts")
    return proc.log_path.read_text() if proc.log_path.exists() else ""


def accounts_metrics(stack: Stack) -> str:
    token = Path(stack.env["PIC_API_TOKEN_FILE"]).read_text().strip()
    port = stack.running("accounts").port
    response = httpx.get(
        f"http://127.0.0.1:{port}/metrics",
        headers={"Authorization": f"Bearer {token}"},
        timeout=3,
    )
    response.raise_for_status()
    return response.text
