"""The gateway's services, operations and logs against the real installer process (the
gateway in the test's process, tests/gateway/conftest.py); and the installer itself answers
nothing but /healthz and /metrics now."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.errors import PicStoreError
from shared.events.logs import MAX_LINE
from shared.store.source import StoreKind, store_kind
from tests.gateway.conftest import Gateway
from tests.installer.helpers import containers_of, service_id
from tests.parts.eventually import eventually
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def token_of(stack: Stack) -> str:
    return Path(stack.env["PIC_API_TOKEN_FILE"]).read_text().strip()


# What the gateway answers alone (no installer, no Docker: a cell of its own).
@pytest.fixture
def http(gateway: Gateway) -> httpx.AsyncClient:
    return gateway.http


@pytest.fixture
def anonymous(gateway: Gateway) -> httpx.AsyncClient:
    return gateway.anonymous


# Before the service itself: 1500 numbered lines, then one line longer than a logs answer
# keeps (no `$`: the template is rendered before Compose reads it).
CHATTY = (
    "    entrypoint: [/bin/sh, -c, \"seq 1 1500; printf '%3000s\\n' x; exec /entrypoint.sh\"]\n"
)


def chatty_template(manifest: dict[str, Any]) -> str:
    template = web_template(manifest)
    return template.replace("    init: true\n", "    init: true\n" + CHATTY, 1)


async def installer_answers_only_healthz_and_metrics(stack: Stack) -> None:
    base = f"http://127.0.0.1:{stack.installer.port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as installer:
        assert (await installer.get("/healthz")).text == "ok"
        assert (await installer.get("/metrics")).status_code == 200
        for path in ("/services", "/operations/op-x", "/events"):
            assert (await installer.get(path)).status_code == 404, path
        document = (await installer.get("/openapi.json")).json()
        assert set(document["paths"]) == {"/healthz", "/metrics"}
        install = await installer.post("/services/notes/install", json={"store": "/x"})
        assert install.status_code == 404


async def test_install_status_logs_list_remove_over_http(
    stack: Stack, stack_gateway: Gateway, tmp_path, images: ImageSet, stack_factory
) -> None:
    # The installer's own HTTP port has nothing of the API any more: the gateway has it.
    await installer_answers_only_healthz_and_metrics(stack)
    http = stack_gateway.http
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
    store = write_store(tmp_path / "store", [(manifest, chatty_template(manifest))])

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
    assert op["started"].endswith("Z") or "+00:00" in op["started"]  # ISO 8601, UTC
    assert status["operation"]["operation_id"] == body["operation_id"]
    recent = (await http.get("/operations", params={"service": sid})).json()
    assert [o["operation_id"] for o in recent] == [body["operation_id"]]
    assert "s3cr3t-v4lue" not in json.dumps(listed) + json.dumps(op)

    # Its logs: the last lines asked for, each cut to what an answer keeps.
    logs = await http.get(f"/services/{sid}/logs", params={"tail": 3})
    assert logs.status_code == 200, logs.text
    lines = logs.json()["containers"][f"cell-{sid}"]
    assert len(lines["lines"]) == 3 and lines["truncated"]
    assert lines["lines"][1].endswith(" 1500"), lines["lines"]
    assert len(lines["lines"][2]) == MAX_LINE + 1 and lines["lines"][2].endswith("…")
    everything = (await http.get(f"/services/{sid}/logs", params={"tail": 1000})).json()
    assert len(everything["containers"][f"cell-{sid}"]["lines"]) == 1000
    too_many = await http.get(f"/services/{sid}/logs", params={"tail": 1001})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["query", "tail"]
    missing = await http.get("/services/nothere/logs")
    assert missing.status_code == 404 and "not installed" in missing.json()["detail"]

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
    assert (await http.get(f"/services/{sid}/logs")).status_code == 404


async def test_bad_requests_get_clear_errors(http: httpx.AsyncClient) -> None:
    bad_id = await http.post("/services/Not_A_Slug/install", json={"store": "/x"})
    assert bad_id.status_code == 422
    empty_store = await http.post("/services/notes/install", json={"store": ""})
    assert empty_store.status_code == 422
    assert "store" in empty_store.text
    typo = await http.post("/services/notes/install", json={"stor": "/x"})
    assert typo.status_code == 422 and "stor" in typo.text
    missing = await http.get("/services/nothere")
    assert missing.status_code == 404 and "not installed" in missing.text


async def test_progress_streams_as_server_sent_events(
    stack_gateway: Gateway, tmp_path, images: ImageSet
) -> None:
    http = stack_gateway.http
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


async def test_health_metrics_and_openapi(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).text == "ok"
    metrics = (await http.get("/metrics")).text
    assert "python_info" in metrics  # the gateway's own process: no operations of its own
    spec = (await http.get("/openapi.json")).json()
    assert "/services/{service_id}/install" in spec["paths"]


async def test_every_endpoint_but_healthz_needs_the_token(
    gateway: Gateway, anonymous: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = gateway.token
    for path in ("/services", "/services/notes", "/metrics", "/openapi.json", "/docs"):
        missing = await anonymous.get(path)
        assert missing.status_code == 401, path
        wrong = await anonymous.get(path, headers={"Authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401, path
        assert token not in missing.text + wrong.text
    install = await anonymous.post("/services/notes/install", json={"store": "/x"})
    assert install.status_code == 401
    assert (await anonymous.get("/healthz")).text == "ok"
    right = await anonymous.get("/services", headers={"Authorization": f"Bearer {token}"})
    assert right.status_code == 200
    assert token not in caplog.text


async def test_a_foreign_host_is_refused(http: httpx.AsyncClient) -> None:
    # What a page re-binding its DNS name to 127.0.0.1 would send from a browser.
    for path in ("/services", "/healthz"):
        answer = await http.get(path, headers={"Host": "rebind.example"})
        assert answer.status_code == 400
        assert "PIC_API_HOSTS" in answer.json()["detail"]
    assert (await http.get("/services", headers={"Host": "localhost"})).status_code == 200


async def test_a_cross_origin_preflight_gets_no_cors_grant(
    http: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    for client in (anonymous, http):
        answer = await client.options("/services/notes/install", headers=headers)
        assert answer.status_code >= 400
        assert "access-control-allow-origin" not in answer.headers


async def test_malformed_requests_get_a_4xx(http: httpx.AsyncClient) -> None:
    # A non-ASCII id used to reach the NATS key-value store, which raised: a 500.
    assert (await http.get("/operations/op-\u00e9t\u00e9")).status_code == 422
    assert (await http.get("/operations/op-nothere")).status_code == 404
    for body in ({"store": "/x", "plan": 0}, {"store": "/x", "config": {"n": 1.5}}):
        answer = await http.post("/services/notes/install", json=body)
        assert answer.status_code == 422, body
    spec = (await http.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


# -- schemathesis ------------------------------------------------------------------------

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 25
# `/events` streams server-sent events until the client goes away: a generated request would
# never end. test_progress_streams_as_server_sent_events reads it.
STREAMING = {"/events"}
# The operations of this area (the store's, peers', backups' and routes' are fuzzed by their
# own tests, with the services they ask running).
OWN_OPERATIONS = {
    ("/healthz", "GET"),
    ("/metrics", "GET"),
    ("/services", "GET"),
    ("/services/{service_id}", "GET"),
    ("/services/{service_id}", "DELETE"),
    ("/services/{service_id}/install", "POST"),
    ("/services/{service_id}/reconfigure", "POST"),
    ("/services/{service_id}/logs", "GET"),
    ("/operations", "GET"),
    ("/operations/{operation_id}", "GET"),
}

# Generated stores stay on this machine: a string that reads as a remote git URL becomes a
# folder that does not exist, so the installer never clones from the network.
LOCAL_STORE = "/nonexistent/pic-store-schemathesis"


def keep_local(case: schemathesis.Case) -> schemathesis.Case:
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("store"), str):
        try:
            remote = store_kind(body["store"]) is StoreKind.remote_git
        except PicStoreError:
            remote = False  # refused before any clone
        if remote:
            case.body = {**body, "store": LOCAL_STORE}
    return case


def malformable(operation: schemathesis.APIOperation) -> bool:
    """Whether there is anything to send wrong: a parameter, a body or the token (GET
    /healthz has none of them)."""
    return any(True for _ in operation.iter_parameters()) or bool(list(operation.body))


def fuzz(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
    statuses: Counter[int],
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode).map(keep_local))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            base_url=base_url, headers=headers, checks=CHECKS, timeout=60
        )
        # Only ever the gateway on loopback.
        assert urlsplit(response.request.url).hostname == "127.0.0.1"
        statuses[response.status_code] += 1

    run()


async def test_the_api_answers_what_its_document_says(stack: Stack, stack_gateway: Gateway) -> None:
    """Schemathesis over the served OpenAPI document: every operation, with generated
    requests (valid and malformed), must answer what the document says: no 5xx, a listed
    status code, a listed content type, a body of the listed schema.

    The operations are driven with `APIOperation.as_strategy` under Hypothesis rather than
    `schemathesis.pytest.from_fixture`, whose runner (4.32) breaks on pytest 9 (it sets
    `Function._nodeid`, which pytest 9 no longer has)."""
    base_url = stack_gateway.base_url
    headers = {"Authorization": f"Bearer {token_of(stack)}"}
    spec = (await stack_gateway.http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if isinstance(result, Ok)
        and (result.ok().path, result.ok().method.upper()) in OWN_OPERATIONS
    ]
    assert len(operations) == len(OWN_OPERATIONS)

    statuses: Counter[int] = Counter()
    started = time.monotonic()
    # Schemathesis sends its requests synchronously: from a thread, so that the gateway (in
    # this event loop) answers them.
    for operation in operations:
        await asyncio.to_thread(
            fuzz, operation, GenerationMode.POSITIVE, base_url, headers, statuses
        )
        if malformable(operation):
            await asyncio.to_thread(
                fuzz, operation, GenerationMode.NEGATIVE, base_url, headers, statuses
            )
    took = time.monotonic() - started

    report: dict[str, Any] = {"requests": sum(statuses.values()), "by_status": dict(statuses)}
    print(f"schemathesis: {len(operations)} operations, {report} in {took:.1f} s")
    assert not any(status >= 500 for status in statuses)
