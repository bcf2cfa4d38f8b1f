"""Join a filled-in template to the cell: its private network for every container, the cell
network for those that need it, and the manifest's image, env and named volumes for the main
container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.compose.const import CELL_NETWORK
from shared.compose.keys import OWNER_LABEL
from shared.compose.networks import join as join_networks
from shared.manifest import Manifest, normalise_absolute


def attach(
    document: dict[str, Any],
    manifest: Manifest,
    env: dict[str, str],
    service_ip: str | None,
    network: str = CELL_NETWORK,
    pinned: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Put the containers on the service's private network and those that need it on the
    cell network (networks.py), mark every container as the service's, give the main
    container its image, env and volumes, and run every image by its verified digest.
    Returns rendered service key -> template key, for the services keyed anew.

    The template's image of the main container stands for the manifest's image wherever it
    appears: a sidecar written with the same image runs the same published one (a service
    whose containers share one image, started with different commands)."""
    written_main = next(
        (
            s.get("image")
            for s in document["services"].values()
            if s.get("container_name") == manifest.container_name
        ),
        None,
    )
    for service in document["services"].values():
        main = service.get("container_name") == manifest.container_name
        if not main and written_main is not None and service.get("image") == written_main:
            service["image"] = manifest.image
        labels = service.get("labels")
        if isinstance(labels, list):
            labels = dict(str(item).partition("=")[::2] for item in labels)
        service["labels"] = {
            **(labels if isinstance(labels, dict) else {}),
            OWNER_LABEL: manifest.id,
        }
        if main:
            service["image"] = manifest.image
            _merge_env(service, env)
            _merge_volumes(service, manifest)
        service["image"] = (pinned or {}).get(service["image"], service["image"])
    renamed = join_networks(document, manifest, service_ip, network)
    if manifest.volumes:
        declared = document.get("volumes") or {}
        document["volumes"] = {
            **declared,
            **{v.name: declared.get(v.name) or {} for v in manifest.volumes},
        }
    document_items = list(document.items())
    document.clear()
    document.update([("name", manifest.id), *((k, v) for k, v in document_items if k != "name")])
    return renamed


def _merge_env(service: dict[str, Any], env: dict[str, str]) -> None:
    current = service.get("environment")
    if isinstance(current, list):
        current = dict(str(item).partition("=")[::2] for item in current)
    merged = {**(current if isinstance(current, dict) else {}), **env}  # the manifest wins
    if merged:
        service["environment"] = merged


def _merge_volumes(service: dict[str, Any], manifest: Manifest) -> None:
    mounts = {normalise_absolute(v.mount) for v in manifest.volumes}
    kept = [v for v in service.get("volumes") or [] if _target(v) not in mounts]
    service["volumes"] = kept + [
        f"{v.name}:{normalise_absolute(v.mount)}" for v in manifest.volumes
    ]
    if not service["volumes"]:
        del service["volumes"]


def _target(volume: object) -> str | None:
    if isinstance(volume, str):
        parts = volume.split(":")
        target = parts[1] if len(parts) > 1 else parts[0]
    elif isinstance(volume, dict):
        target = str(volume.get("target", ""))
    else:
        return None
    return normalise_absolute(target) if target.startswith("/") else target
