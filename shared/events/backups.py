"""The messages of backup and restore: the admin's commands to the backup service, its
results, and the secrets handover between the installer and the backup service (the
installer alone reads the secrets bucket; it hands a service's secrets over only encrypted
to the age recipient named in the request)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.bus.envelope import Message, Payload
from shared.ids import BackupId, ServiceId


class BackupAction(StrEnum):
    backup = "backup"
    restore = "restore"
    verify = "verify"


class BackupPayload(Payload):
    reason: str = Field(
        default="admin", max_length=200, description="Why: admin, schedule, upgrade"
    )


class BackupCommand(Message):
    """Back up one service (`service_id`), or every service with storage (none given)."""

    type: Literal["backup.run"] = "backup.run"
    version: Literal[1] = 1
    payload: BackupPayload = Field(default_factory=BackupPayload)


class RestorePayload(Payload):
    backup: BackupId
    replace: bool = Field(default=False, description="Restore over an installed service")


class RestoreCommand(Message):
    """Restore one service of a backup (`service_id`), or every service it holds."""

    type: Literal["backup.restore"] = "backup.restore"
    version: Literal[1] = 1
    payload: RestorePayload


class VerifyPayload(Payload):
    backup: BackupId


class VerifyCommand(Message):
    """Restore a backup into a sandbox, check it against its checksums, tear it down."""

    type: Literal["backup.verify"] = "backup.verify"
    version: Literal[1] = 1
    payload: VerifyPayload


class BackupResultPayload(Payload):
    action: BackupAction
    ok: bool
    message: str = ""
    error_key: str | None = None
    backups: list[str] = Field(default_factory=list, description="The backups made or used")
    warnings: list[str] = Field(
        default_factory=list,
        description="What the command did without, e.g. a config path that is not there",
    )


class BackupResult(Message):
    type: Literal["backup.result"] = "backup.result"
    version: Literal[1] = 1
    payload: BackupResultPayload


# -- what the backup service holds: the list and the schedule (request and reply) ----------


class BackupListPayload(Payload):
    """Nothing beyond the envelope: its `service_id`, when given, keeps the backups that hold
    that service."""


class BackupListRequest(Message):
    """Ask for the complete backups (of one service, when `service_id` is given)."""

    type: Literal["backup.list"] = "backup.list"
    version: Literal[1] = 1
    payload: BackupListPayload = Field(default_factory=BackupListPayload)


class BackupSummary(Payload):
    backup_id: BackupId
    reason: str = Field(description="Why it was made: admin, schedule, upgrade")
    started: datetime
    finished: datetime | None
    services: dict[ServiceId, str | None] = Field(description="service id -> its version")
    size: int = Field(ge=0, description="Bytes on disk")
    consistency: dict[ServiceId, str] = Field(
        description="service id -> live, commands (its before/after commands ran) or stopped"
    )
    verified: bool | None = Field(
        default=None, description="The last verify's outcome; null: never verified"
    )
    verified_at: datetime | None = None
    verify_reason: str = ""
    warnings: list[str] = Field(default_factory=list)


class BackupListReplyPayload(Payload):
    ok: bool
    reason: str = ""
    error_key: str | None = None
    backups: list[BackupSummary] = Field(default_factory=list, description="Oldest first")


class BackupListReply(Message):
    type: Literal["backup.listed"] = "backup.listed"
    version: Literal[1] = 1
    payload: BackupListReplyPayload


class ScheduleRequestPayload(Payload):
    """Nothing to say: the schedule is the cell config's `backup` block."""


class ScheduleRequest(Message):
    """Ask for the backup schedule and, per service with storage, its last good backup."""

    type: Literal["backup.schedule"] = "backup.schedule"
    version: Literal[1] = 1
    payload: ScheduleRequestPayload = Field(default_factory=ScheduleRequestPayload)


class ScheduledService(Payload):
    service_id: ServiceId
    last_good: datetime | None = Field(description="When its newest good backup finished")
    next_due: datetime | None = Field(
        description="When the schedule backs it up next (now or earlier: at the next look); "
        "null without a schedule"
    )


class BackupSchedule(Payload):
    every_hours: float = Field(description="Back up every N hours; 0: no schedule")
    verify_scheduled: bool = Field(description="Each scheduled backup is verified in a sandbox")
    keep: int = Field(description="Good backups kept per service")
    services: list[ScheduledService] = Field(
        default_factory=list, description="Every installed service with storage"
    )


class ScheduleReplyPayload(Payload):
    ok: bool
    reason: str = ""
    error_key: str | None = None
    schedule: BackupSchedule | None = None


class ScheduleReply(Message):
    type: Literal["backup.schedule_reply"] = "backup.schedule_reply"
    version: Literal[1] = 1
    payload: ScheduleReplyPayload


# -- the secrets handover (installer <-> backup) -------------------------------------------


class HandoverAction(StrEnum):
    export = "export"  # seal the service's secrets to `recipient`
    recipient = "recipient"  # only name the installer's own recipient
    import_ = "import"  # open `sealed` (sealed to the installer's recipient) and keep it


class HandoverPayload(Payload):
    action: HandoverAction
    recipient: str = Field(default="", max_length=200, description="An age X25519 recipient")
    sealed: str = Field(default="", description="ASCII-armoured age ciphertext")
    replace: bool = False


class SecretsHandover(Message):
    type: Literal["installer.secrets"] = "installer.secrets"
    version: Literal[1] = 1
    service_id: ServiceId
    payload: HandoverPayload


class HandoverReplyPayload(Payload):
    ok: bool
    reason: str = ""
    sealed: str = Field(default="", description="The secrets, sealed to the asked recipient")
    recipient: str = Field(default="", description="The installer's own recipient (for import)")
    template: str = Field(default="", description="The service's compose template")
    compose: str = Field(
        default="",
        description="The service's rendered docker-compose.yml (it holds secrets), sealed to "
        "the asked recipient like the secrets; empty when there is none",
    )


class SecretsHandoverReply(Message):
    type: Literal["installer.secrets_reply"] = "installer.secrets_reply"
    version: Literal[1] = 1
    payload: HandoverReplyPayload
