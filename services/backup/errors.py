"""The backup service's errors, each with a stable key (shared/errors.py is the root).

OperationError
└── BackupError                 backup_failed
    ├── BackupNotFoundError     backup_not_found
    ├── BackupCorruptError      backup_corrupt: a file differs from its checksum, or will not open
    │   └── BackupTamperedError backup_tampered: backup.json is not the one this cell wrote
    ├── BackupKeyError          backup_key: the key or passphrase is missing or does not fit
    ├── UnsafeEntryError        backup_unsafe: an archive entry would land outside its place
    ├── InvalidIdError          invalid_id: an id that would name another folder
    ├── StreamLimitError        backup_limit: a command or stream broke its time or size limit
    ├── RestoreRefusedError     restore_refused: over an installed service without replace
    └── VerifyFailedError       verify_failed: the sandbox did not come up as backed up
"""

from __future__ import annotations

from shared.errors import OperationError


class BackupError(OperationError):
    """A backup, restore or verify failed; the root of the backup service's errors."""

    key = "backup_failed"


class BackupNotFoundError(BackupError):
    """No complete backup has that id."""

    key = "backup_not_found"


class BackupCorruptError(BackupError):
    """A file of the backup differs from its checksum, or will not open."""

    key = "backup_corrupt"


class BackupKeyError(BackupError):
    """The backup key or its passphrase is missing or does not fit."""

    key = "backup_key"


class RestoreRefusedError(BackupError):
    """A restore over an installed service without `--replace`."""

    key = "restore_refused"


class VerifyFailedError(BackupError):
    """The verify sandbox did not come up as backed up."""

    key = "verify_failed"


class BackupTamperedError(BackupCorruptError):
    """The backup's backup.json is not the one this cell wrote."""

    key = "backup_tampered"


class UnsafeEntryError(BackupError):
    """An archive entry would land outside its place."""

    key = "backup_unsafe"


class InvalidIdError(BackupError):
    """An id that would name another folder."""

    key = "invalid_id"


class StreamLimitError(BackupError):
    """A command or stream of a backup broke its time or size limit."""

    key = "backup_limit"


class PartialBackupError(BackupError):
    """A backup was made, without some of the services asked for (named in the message)."""

    def __init__(self, message: str, made: object) -> None:
        super().__init__(message)
        self.made = made
