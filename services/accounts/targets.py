"""Where a service's accounts live, read from a step request (or an installed record)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from services.accounts.errors import AccountsError
from services.accounts.state import Target
from shared.manifest.model import Accounts


def target_of(
    service_id: str,
    manifest: dict[str, Any],
    addresses: dict[str, str],
    service_ip: str | None,
    domain: str,
) -> Target:
    try:
        block = Accounts.model_validate(manifest.get("accounts"))
    except ValidationError as exc:
        raise AccountsError(f"the manifest of {service_id} has no valid accounts block") from exc
    main = str(manifest.get("container_name", ""))
    container = block.container or main
    address = addresses.get(container) or (service_ip if container == main else None)
    return Target(
        service_id=service_id,
        manager=block.manager,
        credentials=list(block.credentials),
        container=container,
        address=address,
        port=block.port or _backend_port(manifest.get("backend"), container),
        file=block.file,
        domain=domain,
        template=dict(manifest.get("peer_config_template") or {}),
    )


def _backend_port(backend: object, container: str) -> int:
    """The backend's port when the backend is the accounts' container; else 80."""
    if isinstance(backend, str) and ":" in backend:
        host, _, port = backend.rpartition(":")
        if host == container and port.isdigit():
            return int(port)
    return 80
