"""Issue #19, finding 9: an id in a message never names another place.

Every id that becomes a folder, a file or a subject token (operation, service, backup, peer)
has one grammar (shared/ids.py). A command whose id breaks it (`..`, `/`, empty, overlong,
a NUL, `a/../b`) is refused when the message is decoded: it goes to the dead-letter subject
with the reason, no handler sees it, nothing on disk changes, and the services go on working.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pyrage
import pytest
from nats.aio.client import Client as NATS
from pydantic import TypeAdapter, ValidationError

from app.cli.main import main
from app.cli.output import EXIT_USAGE
from shared.backup_client import run_backup_command
from shared.client import StoreClient
from shared.events import DeadLetter, RemoveCommand, new_operation_id
from shared.events.backups import VerifyCommand, VerifyPayload
from shared.events.channels import (
    BACKUP,
    INSTALL,
    PEER_ADDED,
    PEER_REMOVED,
    PEER_REQUEST,
    RECONFIGURE,
    REMOVE,
    RESTORE,
    SECRETS_HANDOVER,
    STEP_REQUEST,
    VERIFY_BACKUP,
    Channel,
)
from shared.events.messages import RemovePayload
from shared.events.peers import PeerAction
from shared.ids import BackupId, EventId, OperationId, PeerName, ServiceId
from shared.peer_client import ask_peer
from tests.parts.stack import Stack

BAD_IDS = ["..", "/", "", "x" * 200, "a\x00b", "a/../b"]

# -- the grammar, as a table ----------------------------------------------------------------

GRAMMAR: list[tuple[Any, str, bool]] = [
    *[
        (kind, bad, False)
        for kind in (ServiceId, OperationId, BackupId, PeerName)
        for bad in BAD_IDS
    ],
    *[
        (kind, bad, False)
        for kind in (ServiceId, OperationId, BackupId, PeerName)
        for bad in (".", "a\n", "-a", "a b", "a.b")
    ],
    (ServiceId, "notes", True),
    (ServiceId, "my-notes-2", True),
    (ServiceId, "Notes", False),
    (ServiceId, "x" * 31, True),
    (ServiceId, "x" * 32, False),
    (ServiceId, "a_b", False),
    (OperationId, "op-" + "f" * 32, True),
    (OperationId, "op-" + "f" * 32 + "-install-notes", True),
    (OperationId, "reconcile", True),
    (OperationId, "x" * 80, True),
    (OperationId, "x" * 81, False),
    (BackupId, "20261203t120000123456z", True),
    (BackupId, "20261203t120000123456z.partial", False),
    (PeerName, "alice", True),
    (PeerName, "alice_2", True),
    (PeerName, "x" * 33, False),
    (EventId, uuid.uuid4().hex, True),
    (EventId, "..", False),
]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("kind", "value", "valid"),
    GRAMMAR,
    ids=[f"{i}-{v[:12]!r}" for i, (_, v, _) in enumerate(GRAMMAR)],
)
def test_each_id_has_one_grammar(kind: Any, value: str, valid: bool) -> None:
    adapter: TypeAdapter[str] = TypeAdapter(kind)
    if valid:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError, match="is not a valid"):
            adapter.validate_python(value)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["backup", "../x"], "'../x' is not a valid service id"),
        (["backup", "verify", ".."], "'..' is not a valid backup id"),
    ],
)
def test_the_command_line_names_a_bad_id(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_USAGE
    assert named in capsys.readouterr().err


# -- over the real bus ------------------------------------------------------------------------

RECIPIENT = str(pyrage.x25519.Identity.generate().to_public())
BACKUP_ID = "20261203t120000000000z"

# channel, its subject tokens, a valid message, and the fields that carry an id
COMMANDS: list[tuple[Channel, dict[str, str], dict[str, Any], tuple[str, ...]]] = [
    (
        INSTALL,
        {"host": "local"},
        {"type": "installer.install", "service_id": "ghost", "payload": {"store": "/nowhere"}},
        ("operation_id", "service_id"),
    ),
    (
        RECONFIGURE,
        {"host": "local"},
        {"type": "installer.reconfigure", "service_id": "ghost", "payload": {}},
        ("operation_id", "service_id"),
    ),
    (
        REMOVE,
        {"host": "local"},
        {"type": "installer.remove", "service_id": "ghost", "payload": {"purge": True}},
        ("operation_id", "service_id"),
    ),
    (
        SECRETS_HANDOVER,
        {"host": "local"},
        {
            "type": "installer.secrets",
            "service_id": "ghost",
            "payload": {"action": "export", "recipient": RECIPIENT},
        },
        ("operation_id", "service_id"),
    ),
    (BACKUP, {}, {"type": "backup.run", "service_id": "ghost"}, ("operation_id", "service_id")),
    (
        RESTORE,
        {},
        {"type": "backup.restore", "service_id": "ghost", "payload": {"backup": BACKUP_ID}},
        ("operation_id", "service_id", "payload.backup"),
    ),
    (
        VERIFY_BACKUP,
        {},
        {"type": "backup.verify", "payload": {"backup": BACKUP_ID}},
        ("operation_id", "payload.backup"),
    ),
    (
        STEP_REQUEST,
        {"owner": "backup"},
        {
            "type": "step.request",
            "service_id": "ghost",
            "payload": {"step": "backup", "action": "apply", "manifest": {}},
        },
        ("operation_id", "service_id"),
    ),
    (
        PEER_ADDED,
        {},
        {"type": "peers.added", "payload": {"peer": "alice"}},
        ("operation_id", "payload.peer"),
    ),
    (
        PEER_REMOVED,
        {},
        {"type": "peers.removed", "payload": {"peer": "alice"}},
        ("operation_id", "payload.peer"),
    ),
    (
        PEER_REQUEST,
        {},
        {
            "type": "accounts.request",
            "payload": {
                "action": "rotate",
                "peer": "alice",
                "service": "ghost",
                "recipient": RECIPIENT,
            },
        },
        ("operation_id", "payload.peer", "payload.service"),
    ),
]


def _with(message: dict[str, Any], field: str, value: str) -> dict[str, Any]:
    out = json.loads(json.dumps(message))
    out.setdefault("version", 1)
    out.setdefault("operation_id", new_operation_id())
    target = out
    *parents, last = field.split(".")
    for name in parents:
        target = target.setdefault(name, {})
    target[last] = value
    return out


@pytest.fixture
async def suite_nc(nats_url: str, suite_seed: Path) -> AsyncIterator[NATS]:
    nc = await nats.connect(nats_url, nkeys_seed=str(suite_seed))
    yield nc
    await nc.close()


def _fake_backup(data_dir: Path) -> Path:
    """A backup folder the verify and restore commands find (they fail on it later)."""
    folder = data_dir / "backups" / BACKUP_ID
    folder.mkdir(parents=True)
    (folder / "backup.json").write_text(
        json.dumps(
            {
                "format": 1,
                "backup_id": BACKUP_ID,
                "started": datetime.now(UTC).isoformat(),
                "sealed_with": "key",
            }
        )
    )
    return folder


def _tree(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if not p.name.endswith(".log") and "nats" not in p.parts
    }


@pytest.mark.integration
async def test_a_command_with_a_path_for_an_id_is_refused_and_changes_nothing(
    stack_factory: Any, suite_nc: NATS, tmp_path: Path
) -> None:
    stack: Stack = stack_factory()
    canary = stack.data_dir / "canary.txt"
    canary.write_text("still here")
    # An absolute id names a folder the test owns, never "/" itself: were both the models and
    # the services' own checks to regress, this test must not be able to empty the host.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "canary.txt").write_text("still here")
    bad_ids = [*(bad for bad in BAD_IDS if bad != "/"), str(outside), f"{outside}/x"]
    backup = _fake_backup(stack.data_dir)
    for service in ("installer", "backup", "accounts"):
        stack.start(service)
    before = _tree(stack.data_dir)

    letters: dict[str, DeadLetter] = {}
    all_in = asyncio.Event()
    all_sent = False  # until then, every letter so far being in says nothing

    def check_all_in() -> None:
        if all_sent and len(letters) == len(sent):
            all_in.set()

    async def on_letter(msg: Any) -> None:
        letter = DeadLetter.model_validate_json(msg.data)
        for marker in sent:
            if marker in letter.payload.data:
                letters[marker] = letter
        check_all_in()

    sent: dict[str, str] = {}  # event id -> what was sent
    sub = await suite_nc.subscribe(f"pic.{stack.cell}.dlq.>", cb=on_letter)
    js = suite_nc.jetstream()
    for channel, tokens, message, fields in COMMANDS:
        subject = channel.subject(cell=stack.cell, **tokens)
        for field in fields:
            for bad in bad_ids:
                body = _with(message, field, bad)
                body["event_id"] = uuid.uuid4().hex
                sent[body["event_id"]] = f"{channel.name} with {field}={bad[:12]!r}"
                await js.publish(subject, json.dumps(body).encode())
    all_sent = True
    check_all_in()

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_in.wait(), 30)
    await sub.unsubscribe()

    missing = sorted(what for marker, what in sent.items() if marker not in letters)
    assert not missing, f"accepted (not dead-lettered) with a bad id: {missing}\n{stack.log()}"
    for letter in letters.values():
        assert "is not a valid" in letter.payload.reason, letter.payload.reason
    assert canary.read_text() == "still here"
    assert (backup / "backup.json").exists()
    assert _tree(stack.data_dir) == before

    # ... and every service still answers a good command.
    bus = await stack.bus("admin")
    try:
        verify = VerifyCommand(
            operation_id=new_operation_id(), payload=VerifyPayload(backup="b-none")
        )
        verified = await run_backup_command(bus, verify, 30)
        assert "no backup b-none" in verified.payload.message
        removed = await StoreClient(bus).run(
            RemoveCommand(
                operation_id=new_operation_id(), service_id="ghost", payload=RemovePayload()
            ),
            timeout=30,
        )
        assert removed.service_id == "ghost"
        assert await ask_peer(bus, PeerAction.list) == {"peers": []}
    finally:
        await bus.close()
    assert canary.read_text() == "still here"
    assert (outside / "canary.txt").read_text() == "still here"
