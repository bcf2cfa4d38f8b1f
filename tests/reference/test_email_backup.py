"""A backup of the Email service taken while mail arrives loses no acknowledged message.

A peer keeps sending mail to another through the real submission port (STARTTLS,
authenticated, as its peer config says) at a steady rate while the backup service backs the
service up (its manifest's `before` command, `mailctl snapshot`, runs while mail flows). The
service is then purged (its volume gone) and restored from that backup into a fresh volume:
every message the server acknowledged before the backup's `before` command began (the start
Docker reports for that exec) is in the archive and comes back, whole and once, read over
IMAP by the receiving peer with the config the restored service gives it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import json
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
import pytest
from pyrage import x25519

from shared.config import CellConfig
from tests.backup.parts import backup, restore
from tests.installer.helpers import remove, volumes_of
from tests.parts.docker_engine import docker
from tests.parts.eventually import eventually
from tests.reference.conftest import EmailCell, email_cell
from tests.reference.test_email import VpnPeers

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PREFIX = "steady"
BODY = "message {n} of the steady stream\n" + "".join(
    f"line {i} of message {{n}}: every word of it must come back\n" for i in range(12)
)
EVERY = 0.03  # seconds between two messages (the sender's pace; the server's may be slower)
BEFORE = 40  # messages acknowledged before the backup is asked for

# Run in the sender's namespace: one authenticated submission session (as the peer config
# says: STARTTLS, PLAIN) sending a message every `every` s until a line comes on stdin; one
# JSON line per message the server acknowledged (send_message returned), with the time.
SENDER = r"""
import json, select, smtplib, ssl, sys, time
from email.message import EmailMessage
config, to, prefix, body = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[5]
every = float(sys.argv[4])

def say(**what):
    print(json.dumps(what), flush=True)

def context():
    pem = config.get("ca_certificate", "")
    if not pem.startswith("-----BEGIN"):  # a self-signed server: trusted once
        pem = ssl.get_server_certificate((config["imap_server"], int(config["imap_port"])))
    return ssl.create_default_context(cadata=pem)

def session():
    smtp = smtplib.SMTP(config["smtp_server"], int(config["smtp_port"]), timeout=10)
    smtp.ehlo()
    smtp.starttls(context=context())
    smtp.ehlo()
    smtp.user, smtp.password = config["username"], config["password"]
    smtp.auth("PLAIN", smtp.auth_plain)
    return smtp

deadline = time.monotonic() + 20  # the account may reach the server a moment after its config
while True:
    try:
        smtp = session()
        break
    except (smtplib.SMTPException, OSError):
        if time.monotonic() > deadline:
            raise
        time.sleep(0.2)
say(ready=True)
n, next_at = 0, time.monotonic()
while True:
    message = EmailMessage()
    message["From"], message["To"] = config["email"], to
    message["Subject"] = f"{prefix} {n:04d}"
    message.set_content(body.format(n=n))
    smtp.send_message(message)
    say(n=n, acked=time.time())
    n += 1
    next_at += every
    if select.select([sys.stdin], [], [], max(0.0, next_at - time.monotonic()))[0]:
        break
smtp.quit()
say(done=n)
"""


@dataclass
class Sender:
    """The sender process in a peer's namespace, and what it reported (read by a thread)."""

    proc: subprocess.Popen[str]
    acked: dict[int, float] = field(default_factory=dict)  # message number -> time acked
    ready: bool = False
    done: int | None = None
    reader: threading.Thread | None = None

    @classmethod
    def start(cls, ns: str, config: dict[str, str], to: str) -> Sender:
        argv = [sys.executable, "-c", SENDER, json.dumps(config), to, PREFIX, str(EVERY), BODY]
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        sender = cls(proc)
        sender.reader = threading.Thread(target=sender._read, daemon=True)
        sender.reader.start()
        return sender

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            said = json.loads(line)
            if "acked" in said:
                self.acked[said["n"]] = said["acked"]
            self.ready = self.ready or said.get("ready", False)
            self.done = said.get("done", self.done)

    def failure(self) -> str | None:
        if self.proc.poll() is None or self.proc.returncode == 0:
            return None
        assert self.proc.stderr is not None
        return f"the sender stopped ({self.proc.returncode}): {self.proc.stderr.read()[-2000:]}"

    async def until(self, ready: bool = False, count: int = 0, within: float = 30) -> None:
        async def reached() -> bool:
            failed = self.failure()
            assert failed is None, failed
            return (self.ready or not ready) and len(self.acked) >= count

        await eventually(reached, within, what=f"the sender ready with {count} messages sent")

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stop\n")
        self.proc.stdin.close()
        code = await asyncio.to_thread(self.proc.wait, 15)
        assert self.reader is not None
        await asyncio.to_thread(self.reader.join, 5)
        assert code == 0, self.failure()
        assert self.done == len(self.acked), "the sender did not report every message"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def hook_start(container: str, since: float, until: float) -> float:
    """When Docker started the backup's `before` command (mailctl snapshot) in the
    container, between `since` and `until` (there must be exactly one)."""
    out = docker(
        "events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
        "--filter", f"container={container}", "--filter", "event=exec_start",
        "--format", "{{json .}}",
    )  # fmt: skip
    started = [
        int(event["timeNano"]) / 1e9
        for event in map(json.loads, out.splitlines())
        if event["Action"].strip() == "exec_start: mailctl snapshot"
    ]
    assert len(started) == 1, f"the snapshot command ran {len(started)} times: {out}"
    return started[0]


def parse(raw: bytes | str) -> tuple[str, str]:
    """(subject, body) of one message as a mail client shows them."""
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    message = email.message_from_string(text.replace("\r\n", "\n"), policy=email.policy.default)
    content = message.get_content()
    return str(message["Subject"]), str(content)


def archived(data_dir: Path, backup_id: str, sid: str, volume: str) -> dict[str, str]:
    """The messages in the backup's archive of `volume` (path -> subject), read as the
    holder of the cell's backup key would: the backup's own key opened with it, the archive
    with that."""
    config = CellConfig.load(data_dir).backup
    cell = x25519.Identity.from_str((data_dir / config.key_file).read_text().strip())
    folder = data_dir / "backups" / backup_id
    own = x25519.Identity.from_str(
        pyrage.decrypt((folder / "key.age").read_bytes(), [cell]).decode()
    )
    sealed = (folder / sid / "volumes" / f"{volume}.tar.gz.age").read_bytes()
    found: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(pyrage.decrypt(sealed, [own])), mode="r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and len(parts) > 2 and parts[-2] in ("new", "cur"):
                handle = tar.extractfile(member)
                assert handle is not None
                found[member.name] = parse(handle.read())[0]
    return found


async def test_mail_acknowledged_before_a_backup_comes_back_from_it_whole_and_once(  # type: ignore[no-untyped-def]
    stack_factory, email_image: str, tmp_path: Path
) -> None:
    async with email_cell(stack_factory, email_image, tmp_path, ("alice", "bob"), "backup") as cell:
        alice, bob = await cell.config("alice"), await cell.config("bob")
        with VpnPeers({f"mail.{cell.domain}": cell.address()}) as peers:
            sender = Sender.start(peers["alice"].ns, alice, bob["email"])
            try:
                await sender.until(ready=True, count=BEFORE)
                asked = time.time()
                made = await backup(cell.bus, cell.sid)
                answered = time.time()
                await sender.until(count=len(sender.acked) + 3)  # still accepted afterwards
                await sender.stop()
            finally:
                sender.kill()
        assert made.payload.ok, made.payload.message
        (backup_id,) = made.payload.backups
        began = hook_start(cell.container, asked - 1, time.time())  # until now: no wait
        assert asked <= began <= answered, (asked, began, answered)
        before = sorted(n for n, at in sender.acked.items() if at < began)
        during = sorted(n for n, at in sender.acked.items() if began <= at <= answered)
        after = len(sender.acked) - len(before) - len(during)
        print(
            f"acknowledged: {len(before)} before the snapshot began, {len(during)} while the "
            f"backup ran ({answered - began:.2f} s), {after} after"
        )
        assert len(before) >= BEFORE
        assert during, "no mail was accepted while the backup ran"
        wanted = {f"{PREFIX} {n:04d}" for n in before}

        # The archive holds each of them (a message is one file, in new/ or cur/).
        inside = Counter(archived(cell.stack.data_dir, backup_id, cell.sid, "email_mail").values())
        assert wanted <= set(inside), f"not in the archive: {sorted(wanted - set(inside))}"
        assert max(inside.values()) == 1, [s for s, k in inside.items() if k > 1]

        # Purged (the volume is gone), then restored into a fresh one.
        gone = await remove(cell.client, cell.sid, purge=True)
        assert gone.payload.status == "succeeded", gone.payload.message
        assert volumes_of(cell.sid) == []
        restored = await restore(cell.bus, backup_id, cell.sid)
        assert restored.payload.ok, restored.payload.message

        got = await _inbox(cell, "bob")
        subjects = Counter(subject for subject, _ in got)
        assert wanted <= set(subjects), f"lost: {sorted(wanted - set(subjects))}"
        assert max(subjects.values()) == 1, [s for s, k in subjects.items() if k > 1]
        for subject, body in got:  # whole: each one as sent (also those after the start)
            assert body == BODY.format(n=int(subject.split()[1])), subject
        print(f"back after the restore: {len(subjects)} messages ({len(wanted)} required)")


async def _inbox(cell: EmailCell, peer: str) -> list[tuple[str, str]]:
    """The peer's messages of the stream as (subject, body), read over IMAP with the config
    the restored service gives it (its account is made anew), from a new namespace (the
    service's address may be new)."""
    await cell.config(peer, within=20)
    got: list[tuple[str, str]] = []
    with VpnPeers({f"mail.{cell.domain}": cell.address()}) as peers:

        async def read() -> bool:  # until its account is in the restored container
            config = await cell.config(peer)
            result: dict[str, Any] = peers[peer].client("read", config, subject=PREFIX)
            got[:] = [parse(raw) for raw in result.get("messages", [])]
            return "messages" in result

        await eventually(read, 20, what=f"{peer}'s inbox readable after the restore", every=0.5)
    return got


# Two of these run side by side in the container: mail delivered by Dovecot's LDA (as Postfix
# hands it over) to bob as fast as it goes, until /tmp/stream-stop exists.
STREAM = r"""
i=0
while [ ! -e /tmp/stream-stop ]; do
  i=$((i + 1))
  printf 'Subject: stream %s %05d\n\nmessage %d\n' "$1" "$i" "$i" \
    | /usr/lib/dovecot/dovecot-lda -d bob@snap.test 2>/dev/null
done
"""
NAMES = r"""find /data/$1 -type f \( -path '*/new/*' -o -path '*/cur/*' \) -path "*/$2/*" \
  -printf '%f\n' | sed 's/:.*//'"""


async def test_a_snapshot_ends_while_mail_pours_in_and_holds_mail_still_queued(
    email_image: str,
) -> None:
    """`mailctl snapshot` in the Email image alone (no network): while two streams deliver
    mail to bob faster than a walk of the Maildir takes, it ends, with every message that
    was there when it began; and a message Postfix accepted for carol before it began but
    could not deliver yet (her Maildir refused it for a moment) is in it too. Left behind, it
    is not merged at the next start."""
    name = f"pic-mailctl-{uuid.uuid4().hex[:8]}"
    box = "/data/mail/snap.test/carol/Maildir/new"

    def run(script: str, *args: str) -> str:
        return docker("exec", name, "sh", "-c", script, "sh", *args)

    docker("run", "-d", "--name", name, "--network", "none", "--init",
           "-e", "MAIL_DOMAIN=snap.test", email_image)  # fmt: skip
    snapshot: asyncio.subprocess.Process | None = None
    try:

        async def up() -> bool:
            ready = "postfix status && test -s /run/dovecot/master.pid && echo up"
            return docker("exec", name, "sh", "-c", ready, check=False) == "up"

        await eventually(up, 20, what="Postfix and Dovecot started in the container")
        run(
            "printf '%s\\n' \"$@\" >> /data/users/passwd",
            "bob@snap.test:{PLAIN}x",
            "carol@snap.test:{PLAIN}x",
        )
        run("echo 'Subject: first' | /usr/lib/dovecot/dovecot-lda -d carol@snap.test")
        run(
            f"chmod 000 {box} && echo 'Subject: queued' | sendmail -f bob@snap.test carol@snap.test"
        )

        async def deferred() -> bool:
            return bool(run("find /var/spool/postfix/deferred -type f"))

        await eventually(deferred, 10, what="carol's message deferred in Postfix's queue")
        for stream in ("a", "b"):
            docker("exec", "-d", name, "sh", "-c", STREAM, "sh", stream)

        async def flowing() -> bool:
            return len(run(NAMES, "mail", "bob").split()) >= 40

        await eventually(flowing, 15, what="the streams delivering to bob")
        there = set(run(NAMES, "mail", "bob").split())
        snapshot = await asyncio.create_subprocess_exec(
            "docker", "exec", name, "mailctl", "snapshot",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await asyncio.sleep(1)
        run(f"chmod 700 {box}")  # carol's Maildir takes mail again
        said = await asyncio.wait_for(snapshot.communicate(), 60)
        out, err = (text.decode(errors="replace") for text in said)
        assert snapshot.returncode == 0, f"the snapshot failed: {err}"
        run("touch /tmp/stream-stop")
        held = set(run(NAMES, "snapshot/mail", "bob").split())
        assert there <= held, f"{len(there - held)} of bob's messages missing: {out} {err}"
        after = set(run(NAMES, "mail", "bob").split())
        print(f"bob: {len(there)} messages at the start, {len(after - there)} came meanwhile")
        assert len(after - there) >= 10, "the streams stopped: nothing was delivered meanwhile"
        carol = run("grep -rl '^Subject: queued' /data/snapshot/mail/snap.test/carol || true")
        assert carol, f"the message queued for carol is not in the snapshot: {out} {err}"
        # Left behind (as by a backup stopped before its `drop`), it is not merged at the next
        # start: a message deleted since stays deleted.
        deleted = sorted(there)[0]
        run('rm /data/mail/snap.test/bob/Maildir/new/"$1"', deleted)
        run("mailctl merge")
        assert deleted not in run(NAMES, "mail", "bob").split(), "a deleted message came back"
    finally:
        if snapshot is not None and snapshot.returncode is None:
            snapshot.kill()
            await snapshot.wait()
        docker("rm", "-f", name, check=False)
