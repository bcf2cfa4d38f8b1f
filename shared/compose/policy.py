"""One closed policy over the canonical Compose model of a rendered file.

`validate`, `review`, `render` and the installer all call `canonical_issues` on what
`docker compose config` made of the file, so what passes review installs and what the
installer refuses review refuses. Every key is allowed (keys.py) or refused with a reason;
values that could reach the host are checked: binds stay in the service's own data folder,
the service's own internal network, and the cell network only keyed by container_name with
no alias (networks.py) and the allocated IP for the main container only,
every image is in the store registry, capabilities stay within Docker's default set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from shared.compose import keys
from shared.compose.binds import bind_problem
from shared.compose.host_files import HOST_FILES, host_file_problem
from shared.compose.network_policy import keyed_by_container_name
from shared.compose.network_policy import networks as _networks
from shared.manifest import Issue, Manifest, json_path
from shared.manifest.image import parse_image_ref
from shared.manifest.issues import PathPart, show


@dataclass(frozen=True)
class Scope:
    """What a service's containers may reach."""

    manifest: Manifest
    own_dir: str  # ${PIC_DATA_DIR}/<id>: the only host folder binds may use
    network: str
    service_ip: str | None
    registry: str
    main_service: str | None = None  # the service key whose container is container_name


Found = Iterator[tuple[tuple[PathPart, ...], str]]


def raw_issues(document: dict[str, Any], network: str) -> list[Issue]:
    """What is refused on the rendered tree, before Compose sees it: keys that make Compose
    read other host files while it builds the canonical form, every refused key (so it
    never reaches Docker, with its own reason), and variables Compose would copy from the
    host's environment."""
    issues = [
        Issue(json_path(key), f"{key} is not allowed: {keys.REFUSED_TOP_LEVEL_KEYS[key]}")
        for key in keys.REFUSED_TOP_LEVEL_KEYS
        if key in document
    ]
    for name, service in document["services"].items():
        for key in service:
            if key in keys.REFUSED_SERVICE_KEYS:
                issues.append(
                    Issue(
                        json_path("services", str(name), str(key)),
                        f"{key} is not allowed: {keys.REFUSED_SERVICE_KEYS[key]}",
                    )
                )
        issues += _from_host(service.get("environment"), ("services", str(name), "environment"))
    networks = document.get("networks")
    for name in networks if isinstance(networks, dict) else []:
        if name != network:  # Compose drops unused ones from its form: judge them here
            issues.append(
                Issue(
                    json_path("networks", str(name)), f"only the cell network {network} may be used"
                )
            )
    return issues


_FROM_HOST = "has no value: Compose would copy it from the host's environment"


def _from_host(environment: object, at: tuple[PathPart, ...]) -> list[Issue]:
    if isinstance(environment, dict):
        return [
            Issue(json_path(*at, str(key)), f"{show(str(key))} {_FROM_HOST}")
            for key, value in environment.items()
            if value is None
        ]
    if isinstance(environment, list):
        return [
            Issue(json_path(*at, index), f"{show(entry)} {_FROM_HOST}")
            for index, entry in enumerate(environment)
            if isinstance(entry, str) and "=" not in entry
        ]
    return []


def canonical_issues(
    canonical: dict[str, Any], scope: Scope, template_keys: Mapping[str, str] | None = None
) -> list[Issue]:
    """Every reason the canonical form may not run on the cell (empty when it may).
    `template_keys`: rendered service key -> the template's, for services keyed anew."""
    found: list[tuple[tuple[PathPart, ...], str]] = []
    services = canonical.get("services") or {}
    own = scope.manifest.container_name
    main = [k for k, v in services.items() if v.get("container_name") == own]
    scope = replace(scope, main_service=main[0] if main else None)
    keyed = template_keys or {}
    for key, value in canonical.items():
        for path, message in _top(key, value, scope):
            if key == "services" and path and str(path[0]) in keyed:
                path = (keyed[str(path[0])], *path[1:])
            found.append(((key, *path), message))
    return [Issue(json_path(*path), message) for path, message in found]


def _top(key: str, value: Any, scope: Scope) -> Found:
    if key.startswith("x-"):
        return
    if key in keys.REFUSED_TOP_LEVEL_KEYS:
        yield (), f"{key} is not allowed: {keys.REFUSED_TOP_LEVEL_KEYS[key]}"
    elif key not in keys.TOP_LEVEL_KEYS:
        yield (), f"the top-level key {show(key)} is not allowed"
    elif key == "name" and value != scope.manifest.id:
        yield (), f"the project name must be the service id {scope.manifest.id}"
    elif key == "services":
        yield from _services(value, scope)
    elif key == "networks":
        yield from _networks(value, scope)
    elif key == "volumes":
        yield from _volumes(value, scope)


def _services(services: dict[str, Any], scope: Scope) -> Found:
    names = {}
    for name, service in services.items():
        yield from keyed_by_container_name(name, service, scope)
        for key, value in service.items():
            if value is None:
                continue  # Compose writes absent entrypoint and command as null
            yield from (
                ((name, key, *path), message)
                for path, message in _service_key(key, value, scope, name)
            )
        names[name] = service.get("container_name") or f"{scope.manifest.id}-{name}-1"
    yield from _containers(names, scope)


def _containers(names: dict[str, str], scope: Scope) -> Found:
    """The manifest's containers are in the template: the main one once, backends, backups."""
    m = scope.manifest
    count = list(names.values()).count(m.container_name)
    if count != 1:
        yield (
            (),
            f"exactly one service must have container_name: {m.container_name} (found {count})",
        )
    needed = {route.container: f"backend {route.container}:{route.port}" for route in m.routes}
    for volume in m.backup.volumes if m.backup else []:
        needed.setdefault(volume.container, f"backup volume {volume.name}")
    for rule in m.iptables_rules:
        if rule.dest_ip.startswith("cell-"):
            needed.setdefault(rule.dest_ip, f"the iptables rule for port {rule.dest_port}")
    for container, user in needed.items():
        if container not in names.values():
            yield (
                (),
                (
                    f"{user} names the container {container}, which no service of the "
                    "template has as container_name"
                ),
            )


def _service_key(key: str, value: Any, scope: Scope, service: str) -> Found:
    if key in keys.PLAIN_SERVICE_KEYS:
        return
    if key in keys.REFUSED_SERVICE_KEYS:
        yield (), f"{key} is not allowed: {keys.REFUSED_SERVICE_KEYS[key]}"
    elif key in keys.CHECKED_SERVICE_KEYS:
        yield from _CHECKS[key](value, scope, service)
    else:
        yield (), f"{key} is not a Compose key that store services may use"


def _image(value: Any, scope: Scope, service: str) -> Found:
    try:
        parse_image_ref(str(value), scope.registry)
    except ValueError as exc:
        yield (), f"image {show(value)} {exc}"


def _container_name(value: Any, scope: Scope, service: str) -> Found:
    own = scope.manifest.container_name
    if value != own and not str(value).startswith(own + "-"):
        yield (), f"container names must be {own} or start with {own}- (got {show(value)})"


def _volumes(value: Any, scope: Scope, service: str | None = None) -> Found:
    if service is not None:
        for index, mount in enumerate(value):
            yield from (((index, *p), m) for p, m in _mount(mount, scope))
        return
    for name, entry in (value or {}).items():
        entry = entry or {}
        for key in entry:
            if key not in keys.TOP_VOLUME_KEYS:
                yield (
                    (name, key),
                    (
                        f"{key} is not allowed: named volumes use the local driver "
                        "with no options, in the service's own project"
                    ),
                )
        if entry.get("name", f"{scope.manifest.id}_{name}") != f"{scope.manifest.id}_{name}":
            yield (
                (name, "name"),
                "a volume may not take another name: it could be another service's data",
            )
        for label in entry.get("labels") or {}:
            if str(label).startswith(keys.RESERVED_LABEL_PREFIXES):
                yield (name, "labels", label), _RESERVED_LABEL


def _mount(mount: dict[str, Any], scope: Scope) -> Found:
    kind = mount.get("type")
    if kind not in keys.VOLUME_TYPES:
        yield ("type",), f"{kind} mounts are not allowed (volume, bind or tmpfs)"
        return
    if kind == "volume":
        subpath = str((mount.get("volume") or {}).get("subpath") or "")
        if subpath.startswith("/") or ".." in subpath.split("/"):
            yield (
                ("volume", "subpath"),
                f"the subpath {show(subpath)} must be a relative path inside the volume (no ..)",
            )
    if kind != "bind":
        return
    source = _literal(mount.get("source", ""))
    if source in HOST_FILES:
        problem = host_file_problem(source, bool(mount.get("read_only")))
        if problem:
            yield ("read_only",), problem
    else:
        problem = bind_problem(source, scope.own_dir, scope.manifest.id)
        if problem:
            yield ("source",), problem
    propagation = (mount.get("bind") or {}).get("propagation")
    if propagation is not None and propagation not in keys.BIND_PROPAGATION:
        yield ("bind", "propagation"), "mount propagation would share mounts with the host"


def _capabilities(value: Any, scope: Scope, service: str) -> Found:
    for index, cap in enumerate(value):
        name = str(cap).upper().removeprefix("CAP_")
        if name not in keys.DOCKER_DEFAULT_CAPABILITIES:
            yield (
                (index,),
                (
                    f"the capability {show(cap)} is not allowed: cap_add may only give "
                    "back one of Docker's default capabilities"
                ),
            )


def _cap_drop(value: Any, scope: Scope, service: str) -> Found:
    return iter(())


def _security_opt(value: Any, scope: Scope, service: str) -> Found:
    for index, option in enumerate(value):
        if option not in keys.SECURITY_OPTIONS:
            yield (index,), f"{show(option)} is not allowed (only no-new-privileges)"


def _labels(value: Any, scope: Scope, service: str) -> Found:
    for label, text in value.items():
        if label == keys.OWNER_LABEL and text == scope.manifest.id:
            continue  # attach() marks every container as the service's own
        if str(label).startswith(keys.RESERVED_LABEL_PREFIXES):
            yield (label,), _RESERVED_LABEL


_RESERVED_LABEL = "labels under com.docker.compose. and ngo.pic.store. belong to the cell"


def _logging(value: Any, scope: Scope, service: str) -> Found:
    driver = value.get("driver")
    if driver is not None and driver not in keys.LOG_DRIVERS:
        yield (
            ("driver",),
            f"the log driver {show(driver)} is not allowed ({', '.join(sorted(keys.LOG_DRIVERS))})",
        )
    for option in value.get("options") or {}:
        if option not in keys.LOG_OPTIONS:
            yield ("options", option), f"the log option {show(option)} is not allowed"
    for key in value:
        if key not in ("driver", "options"):
            yield (key,), f"{key} is not allowed in logging"


def _sysctls(value: Any, scope: Scope, service: str) -> Found:
    for name in value:
        if not str(name).startswith(keys.SYSCTL_PREFIXES):
            yield (name,), "only network sysctls (net.*) are allowed: others reach the host"


def _deploy(value: Any, scope: Scope, service: str) -> Found:
    for key, entry in value.items():
        if entry in (None, {}, []):
            continue  # Compose writes empty sections of its own
        if key not in keys.DEPLOY_KEYS:
            yield (key,), f"deploy.{key} is not allowed (only resources and restart_policy)"
        elif key == "resources":
            for kind, limits in (entry or {}).items():
                for name in limits or {}:
                    if kind not in ("limits", "reservations") or name not in keys.RESOURCE_KEYS:
                        yield (key, kind, name), f"deploy.resources.{kind}.{name} is not allowed"


def _ulimits(value: Any, scope: Scope, service: str) -> Found:
    for name in value:
        if name in keys.REFUSED_ULIMITS:
            yield (name,), f"the ulimit {name} is not allowed: {keys.REFUSED_ULIMITS[name]}"


def _oom_score_adj(value: Any, scope: Scope, service: str) -> Found:
    if int(value) < 0:
        yield (), "a negative oom_score_adj would let the host kill its own processes first"


def _literal(value: object) -> str:
    """A canonical string as the container sees it (Compose writes a literal `$` as `$$`)."""
    return str(value).replace("$$", "$")


_CHECKS: dict[str, Callable[[Any, Scope, str], Found]] = {
    "image": _image,
    "container_name": _container_name,
    "networks": _networks,
    "volumes": _volumes,
    "cap_add": _capabilities,
    "cap_drop": _cap_drop,
    "security_opt": _security_opt,
    "labels": _labels,
    "logging": _logging,
    "sysctls": _sysctls,
    "deploy": _deploy,
    "oom_score_adj": _oom_score_adj,
    "ulimits": _ulimits,
}
assert set(_CHECKS) == keys.CHECKED_SERVICE_KEYS
