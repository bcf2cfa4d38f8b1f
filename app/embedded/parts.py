"""The real parts of the embedded stack, each started on loopback with its own data dir."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from app.embedded.process import ManagedProcess, find_binary, free_port
from shared.errors import PartUnavailableError

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def start_nats(data_dir: Path, port: int | None = None) -> ManagedProcess:
    """nats-server with JetStream, loopback only, storing its streams under data_dir."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        find_binary("nats-server"),
        "--addr",
        "127.0.0.1",
        "--port",
        str(port),
        "--jetstream",
        "--store_dir",
        str(data_dir / "jetstream"),
        "--server_name",
        f"pic-store-{port}",
    ]
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


def start_caddy(data_dir: Path, admin_port: int | None = None) -> ManagedProcess:
    """Caddy with only its admin API on loopback; routes are added through that API."""
    admin_port = admin_port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = {"admin": {"listen": f"127.0.0.1:{admin_port}"}}
    config_path = data_dir / "caddy.json"
    config_path.write_text(json.dumps(config))
    env = {
        "HOME": str(data_dir),
        "XDG_DATA_HOME": str(data_dir / "data"),
        "XDG_CONFIG_HOME": str(data_dir / "config"),
        "PATH": "/usr/bin:/bin",
    }
    argv = [find_binary("caddy"), "run", "--config", str(config_path)]
    return ManagedProcess("caddy", argv, admin_port, data_dir / "caddy.log", env=env).start()


def start_dnsmasq(data_dir: Path, port: int, hostsdir: Path, domain: str) -> ManagedProcess:
    """dnsmasq answering the router's hosts files (`--hostsdir`), on 127.0.0.1:port only.

    It re-reads a file of the directory when the router replaces it, no signal needed.
    Names in `domain` that no file holds are NXDOMAIN (`--local`); nothing is forwarded
    (`--no-resolv`), and neither the host's /etc/hosts nor any dnsmasq.conf is read.
    """
    if _DOMAIN.fullmatch(domain) is None:
        raise PartUnavailableError(f"dnsmasq: {domain!r} is not a DNS name")
    data_dir.mkdir(parents=True, exist_ok=True)
    hostsdir.mkdir(parents=True, exist_ok=True)
    argv = [
        _sbin("dnsmasq"),
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        f"--port={port}",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        f"--hostsdir={hostsdir}",
        f"--local=/{domain}/",
        "--pid-file=",
        "--log-facility=-",
    ]
    if os.geteuid() == 0:
        # As root dnsmasq would switch to `nobody`, who may not read a private data dir.
        argv.append("--user=root")
    return ManagedProcess("dnsmasq", argv, port, data_dir / "dnsmasq.log").start()


def _sbin(name: str) -> str:
    """Debian installs dnsmasq in /usr/sbin, which a user's PATH often lacks."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=path)
    if found is None:
        raise PartUnavailableError(f"{name} is not installed (Debian package: dnsmasq-base)")
    return found
