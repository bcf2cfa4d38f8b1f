"""No secret in clear at rest: an admin's secret setting and a generated secret are in no file
of JetStream's store (encrypted, and commands leave the stream once handled), and in nothing
the gateway identity can read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.bus.kv import raw_items
from shared.client import StoreClient
from shared.events.roles import OPERATIONS, SERVICES
from tests.installer.helpers import env_of, inspect, install, reconfigure, service_id
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SETTING = "s3cr3t-SETTING-9f2c41"


def files_holding(root: Path, value: str) -> list[str]:
    needle = value.encode()
    return [str(path) for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


async def gateway_reads(stack: Stack, sid: str) -> str:
    """Everything the gateway identity can read of the service: its record, its operations."""
    bus = await stack.bus("gateway", name="at-rest")
    try:
        seen = []
        for bucket in (SERVICES, OPERATIONS):
            for value in (await raw_items(bus.js, f"{bucket}_{stack.cell}")).values():
                seen.append(value.decode(errors="replace"))
        return "\n".join(seen)
    finally:
        await bus.close()


async def test_secrets_are_nowhere_in_clear(
    stack: Stack,
    client: StoreClient,
    tmp_path: Path,
    images: ImageSet,
    stack_factory: Any,
    nats_store_dir: Path,
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    manifest["config_schema"].append({"key": "api_key", "type": "secret", "label": "API key"})
    template = web_template(manifest).replace(
        "      APP_DOMAIN: ${PIC_DOMAIN}\n",
        "      APP_DOMAIN: ${PIC_DOMAIN}\n      NOTES_API_KEY: ${PIC_CFG_API_KEY}\n",
    )
    store = write_store(tmp_path / "store", [(manifest, template)])
    result = await install(client, store, sid, config={"api_key": SETTING})
    assert result.payload.status == "succeeded", result.payload.message
    env = env_of(inspect(f"cell-{sid}") or {})
    generated = env["NOTES_SECRET"]
    assert env["NOTES_API_KEY"] == SETTING

    # A new greeting only: the secret setting is still the one in use.
    result = await reconfigure(client, sid, config={"greeting": "hej"})
    assert result.payload.status == "succeeded", result.payload.message
    env = env_of(inspect(f"cell-{sid}") or {})
    assert env["NOTES_API_KEY"] == SETTING and env["NOTES_GREETING"] == "hej"

    readable = await gateway_reads(stack, sid)
    assert sid in readable  # the check reads what it should
    assert SETTING not in readable and generated not in readable
    for value in (SETTING, generated):
        assert files_holding(nats_store_dir, value) == [], "a secret in clear in JetStream's store"
