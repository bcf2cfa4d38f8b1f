"""The Calendar reference service (examples/store/services/calendar: Radicale) used by a real
CalDAV client (the `caldav` package) over HTTPS through the cell's Caddy, trusting only the
cell's internal CA, with nothing but what each peer's config gives it (url, username,
password). The service's name is found through the cell's own DNS server (dnsmasq), as a
peer's resolver would; only the port is the test's (Caddy listens on a loopback port, not 443).

One cell and one installed service for the module: the tests run in order, each going on
from what the one before left (peers, calendars, the backup)."""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import fcntl
import json
import os
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import caldav
import dns.message
import dns.query
import dns.rdatatype
import pytest
import requests
from caldav.lib import error as dav_error

from app.embedded import ManagedProcess, free_port
from app.embedded.api_token import ensure_api_token
from app.embedded.bus_identity import BusAuthority
from app.embedded.example import REFERENCE_BASE
from app.embedded.parts import start_dnsmasq
from app.embedded.process import stop_together
from services.accounts.managers import Calls, manager_for
from services.accounts.managers.calendar import FILE, CalendarManager
from services.accounts.state import Target
from services.router.tls import CA_ID
from shared.bus import Bus
from shared.client import StoreClient
from shared.config import CellConfig, ImageVerification, VerificationMode
from shared.docker.engine import DockerEngine
from shared.events.peers import PeerAction
from shared.peer_client import PeerRequestError, add_peer, ask_peer, remove_peer
from tests.backup.parts import backup, restore, verify
from tests.installer.helpers import inspect, install, remove
from tests.parts.docker_engine import docker
from tests.parts.eventually import eventually
from tests.parts.images import push
from tests.parts.stack import CELL_TURN, Stack, cleanup_docker, register_cell
from tests.router.conftest import CaddyRunner


def on_a_cell(test: Callable[..., Any]) -> Callable[..., Any]:
    """A test on the module's cell: real NATS, Docker, Caddy, dnsmasq and registry."""
    marked: Callable[..., Any] = pytest.mark.integration(pytest.mark.slow(test))
    return marked


T = TypeVar("T")
SERVICE = Path(__file__).resolve().parents[2] / "examples" / "store" / "services" / "calendar"
SID = "calendar"
EVENT_UID = "pic-calendar-test-1"
EVENT = f"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//pic-store tests//calendar//EN
BEGIN:VEVENT
UID:{EVENT_UID}
DTSTAMP:20260101T090000Z
DTSTART:20260105T100000Z
DTEND:20260105T110000Z
SUMMARY:Plant the tomatoes
END:VEVENT
END:VCALENDAR
"""
ENV = {
    "PIC_STEP_TIMEOUT": "20",
    "PIC_ACCOUNTS_RECONCILE_PERIOD": "1",
    "PIC_ACCOUNTS_CALL_TIMEOUT": "2",
    "PIC_ACCOUNTS_START_WINDOW": "10",
    "PIC_ROUTER_PROBE_PERIOD": "0.2",
    "PIC_ROUTER_RECONCILE_PERIOD": "1",
}


@dataclass
class CalendarCell:
    stack: Stack
    bus: Bus
    client: StoreClient
    domain: str
    https_port: int
    dns_port: int
    ca_file: Path

    async def config(self, peer: str) -> dict[str, str]:
        configs = await ask_peer(self.bus, PeerAction.config, peer, timeout=10)
        assert SID in configs, f"{peer} has no calendar config: {sorted(configs)}"
        return dict(configs[SID])

    def resolve(self, name: str) -> str | None:
        """The name's address as the cell's DNS server (dnsmasq) answers it; None: no record."""
        query = dns.message.make_query(name, dns.rdatatype.A)
        answer = dns.query.udp(query, "127.0.0.1", port=self.dns_port, timeout=2)
        for rrset in answer.answer:
            for item in rrset:
                if item.rdtype == dns.rdatatype.A:
                    return str(item.address)
        return None

    @contextlib.contextmanager
    def resolver(self) -> Iterator[None]:
        """Names in the cell's domain resolved by the cell's DNS server, their port 443 being
        the loopback port Caddy listens on; every other name as before."""
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(host, str) and host.endswith("." + self.domain):
                address = self.resolve(host)
                if address is None:
                    raise socket.gaierror(socket.EAI_NONAME, f"{host}: no such name")
                return real(address, self.https_port if int(port) == 443 else port, *args, **kwargs)
            return real(host, port, *args, **kwargs)

        socket.getaddrinfo = getaddrinfo
        try:
            yield
        finally:
            socket.getaddrinfo = real

    async def use(self, config: dict[str, str], work: Callable[[caldav.DAVClient], T]) -> T:
        """Run `work` with a CalDAV client made from the peer's config alone (in a thread:
        the client blocks)."""

        def run() -> T:
            with (
                self.resolver(),
                caldav.DAVClient(
                    url=config["url"],
                    username=config["username"],
                    password=config["password"],
                    ssl_verify_cert=str(self.ca_file),
                    timeout=10,
                ) as client,
            ):
                return work(client)

        return await asyncio.to_thread(run)


def build_calendar_image(registry_host: str) -> str:
    from app.deploy.image import build_base

    build_base(*REFERENCE_BASE)
    docker("build", "--network", "none", "-q", "-t", "pic-store-test/calendar:1", str(SERVICE))
    return push("pic-store-test/calendar:1", f"{registry_host}/roof/pic-calendar:1.0.0")


def write_calendar_store(root: Path, image: str) -> Path:
    """The example store's Calendar, its image the one just built (by digest)."""
    folder = root / "services" / SID
    folder.mkdir(parents=True)
    manifest = json.loads((SERVICE / "manifest.json").read_text())
    template = (SERVICE / "compose-template.yml").read_text()
    (folder / "manifest.json").write_text(json.dumps({**manifest, "image": image}))
    (folder / "compose-template.yml").write_text(template.replace(manifest["image"], image))
    entry = {k: manifest[k] for k in ("id", "name", "version")}
    (root / "index.json").write_text(json.dumps({"services": [entry]}))
    return root


@pytest.fixture(scope="module")
async def cell(
    nats_url: str,
    nats_server: ManagedProcess,
    bus_authority: BusAuthority,
    registry_host: str,
    docker_engine: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[CalendarCell]:
    """A cell (installer, accounts, router with Caddy and dnsmasq, backup) with the Calendar
    installed and the peer alice; everything removed afterwards."""
    # Built (and pushed) while the cell waits for its turn and starts.
    building = asyncio.ensure_future(asyncio.to_thread(build_calendar_image, registry_host))
    tmp = tmp_path_factory.mktemp("calendar")
    name = f"t{uuid.uuid4().hex[:10]}"
    domain = f"{name}.test"
    data_dir = tmp / name
    network = f"pic-{name}"
    try:
        with contextlib.ExitStack() as parts, CELL_TURN.open("a+") as turn:
            # The cell subnet, taken as the cell_turn fixture takes it.
            await asyncio.to_thread(fcntl.flock, turn, fcntl.LOCK_EX)
            caddy = CaddyRunner(tmp / "caddy")
            parts.callback(caddy.stop_all)
            caddy.start()
            async with caddy.raw_client() as admin:
                # Caddy's HTTP->HTTPS redirects on a loopback port, not :80.
                put = await admin.put("/config/apps/http/http_port", json=free_port())
                put.raise_for_status()
            dns_port, https_port = free_port(), free_port()
            hostsdir = tmp / "hosts.d"
            dnsmasq = start_dnsmasq(tmp / "dnsmasq", dns_port, hostsdir, domain)
            parts.callback(dnsmasq.stop)
            router = {
                "caddy_admin_url": caddy.admin_url,
                "tls": "internal",
                "listen": [f"127.0.0.1:{https_port}"],
                "upstream_mode": "ip",
                "dns": {
                    "backend": "hostsdir",
                    "hostsdir": str(hostsdir),
                    "server": "127.0.0.1",
                    "port": dns_port,
                },
            }
            CellConfig.model_validate(
                {
                    **CellConfig(
                        cell_name=name,
                        domain=domain,
                        cell_address="127.0.0.1",
                        allowed_image_prefix=f"{registry_host}/roof/",
                        allow_local_stores=True,
                        image_verification=ImageVerification(mode=VerificationMode.off),
                    ).model_dump(),
                    "router": router,
                }
            ).write(data_dir)
            env = {
                "PATH": os.environ["PATH"],
                "PIC_NATS_URL": nats_url,
                "PIC_CELL": name,
                "PIC_DATA_DIR": str(data_dir),
                "PIC_NETWORK": network,
                "PIC_HEALTH_TIMEOUT": "20",
                "PIC_LOCK_LEASE": "3",
                "PIC_ACK_WAIT": "4",
                "PIC_MIN_FREE_BYTES": "1",
                "PIC_LOG_LEVEL": "INFO",
                "PIC_API_TOKEN_FILE": str(ensure_api_token(data_dir)),
                **ENV,
            }
            register_cell(bus_authority, nats_server, nats_url, name)
            stack = Stack(name, data_dir, nats_url, network, env, bus_authority)
            parts.callback(cleanup_docker, network, [SID])
            parts.callback(stop_all, stack)
            services = ("installer", "accounts", "router", "backup")
            await asyncio.gather(*(asyncio.to_thread(stack.start, s) for s in services))
            bus = await stack.bus("admin", name="calendar-tests")
            client = StoreClient(bus)
            try:
                await add_peer(bus, "alice")
                store = write_calendar_store(tmp / "store", await building)
                result = await install(client, store, SID)
                assert result.payload.status == "succeeded", result.payload.message
                async with caddy.raw_client() as admin:
                    ca = (await admin.get(f"/pki/ca/{CA_ID}")).json()
                ca_file = tmp / "cell-ca.pem"
                ca_file.write_text(ca["root_certificate"])
                yield CalendarCell(stack, bus, client, domain, https_port, dns_port, ca_file)
            finally:
                await bus.close()
    finally:
        await asyncio.gather(building, return_exceptions=True)  # never left unobserved


def stop_all(stack: Stack) -> None:
    """SIGTERM to every process of the cell at once (killed after 10 s)."""
    stop_together(stack.processes, 10, lambda _: None)


# -- what a CalDAV client does -------------------------------------------------------------


def principal(client: caldav.DAVClient) -> Any:
    """The user's principal, as a client finds it from the service's URL."""
    return client.principal()  # type: ignore[no-untyped-call]


def make_calendar_with_event(client: caldav.DAVClient) -> str:
    """A new calendar with the event in it; the calendar's URL."""
    calendar = principal(client).make_calendar(name="Garden", cal_id="garden")
    calendar.save_event(EVENT)
    return str(calendar.url)


def summaries(client: caldav.DAVClient) -> dict[str, list[str]]:
    """Every calendar of the user, by name, with the summaries of its events."""
    found: dict[str, list[str]] = {}
    for calendar in principal(client).calendars():
        events = [str(e.icalendar_component["SUMMARY"]) for e in calendar.events()]
        found[str(calendar.name)] = sorted(events)
    return found


def read_event(url: str) -> Callable[[caldav.DAVClient], str]:
    """The event read from the calendar at `url` (someone's, maybe not the client's)."""

    def read(client: caldav.DAVClient) -> str:
        calendar = client.calendar(url=url)  # type: ignore[no-untyped-call]
        return str(calendar.event_by_uid(EVENT_UID).data)

    return read


def propfind_status(client: caldav.DAVClient) -> int:
    """The status of a bare PROPFIND of the service's URL with the client's credentials and
    its TLS settings (on the client's own HTTP session)."""
    password = client.password
    response = client.session.request(
        "PROPFIND",
        str(client.url),
        headers={"Depth": "0"},
        auth=(
            str(client.username),
            password.decode() if isinstance(password, bytes) else str(password),
        ),
        verify=client.ssl_verify_cert,
        timeout=10,
    )
    return int(response.status_code)


# -- the tests -----------------------------------------------------------------------------


@pytest.mark.unit
def test_the_calendar_manager_keeps_the_file_radicale_reads() -> None:
    """The manager's file is Radicale's htpasswd_filename in the image, inside the volume
    (backed up with the collections, kept when the container is made again); a manifest
    may name another."""
    radicale = configparser.ConfigParser()
    radicale.read_string((SERVICE / "config").read_text())
    manifest = json.loads((SERVICE / "manifest.json").read_text())
    target = Target(
        service_id=SID, manager="calendar", credentials=["password"], container="cell-calendar"
    )
    calls = Calls(timeout=1, window=0)
    manager = manager_for(target, calls, DockerEngine())
    assert isinstance(manager, CalendarManager) and manager.kind == "calendar"
    assert manager.file == FILE == radicale["auth"]["htpasswd_filename"]
    assert radicale["auth"]["htpasswd_encryption"] == "bcrypt"
    assert radicale["rights"]["type"] == "owner_only"
    (volume,) = manifest["volumes"]
    assert FILE.startswith(volume["mount"] + "/")
    assert [v["path"] for v in manifest["backup"]["volumes"]] == [volume["mount"]]
    other = manager_for(target.model_copy(update={"file": "/srv/users"}), calls, DockerEngine())
    assert isinstance(other, CalendarManager) and other.file == "/srv/users"


@on_a_cell
async def test_peer_a_makes_a_calendar_and_an_event_and_reads_it_back(
    cell: CalendarCell,
) -> None:
    alice = await cell.config("alice")
    assert alice["url"] == f"https://calendar.{cell.domain}/"
    assert alice["username"] == "alice" and len(alice["password"]) >= 16
    await cell.use(alice, make_calendar_with_event)
    assert await cell.use(alice, summaries) == {"Garden": ["Plant the tomatoes"]}
    # The client checked the certificate against the cell's CA only: the system's roots do
    # not vouch for it.
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.to_thread(_handshake_with_system_roots, cell)


def _handshake_with_system_roots(cell: CalendarCell) -> None:
    name = f"calendar.{cell.domain}"
    with (
        socket.create_connection(("127.0.0.1", cell.https_port), timeout=5) as raw,
        ssl.create_default_context().wrap_socket(raw, server_hostname=name),
    ):
        pass


@on_a_cell
async def test_peer_b_cannot_read_the_calendar_of_peer_a(cell: CalendarCell) -> None:
    await add_peer(cell.bus, "bob")
    bob = await _config_when_made(cell, "bob")
    alice = await cell.config("alice")
    url = await cell.use(alice, lambda c: str(principal(c).calendar(cal_id="garden").url))
    assert await cell.use(alice, read_event(url))  # alice can
    with pytest.raises(dav_error.DAVError) as refused:
        await cell.use(bob, read_event(url))
    assert "403" in str(refused.value) or "Forbidden" in str(refused.value), refused.value
    assert await cell.use(bob, summaries) == {}  # bob sees no calendar: his own has none


@on_a_cell
async def test_a_peer_added_later_works(cell: CalendarCell) -> None:
    await add_peer(cell.bus, "carol")
    carol = await _config_when_made(cell, "carol")
    await cell.use(carol, make_calendar_with_event)
    assert await cell.use(carol, summaries) == {"Garden": ["Plant the tomatoes"]}


@on_a_cell
async def test_a_rotated_password_works_and_the_old_one_does_not(cell: CalendarCell) -> None:
    old = await cell.config("carol")
    rotated = await ask_peer(cell.bus, PeerAction.rotate, "carol", service=SID, timeout=10)
    new = dict(rotated[SID])
    assert new["password"] != old["password"] and new["username"] == "carol"
    assert await cell.use(new, summaries) == {"Garden": ["Plant the tomatoes"]}
    assert await cell.use(old, propfind_status) == 401


@on_a_cell
async def test_a_removed_peer_is_refused(cell: CalendarCell) -> None:
    bob = await cell.config("bob")
    assert await cell.use(bob, propfind_status) == 207
    await remove_peer(cell.bus, "bob")

    async def refused() -> bool:
        return await cell.use(bob, propfind_status) == 401

    await eventually(refused, 10, what="bob's login refused with 401")


@on_a_cell
async def test_the_calendars_come_back_from_a_verified_backup(cell: CalendarCell) -> None:
    """Backed up, alice's password rotated and her calendar deleted, then restored: the
    calendar is back, and so is the users file of the backup with her old hash; her new
    password is let in again (the accounts service makes again what refuses what it holds)."""
    made = await backup(cell.bus, SID)
    assert made.payload.ok, made.payload.message
    (backup_id,) = made.payload.backups
    rotated = await ask_peer(cell.bus, PeerAction.rotate, "alice", service=SID, timeout=10)
    alice = dict(rotated[SID])

    def delete_garden(client: caldav.DAVClient) -> None:
        principal(client).calendar(cal_id="garden").delete()

    await cell.use(alice, delete_garden)
    assert await cell.use(alice, summaries) == {}
    restored = await restore(cell.bus, backup_id, SID, replace=True)
    assert restored.payload.ok, restored.payload.message

    async def let_in() -> bool:
        return await cell.use(alice, propfind_status) == 207

    await eventually(let_in, 15, what="alice's current password accepted after the restore")
    assert await cell.use(alice, summaries) == {"Garden": ["Plant the tomatoes"]}
    checked = await verify(cell.bus, backup_id)
    assert checked.payload.ok, checked.payload.message


@on_a_cell
async def test_after_the_service_is_removed_the_client_cannot_connect(
    cell: CalendarCell,
) -> None:
    alice = await cell.config("alice")
    assert await cell.use(alice, propfind_status) == 207
    done = await remove(cell.client, SID)
    assert done.payload.status == "succeeded", done.payload.message
    assert inspect("cell-calendar") is None
    # The cell's DNS no longer names it, so the client finds nothing to connect to.
    assert cell.resolve(f"calendar.{cell.domain}") is None
    with pytest.raises(requests.exceptions.ConnectionError):
        await cell.use(alice, summaries)
    assert docker("ps", "-q", "--filter", f"label=com.docker.compose.project={SID}") == ""


async def _config_when_made(cell: CalendarCell, peer: str) -> dict[str, str]:
    """The peer's config once its account is made (the accounts service adds it on the
    peer's event)."""
    found: dict[str, str] = {}

    async def made() -> bool:
        try:
            configs = await ask_peer(cell.bus, PeerAction.config, peer, timeout=10)
        except PeerRequestError:  # the peer's event is not in yet
            return False
        found.update(configs.get(SID, {}))
        return bool(found)

    await eventually(made, 10, what=f"{peer}'s calendar account")
    return found
