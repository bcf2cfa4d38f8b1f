"""The Files reference service with a real WebDAV client: rclone (Debian's), configured only
from a peer's config (url, username, password), through Caddy over HTTPS with the cell's
own CA. The peer copies a folder up, lists it, renames and deletes; a peer added later gets
in, a removed one gets 401, a rotated password works and the old one does not; a restore
from a backup whose htpasswd holds old hashes still lets the peer in with the password
pic-store holds now (the reconcile checks each entry against it), and a peer removed since
the backup stays refused; the service removed, the peer cannot connect.

The peer reaches the cell at its name: rclone runs in a mount namespace of its own whose
/etc/hosts names the cell's router at 127.0.0.1 (Caddy listens on a loopback port here, so
the port is added to the url; nothing else of the config is changed)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.deploy.image import build_base as build_debian_base
from app.embedded import free_port
from app.embedded.example import EXAMPLE_STORE, REFERENCE_BASE
from services.router.tls import CA_ID
from shared.client import StoreClient
from shared.events.peers import PeerAction
from shared.peer_client import PeerRequestError, add_peer, ask_peer, remove_peer
from tests.backup.parts import backup, restore
from tests.installer.helpers import inspect, install, remove
from tests.parts.docker_engine import docker
from tests.parts.eventually import present
from tests.parts.images import push
from tests.parts.store import write_store
from tests.router.conftest import (  # the router tests' Caddy and dnsmasq fixtures
    CaddyRunner,
    DnsServer,
    caddy,  # noqa: F401
    dnsmasq,  # noqa: F401
)
from tests.router.dns_parts import ZONE
from tests.router.service_parts import ROUTER_ENV, router_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SID = "files"
SOURCE = EXAMPLE_STORE / "services" / "files"
RECONCILE = 1.0  # PIC_ACCOUNTS_RECONCILE_PERIOD here
ACCOUNTS_ENV = {
    "PIC_ACCOUNTS_RECONCILE_PERIOD": str(RECONCILE),
    "PIC_ACCOUNTS_CALL_TIMEOUT": "3",
    "PIC_ACCOUNTS_START_WINDOW": "20",
    "PIC_STEP_TIMEOUT": "30",
}


@pytest.fixture(scope="session")
def files_image(registry_host: str) -> str:
    """The example's image as the store publishes it, FROM the reference base."""
    if shutil.which("rclone") is None:
        pytest.fail("rclone is not installed (Debian package: rclone; deploy/setup-host.sh)")
    build_debian_base(*REFERENCE_BASE)
    docker("build", "--network", "none", "-q", "-t", "pic-store-test/files:1", str(SOURCE))
    return push("pic-store-test/files:1", f"{registry_host}/roof/files:1.0.0")


def files_store(root: Path, image: str) -> Path:
    manifest: dict[str, Any] = json.loads((SOURCE / "manifest.json").read_text())
    template = (SOURCE / "compose-template.yml").read_text()
    template = template.replace(manifest["image"], image)
    manifest["image"] = image
    store = write_store(root, [(manifest, template)])
    for name in ("Dockerfile", "dav.conf", "web.conf", "entrypoint.sh"):
        shutil.copy(SOURCE / name, store / "services" / SID / name)
    return store


class Peer:
    """rclone as a peer runs it: a `webdav` remote made of the peer's config alone."""

    def __init__(self, folder: Path, hosts: Path, ca: Path, port: int, config: dict[str, str]):
        self.folder, self.hosts, self.ca = folder, hosts, ca
        url = urlsplit(config["url"])
        assert url.scheme == "https" and url.hostname, config["url"]
        self.url = url._replace(netloc=f"{url.hostname}:{port}").geturl()
        self.username, self.password = config["username"], config["password"]
        folder.mkdir(parents=True, exist_ok=True)
        obscured = subprocess.run(
            ["rclone", "obscure", "-"],
            input=self.password,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.conf = self.folder / "rclone.conf"
        self.conf.write_text(
            "[cell]\ntype = webdav\nvendor = other\n"
            f"url = {self.url}\nuser = {self.username}\npass = {obscured}\n"
        )

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        rclone = [
            "rclone",
            "--config",
            str(self.conf),
            "--ca-cert",
            str(self.ca),
            "--low-level-retries",
            "1",
            "--retries",
            "1",
            "--contimeout",
            "5s",
            "--timeout",
            "10s",
            *argv,
        ]
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        done = subprocess.run(
            ["unshare", "--mount", "sh", "-c", script, str(self.hosts), *rclone],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check:
            assert done.returncode == 0, f"rclone {' '.join(argv)}:\n{done.stderr[-2000:]}"
        return done

    def listing(self, path: str = "cell:") -> list[str]:
        return sorted(self.run("lsf", "-R", path).stdout.splitlines())

    def refused(self) -> str:
        """rclone's error for a listing it could not make (it must fail)."""
        done = self.run("lsf", "cell:", check=False)
        assert done.returncode != 0, f"{self.username} listed the files: {done.stdout}"
        return done.stderr


async def configs(bus: Any, peer: str, within: float = 20) -> dict[str, str]:
    """The peer's Files config, once its account is made."""
    deadline = time.monotonic() + within
    while True:
        try:
            found = await ask_peer(bus, PeerAction.config, peer, timeout=10)
        except PeerRequestError as exc:  # the peer's event is not handled yet
            if "no peer named" not in str(exc) or time.monotonic() > deadline:
                raise
            found = {}
        if SID in found or time.monotonic() > deadline:
            assert SID in found, f"{peer} has no Files config: {found}"
            return dict(found[SID])
        await asyncio.sleep(0.2)


async def until(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.2)


def ok(peer: Peer) -> bool:
    return peer.run("lsf", "cell:", check=False).returncode == 0


async def test_a_peer_uses_files_with_rclone_end_to_end(
    stack_factory: Any,
    caddy: CaddyRunner,  # noqa: F811
    dnsmasq: DnsServer,  # noqa: F811
    files_image: str,
    tmp_path: Path,
) -> None:
    hosts, peers = tmp_path / "hosts", tmp_path / "peers"
    hosts.write_text(f"127.0.0.1 localhost\n127.0.0.1 files-dav.{ZONE} files.{ZONE}\n")
    https_port = free_port()
    async with caddy.raw_client() as raw:  # HTTP->HTTPS redirects: a loopback port, not 80
        (await raw.put("/config/apps/http/http_port", json=free_port())).raise_for_status()
    router = {**router_config(caddy, https_port, dnsmasq), "tls": "internal"}
    stack = stack_factory(cell_config={"domain": ZONE, "router": router}, **ACCOUNTS_ENV)
    stack_factory.used_ids.append(SID)
    stack.start("installer")
    stack.start("accounts")
    stack.start("router", **ROUTER_ENV)
    stack.start("backup")
    bus = await stack.bus("admin")
    client = StoreClient(bus)
    try:
        await present(bus, "accounts")
        started = time.monotonic()

        def mark(what: str) -> None:
            print(f"{time.monotonic() - started:5.1f} s {what}", flush=True)

        result = await install(client, files_store(tmp_path / "store", files_image), SID)
        assert result.payload.status == "succeeded", result.payload.message
        mark("installed")
        async with caddy.raw_client() as raw:
            ca_pem = (await raw.get(f"/pki/ca/{CA_ID}")).json()["root_certificate"]
        ca = tmp_path / "cell-ca.pem"
        ca.write_text(ca_pem)

        await add_peer(bus, "demo")
        demo = Peer(peers / "demo", hosts, ca, https_port, await configs(bus, "demo"))
        assert demo.username == "demo" and demo.url.startswith(f"https://files-dav.{ZONE}:")
        await until(lambda: ok(demo), 20, "demo lists the files (Caddy's certificate issued)")

        mark("demo in")
        # A folder copied up (its folders made with MKCOL), listed, a file renamed, one deleted.
        upload = tmp_path / "upload"
        (upload / "photos" / "2026").mkdir(parents=True)
        (upload / "notes.txt").write_text("milk, eggs\n")
        (upload / "photos" / "2026" / "sea.jpg").write_bytes(bytes(range(256)) * 300)
        (upload / "ünïcødé name.md").write_text("# hi\n")
        demo.run("copy", str(upload), "cell:upload")
        assert demo.listing("cell:upload") == sorted(
            ["notes.txt", "photos/", "photos/2026/", "photos/2026/sea.jpg", "ünïcødé name.md"]
        )
        demo.run("moveto", "cell:upload/notes.txt", "cell:upload/shopping.txt")
        demo.run("deletefile", "cell:upload/photos/2026/sea.jpg")
        assert demo.listing("cell:upload") == sorted(
            ["photos/", "photos/2026/", "shopping.txt", "ünïcødé name.md"]
        )
        assert demo.run("cat", "cell:upload/shopping.txt").stdout == "milk, eggs\n"

        mark("copied, listed, renamed, deleted")
        # A peer added later gets in (and sees what demo put there: one shared folder).
        await add_peer(bus, "alice")
        alice = Peer(peers / "alice", hosts, ca, https_port, await configs(bus, "alice"))
        assert alice.password != demo.password
        assert "shopping.txt" in alice.listing("cell:upload")

        mark("alice in")
        # Backed up now (alice's and demo's entries in it); then alice removed, and demo's
        # password rotated: the old one is refused, the new one works.
        made = await backup(bus, SID)
        assert made.payload.ok, made.payload.message
        (backup_id,) = made.payload.backups
        await remove_peer(bus, "alice")
        await until(lambda: not ok(alice), 10, "alice refused once removed")
        assert "401" in alice.refused()
        mark("backed up, alice removed")
        rotated = await ask_peer(bus, PeerAction.rotate, "demo", service=SID, timeout=20)
        old, demo = demo, Peer(peers / "demo-new", hosts, ca, https_port, dict(rotated[SID]))
        assert demo.password != old.password
        assert "401" in old.refused()
        assert "shopping.txt" in demo.listing("cell:upload")

        # Restored: the htpasswd file is the backup's (the old hash for demo, alice's entry),
        # the data too; the reconcile finds the hash refusing the password held and makes the
        # entry again, and deletes alice's again.
        mark("rotated")
        demo.run("deletefile", "cell:upload/shopping.txt")
        back = await restore(bus, backup_id, SID, replace=True)
        assert back.payload.ok, back.payload.message
        restored_at = time.monotonic()
        await until(lambda: ok(demo), 4 * RECONCILE + 5, "demo's current password after restore")
        print(f"current password accepted {time.monotonic() - restored_at:.1f} s after restore")
        assert "shopping.txt" in demo.listing("cell:upload"), "the backup's files are back"
        assert "401" in old.refused()
        assert "401" in alice.refused(), "a removed peer's entry came back with the backup"

        mark("restored, accounts in line")
        # The service removed: the peer cannot connect any more.
        gone = await remove(client, SID)
        assert gone.payload.status == "succeeded", gone.payload.message
        assert inspect("cell-files-dav") is None
        assert demo.run("lsf", "cell:", check=False).returncode != 0
        mark("removed")
    finally:
        await bus.close()
