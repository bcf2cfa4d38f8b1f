"""A service with storage for the backup tests, and what its volume holds, as a user sees it
(`docker exec ... find/stat/sha256sum`: nothing of the backup service's own code)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.embedded import ManagedProcess
from shared.backup_client import run_backup_command
from shared.bus import Bus
from shared.client import StoreClient
from shared.events import new_operation_id
from shared.events.backups import (
    BackupCommand,
    BackupResult,
    RestoreCommand,
    RestorePayload,
    VerifyCommand,
    VerifyPayload,
)
from tests.installer.helpers import install, service_id
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, write_store

TEMPLATE = """services:
  ${SERVICE}:
    image: ${IMAGE}
    container_name: ${CONTAINER}
    init: true
    environment:
      NOTES_GREETING: ${PIC_CFG_GREETING}
      NOTES_SECRET: ${PIC_SECRET_SESSION_KEY}
      APP_KEY: ${PIC_CFG_API_KEY}
    volumes:
      - files:/srv/files
"""

# Sizes, spaces and unicode in names, symlinks (relative: a restore refuses absolute ones),
# a hard link, empty folders, modes.
FILL = r"""
set -e
cd /srv/files
mkdir -p "empty dir" "deep/er/still empty" "ünïcødé ✓"
printf '' > zero
printf 'x' > one
dd if=/dev/urandom of="with space.bin" bs=4097 count=1 2>/dev/null
dd if=/dev/urandom of="ünïcødé ✓/big.bin" bs=1M count=3 2>/dev/null
echo secret-ish > private && chmod 600 private
echo run > tool.sh && chmod 755 tool.sh
chmod 1777 "empty dir"
ln -s "ünïcødé ✓/big.bin" link-to-big
ln -s no/such/file dangling
ln one hardlink-to-one
"""

LIST = r"""
cd /srv/files && find . | sort | while IFS= read -r f; do
  if [ -L "$f" ]; then echo "L $f -> $(readlink "$f")"
  elif [ -d "$f" ]; then echo "D $f $(stat -c %a "$f")"
  else echo "F $f $(stat -c '%a %s %h' "$f") $(sha256sum < "$f" | cut -d' ' -f1)"; fi
done
"""


def storage_manifest(sid: str, image: str, version: str = "1.0.0") -> dict[str, Any]:
    return web_manifest(
        sid,
        image,
        version,
        has_storage=True,
        volumes=[{"name": "files", "mount": "/srv/files"}],
        config_schema=[
            {"key": "greeting", "type": "string", "label": "Greeting", "default": "hello"},
            {"key": "api_key", "type": "secret", "label": "API key"},
        ],
        backup={
            "volumes": [{"container": f"cell-{sid}", "path": "/srv/files", "name": "files"}],
            "config_paths": [f"config/{sid}"],
        },
    )


def template(manifest: dict[str, Any]) -> str:
    return (
        TEMPLATE.replace("${IMAGE}", manifest["image"])
        .replace("${CONTAINER}", manifest["container_name"])
        .replace("${SERVICE}", manifest["id"])
    )


def storage_store(root: Path, manifests: list[dict[str, Any]]) -> Path:
    return write_store(root, [(m, template(m)) for m in manifests])


def sh(container: str, script: str) -> str:
    return docker("exec", container, "sh", "-c", script)


def tree(container: str) -> str:
    return sh(container, LIST)


async def backup(bus: Bus, sid: str | None, timeout: float = 120) -> BackupResult:
    command = BackupCommand(operation_id=new_operation_id(), service_id=sid)
    return await run_backup_command(bus, command, timeout)


async def restore(
    bus: Bus, backup_id: str, sid: str | None, replace: bool = False, timeout: float = 180
) -> BackupResult:
    command = RestoreCommand(
        operation_id=new_operation_id(),
        service_id=sid,
        payload=RestorePayload(backup=backup_id, replace=replace),
    )
    return await run_backup_command(bus, command, timeout)


async def verify(bus: Bus, backup_id: str, timeout: float = 180) -> BackupResult:
    command = VerifyCommand(
        operation_id=new_operation_id(), payload=VerifyPayload(backup=backup_id)
    )
    return await run_backup_command(bus, command, timeout)


@dataclass
class StorageCell:
    """A cell with the installer and the backup service, and one service with storage."""

    stack: Stack
    sid: str
    bus: Bus
    client: StoreClient
    backup: ManagedProcess
    root: Path  # PIC_ROOT: where config paths live

    @property
    def container(self) -> str:
        return f"cell-{self.sid}"


async def storage_cell(
    stack_factory: Any, images: ImageSet, tmp_path: Path, config: dict[str, Any] | None = None
) -> StorageCell:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    root = tmp_path / "root"
    stack: Stack = stack_factory(PIC_ROOT=str(root))
    stack.start_installer()
    backup_service = stack.start("backup")
    bus = await stack.bus("admin")
    client = StoreClient(bus)
    store = storage_store(tmp_path / "store", [storage_manifest(sid, images.web)])  # kept there
    result = await install(client, store, sid, config=config or {})
    assert result.payload.status == "succeeded", result.payload.message
    return StorageCell(stack, sid, bus, client, backup_service, root)
