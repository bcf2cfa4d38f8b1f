"""The store area of the gateway, as a UI uses it: the cell's stores, the catalog of the
example store (a folder, and a file:// git repository) with what is installed, one service's
settings form and egress choices, the plan of an install through a real installer, and every
bad store or service answered with a status and a sentence naming it.

Real NATS (the session's server, a cell of its own); the plan also a real installer process.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from shared.client import StoreClient
from shared.config import CellConfig
from shared.events import InstallCommand, new_operation_id
from shared.events.messages import InstallPayload, ServiceState
from shared.installed import ServiceRecord, services_bucket
from tests.gateway.conftest import Gateway, serve_gateway
from tests.gateway.test_services import fuzz
from tests.manifest.helpers import REPO
from tests.parts.stack import Stack

EXAMPLE_STORE = REPO / "examples" / "store"
EXAMPLE_IDS = {"notes", "email", "calendar", "accounts-demo", "files"}
TOKEN_URL = "https://user:tok3n@127.0.0.1:9/store.git"  # never read: only listed
pytestmark = pytest.mark.integration


def write_config(gateway: Gateway, **fields: Any) -> None:
    """The cell config the gateway reads at its next request."""
    cell = gateway.stack.cell
    CellConfig.model_validate({"cell_name": cell, "domain": f"{cell}.test", **fields}).write(
        gateway.stack.data_dir
    )


def copy_store(tmp_path: Path, name: str = "store") -> Path:
    root = tmp_path / name
    if not root.exists():
        shutil.copytree(EXAMPLE_STORE, root)
    return root


def git_store(tmp_path: Path) -> Path:
    root = copy_store(tmp_path, "git-store")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "--quiet", "--initial-branch=main"],
        ["add", "--all"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "store"],
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env)
    return root


def stores_config(tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {
        "allow_local_stores": True,
        "stores": [
            {"name": "examples", "url": str(copy_store(tmp_path))},
            {"name": "remote", "url": TOKEN_URL},
        ],
        "default_store": "examples",
        "netpolicy": {"egress": {"wireguard_ext": {"interface": "wg-ext0"}}},
        **more,
    }


async def test_the_stores_and_the_catalog_with_what_is_installed(
    gateway: Gateway, tmp_path: Path
) -> None:
    write_config(gateway, **stores_config(tmp_path))
    answer = await gateway.http.get("/stores")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["default_store"] == "examples"
    stores = {s["name"]: s for s in body["stores"]}
    assert stores["examples"]["default"] is True and stores["examples"]["kind"] == "folder"
    assert stores["examples"]["usable"] is True
    assert stores["remote"]["url"] == "https://***@127.0.0.1:9/store.git"
    assert stores["remote"]["kind"] == "remote git repository"
    assert "tok3n" not in answer.text

    installer = await gateway.stack.bus("installer")  # the one writer of the services bucket
    try:
        await (await services_bucket(installer)).put(
            "notes",
            ServiceRecord(
                service_id="notes",
                state=ServiceState.installed,
                version="0.9.0",
                egress="wireguard_ext",
            ),
        )
    finally:
        await installer.close()
    answer = await gateway.http.get("/catalog")  # the default store
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["store"] == "examples" and body["problems"] == []
    services = {s["id"]: s for s in body["services"]}
    assert set(services) == EXAMPLE_IDS
    notes = services["notes"]
    assert notes["name"] == "Notes" and notes["version"] == "1.0.0" and notes["description"]
    assert notes["subdomain"] == "notes"
    assert [notes[f] for f in ("has_subdomain", "has_admin_config", "has_egress")] == [True] * 3
    assert notes["has_api_hooks"] is False and notes["installable"] is True
    assert notes["installed_version"] == "0.9.0" and notes["update_available"] is True
    email = services["email"]
    assert email["has_subdomain"] is False and email["subdomain"] is None
    assert email["has_storage"] is True and email["installed_version"] is None
    assert email["update_available"] is False
    assert body["read_at"].endswith(("Z", "+00:00"))  # ISO 8601, UTC
    detail = (await gateway.http.get("/catalog/notes")).json()
    assert detail["service"]["installed_version"] == "0.9.0"
    assert detail["egress"]["in_use"] == "wireguard_ext"

    # the catalog is kept a while; `fresh` reads the store again
    manifest = copy_store(tmp_path) / "services" / "notes" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"1.0.0"', '"1.1.0"'))
    kept = (await gateway.http.get("/catalog")).json()
    assert {s["id"]: s["version"] for s in kept["services"]}["notes"] == "1.0.0"
    fresh = (await gateway.http.get("/catalog", params={"fresh": "true"})).json()
    assert {s["id"]: s["version"] for s in fresh["services"]}["notes"] == "1.1.0"

    write_config(gateway, **stores_config(tmp_path, allow_local_stores=False))
    refused = {s["name"]: s for s in (await gateway.http.get("/stores")).json()["stores"]}
    assert refused["examples"]["usable"] is False
    assert "local stores" in refused["examples"]["problem"]
    unreadable = await gateway.http.get("/catalog", params={"fresh": "true"})
    assert unreadable.status_code == 502
    assert "allow_local_stores" in unreadable.json()["detail"]


async def test_the_settings_form_and_egress_choices_also_from_a_git_store(
    gateway: Gateway, tmp_path: Path
) -> None:
    config = stores_config(tmp_path)
    config["stores"].append({"name": "git", "url": f"file://{git_store(tmp_path)}"})
    write_config(gateway, **config)
    answer = await gateway.http.get("/catalog/notes", params={"store": "examples"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["manifest"]["id"] == "notes" and body["service"]["version"] == "1.0.0"
    form = body["settings_form"]
    assert form["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    fields = form["properties"]
    assert list(fields) == [
        "site_title",
        "max_upload_mb",
        "registration_open",
        "theme",
        "smtp_password",
    ]
    assert fields["max_upload_mb"]["title"] == "Largest upload (MB)"
    assert (fields["max_upload_mb"]["minimum"], fields["max_upload_mb"]["maximum"]) == (1, 1024)
    assert fields["max_upload_mb"]["default"] == 10
    assert fields["site_title"]["maxLength"] == 80
    assert fields["theme"]["enum"] == ["light", "dark"]
    assert fields["smtp_password"]["writeOnly"] is True
    assert fields["smtp_password"]["format"] == "password"
    # notes allows default, wireguard_ext and tor; this cell describes a wireguard_ext only
    egress = body["egress"]
    assert egress["default"] == "default"
    assert egress["choices"] == ["default", "wireguard_ext"]
    assert [u["name"] for u in egress["unavailable"]] == ["tor"]
    assert "netpolicy.egress.tor" in egress["unavailable"][0]["reason"]
    assert egress["in_use"] is None
    files = (await gateway.http.get("/catalog/files")).json()
    assert files["egress"] is None and files["settings_form"]["properties"] == {}

    from_git = await gateway.http.get("/catalog", params={"store": "git"})
    assert from_git.status_code == 200, from_git.text
    assert {s["id"] for s in from_git.json()["services"]} == EXAMPLE_IDS
    notes_git = await gateway.http.get("/catalog/notes", params={"store": "git"})
    assert notes_git.status_code == 200, notes_git.text
    assert notes_git.json()["settings_form"] == form


async def test_bad_stores_and_services_are_named(gateway: Gateway, tmp_path: Path) -> None:
    empty = tmp_path / "empty-store"
    empty.mkdir()
    broken = copy_store(tmp_path, "broken-store")
    (broken / "services" / "calendar" / "manifest.json").write_text('{"id": "calendar"')
    index = json.loads((broken / "index.json").read_text())
    index["services"] += [{"id": "notes"}, {"name": "no id"}, {"id": "NOT AN ID"}]
    (broken / "index.json").write_text(json.dumps(index))
    config = stores_config(tmp_path)
    config["stores"] += [
        {"name": "empty", "url": str(empty)},
        {"name": "broken", "url": str(broken)},
    ]
    write_config(gateway, **config)

    unknown = await gateway.http.get("/catalog", params={"store": "nosuch"})
    assert unknown.status_code == 404
    assert "nosuch" in unknown.json()["detail"] and "examples" in unknown.json()["detail"]
    assert (await gateway.http.get("/catalog/notes", params={"store": "nosuch"})).status_code == 404

    no_service = await gateway.http.get("/catalog/nothere")
    assert no_service.status_code == 404
    assert "'nothere'" in no_service.json()["detail"]

    bad_name = await gateway.http.get("/catalog", params={"store": "Not A Name"})
    assert bad_name.status_code == 422
    assert "store" in bad_name.text

    unreadable = await gateway.http.get("/catalog", params={"store": "empty"})
    assert unreadable.status_code == 502
    assert "'empty'" in unreadable.json()["detail"]
    assert "index.json" in unreadable.json()["detail"]

    # one broken manifest: listed with the reason, the others still installable
    catalog = (await gateway.http.get("/catalog", params={"store": "broken"})).json()
    services = {s["id"]: s for s in catalog["services"]}
    assert services["calendar"]["installable"] is False
    assert "manifest.json is not valid JSON" in services["calendar"]["problems"][0]
    assert services["notes"]["installable"] is True
    assert len(catalog["services"]) == len(EXAMPLE_IDS)
    assert catalog["problems"] == [
        "index.json services[5]: the id 'notes' is listed twice (the first counts)",
        "index.json services[6] is not an entry with an `id`",
        "index.json services[7] has the id 'NOT AN ID', which is not a service id",
    ]
    detail = await gateway.http.get("/catalog/calendar", params={"store": "broken"})
    assert detail.status_code == 422
    assert "calendar" in detail.json()["detail"] and "broken" in detail.json()["detail"]

    write_config(gateway, allow_local_stores=True)  # no stores, no default
    no_default = await gateway.http.get("/catalog")
    assert no_default.status_code == 404
    assert "default_store" in no_default.json()["detail"]


async def test_the_plan_of_an_install_from_the_default_store(
    stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    config = stores_config(tmp_path, allowed_image_prefix="git.pic.ngo/roof/")
    stack = stack_factory(cell_config=config)
    stack.start_installer()
    async with serve_gateway(stack) as gateway:
        planned = await gateway.http.post(
            "/catalog/notes/plan", json={"config": {"max_upload_mb": 5, "theme": "dark"}}
        )
        assert planned.status_code == 200, planned.text
        body = planned.json()
        assert body["status"] == "planned" and body["store"] == "examples"
        assert body["plan"]["service_id"] == "notes" and body["plan"]["version"] == "1.0.0"
        assert "containers" in body["plan"]["steps"]
        client = StoreClient(gateway.deps.bus)
        assert await client.service("notes") is None  # a plan changes nothing

        refused = await gateway.http.post(
            "/catalog/notes/plan", json={"store": "examples", "config": {"max_upload_mb": 0}}
        )
        assert refused.status_code == 422, refused.text
        assert "max_upload_mb" in refused.json()["detail"]

        no_egress = await gateway.http.post("/catalog/notes/plan", json={"egress": "tor"})
        assert no_egress.status_code == 422, no_egress.text
        assert "tor" in no_egress.json()["detail"]

        strict = await gateway.http.post("/catalog/notes/plan", json={"confg": {}})
        assert strict.status_code == 422 and "confg" in strict.text
        unknown = await gateway.http.post("/catalog/notes/plan", json={"store": "nosuch"})
        assert unknown.status_code == 404 and "nosuch" in unknown.json()["detail"]

        # an install that names no store, on a cell without a default: how to set one
        CellConfig.load(stack.data_dir).model_copy(update={"default_store": None}).write(
            stack.data_dir
        )
        result = await client.run(
            InstallCommand(
                operation_id=new_operation_id(),
                service_id="notes",
                payload=InstallPayload(plan_only=True),
            ),
            timeout=30,
        )
        assert result.payload.status == "failed"
        assert "no default store" in result.payload.message
        assert "default_store" in result.payload.message


STORE_OPERATIONS = {
    ("/stores", "GET"),
    ("/catalog", "GET"),
    ("/catalog/{service_id}", "GET"),
    ("/catalog/{service_id}/plan", "POST"),
}


async def test_the_store_area_answers_what_its_document_says(
    gateway: Gateway, tmp_path: Path
) -> None:
    """Schemathesis over the store's operations (as test_services.py does for its own):
    generated requests, valid and malformed, answered as the document says, never a 5xx.
    The reads with a default store; the plan without one (no installer runs here: a plan of
    the default store would wait for it), so that a plan is refused before it is sent."""
    spec = (await gateway.http.get("/openapi.json")).json()
    operations = {
        (op.path, op.method.upper()): op
        for result in schemathesis.openapi.from_dict(spec).get_all_operations()
        if isinstance(result, Ok)
        and ((op := result.ok()).path, op.method.upper()) in STORE_OPERATIONS
    }
    assert set(operations) == STORE_OPERATIONS
    headers = {"Authorization": f"Bearer {gateway.token}"}
    statuses: Counter[int] = Counter()
    config = stores_config(tmp_path)
    for key in sorted(STORE_OPERATIONS):
        if key[1] == "POST":
            config["default_store"] = None
        write_config(gateway, **config)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            await asyncio.to_thread(
                fuzz, operations[key], mode, gateway.base_url, headers, statuses
            )
    print(f"schemathesis: the store area, {sum(statuses.values())} requests {dict(statuses)}")
    assert statuses[200] and not any(status >= 500 for status in statuses), statuses


def test_install_payload_without_a_store_still_reads_old_messages() -> None:
    old = json.loads(InstallPayload(store="/srv/store").model_dump_json())
    assert InstallPayload.model_validate(old).store == "/srv/store"
    assert InstallPayload.model_validate({}).store is None
