"""The backups' keys: sealed to the cell's key file or with a passphrase; opened only by the
same; each refusal names what is wrong. (pyrage, on files in a temporary folder.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.backup.errors import BackupKeyError
from services.backup.keys import (
    SealedWith,
    check_key,
    new_identity,
    open_identity,
    seal_identity,
)
from shared.backup_config import BackupConfig

pytestmark = pytest.mark.unit


def test_key_file_is_made_once_and_opens_what_it_sealed(tmp_path: Path) -> None:
    config = BackupConfig()
    identity = new_identity()
    sealed, how = seal_identity(identity, config, tmp_path)
    key_file = tmp_path / "secrets" / "backup-key.txt"
    assert how == SealedWith.key and key_file.stat().st_mode & 0o777 == 0o600
    assert str(open_identity(sealed, how, config, tmp_path)) == str(identity)
    assert str(identity).encode() not in sealed

    key_file.unlink()  # another cell's key: the backup does not open, and says why
    check_key(config, tmp_path)
    with pytest.raises(BackupKeyError, match="made with another one"):
        open_identity(sealed, how, config, tmp_path)


def test_passphrase(tmp_path: Path) -> None:
    (tmp_path / "phrase").write_text("correct horse battery staple\n")
    config = BackupConfig(passphrase_file="phrase")
    identity = new_identity()
    sealed, how = seal_identity(identity, config, tmp_path)
    assert how == SealedWith.passphrase
    assert str(open_identity(sealed, how, config, tmp_path)) == str(identity)

    (tmp_path / "phrase").write_text("another passphrase here\n")
    with pytest.raises(BackupKeyError, match="does not open with the cell's passphrase"):
        open_identity(sealed, how, config, tmp_path)
    with pytest.raises(BackupKeyError, match=r"set backup\.passphrase_file"):
        open_identity(sealed, how, BackupConfig(), tmp_path)
    (tmp_path / "phrase").write_text("short\n")
    with pytest.raises(BackupKeyError, match="at least 12 characters"):
        check_key(config, tmp_path)
    with pytest.raises(BackupKeyError, match="not readable"):
        check_key(BackupConfig(passphrase_file="missing"), tmp_path)
