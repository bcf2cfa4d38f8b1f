"""Subjects, declared once. Each channel pairs a subject template with exactly one model.

Subjects carry the cell (and, for container work, the Docker host) as tokens, so one NATS
cluster can serve several cells or hosts without a change to the services:

    pic.<cell>.cmd.installer.<host>.<verb>   commands to the installer on one Docker host
    pic.<cell>.cmd.<service>.step            saga steps owned by another service
    pic.<cell>.evt.<service>.step_result     their answers, on the owner's own subject
    pic.<cell>.evt.<source>.<what>           events (progress, results, state changes)
    pic.<cell>.dlq.<consumer>                messages a consumer rejected, with the reason
"""

from __future__ import annotations

import re

from shared.bus.channel import Channel, Kind
from shared.bus.dead_letter import DeadLetter
from shared.bus.envelope import Message
from shared.events.backups import (
    BackupCommand,
    BackupListReply,
    BackupListRequest,
    BackupResult,
    RestoreCommand,
    ScheduleReply,
    ScheduleRequest,
    SecretsHandover,
    SecretsHandoverReply,
    VerifyCommand,
)
from shared.events.logs import LogsReply, LogsRequest
from shared.events.messages import (
    InstallCommand,
    OperationResult,
    ProgressEvent,
    ReconcileReport,
    ReconfigureCommand,
    RemoveCommand,
    RoutesReconciled,
    ServiceStateChanged,
    StepRequest,
    StepResult,
)
from shared.events.netpolicy import NetpolicyReconciled
from shared.events.peers import PeerAdded, PeerRemoved, PeerReply, PeerRequest
from shared.events.routes import RoutesReply, RoutesRequest

STREAMS: dict[Kind, tuple[str, str]] = {
    # kind: (stream name, subject filter)
    Kind.command: ("PIC_COMMANDS", "pic.*.cmd.>"),
    Kind.event: ("PIC_EVENTS", "pic.*.evt.>"),
    Kind.dead_letter: ("PIC_DLQ", "pic.*.dlq.>"),
}


def _c(name: str, template: str, model: type[Message], kind: Kind, description: str) -> Channel:
    return Channel(name, template, model, kind, description, STREAMS[kind][0])


INSTALL = _c(
    "installer.install",
    "pic.{cell}.cmd.installer.{host}.install",
    InstallCommand,
    Kind.command,
    "Install (or upgrade) a store service on one Docker host.",
)
RECONFIGURE = _c(
    "installer.reconfigure",
    "pic.{cell}.cmd.installer.{host}.reconfigure",
    ReconfigureCommand,
    Kind.command,
    "Apply new admin config values; secrets, IP and volumes stay.",
)
REMOVE = _c(
    "installer.remove",
    "pic.{cell}.cmd.installer.{host}.remove",
    RemoveCommand,
    Kind.command,
    "Remove a service; `purge` also deletes its data.",
)
STEP_REQUEST = _c(
    "step.request",
    "pic.{cell}.cmd.{owner}.step",
    StepRequest,
    Kind.command,
    "A saga step (apply or compensate) asked of the service that owns it.",
)
PROGRESS = _c(
    "installer.progress",
    "pic.{cell}.evt.installer.progress",
    ProgressEvent,
    Kind.event,
    "One step of an operation started, finished, failed or rolled back.",
)
RESULT = _c(
    "installer.result",
    "pic.{cell}.evt.installer.result",
    OperationResult,
    Kind.event,
    "The final result of an operation (also of a plan).",
)
SERVICE_STATE = _c(
    "installer.service",
    "pic.{cell}.evt.installer.service",
    ServiceStateChanged,
    Kind.event,
    "A service changed state.",
)
RECONCILED = _c(
    "installer.reconciled",
    "pic.{cell}.evt.installer.reconciled",
    ReconcileReport,
    Kind.event,
    "What the installer corrected when it compared its state with Docker.",
)
ROUTES_RECONCILED = _c(
    "router.reconciled",
    "pic.{cell}.evt.router.reconciled",
    RoutesReconciled,
    Kind.event,
    "What the router corrected in Caddy and DNS to match the installed services.",
)
NETPOLICY_RECONCILED = _c(
    "netpolicy.reconciled",
    "pic.{cell}.evt.netpolicy.reconciled",
    NetpolicyReconciled,
    Kind.event,
    "What the netpolicy corrected in the firewall and the routing to match the installed services.",
)
STEP_RESULT = _c(
    "step.result",
    "pic.{cell}.evt.{owner}.step_result",
    StepResult,
    Kind.event,
    "The outcome of a saga step, on its owner's subject.",
)
DEAD_LETTER = _c(
    "dead_letter",
    "pic.{cell}.dlq.{consumer}",
    DeadLetter,
    Kind.dead_letter,
    "A message a consumer could not accept, with the reason.",
)

PEER_ADDED = _c(
    "peers.added",
    "pic.{cell}.evt.peers.added",
    PeerAdded,
    Kind.event,
    "A VPN peer was added: it gets an account in every service that has accounts.",
)
PEER_REMOVED = _c(
    "peers.removed",
    "pic.{cell}.evt.peers.removed",
    PeerRemoved,
    Kind.event,
    "A VPN peer was removed: its accounts go.",
)
PEER_REQUEST = _c(
    "accounts.request",
    "pic.{cell}.cmd.accounts.request",
    PeerRequest,
    Kind.command,
    "Ask for a peer's rendered configs, or rotate its credentials in one service.",
)
PEER_REPLY = _c(
    "accounts.reply",
    "pic.{cell}.evt.accounts.reply",
    PeerReply,
    Kind.event,
    "The answer to a peer request, sealed to the asker's one-time key.",
)

BACKUP = _c(
    "backup.run",
    "pic.{cell}.cmd.backup.run",
    BackupCommand,
    Kind.command,
    "Back up one service, or every service with storage.",
)
RESTORE = _c(
    "backup.restore",
    "pic.{cell}.cmd.backup.restore",
    RestoreCommand,
    Kind.command,
    "Restore a service (or every service) from a backup; over an installed one only with "
    "`replace`.",
)
VERIFY_BACKUP = _c(
    "backup.verify",
    "pic.{cell}.cmd.backup.verify",
    VerifyCommand,
    Kind.command,
    "Restore a backup into a sandbox, compare it with its checksums, record the result.",
)
BACKUP_RESULT = _c(
    "backup.result",
    "pic.{cell}.evt.backup.result",
    BackupResult,
    Kind.event,
    "The outcome of a backup, restore or verify command.",
)
BACKUP_LIST = _c(
    "backup.list",
    "pic.{cell}.cmd.backup.list",
    BackupListRequest,
    Kind.command,
    "Ask for the complete backups (of one service, when the envelope names it).",
)
BACKUP_LISTED = _c(
    "backup.listed",
    "pic.{cell}.evt.backup.listed",
    BackupListReply,
    Kind.event,
    "The backups asked for (no secret: ids, times, sizes, versions, verify outcomes).",
)
BACKUP_SCHEDULE = _c(
    "backup.schedule",
    "pic.{cell}.cmd.backup.schedule",
    ScheduleRequest,
    Kind.command,
    "Ask for the backup schedule and each service's last good backup.",
)
BACKUP_SCHEDULE_REPLY = _c(
    "backup.schedule_reply",
    "pic.{cell}.evt.backup.schedule",
    ScheduleReply,
    Kind.event,
    "The backup schedule (the cell config's `backup` block) and when each service is due.",
)
ROUTES_REQUEST = _c(
    "router.report",
    "pic.{cell}.cmd.router.report",
    RoutesRequest,
    Kind.command,
    "Ask the router for its routes report.",
)
ROUTES_REPORT = _c(
    "router.report_reply",
    "pic.{cell}.evt.router.report",
    RoutesReply,
    Kind.event,
    "What the router holds in Caddy and DNS for the installed services, and whether they agree.",
)
SECRETS_HANDOVER = _c(
    "installer.secrets",
    "pic.{cell}.cmd.installer.{host}.secrets",
    SecretsHandover,
    Kind.command,
    "Hand a service's secrets over sealed to an age recipient, or take sealed ones back.",
)
SECRETS_HANDOVER_REPLY = _c(
    "installer.secrets_reply",
    "pic.{cell}.evt.installer.secrets",
    SecretsHandoverReply,
    Kind.event,
    "The installer's answer to a secrets handover (the secrets only sealed).",
)
LOGS = _c(
    "installer.logs",
    "pic.{cell}.cmd.installer.{host}.logs",
    LogsRequest,
    Kind.command,
    "Ask for the last lines of a service's container logs, sealed to the asker's one-time key.",
)
LOGS_REPLY = _c(
    "installer.logs_reply",
    "pic.{cell}.evt.installer.logs",
    LogsReply,
    Kind.event,
    "The installer's answer to a logs request (the lines only sealed).",
)

CHANNELS: tuple[Channel, ...] = (
    INSTALL,
    RECONFIGURE,
    REMOVE,
    STEP_REQUEST,
    PROGRESS,
    RESULT,
    SERVICE_STATE,
    RECONCILED,
    STEP_RESULT,
    DEAD_LETTER,
    ROUTES_RECONCILED,
    NETPOLICY_RECONCILED,
    PEER_ADDED,
    PEER_REMOVED,
    PEER_REQUEST,
    PEER_REPLY,
    BACKUP,
    RESTORE,
    VERIFY_BACKUP,
    BACKUP_RESULT,
    BACKUP_LIST,
    BACKUP_LISTED,
    BACKUP_SCHEDULE,
    BACKUP_SCHEDULE_REPLY,
    ROUTES_REQUEST,
    ROUTES_REPORT,
    SECRETS_HANDOVER,
    SECRETS_HANDOVER_REPLY,
    LOGS,
    LOGS_REPLY,
)


def channel_for_subject(subject: str) -> Channel | None:
    for channel in CHANNELS:
        pattern = re.sub(r"\\{\w+\\}", r"[^.]+", re.escape(channel.template))
        if re.fullmatch(pattern, subject):
            return channel
    return None
