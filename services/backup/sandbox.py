"""The verify sandbox of one service: the service as its own rendered docker-compose.yml runs
it (command, entrypoint, environment, user, sidecars, health checks, depends_on), recorded in
the backup sealed by the installer, made a separate Compose project that touches nothing of
the running service or of the cell:

- its own project name (`pic-verify-<hex>`) and container names (`<project>-<container>`);
  every container keeps the names its peers use (the container name, the service key and its
  aliases) as aliases on the sandbox's one network, which is `internal` (no route out, no
  published port, not the cell network: no route of Caddy, no DNS record, no firewall rule);
- a fresh, empty volume for every volume and every bind mount of the file (nothing of the
  host is mounted), filled from the backup before anything starts;
- no label of the service (nothing of the cell takes a sandbox container for a service's), only
  the sandbox's own, on its containers, network and volumes, which is how they are removed;
- `restart: "no"` (a container that exits has failed), and the restrictions recorded at backup
  time (restrictions.py) on the containers that hold backed-up volumes; every container gets
  no-new-privileges and loses MKNOD and NET_RAW unless its cap_add names them.

Compose reads only this file (no .env, a clean environment: shared/docker/compose.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from services.backup.errors import VerifyFailedError
from shared.compose.keys import DROPPED_BY_DEFAULT, PLAIN_SERVICE_KEYS
from shared.docker.restrictions import NO_NEW_PRIVILEGES, Restrictions, capability

SANDBOX_LABEL = "ngo.pic.store.backup-sandbox"  # its value: the sandbox's project name
CELL_LABEL = "ngo.pic.store.backup-sandbox.cell"  # its value: the cell (data dir) that made it
NETWORK = "sandbox"
# Kept as rendered; every other key is dropped or rewritten below.
KEPT_KEYS = (PLAIN_SERVICE_KEYS - {"restart"}) | {
    "image",
    "cap_add",
    "cap_drop",
    "security_opt",
    "sysctls",
    "oom_score_adj",
    "ulimits",
}


def cell_key(data_dir: Path) -> str:
    """Which cell made a sandbox: a digest of its data dir (sandboxes of another cell on the
    same engine are never swept)."""
    return hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]


def _loaded(text: bytes) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise VerifyFailedError(
            f"the service's recorded compose file does not parse: {exc}"
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise VerifyFailedError("the service's recorded compose file has no services")
    return document


def _aliases(key: str, service: dict[str, Any]) -> list[str]:
    names = {key, str(service.get("container_name") or key)}
    networks = service.get("networks")
    if isinstance(networks, dict):
        for network in networks.values():
            if isinstance(network, dict):
                names.update(str(a) for a in network.get("aliases") or [])
    return sorted(names)


def _mount(entry: Any) -> tuple[str, str, str, bool]:
    """A service's volume entry as (type, source, target, read_only)."""
    if isinstance(entry, dict):
        kind = str(entry.get("type") or "volume")
        source, target = str(entry.get("source") or ""), str(entry.get("target") or "")
        return kind, source, target, bool(entry.get("read_only"))
    parts = str(entry).split(":")
    if len(parts) == 1:
        return "volume", "", parts[0], False  # an anonymous volume
    source, target = parts[0], parts[1]
    read_only = len(parts) > 2 and "ro" in parts[2].split(",")
    kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    return kind, source, target, read_only


def _restricted(service: dict[str, Any], recorded: Restrictions | None) -> None:
    """The recorded restrictions (when there are) and the sandbox's own on `service`."""
    if recorded is not None:
        host = recorded.container_config()["HostConfig"]
        for key in ("user", "cap_add", "read_only", "pids_limit", "mem_limit", "cpus", "deploy"):
            service.pop(key, None)
        if recorded.user:
            service["user"] = recorded.user
        if host.get("CapAdd"):
            service["cap_add"] = list(host["CapAdd"])
        service["cap_drop"] = list(host["CapDrop"])
        if host.get("ReadonlyRootfs"):
            service["read_only"] = True
        if recorded.pids_limit:
            service["pids_limit"] = recorded.pids_limit
        if recorded.memory:
            service["mem_limit"] = recorded.memory
        if recorded.nano_cpus:
            service["cpus"] = recorded.nano_cpus / 1e9
    added = {capability(c) for c in service.get("cap_add") or []}
    dropped = [str(c) for c in service.get("cap_drop") or []]
    if "ALL" not in {capability(c) for c in dropped}:
        have = {capability(c) for c in dropped}
        dropped += [c for c in DROPPED_BY_DEFAULT if c not in added and c not in have]
    service["cap_drop"] = dropped
    options = [str(o) for o in service.get("security_opt") or []]
    if not any(o.startswith(NO_NEW_PRIVILEGES) for o in options):
        options.append(NO_NEW_PRIVILEGES)
    service["security_opt"] = options


def sandbox_document(
    text: bytes,
    project: str,
    labels: dict[str, str],
    restrictions: dict[str, Restrictions],
    images: dict[str, str],
    filled: dict[str, set[str]],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The sandbox's compose file made of the service's rendered one, and each of its
    containers (by its name in the service) -> its container in the sandbox. `filled`: the
    paths of each container a backed-up volume is put back at (kept writable)."""
    rendered = _loaded(text)
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}
    names: dict[str, str] = {}
    for key, raw in rendered["services"].items():
        if not isinstance(raw, dict):
            raise VerifyFailedError(f"the service {key} of the recorded compose file is empty")
        original = str(raw.get("container_name") or key)
        service = {k: v for k, v in raw.items() if k in KEPT_KEYS}
        service["container_name"] = names[original] = f"{project}-{original}"
        service["restart"] = "no"
        service["labels"] = dict(labels)
        service["networks"] = {NETWORK: {"aliases": _aliases(str(key), raw)}}
        if isinstance(raw.get("deploy"), dict) and raw["deploy"].get("resources"):
            service["deploy"] = {"resources": raw["deploy"]["resources"]}
        if original in images:
            service["image"] = images[original]
        mounts: list[Any] = []
        for index, entry in enumerate(raw.get("volumes") or []):
            kind, source, target, read_only = _mount(entry)
            if kind == "tmpfs":
                mounts.append(entry)
                continue
            if kind == "bind" or not source:  # a host folder: never the host's, a scratch one
                source = f"mount-{len(volumes)}-{index}"
            volumes[source] = {"labels": dict(labels)}
            writable = target.rstrip("/") in filled.get(original, set())
            mounts.append(f"{source}:{target}" + (":ro" if read_only and not writable else ""))
        if mounts:
            service["volumes"] = mounts
        _restricted(service, restrictions.get(original))
        services[key] = service
    for name in rendered.get("volumes") or {}:
        volumes[str(name)] = {"labels": dict(labels)}
    document = {
        "name": project,
        "services": services,
        "networks": {NETWORK: {"internal": True, "labels": dict(labels)}},
    }
    if volumes:
        document["volumes"] = volumes
    return document, names


def write_document(document: dict[str, Any], folder: Path) -> Path:
    """The sandbox's file (it holds the service's secrets: 0600, in the operation's scratch
    folder, which is removed after)."""
    folder.mkdir(mode=0o700)
    path = folder / "docker-compose.yml"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
