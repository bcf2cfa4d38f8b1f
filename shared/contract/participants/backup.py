"""The backup service: backs services up, verifies and restores them; registers what each
backup of a service will hold; backs a service up before its upgrade."""

from __future__ import annotations

from shared.contract.declare import Contract, Endpoint, PlanFacts, Step
from shared.events.channels import (
    BACKUP,
    BACKUP_LIST,
    BACKUP_LISTED,
    BACKUP_RESULT,
    BACKUP_SCHEDULE,
    BACKUP_SCHEDULE_REPLY,
    INSTALL,
    PROGRESS,
    RESTORE,
    RESULT,
    SECRETS_HANDOVER,
    SECRETS_HANDOVER_REPLY,
    VERIFY_BACKUP,
)
from shared.manifest import Manifest

COMMANDS_AT_ONCE = 4  # a service whose backup hangs holds up no other, nor an upgrade


def _plan(m: Manifest, facts: PlanFacts) -> list[str]:
    if m.backup is None:
        return []
    return [f"{v.name} from {v.container}:{v.path}" for v in m.backup.volumes] + [
        f"config {path}" for path in m.backup.config_paths
    ]


BACKUP_STEP = Step(
    "backup",
    "Register the backups",
    rank=60,
    wanted=lambda m: m.has_storage,
    plan=_plan,
    guards_upgrade=True,
)

CONTRACT = Contract(
    owner="backup",
    port=8475,
    summary="backs up, verifies and restores services' data; restores through the installer",
    steps=(BACKUP_STEP,),
    endpoints=(
        Endpoint(BACKUP, "run", concurrency=COMMANDS_AT_ONCE),
        Endpoint(RESTORE, "restore", concurrency=COMMANDS_AT_ONCE),
        Endpoint(VERIFY_BACKUP, "verify"),
        # What it holds: the gateway's and the CLI's only way to list backups.
        Endpoint(BACKUP_LIST, "list"),
        Endpoint(BACKUP_SCHEDULE, "schedule"),
    ),
    # Restores through the installer's install command, and gets a service's secrets from the
    # installer only sealed to its own age recipient.
    publishes=(
        BACKUP_RESULT,
        BACKUP_LISTED,
        BACKUP_SCHEDULE_REPLY,
        INSTALL,
        SECRETS_HANDOVER,
    ),
    watches=(RESULT, PROGRESS, SECRETS_HANDOVER_REPLY),
)
