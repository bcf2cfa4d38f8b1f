"""Generate the AsyncAPI 3 document from the channel declarations and message models.

`python -m shared.events.asyncapi > docs/asyncapi.yaml`; a test fails when the file is stale.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import yaml

from shared.bus.channel import Channel, Kind
from shared.contract.registry import participants
from shared.events.channels import CHANNELS
from shared.events.roles import ROLES

TITLE = "pic-store"
VERSION = "1.0.0"


def _parameters(template: str) -> dict[str, Any]:
    names = re.findall(r"{(\w+)}", template)
    descriptions = {
        "cell": "The cell's name: one NATS cluster can serve several cells.",
        "host": "The Docker host the installer works on (`local` by default).",
        "owner": "The participant that owns the step (its contract, shared/contract/): "
        + ", ".join(participants())
        + ".",
        "consumer": "The durable consumer that rejected the message.",
    }
    return {n: {"description": descriptions.get(n, n)} for n in names}


# The roles that are people's tools rather than services.
CLIENTS = {"admin": "CLI", "gateway": "gateway"}


def publishers_of(channel: Channel) -> list[str]:
    """Who may publish on the channel: read off the roles nats-server enforces."""
    names = [r.name for r in ROLES.values() if any(c is channel for c, _ in r.publish)]
    if channel.name == "dead_letter":
        names = ["every consumer"]
    return [CLIENTS.get(name, name) for name in names]


def consumers_of(channel: Channel) -> list[str]:
    """Who reads the channel (a durable consumer or a live watch), from the roles."""
    names = [
        r.name
        for r in ROLES.values()
        if any(c.channel is channel for c in r.consume) or any(c is channel for c, _ in r.watch)
    ]
    return [CLIENTS.get(name, name) for name in names] or ["operators"]


def _hoist(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    for name, sub in schema.pop("$defs", {}).items():
        defs[name] = sub
    return schema


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for channel in CHANNELS:
        key = channel.name.replace(".", "_")
        model = channel.model
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas[model.__name__] = _hoist(schema, schemas)
        messages[model.__name__] = {
            "name": model.__name__,
            "title": model.__name__,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        }
        channels[key] = {
            "address": channel.template,
            "description": f"{channel.description} Stream: {channel.stream}.",
            "parameters": _parameters(channel.template),
            "messages": {model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}},
        }
        # From the point of view of the service that consumes commands and publishes events.
        action = "receive" if channel.kind == Kind.command else "send"
        operations[key] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"published by {', '.join(publishers_of(channel))}; consumed by "
            f"{', '.join(consumers_of(channel))}",
            "messages": [{"$ref": f"#/channels/{key}/messages/{model.__name__}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Subjects and messages of pic-store. Commands go through the "
            "JetStream stream PIC_COMMANDS (durable, acknowledged after the "
            "work), events through PIC_EVENTS, rejected messages to PIC_DLQ.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    return yaml.safe_dump(document(), sort_keys=False, width=100)


if __name__ == "__main__":
    sys.stdout.write(render())
