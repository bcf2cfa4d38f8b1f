"""An app imported from Runtipi installed end to end on the embedded stack: the real
installer, router (Caddy, dnsmasq) and backup service, its image built locally from the
busybox base. It answers through Caddy with the admin's settings, and its data folder is
backed up and restored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.importers import import_service
from shared.manifest import ValidationOptions
from tests.backup.parts import backup, restore, sh
from tests.installer.helpers import install, service_id
from tests.parts.eventually import eventually
from tests.parts.image_set import ImageSet
from tests.router.conftest import caddy, dnsmasq, http_port, loopback_client
from tests.router.dns_parts import ZONE
from tests.router.service_parts import Cell, Connect, cell_client, start_cell

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["caddy", "cell_client", "dnsmasq", "http_port"]


def runtipi_app(folder: Path, sid: str) -> Path:
    """A Runtipi app as its store writes one: a form field, a generated secret, the web port
    published on the host, a data folder, traefik labels and the store's network."""
    folder.mkdir(parents=True)
    config = {
        "id": sid,
        "name": "Imported web",
        "version": "1.0.0",
        "port": 8000,
        "exposable": True,
        "description": "A web app imported from Runtipi for the end-to-end test.",
        "author": "tests",
        "form_fields": [
            {"type": "text", "label": "Greeting", "default": "hello", "env_variable": "GREETING"},
            {"type": "random", "label": "Session", "min": 32, "env_variable": "SESSION_KEY"},
        ],
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "docker-compose.yml").write_text(
        f"services:\n"
        f"  {sid}:\n"
        f"    container_name: {sid}\n"
        f"    image: web:1\n"
        f"    init: true\n"
        f"    ports: ['${{APP_PORT}}:8080']\n"
        f"    volumes: ['${{APP_DATA_DIR}}/data/notes:/data/notes']\n"
        f"    environment:\n"
        f"      - NOTES_GREETING=${{GREETING}}\n"
        f"      - NOTES_SECRET=${{SESSION_KEY}}\n"
        f"      - APP_DOMAIN=${{APP_DOMAIN}}\n"
        f"    labels:\n"
        f"      traefik.enable: true\n"
        f"    networks: [tipi_main_network]\n"
        f"networks:\n"
        f"  tipi_main_network:\n"
        f"    external: true\n"
    )
    return folder


async def page(cell: Cell, host: str, path: str) -> tuple[int, str]:
    async with loopback_client() as client:
        answer = await client.get(
            f"http://127.0.0.1:{cell.http_port}{path}", headers={"Host": host}
        )
    return answer.status_code, answer.text


async def test_an_imported_app_installs_answers_and_is_restored(
    stack_factory: Any,
    caddy: Any,
    dnsmasq: Any,
    http_port: int,
    cell_client: Connect,
    images: ImageSet,
    tmp_path: Path,
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    registry = images.web.split("/roof/", 1)[0] + "/roof/"
    store = tmp_path / "store"
    imported = import_service(
        "runtipi",
        runtipi_app(tmp_path / "runtipi" / sid, sid),
        store / "services" / sid,
        ValidationOptions(allowed_registry=registry),
    )
    assert imported.status == "valid", imported.report
    # What the store's pipeline does on publishing: the image it built, pinned by digest.
    folder = store / "services" / sid
    for name in ("manifest.json", "compose-template.yml"):
        text = (folder / name).read_text()
        assert f"{registry}web:1" in text
        (folder / name).write_text(text.replace(f"{registry}web:1", images.web))
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = {k: manifest[k] for k in ("id", "name", "version", "subdomain")}
    (store / "index.json").write_text(json.dumps({"services": [entry]}))

    cell = start_cell(stack_factory, caddy, dnsmasq, http_port)
    client = await cell_client(cell)
    result = await install(client, store, sid, config={"greeting": "hi from runtipi"})
    assert result.payload.status == "succeeded", result.payload.message + cell.stack.log()

    host = f"{sid}.{ZONE}"

    async def answers_with_its_settings() -> bool:
        status, text = await page(cell, host, "/env.txt")
        assert status in (200, 502), text
        return status == 200 and "NOTES_GREETING=hi from runtipi" in text

    await eventually(answers_with_its_settings, within=15, what=f"{host} through Caddy")
    _, env = await page(cell, host, "/env.txt")
    secret = next(line for line in env.splitlines() if line.startswith("NOTES_SECRET="))
    assert len(secret) > len("NOTES_SECRET=") + 20  # generated at install
    assert f"APP_DOMAIN={sid}.{ZONE}" in env

    container = f"cell-{sid}"
    sh(container, "echo kept > /data/notes/mark")
    cell.stack.start("backup")
    bus = await cell.stack.bus("admin", name="import-tests")
    try:
        made = await backup(bus, sid)
        assert made.payload.ok, made.payload.message
        (backup_id,) = made.payload.backups
        sh(container, "rm /data/notes/mark && echo new > /data/notes/other")
        restored = await restore(bus, backup_id, sid, replace=True)
        assert restored.payload.ok, restored.payload.message
    finally:
        await bus.close()
    assert sh(container, "cat /data/notes/mark").strip() == "kept"
    assert "other" not in sh(container, "ls /data/notes")
