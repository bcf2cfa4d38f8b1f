"""Who may do what on the bus: each identity's role, declared once beside the subjects.

nats-server enforces it: `shared.bus.auth` turns every role into publish and subscribe
permissions (the subjects themselves and the JetStream API subjects of the role's own durable
consumers and key-value buckets). A role names channels and buckets, never raw subjects.

    installer   runs the commands; the only one to touch secrets, progress, results, states;
                the only one to make streams and buckets (shared/bus/auth.py says why)
    <owner>     every saga participant (shared/steps.py): its own steps and results only
    gateway     the web UI's back end: sends commands, reads services, operations, events
    admin       the `pic-store` command line: what the gateway does
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.events.channels import (
    BACKUP,
    BACKUP_RESULT,
    INSTALL,
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
    SECRETS_HANDOVER,
    SECRETS_HANDOVER_REPLY,
    SERVICE_STATE,
    STEP_REQUEST,
    STEP_RESULT,
    VERIFY_BACKUP,
    Channel,
)
from shared.steps import participants

# Key-value buckets, one set per cell (`<name>_<cell>`).
SERVICES = "pic_services"
OPERATIONS = "pic_operations"
LOCKS = "pic_locks"
IPAM = "pic_ipam"
SECRETS = "pic_secrets"
PARTICIPANTS = "pic_participants"
ROUTER_LOCK = "pic_router_lock"
# The accounts service's own state: the current peers, the services it provisions, and the
# accounts it created (credentials encrypted).
PEERS = "pic_peers"
ACCOUNT_SERVICES = "pic_account_services"
ACCOUNTS = "pic_accounts"
PRESENCE_TTL = 15.0  # a participant's announcement lapses unless renewed


@dataclass(frozen=True)
class BucketSpec:
    """How a bucket is made: the revisions it keeps per key, and how long a value lives."""

    history: int = 5
    ttl: float | None = None


# Every bucket of a cell, made by the installer alone when it starts (no other role may
# create a stream: a stream's config can source another one, secrets included).
BUCKET_SPECS: dict[str, BucketSpec] = {
    SERVICES: BucketSpec(),
    OPERATIONS: BucketSpec(history=1),
    LOCKS: BucketSpec(history=1),
    IPAM: BucketSpec(history=1),
    SECRETS: BucketSpec(),
    PARTICIPANTS: BucketSpec(history=1, ttl=PRESENCE_TTL),
    ROUTER_LOCK: BucketSpec(history=1),
    PEERS: BucketSpec(history=1),
    ACCOUNT_SERVICES: BucketSpec(history=1),
    ACCOUNTS: BucketSpec(history=1),
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


def _all(channels: tuple[Channel, ...]) -> tuple[tuple[Channel, dict[str, str]], ...]:
    return tuple((channel, {}) for channel in channels)


@dataclass(frozen=True)
class Extras:
    """What a participant needs beyond its own steps: one row per participant that does."""

    publish: tuple[tuple[Channel, dict[str, str]], ...] = ()
    watch: tuple[tuple[Channel, dict[str, str]], ...] = ()
    consume: tuple[Consumer, ...] = ()
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


PARTICIPANT_EXTRAS: dict[str, Extras] = {
    # reconciles on state changes, under its own lock
    "router": Extras(
        publish=((ROUTES_RECONCILED, {}),), watch=((SERVICE_STATE, {}),), write=(ROUTER_LOCK,)
    ),
    # reconciles the host's firewall and routing on state changes
    "netpolicy": Extras(publish=((NETPOLICY_RECONCILED, {}),), watch=((SERVICE_STATE, {}),)),
    # keeps the peers and its accounts; answers peer requests, sealed to the asker
    "accounts": Extras(
        publish=((PEER_REPLY, {}),),
        consume=(
            Consumer(PEER_ADDED, "accounts-peer-added"),
            Consumer(PEER_REMOVED, "accounts-peer-removed"),
            Consumer(PEER_REQUEST, "accounts-requests"),
        ),
        write=(PEERS, ACCOUNT_SERVICES, ACCOUNTS),
    ),
    # takes backup commands; restores through the installer's install command, and gets a
    # service's secrets from the installer only sealed to its own age recipient
    "backup": Extras(
        publish=((BACKUP_RESULT, {}), (INSTALL, {}), (SECRETS_HANDOVER, {})),
        watch=((RESULT, {}), (PROGRESS, {}), (SECRETS_HANDOVER_REPLY, {})),
        consume=(
            Consumer(BACKUP, "backup-run"),
            Consumer(RESTORE, "backup-restore"),
            Consumer(VERIFY_BACKUP, "backup-verify"),
        ),
    ),
}


def _participant(owner: str) -> Role:
    extras = PARTICIPANT_EXTRAS.get(owner, Extras())
    return Role(
        owner,
        publish=((STEP_RESULT, {"owner": owner}), *extras.publish),
        watch=extras.watch,
        consume=(Consumer(STEP_REQUEST, f"{owner}-steps", {"owner": owner}), *extras.consume),
        read=(SERVICES, PARTICIPANTS, *extras.read),
        write=extras.write,
        announce=True,
    )


_COMMANDER = {
    "publish": _all(
        (*COMMANDS, PEER_ADDED, PEER_REMOVED, PEER_REQUEST, BACKUP, RESTORE, VERIFY_BACKUP)
    ),
    "watch": _all((*EVENTS, PEER_REPLY, BACKUP_RESULT)),
    "read": (SERVICES, OPERATIONS, PARTICIPANTS),
}

ROLES: dict[str, Role] = {
    "installer": Role(
        "installer",
        publish=(
            *_all((PROGRESS, RESULT, SERVICE_STATE, RECONCILED, SECRETS_HANDOVER_REPLY)),
            *_all((BACKUP, RESTORE)),
            (STEP_REQUEST, {}),
        ),
        watch=((STEP_RESULT, {}), (BACKUP_RESULT, {})),
        consume=tuple(
            Consumer(channel, f"installer-{{host}}-{channel.name.split('.')[-1]}")
            for channel in (*COMMANDS, SECRETS_HANDOVER)
        ),
        read=(PARTICIPANTS,),
        write=(SERVICES, OPERATIONS, LOCKS, IPAM, SECRETS),
        manages_streams=True,
    ),
    **{owner: _participant(owner) for owner in participants()},
    "gateway": Role("gateway", **_COMMANDER),  # type: ignore[arg-type]
    "admin": Role("admin", **_COMMANDER),  # type: ignore[arg-type]
}
