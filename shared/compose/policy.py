"""What a store's compose template may not do: escape the container (privileged, host
namespaces, devices, dangerous capabilities), read the host (bind mounts outside the
service's data folder, env files), or act as another container."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shared.compose.const import (
    CELL_NETWORK,
    DANGEROUS_CAPABILITIES,
    FORBIDDEN_SERVICE_KEYS,
    SHARED_NAMESPACE_KEYS,
)
from shared.manifest import Issue, Manifest, json_path, normalise_absolute
from shared.manifest.image import parse_image_ref
from shared.manifest.issues import show
from shared.manifest.paths import is_below


def policy_issues(
    document: dict[str, Any], manifest: Manifest, data_dir: str, registry: str
) -> list[Issue]:
    issues: list[Issue] = []
    own_dir = normalise_absolute(f"{data_dir}/{manifest.id}")
    for name, service in document["services"].items():
        issues.extend(_service_issues(str(name), service, manifest, own_dir, registry))
    if "include" in document:
        issues.append(
            Issue(
                json_path("include"), "include is not allowed: it reads other files from the host"
            )
        )
    for section in ("secrets", "configs"):
        entries = document.get(section)
        for key, entry in entries.items() if isinstance(entries, dict) else []:
            if isinstance(entry, dict) and ("file" in entry or "environment" in entry):
                issues.append(
                    Issue(
                        json_path(section, str(key)),
                        "file and environment sources read the host: use ${PIC_SECRET_<NAME>}",
                    )
                )
    networks = document.get("networks")
    for key, entry in networks.items() if isinstance(networks, dict) else []:
        if key != CELL_NETWORK and isinstance(entry, dict) and entry.get("external"):
            issues.append(
                Issue(
                    json_path("networks", str(key)),
                    "external networks are not allowed: only the cell network is shared",
                )
            )
    return issues


def _service_issues(
    name: str, service: dict[str, Any], manifest: Manifest, own_dir: str, registry: str
) -> Iterator[Issue]:
    def at(*parts: str | int) -> str:
        return json_path("services", name, *parts)

    for key, why in FORBIDDEN_SERVICE_KEYS.items():
        if key in service:
            yield Issue(at(key), f"{key} is not allowed: {why}")
    if service.get("privileged") not in (None, False):
        yield Issue(at("privileged"), "privileged containers are not allowed")
    for key in SHARED_NAMESPACE_KEYS:
        value = service.get(key)
        if isinstance(value, str) and (value == "host" or value.startswith("container:")):
            yield Issue(
                at(key),
                f"{key}: {show(value)} would share the namespace of the host or another container",
            )
    caps = service.get("cap_add")
    for index, cap in enumerate(caps if isinstance(caps, list) else []):
        if isinstance(cap, str) and cap.upper().removeprefix("CAP_") in DANGEROUS_CAPABILITIES:
            yield Issue(at("cap_add", index), f"the capability {show(cap)} is not allowed")
    options = service.get("security_opt")
    for index, option in enumerate(options if isinstance(options, list) else []):
        if isinstance(option, str) and ("unconfined" in option or "disable" in option):
            yield Issue(at("security_opt", index), f"{show(option)} would turn a protection off")
    container = service.get("container_name")
    own = manifest.container_name
    if container is not None and (
        not isinstance(container, str) or (container != own and not container.startswith(own + "-"))
    ):
        yield Issue(
            at("container_name"),
            f"container names must be {own} or start with {own}- (got {show(container)})",
        )
    image = service.get("image")
    if container != own and isinstance(image, str):
        try:
            parse_image_ref(image, registry)
        except ValueError as exc:
            yield Issue(at("image"), f"image {show(image)} {exc}")
    yield from _environment_issues(service.get("environment"), at)
    volumes = service.get("volumes")
    for index, volume in enumerate(volumes if isinstance(volumes, list) else []):
        problem = _bind_problem(volume, own_dir)
        if problem:
            yield Issue(at("volumes", index), problem)


_FROM_HOST = "has no value: Compose would copy it from the host's environment"


def _environment_issues(environment: object, at: Any) -> Iterator[Issue]:
    if isinstance(environment, dict):
        for key, value in environment.items():
            if value is None:
                yield Issue(
                    at("environment", str(key)),
                    f"{show(str(key))} {_FROM_HOST}",
                )
    elif isinstance(environment, list):
        for index, entry in enumerate(environment):
            if isinstance(entry, str) and "=" not in entry:
                yield Issue(
                    at("environment", index),
                    f"{show(entry)} {_FROM_HOST}",
                )


def _bind_problem(volume: object, own_dir: str) -> str | None:
    """Bind mounts may only reach the service's own data folder ${PIC_DATA_DIR}/<id>."""
    if isinstance(volume, str):
        source = volume.split(":", 1)[0] if ":" in volume else ""
        is_bind = source.startswith(("/", ".", "~"))
    elif isinstance(volume, dict):
        source = str(volume.get("source", ""))
        is_bind = volume.get("type") == "bind" or source.startswith(("/", ".", "~"))
    else:
        return None
    if not is_bind:
        return None
    if not source.startswith("/"):
        return (
            f"the bind mount {show(source)} must be an absolute path inside ${{PIC_DATA_DIR}}/<id>"
        )
    path = normalise_absolute(source)
    if path != own_dir and not is_below(path, own_dir):
        return (
            f"the bind mount {show(source)} is outside this service's data folder "
            f"(${{PIC_DATA_DIR}}/{own_dir.rsplit('/', 1)[-1]} = {own_dir}): use a named volume"
        )
    return None
