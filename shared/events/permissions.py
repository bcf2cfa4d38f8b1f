"""The publish and subscribe permissions of each role of a cell, as nats-server enforces them:
derived from the roles (shared/events/roles.py), which the participants' contracts derive.

What the server does NOT check, and so no role is given (issue #19, finding 10): making a
consumer other than its own durables with their one filter (a push consumer's
`deliver_subject` is not checked), and making or changing a stream (a stream's config can
source another one); only the installer makes the cell's streams and buckets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.bus.auth import inbox_prefix
from shared.events.channels import STREAMS
from shared.events.roles import BUCKETS, PARTICIPANTS, ROLES, Role

DEFAULT_HOSTS = ("local",)


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
