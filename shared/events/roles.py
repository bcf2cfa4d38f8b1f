"""Who may do what on the bus: each identity's role, declared once beside the subjects.

nats-server enforces it: `shared.bus.auth` turns every role into publish and subscribe
permissions (the subjects themselves and the JetStream API subjects of the role's own durable
consumers and key-value buckets). A role names channels and buckets, never raw subjects.

    installer   runs the commands; the only one to touch secrets, progress, results, states;
                the only one to make streams and buckets (shared/bus/auth.py says why)
    <owner>     every saga participant: what its contract (shared/contract/) declares
    gateway     the web UI's back end: sends commands, reads services, operations, events
    admin       the `pic-store` command line: what the gateway does
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.bus.channel import Channel
from shared.bus.layout import Bucket
from shared.contract.declare import Contract
from shared.contract.registry import contracts
from shared.events.channels import (
    BACKUP,
    BACKUP_LIST,
    BACKUP_LISTED,
    BACKUP_RESULT,
    BACKUP_SCHEDULE,
    BACKUP_SCHEDULE_REPLY,
    INSTALL,
    LOGS,
    LOGS_REPLY,
    NETPOLICY_RECONCILED,
    PEER_ADDED,
    PEER_REMOVED,
    PEER_REPLY,
    PEER_REQUEST,
    PROGRESS,
    RECONCILED,
    RECONFIGURE,
    REMOVE,
    RESTORE,
    RESULT,
    ROUTES_RECONCILED,
    ROUTES_REPORT,
    ROUTES_REQUEST,
    SECRETS_HANDOVER,
    SECRETS_HANDOVER_REPLY,
    SERVICE_STATE,
    STEP_REQUEST,
    STEP_RESULT,
    VERIFY_BACKUP,
)

# The installer's key-value buckets, one set per cell (`<name>_<cell>`); each participant
# declares its own in its contract.
SERVICES = "pic_services"
OPERATIONS = "pic_operations"
LOCKS = "pic_locks"
IPAM = "pic_ipam"
SECRETS = "pic_secrets"
PARTICIPANTS = "pic_participants"
PRESENCE_TTL = 15.0  # a participant's announcement lapses unless renewed

# Every bucket of a cell, made by the installer alone when it starts (no other role may
# create a stream: a stream's config can source another one, secrets included).
BUCKET_SPECS: dict[str, Bucket] = {
    bucket.name: bucket
    for bucket in (
        Bucket(SERVICES),
        Bucket(OPERATIONS, history=1),
        Bucket(LOCKS, history=1),
        Bucket(IPAM, history=1),
        Bucket(SECRETS),
        Bucket(PARTICIPANTS, history=1, ttl=PRESENCE_TTL),
        *(bucket for contract in contracts() for bucket in contract.owns),
    )
}
BUCKETS = tuple(BUCKET_SPECS)

COMMANDS = (INSTALL, RECONFIGURE, REMOVE)
EVENTS = (
    PROGRESS,
    RESULT,
    SERVICE_STATE,
    RECONCILED,
    ROUTES_RECONCILED,
    NETPOLICY_RECONCILED,
    STEP_RESULT,
)


@dataclass(frozen=True)
class Consumer:
    """A durable consumer of a channel; `durable` may use `{host}` and `{verb}`."""

    channel: Channel
    durable: str
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Role:
    name: str
    publish: tuple[tuple[Channel, dict[str, str]], ...] = ()
    watch: tuple[tuple[Channel, dict[str, str]], ...] = ()
    consume: tuple[Consumer, ...] = ()
    read: tuple[str, ...] = ()  # buckets
    write: tuple[str, ...] = ()  # buckets (read and write)
    announce: bool = False  # writes its own key of the participants bucket
    manages_streams: bool = False


# The installer's durables, one per command channel and Docker host.
INSTALLER_CONSUMERS: dict[str, Consumer] = {
    channel.name: Consumer(channel, f"installer-{{host}}-{channel.name.split('.')[-1]}")
    for channel in (*COMMANDS, SECRETS_HANDOVER, LOGS)
}
# The gateway's durables: it keeps the recent progress, results and states (their stream
# sequences), so an event stream a browser reconnects resumes where it stopped.
GATEWAY_CONSUMERS: dict[str, Consumer] = {
    channel.name: Consumer(channel, f"gateway-{channel.name.split('.')[-1]}")
    for channel in (PROGRESS, RESULT, SERVICE_STATE)
}


def installer_durable(channel: Channel, host: str) -> str:
    """The installer's durable consumer of a command channel on one Docker host."""
    return INSTALLER_CONSUMERS[channel.name].durable.format(host=host)


def _all(channels: tuple[Channel, ...]) -> tuple[tuple[Channel, dict[str, str]], ...]:
    return tuple((channel, {}) for channel in channels)


def participant_role(contract: Contract) -> Role:
    """A participant's role, from its contract: its own steps and results, its endpoints'
    durables, what it publishes and watches, the buckets it reads and owns."""
    return Role(
        contract.owner,
        publish=((STEP_RESULT, {"owner": contract.owner}), *_all(contract.publishes)),
        watch=_all(contract.watches),
        consume=(
            Consumer(STEP_REQUEST, contract.steps_durable, {"owner": contract.owner}),
            *(Consumer(e.channel, contract.durable(e)) for e in contract.endpoints),
        ),
        read=(SERVICES, PARTICIPANTS, *contract.reads),
        write=tuple(bucket.name for bucket in contract.owns),
        announce=True,
    )


_COMMANDER = {
    "publish": _all(
        (
            *COMMANDS,
            PEER_ADDED,
            PEER_REMOVED,
            PEER_REQUEST,
            BACKUP,
            RESTORE,
            VERIFY_BACKUP,
            BACKUP_LIST,
            BACKUP_SCHEDULE,
            ROUTES_REQUEST,
            LOGS,
        )
    ),
    "watch": _all(
        (
            *EVENTS,
            PEER_REPLY,
            BACKUP_RESULT,
            BACKUP_LISTED,
            BACKUP_SCHEDULE_REPLY,
            ROUTES_REPORT,
            LOGS_REPLY,
        )
    ),
    "read": (SERVICES, OPERATIONS, PARTICIPANTS),
}

ROLES: dict[str, Role] = {
    "installer": Role(
        "installer",
        publish=(
            *_all((PROGRESS, RESULT, SERVICE_STATE, RECONCILED, SECRETS_HANDOVER_REPLY)),
            (LOGS_REPLY, {}),
            *_all((BACKUP, RESTORE)),
            (STEP_REQUEST, {}),
        ),
        watch=((STEP_RESULT, {}), (BACKUP_RESULT, {})),
        consume=tuple(INSTALLER_CONSUMERS.values()),
        read=(PARTICIPANTS,),
        write=(SERVICES, OPERATIONS, LOCKS, IPAM, SECRETS),
        manages_streams=True,
    ),
    **{contract.owner: participant_role(contract) for contract in contracts()},
    "gateway": Role(
        "gateway",
        consume=tuple(GATEWAY_CONSUMERS.values()),
        **_COMMANDER,  # type: ignore[arg-type]
    ),
    "admin": Role("admin", **_COMMANDER),  # type: ignore[arg-type]
}
