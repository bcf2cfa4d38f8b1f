"""Issue #19, finding 8: a restore trusts no backup folder it did not write.

Anyone who can write a backup folder (an off-site copy, a USB disk) could make restore
delete a host folder, write outside a volume, or install a changed manifest. The backup's
description is authenticated with the cell's backup key (a MAC over backup.json, which
lists every file's SHA-256), validated strictly, and every archive member is checked before
anything is put back. Each tampered folder below is refused with its reason, and the host,
the config folder and the container keep what they had (canaries the test made).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyrage
import pytest
from pyrage import x25519

from services.backup.keys import SealedWith, manifest_key, manifest_tag
from shared.config import CellConfig
from tests.backup.parts import backup, restore, sh, storage_cell, tree
from tests.installer.helpers import inspect
from tests.parts.image_set import ImageSet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Edit = Callable[[Path, dict[str, Any], str], None]


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes = b"") -> Any:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, link, len(data), 0o644
    return info, data


def _archive(members: list[Any]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


class Forger:
    """Copies of one good backup, changed; `signed` ones carry a MAC made with the cell's
    key (what a hostile service's own tar stream, or a key holder, could produce), the others
    keep the MAC of the original (what anyone else can do)."""

    def __init__(self, data_dir: Path, backup_id: str, sid: str) -> None:
        self.data_dir, self.backup_id, self.sid = data_dir, backup_id, sid
        self.backups = data_dir / "backups"
        self.count = 0
        config = CellConfig.load(data_dir).backup
        cell = x25519.Identity.from_str((data_dir / config.key_file).read_text().strip())
        sealed = (self.backups / backup_id / "key.age").read_bytes()
        self.identity = x25519.Identity.from_str(pyrage.decrypt(sealed, [cell]).decode())

    def __call__(self, edit: Edit, signed: bool) -> str:
        self.count += 1
        new_id = f"{self.backup_id}-t{self.count}"
        folder = self.backups / new_id
        shutil.copytree(self.backups / self.backup_id, folder)
        description = json.loads((folder / "backup.json").read_text())
        description["backup_id"] = new_id
        edit(folder, description, self.sid)
        for stored in description["files"]:  # the checksums follow the changed files
            data = (folder / stored["path"]).read_bytes()
            stored["size"], stored["sha256"] = len(data), hashlib.sha256(data).hexdigest()
        raw = json.dumps(description, indent=2).encode()
        (folder / "backup.json").write_bytes(raw)
        if signed:
            config = CellConfig.load(self.data_dir).backup
            key = manifest_key(SealedWith.key, new_id, config, self.data_dir)
            (folder / "backup.json.mac").write_text(manifest_tag(key, raw))
        return new_id

    def sealed(self, members: list[Any]) -> bytes:
        return pyrage.encrypt(_archive(members), [self.identity.to_public()])


def changed_version(folder: Path, d: dict[str, Any], sid: str) -> None:
    d["services"][0]["version"] = "9.9.9"


def config_path_out(folder: Path, d: dict[str, Any], sid: str) -> None:
    d["services"][0]["config_paths"] = ["../x"]


def config_path_other(folder: Path, d: dict[str, Any], sid: str) -> None:
    d["services"][0]["config_paths"] = ["config/someone-else"]


def changed_manifest(folder: Path, d: dict[str, Any], sid: str) -> None:
    path = folder / sid / "store" / "services" / sid / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["backup"]["config_paths"] = ["config"]
    path.write_text(json.dumps(manifest))


@pytest.fixture
async def cell(stack_factory, images: ImageSet, tmp_path: Path):  # type: ignore[no-untyped-def]
    made = await storage_cell(stack_factory, images, tmp_path, {"api_key": "k-123456789"})
    sh(made.container, "echo inside > /srv/files/canary")
    (made.root / "config" / made.sid).mkdir(parents=True)
    (made.root / "config" / made.sid / "app.conf").write_text("colour = blue\n")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "canary.txt").write_text("host canary")
    yield made, tmp_path
    await made.bus.close()


async def test_a_tampered_backup_folder_is_refused_and_nothing_is_touched(cell) -> None:  # type: ignore[no-untyped-def]
    made, tmp_path = cell
    sid, container, data_dir = made.sid, made.container, made.stack.data_dir
    result = await backup(made.bus, sid)
    assert result.payload.ok, result.payload.message
    forge = Forger(data_dir, result.payload.backups[0], sid)

    def volume(members: list[Any]) -> Edit:
        def edit(folder: Path, d: dict[str, Any], sid: str) -> None:
            (folder / sid / "volumes" / "files.tar.gz.age").write_bytes(forge.sealed(members))

        return edit

    def config(members: list[Any]) -> Edit:
        def edit(folder: Path, d: dict[str, Any], sid: str) -> None:
            (folder / sid / "config.tar.gz.age").write_bytes(forge.sealed(members))

        return edit

    ok = _member("./fine", data=b"fine")
    cases: list[tuple[str, Edit, bool, str, str]] = [
        ("changed description", changed_version, False, "backup_tampered", "MAC"),
        ("config_paths ../x", config_path_out, False, "backup_tampered", "MAC"),
        ("config_paths ../x, signed", config_path_out, True, "backup_corrupt", "no '..'"),
        ("another's config path, signed", config_path_other, True, "backup_corrupt", "not below"),
        ("changed manifest", changed_manifest, False, "backup_tampered", "MAC"),
        (
            "a member with ..",
            volume([ok, _member("./../../tmp/evil", data=b"x")]),
            True,
            "backup_unsafe",
            "'..'",
        ),
        (
            "an absolute symlink",
            volume([ok, _member("./etc", tarfile.SYMTYPE, "/etc")]),
            True,
            "backup_unsafe",
            "absolute path",
        ),
        (
            "a hard link out",
            volume([ok, _member("./passwd", tarfile.LNKTYPE, "../../etc/passwd")]),
            True,
            "backup_unsafe",
            "hard link",
        ),
        (
            "a device node",
            volume([ok, _member("./disk", tarfile.BLKTYPE)]),
            True,
            "backup_unsafe",
            "device node",
        ),
        (
            "a config member out of its folder",
            config([_member(f"config/{sid}/../../../x/canary.txt", data=b"overwritten")]),
            True,
            "backup_unsafe",
            "'..'",
        ),
    ]
    before = tree(container)
    started = inspect(container)["State"]["StartedAt"]  # type: ignore[index]
    for what, edit, signed, key, reason in cases:
        forged = forge(edit, signed)
        refused = await restore(made.bus, forged, sid, replace=True)
        assert not refused.payload.ok, f"{what}: restored"
        assert refused.payload.error_key == key, f"{what}: {refused.payload.message}"
        assert reason in refused.payload.message, f"{what}: {refused.payload.message}"
        assert tree(container) == before, f"{what}: the container changed"
        assert (tmp_path / "x" / "canary.txt").read_text() == "host canary", what
        assert (made.root / "config" / sid / "app.conf").read_text() == "colour = blue\n", what
    assert "evil" not in sh(container, "ls /tmp /")
    assert inspect(container)["State"]["StartedAt"] == started  # type: ignore[index]

    # The untouched backup still restores.
    good = await restore(made.bus, result.payload.backups[0], sid, replace=True)
    assert good.payload.ok, good.payload.message
