"""Back up a real service's volume and config, change and delete data, restore: the tree is
identical; a flipped bit is refused before anything is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.backup.parts import (
    FILL,
    backup,
    restore,
    sh,
    storage_cell,
    tree,
    verify,
)
from tests.installer.helpers import inspect
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
async def cell(stack_factory, images: ImageSet, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A cell with the installer and the backup service, and one service with storage whose
    volume holds every kind of entry, and a config path."""
    made = await storage_cell(stack_factory, images, tmp_path, {"api_key": "k-123456789"})
    stack, bus, sid, root = made.stack, made.bus, made.sid, made.root
    sh(f"cell-{sid}", FILL)
    (root / "config" / sid).mkdir(parents=True)
    (root / "config" / sid / "app.conf").write_text("colour = blue\n")
    yield stack, bus, sid, root
    await bus.close()


async def test_restore_gives_back_the_same_tree(cell) -> None:  # type: ignore[no-untyped-def]
    stack, bus, sid, root = cell
    container = f"cell-{sid}"
    before = tree(container)
    assert "L ./link-to-big -> ünïcødé ✓/big.bin" in before
    assert "D ./empty dir 1777" in before

    made = await backup(bus, sid)
    assert made.payload.ok, made.payload.message
    (backup_id,) = made.payload.backups
    folder = stack.data_dir / "backups" / backup_id
    assert (folder / sid / "volumes" / "files.tar.gz.age").is_file()
    # Encrypted: no file name of the volume, nor its config, can be read on disk.
    for path in folder.rglob("*.age"):
        data = path.read_bytes()
        assert data.startswith(b"age-encryption.org/v1")
        assert b"big.bin" not in data and b"colour" not in data

    sh(container, "cd /srv/files && echo changed > one && rm -r 'ünïcødé ✓' && touch new")
    (root / "config" / sid / "app.conf").write_text("colour = red\n")
    (root / "config" / sid / "extra.conf").write_text("x\n")
    changed = tree(container)
    assert changed != before

    refused = await restore(bus, backup_id, sid)
    assert not refused.payload.ok and refused.payload.error_key == "restore_refused"
    assert tree(container) == changed  # untouched

    restored = await restore(bus, backup_id, sid, replace=True)
    assert restored.payload.ok, restored.payload.message
    assert tree(container) == before
    assert (root / "config" / sid / "app.conf").read_text() == "colour = blue\n"
    assert not (root / "config" / sid / "extra.conf").exists()
    info = inspect(container)
    assert info is not None and info["State"]["Running"]


async def test_flipped_bit_is_refused_and_nothing_touched(cell) -> None:  # type: ignore[no-untyped-def]
    stack, bus, sid, _ = cell
    container = f"cell-{sid}"
    made = await backup(bus, sid)
    assert made.payload.ok, made.payload.message
    (backup_id,) = made.payload.backups
    archive = stack.data_dir / "backups" / backup_id / sid / "volumes" / "files.tar.gz.age"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))

    sh(container, "echo after-backup > /srv/files/one")
    before = tree(container)
    started = inspect(container)["State"]["StartedAt"]  # type: ignore[index]

    result = await restore(bus, backup_id, sid, replace=True)
    assert not result.payload.ok
    assert result.payload.error_key == "backup_corrupt"
    assert "files.tar.gz.age" in result.payload.message and "SHA-256" in result.payload.message
    assert tree(container) == before
    assert inspect(container)["State"]["StartedAt"] == started  # type: ignore[index]


async def test_verify_passes_a_good_backup_and_fails_a_corrupt_one(cell) -> None:  # type: ignore[no-untyped-def]
    stack, bus, sid, _ = cell
    made = await backup(bus, sid)
    assert made.payload.ok, made.payload.message
    (backup_id,) = made.payload.backups
    folder = stack.data_dir / "backups" / backup_id

    good = await verify(bus, backup_id)
    assert good.payload.ok, good.payload.message
    recorded = json.loads((folder / "backup.json").read_text())["verified"]
    assert recorded["ok"] is True
    assert docker("ps", "-aq", "--filter", "label=ngo.pic.store.backup-sandbox") == ""
    assert docker("volume", "ls", "-q", "--filter", "label=ngo.pic.store.backup-sandbox") == ""

    contents = folder / sid / "contents.json.age"
    data = bytearray(contents.read_bytes())
    data[-5] ^= 0x10
    contents.write_bytes(bytes(data))
    bad = await verify(bus, backup_id)
    assert not bad.payload.ok and bad.payload.error_key == "verify_failed"
    assert "contents.json.age" in bad.payload.message and "corrupt" in bad.payload.message
    recorded = json.loads((folder / "backup.json").read_text())["verified"]
    assert recorded["ok"] is False and "contents.json.age" in recorded["reason"]
