"""The message models: one per subject, each with its payload. (A step's name is declared by
its participant's contract, shared/contract/.)"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from shared.bus.envelope import Message, Payload
from shared.ids import ServiceId

# A step's name, as its participant's contract declares it (shared/contract/).
StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")]

ConfigValue = str | int | bool


class OperationKind(StrEnum):
    install = "install"
    reconfigure = "reconfigure"
    remove = "remove"


class OperationStatus(StrEnum):
    succeeded = "succeeded"
    failed = "failed"
    noop = "noop"
    planned = "planned"


class ServiceState(StrEnum):
    installing = "installing"
    installed = "installed"
    reconfiguring = "reconfiguring"
    removing = "removing"
    removed = "removed"
    failed = "failed"


class StepStatus(StrEnum):
    started = "started"
    done = "done"
    failed = "failed"
    skipped = "skipped"
    rolled_back = "rolled_back"


# -- commands to the installer ------------------------------------------------------------


class InstallPayload(Payload):
    store: str | None = Field(
        default=None,
        description="The store: the name of one of the cell config's `stores`, or a git "
        "repository URL or local folder holding index.json; none: the cell's default store",
    )
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    plan_only: bool = Field(default=False, description="Show what would be done; change nothing")
    confirm_downgrade: bool = False
    egress: str | None = Field(
        default=None,
        description="The outbound connection, one of the manifest's egress.allowed "
        "(default: the choice in use, else the manifest's egress.default)",
    )


class InstallCommand(Message):
    type: Literal["installer.install"] = "installer.install"
    version: Literal[1] = 1
    service_id: ServiceId
    payload: InstallPayload


class ReconfigurePayload(Payload):
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    plan_only: bool = False
    egress: str | None = Field(
        default=None, description="A new outbound connection, one of the manifest's egress.allowed"
    )


class ReconfigureCommand(Message):
    type: Literal["installer.reconfigure"] = "installer.reconfigure"
    version: Literal[1] = 1
    service_id: ServiceId
    payload: ReconfigurePayload


class RemovePayload(Payload):
    purge: bool = Field(default=False, description="Also delete volumes, secrets and config")
    plan_only: bool = False


class RemoveCommand(Message):
    type: Literal["installer.remove"] = "installer.remove"
    version: Literal[1] = 1
    service_id: ServiceId
    payload: RemovePayload


# -- events from the installer ------------------------------------------------------------


class ProgressPayload(Payload):
    kind: OperationKind
    step: str
    status: StepStatus
    index: int = Field(ge=0)
    total: int = Field(ge=0)
    message: str = ""


class ProgressEvent(Message):
    type: Literal["installer.progress"] = "installer.progress"
    version: Literal[1] = 1
    payload: ProgressPayload


class Plan(Payload):
    """What an operation would do; filled by `--plan` and reported before the work starts."""

    kind: OperationKind
    service_id: str
    version: str | None = None
    containers: list[str] = Field(default_factory=list)
    recreate: list[str] = Field(default_factory=list)
    service_ip: str | None = None
    volumes: list[str] = Field(default_factory=list)
    delete_volumes: list[str] = Field(default_factory=list)
    participants: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Each participant step the operation runs -> what it would make (its "
        "contract's plan section)",
    )
    steps: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class CompensationFailure(Payload):
    """A step a rollback could not undo, and why (secrets masked)."""

    step: str
    reason: str


class ResultPayload(Payload):
    kind: OperationKind
    status: OperationStatus
    message: str = ""
    error_key: str | None = None
    plan: Plan | None = None
    rollback_failures: list[CompensationFailure] = Field(
        default_factory=list,
        description="A failed operation whose rollback was incomplete: each step whose "
        "compensation failed (empty: everything done was undone)",
    )


class OperationResult(Message):
    type: Literal["installer.result"] = "installer.result"
    version: Literal[1] = 1
    payload: ResultPayload


class StatePayload(Payload):
    state: ServiceState
    previous: ServiceState | None = None
    version: str | None = None
    reason: str = ""


class ServiceStateChanged(Message):
    type: Literal["installer.service"] = "installer.service"
    version: Literal[1] = 1
    payload: StatePayload


class Correction(Payload):
    service_id: str
    what: str


class ReconcilePayload(Payload):
    corrections: list[Correction] = Field(default_factory=list)


class ReconcileReport(Message):
    type: Literal["installer.reconciled"] = "installer.reconciled"
    version: Literal[1] = 1
    payload: ReconcilePayload


class RoutesReconciledPayload(Payload):
    trigger: str = Field(description="start-up, service-state, caddy-restart, retry or period")
    corrections: list[Correction] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class RoutesReconciled(Message):
    type: Literal["router.reconciled"] = "router.reconciled"
    version: Literal[1] = 1
    payload: RoutesReconciledPayload


# -- saga steps owned by other services ---------------------------------------------------


class StepAction(StrEnum):
    apply = "apply"
    compensate = "compensate"


class StepRequestPayload(Payload):
    step: StepId
    action: StepAction
    manifest: dict[str, Any] = Field(description="The validated manifest of the service")
    image: str | None = Field(default=None, description="Image reference, digest-pinned when known")
    service_ip: str | None = None
    addresses: dict[str, str] = Field(
        default_factory=dict,
        description="Container name -> its IPv4 address on the cell network, for every "
        "container of the service",
    )
    domain: str | None = None
    egress: str | None = None
    sealed: str | None = Field(
        default=None,
        description="What the installer hands the step's owner, age-sealed to the recipient "
        "the owner announces in its presence (the accounts step: the service's account-API "
        "secret), base64",
    )


class StepRequest(Message):
    type: Literal["step.request"] = "step.request"
    version: Literal[1] = 1
    service_id: ServiceId
    payload: StepRequestPayload


class StepResultPayload(Payload):
    step: StepId
    action: StepAction
    ok: bool
    reason: str = ""
    error_key: str = Field(
        default="", description="What kind of failure (docs/architecture.md, error keys)"
    )
    warning: str = ""
    details: dict[str, str] = Field(default_factory=dict)


class StepResult(Message):
    type: Literal["step.result"] = "step.result"
    version: Literal[1] = 1
    payload: StepResultPayload
