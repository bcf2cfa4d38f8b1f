"""Make a store folder (index.json + services/<id>/...) for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WEB_TEMPLATE = """services:
  ${SERVICE}:
    image: ${IMAGE}
    container_name: ${CONTAINER}
    init: true
    environment:
      NOTES_GREETING: ${PIC_CFG_GREETING}
      NOTES_SECRET: ${PIC_SECRET_SESSION_KEY}
      APP_DOMAIN: ${PIC_DOMAIN}
    volumes:
      - notes-data:/data/notes
"""


def web_manifest(
    service_id: str, image: str, version: str = "1.0.0", **extra: Any
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "schema_version": 3,
        "id": service_id,
        "name": service_id.title(),
        "description": "A test web service",
        "version": version,
        "author": "tests",
        "kind": "store",
        "image": image,
        "container_name": f"cell-{service_id}",
        "has_subdomain": False,
        "has_accounts": False,
        "has_admin_config": True,
        "has_storage": False,
        "has_egress": False,
        "has_api_hooks": False,
        "volumes": [{"name": "notes-data", "mount": "/data/notes"}],
        "env": [{"key": "NOTES_MODE", "value": "test"}],
        "config_schema": [
            {"key": "greeting", "type": "string", "label": "Greeting", "default": "hello"},
        ],
    }
    manifest.update(extra)
    return manifest


def web_template(manifest: dict[str, Any]) -> str:
    return (
        WEB_TEMPLATE.replace("${IMAGE}", manifest["image"])
        .replace("${CONTAINER}", manifest["container_name"])
        .replace("${SERVICE}", manifest["id"])
    )


def write_store(root: Path, services: list[tuple[dict[str, Any], str]]) -> Path:
    """services: (manifest, compose template) pairs; returns the store folder."""
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for manifest, template in services:
        folder = root / "services" / manifest["id"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        (folder / "compose-template.yml").write_text(template)
        entries.append(
            {"id": manifest["id"], "name": manifest["name"], "version": manifest["version"]}
        )
    (root / "index.json").write_text(json.dumps({"services": entries}, indent=2))
    return root
