"""What the canonical Compose form of a service says: its containers, images and volumes.

Docker Compose runs the file; the installer only needs to know what to pull, what to wait
for, which containers a change recreates, and which volumes belong to the service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.compose.host_files import HOST_FILES
from shared.compose.keys import OWNER_LABEL

LABEL_PROJECT = "com.docker.compose.project"
LABEL_OWNER = OWNER_LABEL


@dataclass(frozen=True)
class Project:
    """One service's canonical Compose form (`docker compose config --format json`)."""

    name: str
    canonical: dict[str, Any]

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services = self.canonical.get("services")
        return services if isinstance(services, dict) else {}

    def container_of(self, service: str) -> str:
        body = self.services[service]
        return str(body.get("container_name") or f"{self.name}-{service}-1")

    @property
    def containers(self) -> list[str]:
        return [self.container_of(service) for service in self.services]

    @property
    def images(self) -> list[str]:
        return sorted({str(body["image"]) for body in self.services.values()})

    @property
    def volumes(self) -> list[str]:
        """The engine's names of the named volumes (`<project>_<key>`)."""
        declared = self.canonical.get("volumes") or {}
        return sorted(
            str((entry or {}).get("name") or f"{self.name}_{key}")
            for key, entry in declared.items()
        )

    @property
    def bind_sources(self) -> list[str]:
        """Host paths the containers mount, as Compose resolved them (`$$` is a `$`): the
        service's folders, which the installer makes and checks. The host's time-zone files
        bound read-only (shared/compose/host_files.py) are not among them; any other bind of
        theirs is, so the host check refuses it."""
        return [
            source
            for body in self.services.values()
            for mount in body.get("volumes") or []
            if isinstance(mount, dict) and mount.get("type") == "bind"
            for source in [str(mount["source"]).replace("$$", "$")]
            if not (source in HOST_FILES and mount.get("read_only"))
        ]

    def changed(self, before: Project | None, running: set[str]) -> list[str]:
        """Containers an `up` recreates: a service whose canonical form differs from
        `before`, or whose container is not running."""
        old = before.services if before else {}
        return [
            self.container_of(service)
            for service, body in self.services.items()
            if _same(old.get(service)) != _same(body) or self.container_of(service) not in running
        ]


def _same(body: dict[str, Any] | None) -> str:
    return json.dumps(body, sort_keys=True)
