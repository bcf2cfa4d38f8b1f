"""From a rendered Compose document to Docker API container specs (pure functions).

pic-store starts containers itself (through aiodocker) but labels them exactly as Docker
Compose does, so `docker compose -p <id> ps` shows a normal Compose project, and a
config hash per container tells reconfigure which containers really changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from shared.errors import RenderError

LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_HASH = "com.docker.compose.config-hash"
LABEL_OWNER = "ngo.pic.store.service"
LABEL_OPERATION = "ngo.pic.store.operation"

SUPPORTED = {
    "image", "container_name", "command", "entrypoint", "environment", "volumes", "networks",
    "healthcheck", "restart", "labels", "user", "working_dir", "cap_add", "cap_drop",
    "read_only", "tmpfs", "depends_on", "hostname", "stop_signal", "stop_grace_period",
    "init", "shm_size", "mem_limit", "cpus", "expose",
}
REFUSED = {
    "privileged": "privileged containers are not allowed",
    "network_mode": "a service joins the cell network only",
    "pid": "sharing the host PID namespace is not allowed",
    "ipc": "sharing the host IPC namespace is not allowed",
    "devices": "host devices are not allowed",
    "ports": "publish through Caddy (has_subdomain) or iptables_rules, not host ports",
    "build": "store services run signed images; they are not built on the cell",
}
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")


@dataclass(frozen=True)
class ContainerSpec:
    service: str
    name: str
    image: str
    config: dict[str, Any]
    config_hash: str
    depends_on: tuple[str, ...] = ()
    volumes: tuple[str, ...] = field(default=())


def volume_name(project: str, volume: str) -> str:
    return f"{project}_{volume}"


def _nanoseconds(value: object, where: str) -> int:
    if isinstance(value, int | float):
        return int(value * 1e9)
    match = DURATION.match(str(value)) if value else None
    if match is None:
        raise RenderError(f"{where}: {value!r} is not a duration like 30s or 1m30s")
    h, m, s, ms = match.groups()
    seconds = int(h or 0) * 3600 + int(m or 0) * 60 + float(s or 0) + int(ms or 0) / 1000
    return int(seconds * 1e9)


def _list(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    raise RenderError(f"{where}: expected a string or a list of strings")


def _environment(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [f"{k}={'' if v is None else v}" for k, v in value.items()]
    return _list(value, where)


def _restart(value: object, where: str) -> dict[str, Any]:
    if value is False or value is None:  # YAML 1.1 reads a bare `no` as false
        return {"Name": "no"}
    name, _, count = str(value).partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise RenderError(f"{where}.restart: {value!r} is not a restart policy")
    policy: dict[str, Any] = {"Name": name}
    if count:
        policy["MaximumRetryCount"] = int(count)
    return policy


def _healthcheck(value: object, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RenderError(f"{where}: expected a mapping")
    if value.get("disable"):
        return {"Test": ["NONE"]}
    test = value.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    spec: dict[str, Any] = {"Test": _list(test, f"{where}.test")}
    for key, api in (("interval", "Interval"), ("timeout", "Timeout"),
                     ("start_period", "StartPeriod")):
        if key in value:
            spec[api] = _nanoseconds(value[key], f"{where}.{key}")
    if "retries" in value:
        spec["Retries"] = int(value["retries"])
    return spec


def _mounts(value: object, project: str, bind_root: PurePosixPath, where: str,
            ) -> tuple[list[str], list[str]]:
    """Binds for the Docker API and the named volumes they use."""
    binds, named = [], []
    for i, entry in enumerate(_list(value, where)):
        parts = entry.split(":")
        if len(parts) not in (2, 3):
            raise RenderError(f"{where}[{i}]: {entry!r} is not SOURCE:TARGET[:ro]")
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) == 3 else "rw"
        if mode not in ("ro", "rw"):
            raise RenderError(f"{where}[{i}]: mode {mode!r} is not ro or rw")
        if not target.startswith("/"):
            raise RenderError(f"{where}[{i}]: target {target!r} is not an absolute path")
        if source.startswith(("/", ".")):
            path = PurePosixPath(source)
            if ".." in path.parts or not path.is_relative_to(bind_root):
                raise RenderError(f"{where}[{i}]: bind mount {source!r} is outside the "
                                  f"service's data folder {bind_root}; use a named volume")
            binds.append(f"{source}:{target}:{mode}")
        else:
            full = volume_name(project, source)
            named.append(full)
            binds.append(f"{full}:{target}:{mode}")
    return binds, named


def container_specs(document: dict[str, Any], project: str, network: str,
                    bind_root: PurePosixPath, operation_id: str) -> list[ContainerSpec]:
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        raise RenderError("the compose file has no services")
    specs = []
    for service, body in services.items():
        where = f"services.{service}"
        if not isinstance(body, dict):
            raise RenderError(f"{where}: expected a mapping")
        for key in body:
            if key in REFUSED:
                raise RenderError(f"{where}.{key}: {REFUSED[key]}")
            if key not in SUPPORTED:
                raise RenderError(f"{where}.{key}: this Compose key is not supported by PIC")
        specs.append(_spec(service, body, project, network, bind_root, operation_id, where))
    return order_by_dependencies(specs)


def _spec(service: str, body: dict[str, Any], project: str, network: str,
          bind_root: PurePosixPath, operation_id: str, where: str) -> ContainerSpec:
    image = body.get("image")
    if not isinstance(image, str) or not image:
        raise RenderError(f"{where}.image: every service needs an image")
    name = str(body.get("container_name") or f"{project}-{service}-1")
    binds, named = _mounts(body.get("volumes"), project, bind_root, f"{where}.volumes")
    networks = body.get("networks") or {network: None}
    if isinstance(networks, list):
        networks = {str(n): None for n in networks}
    others = sorted(set(networks) - {network}) if isinstance(networks, dict) else []
    if others:
        raise RenderError(f"{where}.networks: services join the cell network only, "
                          f"not {', '.join(others)}")
    endpoint: dict[str, Any] = {"Aliases": [service, name]}
    settings = networks.get(network) if isinstance(networks, dict) else None
    if isinstance(settings, dict) and settings.get("ipv4_address"):
        endpoint["IPAMConfig"] = {"IPv4Address": str(settings["ipv4_address"])}
    labels = {str(k): str(v) for k, v in (body.get("labels") or {}).items()} \
        if isinstance(body.get("labels"), dict) else {}
    config: dict[str, Any] = {
        "Image": image,
        "Env": _environment(body.get("environment"), f"{where}.environment"),
        "Labels": labels,
        "HostConfig": {
            "Binds": binds,
            "NetworkMode": network,
            "RestartPolicy": _restart(body.get("restart", "unless-stopped"), where),
            "CapAdd": _list(body.get("cap_add"), f"{where}.cap_add") or None,
            "CapDrop": _list(body.get("cap_drop"), f"{where}.cap_drop") or None,
            "ReadonlyRootfs": bool(body.get("read_only", False)),
            "Init": bool(body.get("init", False)),
        },
        "NetworkingConfig": {"EndpointsConfig": {network: endpoint}},
    }
    for key, api in (("command", "Cmd"), ("entrypoint", "Entrypoint")):
        if key in body:
            value = body[key]
            shell_form = isinstance(value, str) and key == "command"
            config[api] = ["/bin/sh", "-c", value] if shell_form else _list(value, f"{where}.{key}")
    for key, api in (("user", "User"), ("working_dir", "WorkingDir"), ("hostname", "Hostname"),
                     ("stop_signal", "StopSignal")):
        if key in body:
            config[api] = str(body[key])
    health = _healthcheck(body.get("healthcheck"), f"{where}.healthcheck")
    if health is not None:
        config["Healthcheck"] = health
    if "tmpfs" in body:
        config["HostConfig"]["Tmpfs"] = {p: "" for p in _list(body["tmpfs"], f"{where}.tmpfs")}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    config["Labels"] = {**labels, LABEL_PROJECT: project, LABEL_SERVICE: service,
                        "com.docker.compose.container-number": "1",
                        "com.docker.compose.oneoff": "False",
                        LABEL_HASH: digest, LABEL_OWNER: project,
                        LABEL_OPERATION: operation_id}
    depends = body.get("depends_on") or []
    depends_on = tuple(str(d) for d in depends)  # a list, or a mapping of service: condition
    return ContainerSpec(service, name, image, config, digest, depends_on, tuple(named))


def order_by_dependencies(specs: list[ContainerSpec]) -> list[ContainerSpec]:
    by_service = {s.service: s for s in specs}
    ordered: list[ContainerSpec] = []
    visiting: set[str] = set()

    def visit(spec: ContainerSpec) -> None:
        if spec in ordered:
            return
        if spec.service in visiting:
            raise RenderError(f"services.{spec.service}.depends_on: dependency cycle")
        visiting.add(spec.service)
        for dep in spec.depends_on:
            if dep not in by_service:
                raise RenderError(f"services.{spec.service}.depends_on: no service {dep!r}")
            visit(by_service[dep])
        visiting.discard(spec.service)
        ordered.append(spec)

    for spec in specs:
        visit(spec)
    return ordered
