"""The real parts of the embedded stack, each started on loopback with its own data dir."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.embedded.bus_identity import BusAuthority
from app.embedded.process import ManagedProcess, find_binary, free_port
from app.embedded.run_as import RunAs
from shared.errors import PartUnavailableError

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def start_nats(data_dir: Path, authority: BusAuthority, port: int | None = None) -> ManagedProcess:
    """nats-server with JetStream encrypted at rest, loopback only, storing its streams under
    data_dir; only the authority's identities may connect."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = authority.write_config(port, data_dir / "jetstream")
    argv = [find_binary("nats-server"), "--config", str(config)]
    return ManagedProcess("nats-server", argv, port, data_dir / "nats-server.log").start()


def start_registry(data_dir: Path, port: int | None = None) -> ManagedProcess:
    """Debian's docker-registry (distribution v2) on loopback, plain HTTP, deletes allowed."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {
            "filesystem": {"rootdirectory": str(data_dir / "storage")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    config_path = data_dir / "registry.json"
    # distribution reads YAML, and JSON is YAML.
    config_path.write_text(json.dumps(config))
    argv = [find_binary("docker-registry"), "serve", str(config_path)]
    return ManagedProcess("docker-registry", argv, port, data_dir / "registry.log").start()


CADDY_ADMIN_SOCKET = "admin.sock"
# Linux's sockaddr_un holds 108 bytes, the last one a NUL.
_MAX_SOCKET_PATH = 107


def caddy_admin_socket(data_dir: Path) -> Path:
    """Where `start_caddy(data_dir)` puts Caddy's admin API: a Unix socket in data_dir."""
    return data_dir.resolve() / CADDY_ADMIN_SOCKET


def caddy_admin_url(data_dir: Path) -> str:
    """The router's `PIC_CADDY_ADMIN` for the Caddy that `start_caddy(data_dir)` runs."""
    return f"unix://{caddy_admin_socket(data_dir)}"


@dataclass
class SocketProcess(ManagedProcess):
    """A part that answers on a Unix socket, not on a TCP port (its `port` is 0)."""

    socket_path: Path = field(kw_only=True)

    @property
    def where(self) -> str:
        return f"socket {self.socket_path}"

    def _answers(self, timeout: float) -> bool:
        # A file left by a killed process refuses connections: it does not count.
        return (
            wait_for_socket(self.socket_path, timeout)
            if timeout
            else socket_answers(self.socket_path)
        )


def socket_answers(path: Path) -> bool:
    """True when a process accepts connections on the Unix socket `path`. A file left by a
    killed process refuses them, so a stale socket is not mistaken for a running part."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
        except OSError:
            return False
        return True


def wait_for_socket(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not socket_answers(path):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass(frozen=True)
class CaddySetup:
    """How to run Caddy with only its admin API, on the Unix socket `<data_dir>/admin.sock`."""

    argv: list[str]
    env: dict[str, str]
    admin_socket: Path


def prepare_caddy(data_dir: Path) -> CaddySetup:
    """Write Caddy's first config: no routes, the admin API on a Unix socket that only the
    user running pic-store can reach (the folder 0700, the socket 0200)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # The folder, not just the socket's mode: a process of another user cannot even reach it.
    data_dir.chmod(0o700)
    admin_socket = caddy_admin_socket(data_dir)
    if len(os.fsencode(admin_socket)) > _MAX_SOCKET_PATH:
        raise PartUnavailableError(
            f"caddy: the admin socket path {admin_socket} is longer than the "
            f"{_MAX_SOCKET_PATH} bytes a Unix socket path may have; use a shorter data dir"
        )
    config = {"admin": {"listen": f"unix/{admin_socket}|0200"}}
    config_path = data_dir / "caddy.json"
    config_path.write_text(json.dumps(config))
    env = {
        "HOME": str(data_dir),
        "XDG_DATA_HOME": str(data_dir / "data"),
        "XDG_CONFIG_HOME": str(data_dir / "config"),
        "PATH": "/usr/bin:/bin",
    }
    argv = [find_binary("caddy"), "run", "--config", str(config_path)]
    return CaddySetup(argv, env, admin_socket)


def start_caddy(data_dir: Path, run_as: RunAs | None = None) -> ManagedProcess:
    """Caddy with only its admin API, on the Unix socket `data_dir/admin.sock`; routes are
    added through that API. With `run_as`, data_dir is that user's, and Caddy runs as it.

    The admin API rewrites the cell's reverse proxy, so no TCP port offers it (any local
    process, or a web page through DNS rebinding, could reach one).
    """
    setup = prepare_caddy(data_dir)
    if run_as is not None:
        run_as.own(data_dir, 0o700)
    log_path = data_dir / "caddy.log"
    process = SocketProcess(
        "caddy",
        setup.argv,
        0,
        log_path,
        env=setup.env,
        socket_path=setup.admin_socket,
        run_as=run_as,
    )
    return process.start()


def dnsmasq_argv(
    port: int, hostsdir: Path, domain: str, listen: str = "127.0.0.1", as_root: bool | None = None
) -> list[str]:
    """dnsmasq answering the router's hosts files (`--hostsdir`) on listen:port only.

    It re-reads a file of the directory when the router replaces it, no signal needed.
    Names in `domain` that no file holds are NXDOMAIN (`--local`); nothing is forwarded
    (`--no-resolv`), and neither the host's /etc/hosts nor any dnsmasq.conf is read.
    """
    if _DOMAIN.fullmatch(domain) is None:
        raise PartUnavailableError(f"dnsmasq: {domain!r} is not a DNS name")
    hostsdir.mkdir(parents=True, exist_ok=True)
    argv = [
        _sbin("dnsmasq"),
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        f"--port={port}",
        f"--listen-address={listen}",
        "--bind-interfaces",
        f"--hostsdir={hostsdir}",
        f"--local=/{domain}/",
        "--pid-file=",
        "--log-facility=-",
    ]
    if os.geteuid() == 0 if as_root is None else as_root:
        # As root dnsmasq would switch to `nobody`, who may not read a private data dir.
        argv.append("--user=root")
    return argv


def start_dnsmasq(
    data_dir: Path, port: int, hostsdir: Path, domain: str, run_as: RunAs | None = None
) -> ManagedProcess:
    """dnsmasq (`dnsmasq_argv`) on 127.0.0.1:port, logging into data_dir; as `run_as` when
    given. (Started as root, dnsmasq changes its credentials even with --user=root, and the
    kernel then forgets its parent-death signal: as a user of its own it changes nothing.)"""
    as_root = run_as is None and os.geteuid() == 0
    argv = dnsmasq_argv(port, hostsdir, domain, as_root=as_root)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "dnsmasq.log"
    return ManagedProcess("dnsmasq", argv, port, log, run_as=run_as).start()


def _sbin(name: str) -> str:
    """Debian installs dnsmasq in /usr/sbin, which a user's PATH often lacks."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=path)
    if found is None:
        raise PartUnavailableError(f"{name} is not installed (Debian package: dnsmasq-base)")
    return found
