"""The backup service's errors, each with a stable key (shared/errors.py is the root).

OperationError
└── BackupError                 backup_failed
    ├── BackupNotFoundError     backup_not_found
    ├── BackupCorruptError      backup_corrupt: a file differs from its checksum, or will not open
    ├── BackupKeyError          backup_key: the key or passphrase is missing or does not fit
    ├── RestoreRefusedError     restore_refused: over an installed service without replace
    └── VerifyFailedError       verify_failed: the sandbox did not come up as backed up
"""

from __future__ import annotations

from shared.errors import OperationError


class BackupError(OperationError):
    key = "backup_failed"


class BackupNotFoundError(BackupError):
    key = "backup_not_found"


class BackupCorruptError(BackupError):
    key = "backup_corrupt"


class BackupKeyError(BackupError):
    key = "backup_key"


class RestoreRefusedError(BackupError):
    key = "restore_refused"


class VerifyFailedError(BackupError):
    key = "verify_failed"
