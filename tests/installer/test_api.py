"""The gateway's HTTP API against the real installer process."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.installer.helpers import containers_of, service_id
from tests.parts.eventually import eventually
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
async def http(stack: Stack):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{stack.installer.port}", timeout=60
    ) as client:
        yield client


async def test_install_status_list_remove_over_http(
    stack: Stack, http: httpx.AsyncClient, tmp_path, images: ImageSet, stack_factory
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(
        sid,
        images.web,
        config_schema=[
            {"key": "greeting", "type": "string", "label": "Greeting", "default": "hi"},
            {"key": "api_token", "type": "secret", "label": "Token"},
        ],
    )
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])

    response = await http.post(
        f"/services/{sid}/install",
        params={"wait": 60},
        json={"store": str(store), "config": {"api_token": "s3cr3t-v4lue"}},
    )
    assert response.status_code == 202
    body = response.json()
    assert body["operation_id"].startswith("op-")
    assert body["result"]["status"] == "succeeded", body

    status = (await http.get(f"/services/{sid}")).json()
    assert status["state"] == "installed" and status["service_ip"].startswith("172.20.0.")
    assert status["config"]["api_token"] == "********"
    listed = (await http.get("/services")).json()
    assert [s["service_id"] for s in listed] == [sid]
    op = (await http.get(f"/operations/{body['operation_id']}")).json()
    assert op["status"] == "succeeded"
    assert "s3cr3t-v4lue" not in json.dumps(listed) + json.dumps(op)

    accepted = await http.delete(f"/services/{sid}")
    assert accepted.status_code == 202
    operation_id = accepted.json()["operation_id"]

    async def removed() -> bool:
        answer = await http.get(f"/operations/{operation_id}")
        return answer.status_code == 200 and answer.json().get("status") == "succeeded"

    await eventually(removed, within=20, what=f"operation {operation_id} succeeded")
    assert containers_of(sid) == []
    assert (await http.get(f"/services/{sid}")).status_code == 404
    log = stack.log()
    assert "s3cr3t-v4lue" not in log, "a secret setting reached the logs"


async def test_bad_requests_get_clear_errors(http: httpx.AsyncClient) -> None:
    bad_id = await http.post("/services/Not_A_Slug/install", json={"store": "/x"})
    assert bad_id.status_code == 422
    no_store = await http.post("/services/notes/install", json={})
    assert no_store.status_code == 422
    assert "store" in no_store.text
    missing = await http.get("/services/nothere")
    assert missing.status_code == 404 and "not installed" in missing.text


async def test_progress_streams_as_server_sent_events(
    stack: Stack, http: httpx.AsyncClient, tmp_path, images: ImageSet
) -> None:
    sid = service_id()
    manifest = web_manifest(sid, images.web)
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    plan = (
        await http.post(f"/services/{sid}/install", json={"store": str(store), "plan": True})
    ).json()
    events = []
    async with http.stream(
        "GET", "/events", params={"operation_id": plan["operation_id"]}
    ) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
            if events and events[-1]["type"] == "installer.result":
                break
    # The plan may finish before the stream opens; then ask the operation itself.
    if not events:
        op = (await http.get(f"/operations/{plan['operation_id']}")).json()
        assert op["status"] == "planned"
    else:
        assert events[-1]["payload"]["status"] == "planned"
        assert events[-1]["payload"]["plan"]["containers"] == [f"cell-{sid}"]


async def test_health_metrics_and_openapi(stack: Stack, http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).text == "ok"
    metrics = (await http.get("/metrics")).text
    assert "pic_operations_total" in metrics and "pic_services" in metrics
    spec = (await http.get("/openapi.json")).json()
    assert "/services/{service_id}/install" in spec["paths"]
