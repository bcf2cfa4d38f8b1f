"""Every message pic-store sends, and the subject each travels on, declared once.

`channels` pairs each subject with exactly one message model; services publish and consume
through those channel objects, so no subject string is typed twice.
"""

from shared.bus.channel import Channel
from shared.bus.dead_letter import DeadLetter
from shared.bus.envelope import Message, new_operation_id
from shared.events.channels import CHANNELS, channel_for_subject
from shared.events.messages import (
    InstallCommand,
    OperationResult,
    Plan,
    ProgressEvent,
    ReconcileReport,
    ReconfigureCommand,
    RemoveCommand,
    RoutesReconciled,
    ServiceStateChanged,
    StepRequest,
    StepResult,
)

__all__ = [
    "CHANNELS",
    "Channel",
    "DeadLetter",
    "InstallCommand",
    "Message",
    "OperationResult",
    "Plan",
    "ProgressEvent",
    "ReconcileReport",
    "ReconfigureCommand",
    "RemoveCommand",
    "RoutesReconciled",
    "ServiceStateChanged",
    "StepRequest",
    "StepResult",
    "channel_for_subject",
    "new_operation_id",
]
