"""Remove a service (purged: volumes, secrets and files gone), restore it from its backup: it
comes back at the same version with its data, config and secrets."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from app.cli.main import main
from tests.backup.parts import FILL, sh, storage_cell, tree
from tests.installer.helpers import env_of, inspect, remove, volumes_of
from tests.parts.image_set import ImageSet

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_removed_service_comes_back_from_its_backup(
    stack_factory, images: ImageSet, tmp_path: Path, capsys, nc
) -> None:  # type: ignore[no-untyped-def]
    made = await storage_cell(
        stack_factory, images, tmp_path, {"greeting": "hi", "api_key": "k-987654321"}
    )
    stack, sid, bus, client, root = made.stack, made.sid, made.bus, made.client, made.root
    cell = ["--nats", stack.nats_url, "--cell", stack.cell, "--nats-seed", str(stack.seed("admin"))]
    container = f"cell-{sid}"
    sh(container, FILL)
    (root / "config" / sid).mkdir(parents=True)
    (root / "config" / sid / "app.conf").write_text("colour = blue\n")
    before_tree = tree(container)
    before_env = env_of(inspect(container))  # type: ignore[arg-type]

    code, out, err = await cli(capsys, "backup", sid, *cell)
    assert code == 0, err
    (line,) = [n for n in out.splitlines() if n.startswith("backup: ok: backup ")]
    backup_id = line.split()[3]
    code, out, err = await cli(capsys, "backup", "list", sid, *cell)
    assert code == 0, err
    assert backup_id in out and f"{sid} 1.0.0" in out and "live" in out
    code, out, err = await cli(capsys, "backup", "schedule", *cell)
    assert code == 0, err
    assert "No schedule" in out and f"{sid}: last good 20" in out

    gone = await remove(client, sid, purge=True)
    assert gone.payload.status == "succeeded", gone.payload.message
    shutil.rmtree(root / "config" / sid)
    shutil.rmtree(tmp_path / "store")  # the store no longer offers it: the backup has it
    assert inspect(container) is None and volumes_of(sid) == []
    assert await client.service(sid) is None

    code, _, err = await cli(capsys, "restore", "no-such-backup", sid, *cell)
    assert code == 1 and "there is no backup no-such-backup" in err
    # The restore hands the secrets to the installer sealed: no command carries them (watched
    # as the suite, since no role of the cell may read every command).
    seen: list[bytes] = []

    async def on_command(msg) -> None:  # type: ignore[no-untyped-def]
        seen.append(msg.data)

    watch = await nc.subscribe(f"pic.{stack.cell}.cmd.>", cb=on_command)
    code, out, err = await cli(capsys, "restore", backup_id, sid, *cell)
    assert code == 0, err
    assert f"{sid} 1.0.0 restored" in out
    await watch.unsubscribe()
    assert any(b"installer.install" in data for data in seen)
    assert not [data for data in seen if b"k-987654321" in data]
    view = await client.service(sid)
    assert view is not None and view.state == "installed" and view.version == "1.0.0"
    assert view.config["greeting"] == "hi"
    env = env_of(inspect(container))  # type: ignore[arg-type]
    for key in ("NOTES_SECRET", "APP_KEY", "NOTES_GREETING"):
        assert env[key] == before_env[key], key
    assert tree(container) == before_tree
    assert (root / "config" / sid / "app.conf").read_text() == "colour = blue\n"
    await bus.close()
