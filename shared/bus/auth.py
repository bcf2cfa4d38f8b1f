"""Identities on the bus and the nats-server configuration that enforces their roles.

Each role of a cell (shared/events/roles.py) has its own NATS nkey; its seed is a file only
root can read (`<dir>/<cell>/<role>.nk`). The server's configuration lists every public key
with the permissions its role needs, generated here and nowhere else, so nats-server (not our
code) refuses what a role may not do. Replies come to a per-identity inbox prefix, so no
identity can read another's answers.

What the server does NOT check (issue #19, finding 10), and so no role is given:
- making a consumer: a push consumer's `deliver_subject` is not checked against its maker's
  permissions, so a role that may make one on a stream it writes has the server publish for
  it on any subject (the installer's commands). Roles read buckets by direct get and the
  stream's subject index, and make only their own durables, each with its one filter.
- making or changing a stream: a stream's config can source or mirror another stream (the
  secrets bucket) and republish it to a subject the role reads. Only the installer makes the
  cell's streams and buckets.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import nkeys

from shared.events.channels import STREAMS, Channel
from shared.events.roles import BUCKETS, PARTICIPANTS, ROLES, Role

SEED_SUFFIX = ".nk"
DEFAULT_HOSTS = ("local",)


def inbox_prefix(cell: str, role: str) -> str:
    return f"_INBOX.{cell}.{role}"


def new_seed() -> bytes:
    return bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


def public_key(seed: bytes) -> str:
    return str(nkeys.from_seed(bytearray(seed)).public_key.decode())


def seed_path(directory: Path, cell: str, role: str) -> Path:
    return directory / cell / f"{role}{SEED_SUFFIX}"


def ensure_identities(directory: Path, cell: str, roles: Iterable[str] = ROLES) -> dict[str, str]:
    """A seed file per role of the cell (made once, 0600 in 0700 folders); role -> public key."""
    folder = directory / cell
    folder.mkdir(parents=True, exist_ok=True)
    for path in (directory, folder):
        path.chmod(0o700)
    keys = {}
    for role in roles:
        path = seed_path(directory, cell, role)
        if not path.exists():
            _write_private(path, new_seed())
        keys[role] = public_key(path.read_bytes().strip())
    return keys


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


# -- permissions ----------------------------------------------------------------------------


def permissions(role: Role, cell: str, hosts: Sequence[str] = DEFAULT_HOSTS) -> dict[str, Any]:
    """The publish and subscribe allow-lists of one role in one cell."""
    pub: list[str] = [f"$JS.API.STREAM.INFO.{stream}" for stream, _ in STREAMS.values()]
    sub: list[str] = [f"{inbox_prefix(cell, role.name)}.>"]
    if role.manages_streams:
        for stream, _ in STREAMS.values():
            pub += [f"$JS.API.STREAM.CREATE.{stream}", f"$JS.API.STREAM.UPDATE.{stream}"]
        for bucket in BUCKETS:
            stream = f"KV_{bucket}_{cell}"
            pub += [f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.CREATE.{stream}"]
    for channel, tokens in role.publish:
        pub.append(channel.wildcard(cell=cell, **tokens))
    for channel, tokens in role.watch:
        sub.append(channel.wildcard(cell=cell, **tokens))
    for consumer in role.consume:
        for host in hosts:
            durable = f"{cell}-" + consumer.durable.format(host=host)
            tokens = {
                **consumer.tokens,
                **({"host": host} if "{host}" in consumer.channel.template else {}),
            }
            subject = consumer.channel.wildcard(cell=cell, **tokens)
            pub += _durable(consumer.channel.stream, durable, subject)
            pub.append(f"pic.{cell}.dlq.{durable}")
            sub.append(subject)
    for bucket in {*role.read, *role.write}:
        pub += _bucket_read(f"{bucket}_{cell}")
    for bucket in role.write:
        pub.append(f"$KV.{bucket}_{cell}.>")
    if role.announce:
        pub.append(f"$KV.{PARTICIPANTS}_{cell}.{role.name}")
    return {"publish": {"allow": sorted(set(pub))}, "subscribe": {"allow": sorted(set(sub))}}


def _durable(stream: str, durable: str, subject: str) -> list[str]:
    """The role's own durable, made only with its one filter subject (the API subject names
    it): never with another filter, nor through the legacy call that names none."""
    api = "$JS.API.CONSUMER"
    return [
        f"{api}.INFO.{stream}.{durable}",
        f"{api}.CREATE.{stream}.{durable}.{subject}",
        f"{api}.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
    ]


def _bucket_read(bucket: str) -> list[str]:
    """Open, get (directly, or through the stream API for a bucket made without direct gets),
    list keys (the stream's subject index, in its info): no consumer, no stream made."""
    stream, api = f"KV_{bucket}", "$JS.API"
    return [
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}.>",
    ]


def server_users(
    cells: Mapping[str, Mapping[str, str]], hosts: Sequence[str] = DEFAULT_HOSTS
) -> list[dict[str, Any]]:
    """`authorization.users` of nats-server for cells: cell -> role -> public key."""
    return [
        {"nkey": key, "permissions": permissions(ROLES[role], cell, hosts)}
        for cell, keys in sorted(cells.items())
        for role, key in sorted(keys.items())
    ]


def server_config(
    *, port: int, store_dir: Path, users: list[dict[str, Any]], cipher_key: str, server_name: str
) -> dict[str, Any]:
    """nats-server's configuration (its format reads JSON): loopback, JetStream encrypted at
    rest, and no connection without one of the identities."""
    return {
        "server_name": server_name,
        "host": "127.0.0.1",
        "port": port,
        "jetstream": {"store_dir": str(store_dir), "cipher": "chachapoly", "key": cipher_key},
        "authorization": {"users": users},
    }


def write_server_config(path: Path, config: Mapping[str, Any]) -> None:
    """Atomically, 0600: it holds the encryption key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, json.dumps(config, indent=1).encode())
    tmp.replace(path)


def cipher_key(path: Path) -> str:
    """The JetStream encryption key, made once and kept in a root-only file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(32).encode())
    return path.read_text().strip()


__all__ = [
    "BUCKETS",
    "Channel",
    "cipher_key",
    "ensure_identities",
    "inbox_prefix",
    "permissions",
    "seed_path",
    "server_config",
    "server_users",
    "write_server_config",
]
