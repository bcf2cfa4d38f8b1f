"""Caddy's admin API is the cell's control plane: `pic-store up` (and these tests' Caddy)
serve it on a Unix socket only the router's user can open, never on a TCP port; a TCP admin
URL still works for deployments that need one, with Caddy enforcing origins."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from app.embedded import ManagedProcess, free_port
from app.embedded.parts import caddy_admin_socket, start_caddy
from app.embedded.process import find_binary
from app.embedded.stack import EmbeddedStack
from services.router.caddy import CaddyAdmin, admin_endpoint
from services.router.errors import CaddyUnavailableError
from services.router.parts import PartsCache
from services.router.routes import build_route
from shared.errors import ConfigError, PartUnavailableError
from tests.router.conftest import Backends, CaddyRunner, loopback_client

NOBODY = 65534


def tcp_listening_ports(pid: int) -> set[int]:
    """The TCP ports the process `pid` listens on, from its sockets' inodes in /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed since the listing
            continue
        if match := re.fullmatch(r"socket:\[(\d+)\]", target):
            inodes.add(match.group(1))
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def connect_as(uid: int, path: Path) -> int:
    """The errno a process of user `uid` gets connecting to the Unix socket `path` (0: it
    connected). A forked child drops to the user, so no interpreter need be readable by it."""
    pid = os.fork()
    if pid == 0:
        code = 98
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(str(path))
            code = 0
        except OSError as exc:
            code = exc.errno or 97
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user may enter (pytest's tmp_path is under a 0700 folder, which alone
    would keep other users out and hide what the Caddy folder's own mode does)."""
    path = Path(tempfile.mkdtemp(prefix="pic-caddy-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- the admin URL ---------------------------------------------------------------------------


@pytest.mark.unit
def test_a_unix_admin_url_goes_through_the_socket_without_origin() -> None:
    endpoint = admin_endpoint("unix:///var/lib/pic-store/caddy/admin.sock")
    assert endpoint.socket == "/var/lib/pic-store/caddy/admin.sock"
    assert endpoint.label == "unix:///var/lib/pic-store/caddy/admin.sock"
    # Caddy allows no Origin at all on a socket: sending one would be refused.
    assert endpoint.headers == {}


@pytest.mark.unit
def test_a_tcp_admin_url_sends_its_origin() -> None:
    endpoint = admin_endpoint("http://127.0.0.1:2019/")
    assert endpoint.socket is None
    assert (endpoint.base_url, endpoint.headers) == (
        "http://127.0.0.1:2019",
        {"Origin": "http://127.0.0.1:2019"},
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    "url",
    [
        "unix://caddy/admin.sock",  # relative: `caddy` would be read as a host
        "unix:///run/admin.sock?x=1",
        "https://127.0.0.1:2019",  # Caddy's remote admin needs client certificates
        "http://127.0.0.1:2019/config/",
        "http://user:pw@127.0.0.1:2019",
        "http://:2019",
        "127.0.0.1:2019",
        "",
    ],
)
def test_an_admin_url_of_another_form_is_refused_and_named(url: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(repr(url))):
        admin_endpoint(url)


# Not `unit`: it reads and writes files of its data dir.
async def test_the_router_warns_when_caddy_admin_is_on_tcp(tmp_path: Path) -> None:
    for url, warned in [("http://127.0.0.1:2019", True), ("unix:///run/caddy.sock", False)]:
        parts = PartsCache(tmp_path, caddy_admin=url)
        with capture_logs() as logs:
            await parts.current()
            await parts.current()  # built once: warned once
        await parts.aclose()
        events = [e for e in logs if e["event"] == "caddy_admin_on_tcp"]
        assert len(events) == (1 if warned else 0), url


# Not `unit`: it reads and writes files of its data dir.
def test_the_embedded_stack_points_the_router_at_caddys_socket(tmp_path: Path) -> None:
    env = EmbeddedStack(tmp_path).service_env()
    assert env["PIC_CADDY_ADMIN"] == f"unix://{tmp_path.resolve()}/caddy/admin.sock"


# --- Caddy as `pic-store up` starts it -------------------------------------------------------


@pytest.mark.integration
async def test_caddy_offers_its_admin_api_on_a_unix_socket_and_no_tcp_port(
    caddy: CaddyRunner, admin: CaddyAdmin, http_port: int
) -> None:
    assert admin.admin_url == f"unix://{caddy.admin_socket}"
    await admin.ensure_server()
    async with caddy.raw_client() as client:
        listen = (await client.get("/config/admin/listen")).json()
    assert listen == f"unix/{caddy.admin_socket}|0200"
    pid = caddy.current.pid
    assert pid is not None
    # Its one TCP port is the HTTP listener the router asked for; no admin port beside it.
    assert tcp_listening_ports(pid) == {http_port}


@pytest.mark.integration
def test_the_admin_socket_and_its_folder_are_the_owners_only(caddy: CaddyRunner) -> None:
    folder = caddy.admin_socket.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    mode = caddy.admin_socket.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) & 0o077 == 0, oct(mode)
    assert caddy.admin_socket.stat().st_uid == os.geteuid()


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_another_user_cannot_connect_to_the_admin_socket(open_dir: Path) -> None:
    caddy = start_caddy(open_dir / "caddy")
    try:
        assert connect_as(NOBODY, caddy_admin_socket(open_dir / "caddy")) == 13  # EACCES
    finally:
        caddy.stop()
    # The check itself lets a connection through where nothing forbids it.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(open_dir / "open.sock"))
        (open_dir / "open.sock").chmod(0o777)
        server.listen()
        assert connect_as(NOBODY, open_dir / "open.sock") == 0


@pytest.mark.integration
async def test_caddy_starts_again_on_the_socket_a_killed_caddy_left(caddy: CaddyRunner) -> None:
    caddy.current.kill()
    assert caddy.admin_socket.exists()  # killed, Caddy could not remove its socket file
    caddy.start()
    async with caddy.raw_client() as client:
        listen = (await client.get("/config/admin/listen")).json()
    assert listen.startswith("unix/")


@pytest.mark.integration
def test_a_second_caddy_on_a_running_caddys_folder_is_refused(caddy: CaddyRunner) -> None:
    with pytest.raises(PartUnavailableError, match=r"admin\.sock already answers"):
        start_caddy(caddy.data_dir)
    assert caddy.current.running()


@pytest.mark.integration
def test_a_socket_path_too_long_for_unix_is_refused_before_caddy_starts(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100) / "caddy"
    with pytest.raises(PartUnavailableError, match=r"admin\.sock is longer than the 107 bytes"):
        start_caddy(deep)
    assert not (deep / "caddy.log").exists()


@pytest.mark.integration
async def test_the_client_names_the_socket_when_caddy_is_gone(
    caddy: CaddyRunner, admin: CaddyAdmin
) -> None:
    caddy.current.stop()
    with pytest.raises(CaddyUnavailableError, match=re.escape(f"unix://{caddy.admin_socket}")):
        await admin.list_routes()


# --- a TCP admin URL, where a deployment needs one -------------------------------------------


@pytest.fixture
def tcp_caddy(tmp_path: Path) -> Iterator[int]:
    """A Caddy whose admin API is on a loopback port, with origins enforced as docs/router.md
    asks of such a deployment; yields the port."""
    port = free_port()
    origin = f"127.0.0.1:{port}"
    config = {"admin": {"listen": origin, "enforce_origin": True, "origins": [origin]}}
    data = tmp_path / "tcp-caddy"
    data.mkdir()
    (data / "caddy.json").write_text(json.dumps(config))
    env = {"HOME": str(data), "XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(data)}
    argv = [find_binary("caddy"), "run", "--config", str(data / "caddy.json")]
    with ManagedProcess("caddy", argv, port, data / "caddy.log", env=env):
        yield port


@pytest.mark.integration
async def test_a_tcp_admin_url_still_routes_with_origins_enforced(
    tcp_caddy: int, backends: Backends, http_port: int
) -> None:
    url = f"http://127.0.0.1:{tcp_caddy}"
    async with loopback_client(base_url=url) as bare:
        # Enforced: a request that names no origin is refused.
        assert (await bare.get("/config/")).status_code == 403
    upstream = f"127.0.0.1:{await backends('notes')}"
    route = build_route("notes", "notes.cell.test", upstream, 0)
    async with CaddyAdmin(url, listen=[f"127.0.0.1:{http_port}"], automatic_https=False) as tcp:
        await tcp.ensure_server()
        await tcp.add_route(route)
        assert await tcp.get_route(str(route["@id"])) == route
        assert [r["@id"] for r in await tcp.list_routes()] == [route["@id"], "pic-store-fallback"]
    async with loopback_client() as client:
        answer = await client.get(
            f"http://127.0.0.1:{http_port}/", headers={"Host": "notes.cell.test"}
        )
    assert answer.text == "I am notes"
