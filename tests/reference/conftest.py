"""Parts the reference services' tests share: the Email image, and a cell with the Email
service installed for some peers (test_email.py, test_email_backup.py)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.deploy.image import build_base
from app.embedded.example import REFERENCE_BASE
from shared.bus import Bus
from shared.client import StoreClient
from shared.peer_client import PeerRequestError, add_peer
from tests.accounts.helpers import ENV, configs
from tests.installer.helpers import inspect, install, ip_of, service_id
from tests.parts.eventually import eventually, present
from tests.parts.host_tables import clear_cell, leftovers
from tests.parts.images import build_image, push
from tests.parts.stack import Stack
from tests.parts.store import write_store

EMAIL = Path(__file__).resolve().parents[2] / "examples" / "store" / "services" / "email"
EMAIL_FILES = (
    "dovecot.conf",
    "main.cf",
    "master.cf",
    "sender_login_maps",
    "entrypoint.sh",
    "mailctl",
)
VPN_SUBNET = "198.18.25.0/24"  # benchmarking range: no real peer lives there


@pytest.fixture(scope="session")
def email_image(registry_host: str) -> str:
    """The Email image, built from examples/ FROM the reference base and pushed once."""
    build_base(*REFERENCE_BASE)
    files = {name: (EMAIL / name).read_text() for name in EMAIL_FILES}
    tag = build_image("pic-store-test/email:1", (EMAIL / "Dockerfile").read_text(), files)
    return push(tag, f"{registry_host}/roof/email:1")


def email_service(sid: str, image: str) -> tuple[dict[str, Any], str]:
    """The example's manifest and template as service `sid` (container `cell-<sid>`)."""
    text = (EMAIL / "manifest.json").read_text()
    text = text.replace("cell-email", f"cell-{sid}").replace(
        "service_credentials.email.", f"service_credentials.{sid}."
    )
    manifest = json.loads(text)
    manifest.update(id=sid, image=image)
    template = (
        (EMAIL / "compose-template.yml")
        .read_text()
        .replace("git.pic.ngo/roof/pic-email:1.0.0", image)
        .replace("cell-email", f"cell-{sid}")
        .replace("  email:", f"  {sid}:")
    )
    return manifest, template


@dataclass
class EmailCell:
    """A cell (installer, accounts, netpolicy for VPN_SUBNET, and any more services asked
    for) with the Email service `sid` installed."""

    stack: Stack
    bus: Bus
    client: StoreClient
    sid: str
    domain: str

    @property
    def container(self) -> str:
        return f"cell-{self.sid}"

    def address(self) -> str:
        """The service's address on the cell network (a new container may have another)."""
        info = inspect(self.container)
        assert info is not None, f"no container {self.container}"
        return ip_of(info, self.stack.network)

    async def has_config(self, peer: str) -> bool:
        try:
            return self.sid in await configs(self.bus, peer)
        except PeerRequestError:  # the accounts service has not heard of the peer yet
            return False

    async def config(self, peer: str, within: float = 10) -> dict[str, str]:
        """The peer's mail config, once the accounts service has made it."""
        await eventually(lambda: self.has_config(peer), within, what=f"{peer}'s mail account")
        return dict((await configs(self.bus, peer))[self.sid])


@contextlib.asynccontextmanager
async def email_cell(
    stack_factory: Any, image: str, tmp_path: Path, peers: tuple[str, ...], *more: str
) -> AsyncIterator[EmailCell]:
    """The cell with `peers` added before the install, and the `more` services started;
    afterwards its netpolicy stopped and its rules taken off this machine (checked)."""
    # Calls get the accounts service's default time (5 s): a write here is three Docker calls.
    env = {**ENV, "PIC_ACCOUNTS_CALL_TIMEOUT": "5"}
    stack = stack_factory(cell_config={"netpolicy": {"vpn_subnet": VPN_SUBNET}}, **env)
    sid = service_id()
    stack_factory.used_ids.append(sid)
    store = write_store(tmp_path / "store", [email_service(sid, image)])
    stack.start("installer")
    stack.start("accounts")
    stack.start("netpolicy", PIC_NETPOLICY_RECONCILE_PERIOD="2")
    for service in more:
        stack.start(service)
    bus = await stack.bus("admin")
    client = StoreClient(bus)
    try:
        await present(bus, "accounts")
        for peer in peers:
            await add_peer(bus, peer)
        result = await install(client, store, sid)
        assert result.payload.status == "succeeded", result.payload.message
        yield EmailCell(stack, bus, client, sid, f"{stack.cell}.test")
    finally:
        await bus.close()
        for proc in stack.processes:
            if proc.name.startswith("netpolicy-"):
                proc.stop()
        await clear_cell(stack.cell, stack.data_dir)
        assert leftovers(stack.cell, sid) == [], "the test cell left something in the host's tables"
