"""Pure logic of backups: the manifest's consistency rules, retention, tree comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.backup.description import BackupManifest, ServiceEntry, Verification
from services.backup.keys import SealedWith
from services.backup.manager import to_delete
from services.backup.verify import first_difference
from shared.manifest import validate_manifest
from tests.backup.parts import storage_manifest

pytestmark = pytest.mark.unit


def issues(manifest: dict[str, Any]) -> dict[str, str]:
    return {i.path: i.message for i in validate_manifest(manifest)}


def test_consistency_hooks_and_stop() -> None:
    m = storage_manifest("notes", "git.pic.ngo/roof/notes:1")
    assert issues(m) == {}
    m["backup"]["before"] = {"container": "cell-notes-db", "command": ["pg_dump", "-f", "/d"]}
    m["backup"]["after"] = {"container": "cell-notes", "command": ["rm", "/d"]}
    assert issues(m) == {}
    m["backup"]["stop"] = True
    found = issues(m)
    assert "exclude each other" in found["$.backup.stop"]
    m["backup"]["stop"] = False
    m["backup"]["before"] = {"container": "cell-other", "command": []}
    found = issues(m)
    assert "not one of this service's containers" in found["$.backup.before.container"]
    assert any(path.startswith("$.backup.before.command") for path in found)


def backup(
    backup_id: str, sids: list[str], hours_ago: float, ok: bool | None = None
) -> BackupManifest:
    started = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(hours=hours_ago)
    return BackupManifest(
        backup_id=backup_id,
        started=started,
        finished=started,
        sealed_with=SealedWith.key,
        services=[ServiceEntry(service_id=s, manifest={}) for s in sids],
        verified=None if ok is None else Verification(ok=ok, at=started),
    )


def test_retention_keeps_enough_good_backups_of_every_service() -> None:
    backups = [
        backup("a1", ["a"], 5),
        backup("ab", ["a", "b"], 4),  # b's only backup: kept while b has no newer one
        backup("a2", ["a"], 3),
        backup("a3", ["a"], 2, ok=False),  # failed verification: does not count
        backup("a4", ["a"], 1),
    ]
    assert to_delete(backups, keep=2) == ["a1"]
    assert to_delete(backups, keep=1) == ["a1", "a2", "a3"]
    assert to_delete([backup("b2", ["b"], 0), *backups], keep=1) == ["a1", "ab", "a2", "a3"]


def test_first_difference_names_the_entry() -> None:
    want = {".": "dir 0755", "a": "file 0644 1 x", "l": "symlink a"}
    assert first_difference(want, dict(want)) is None
    assert first_difference(want, {**want, "a": "file 0600 1 x"}) == (
        "a differs (file recorded, file found)"
    )
    assert first_difference(want, {".": "dir 0755", "l": "symlink a"}) == "a is missing"
    assert first_difference(want, {**want, "n": "dir 0700"}) == "n is there but was not backed up"
