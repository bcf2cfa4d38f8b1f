"""The lock on the gateway's HTTP API, in process: the bearer token, the Host check, strict
request bodies and an OpenAPI document that lists every answer (no NATS, no Docker: every
request here is refused before a handler would touch the bus)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from services.gateway.app import build_app
from services.gateway.deps import Deps
from services.gateway.settings import DEFAULT_HTTP_PORT
from shared.http_guard import HttpGuard, loopback_hosts
from shared.ids import OPERATION_ID_PATTERN
from shared.service import Health

pytestmark = pytest.mark.unit

TOKEN = "t0ken-Of-the_test~cell"
PORT = DEFAULT_HTTP_PORT
BASE = f"http://127.0.0.1:{PORT}"
RIGHT = {"Authorization": f"Bearer {TOKEN}"}
STATUS_CODES = ("200", "202", "400", "401", "404", "422")


def guarded_app() -> Any:
    # The handlers never run in these tests: every request is refused before them.
    deps = Deps(bus=cast(Any, None), client=cast(Any, None), data_dir=Path("/nonexistent"))
    app = build_app(deps, Health(ready=True))
    HttpGuard(TOKEN.encode(), frozenset(loopback_hosts(PORT))).protect(app)
    return app


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=guarded_app())
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


@pytest.fixture
async def spec(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.get("/openapi.json", headers=RIGHT)
    assert answer.status_code == 200
    return cast(dict[str, Any], answer.json())


# -- the token ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json", "/docs", "/services", "/nothere"])
async def test_no_token_is_401(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in answer.json()["detail"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer ",
        "Bearer t\u00f6ken",  # not ASCII: compare_digest on str would raise (a 500)
    ],
)
async def test_wrong_token_is_401(http: httpx.AsyncClient, authorization: str) -> None:
    # As bytes: httpx would refuse to send a str header that is not ASCII.
    answer = await http.get("/metrics", headers={"Authorization": authorization.encode()})
    assert answer.status_code == 401
    assert TOKEN not in answer.text


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_right_token_is_200(http: httpx.AsyncClient, scheme: str) -> None:
    answer = await http.get("/metrics", headers={"Authorization": f"{scheme} {TOKEN}"})
    assert answer.status_code == 200
    assert "pic_" in answer.text or "python_" in answer.text


async def test_healthz_needs_no_token(http: httpx.AsyncClient) -> None:
    answer = await http.get("/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")


# -- the Host check ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", f"evil.example:{PORT}", "127.0.0.1.nip.io", "127.0.0.2", ""]
)
@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
async def test_a_foreign_host_is_refused(http: httpx.AsyncClient, host: str, path: str) -> None:
    answer = await http.get(path, headers={**RIGHT, "Host": host})
    assert answer.status_code == 400
    assert "PIC_API_HOSTS" in answer.json()["detail"]


@pytest.mark.parametrize(
    "host", ["127.0.0.1", f"127.0.0.1:{PORT}", f"LOCALHOST:{PORT}", "[::1]", f"[::1]:{PORT}"]
)
async def test_loopback_names_are_let_in(http: httpx.AsyncClient, host: str) -> None:
    answer = await http.get("/metrics", headers={**RIGHT, "Host": host})
    assert answer.status_code == 200


async def test_two_host_headers_are_refused() -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "http_version": "1.1",
        "headers": [(b"host", b"127.0.0.1"), (b"host", b"evil.example")],
        "server": ("127.0.0.1", PORT),
        "client": ("127.0.0.1", 50000),
    }
    await guarded_app()(scope, receive, send)
    assert sent[0]["status"] == 400


async def test_a_cross_origin_preflight_gets_no_cors_grant(http: httpx.AsyncClient) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    for headers in (preflight, {**preflight, **RIGHT}):
        answer = await http.options("/services/notes/install", headers=headers)
        assert answer.status_code >= 400
        assert "access-control-allow-origin" not in answer.headers
    simple = await http.get("/services", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


# -- strict requests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"store": "/x", "plan": 0},
        {"store": "/x", "plan": "true"},
        {"store": "/x", "confirm_downgrade": 1},
        {"store": "/x", "config": {"port": 1.0}},
        {"store": "/x", "config": {"name": None}},
        {"store": "/x", "config": {"list": ["a"]}},
        {"store": "/x", "plna": True},
        {"store": 5},
        {"store": ""},
        {"store": "/x\n/y"},
        {"store": "/x\x00"},
    ],
)
async def test_a_loose_install_body_is_422(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    answer = await http.post("/services/notes/install", json=body, headers=RIGHT)
    assert answer.status_code == 422, answer.text


async def test_a_body_that_is_not_utf8_is_a_listed_400(
    http: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    answer = await http.post(
        "/services/notes/install",
        content=b'{"store": "\xff"}',
        headers={**RIGHT, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    listed = spec["paths"]["/services/{service_id}/install"]["post"]["responses"]["400"]
    assert listed["description"].startswith("The body is not readable as JSON text; or ")


@pytest.mark.parametrize("body", [{"plan": 0}, {"config": {"x": 1.5}}, {"store": "/x"}])
async def test_a_loose_reconfigure_body_is_422(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    answer = await http.post("/services/notes/reconfigure", json=body, headers=RIGHT)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(
    "operation_id", ["op-\u00e9t\u00e9", "op-\u2603", "op:1", ".op", "op.", "op x", "o" * 81]
)
async def test_an_operation_id_no_operation_can_have_is_422(
    http: httpx.AsyncClient, operation_id: str
) -> None:
    # Before: the id went to the NATS key-value store, which raised (a 500).
    answer = await http.get(f"/operations/{operation_id}", headers=RIGHT)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/services/notes/logs", "tail", "0"),
        ("/services/notes/logs", "tail", "1001"),
        ("/services/notes/logs", "tail", "many"),
        ("/operations", "limit", "0"),
        ("/operations", "limit", "201"),
        ("/operations", "service", "Not_A_Slug"),
        ("/operations", "service", "../etc"),
    ],
)
async def test_a_bad_query_is_a_422_naming_the_field(
    http: httpx.AsyncClient, path: str, field: str, value: str
) -> None:
    answer = await http.get(path, params={field: value}, headers=RIGHT)
    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["detail"]] == [["query", field]]


async def test_a_bad_body_names_the_field(http: httpx.AsyncClient) -> None:
    answer = await http.post(
        "/services/notes/install", json={"store": "/x", "plna": True}, headers=RIGHT
    )
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "plna"]]
    assert answer.json()["detail"][0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("wait", ["-1", "601", "nan", "inf", "soon"])
async def test_a_wait_out_of_range_is_422(http: httpx.AsyncClient, wait: str) -> None:
    answer = await http.delete("/services/notes", params={"wait": wait}, headers=RIGHT)
    assert answer.status_code == 422, answer.text


# -- the OpenAPI document ----------------------------------------------------------------


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def test_the_document_describes_the_bearer_scheme(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {
        "bearerToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "the token in the file PIC_API_TOKEN_FILE names",
        }
    }
    assert spec["security"] == [{"bearerToken": []}]
    for path, _, operation in operations(spec):
        if path == "/healthz":
            assert operation["security"] == []
        else:
            assert "security" not in operation, path  # the document-wide requirement


def test_every_answer_is_in_the_document(spec: dict[str, Any]) -> None:
    listed = {(path, method): set(op["responses"]) for path, method, op in operations(spec)}
    # The other areas' operations (store, peers, backups, routes) are their tests' business;
    # every operation but /healthz's names the guard's answers.
    for (path, _), answers in listed.items():
        assert {"400", "401"} <= answers or path == "/healthz", path
    expected = {
        ("/healthz", "get"): {"200", "400", "503"},
        ("/metrics", "get"): {"200", "400", "401"},
        ("/services", "get"): {"200", "400", "401"},
        ("/services/{service_id}", "get"): {"200", "400", "401", "404", "422"},
        ("/services/{service_id}", "delete"): {"202", "400", "401", "422"},
        ("/services/{service_id}/install", "post"): {"202", "400", "401", "422"},
        ("/services/{service_id}/reconfigure", "post"): {"202", "400", "401", "422"},
        ("/services/{service_id}/logs", "get"): {
            "200",
            "400",
            "401",
            "404",
            "422",
            "502",
            "504",
        },
        ("/operations", "get"): {"200", "400", "401", "422"},
        ("/operations/{operation_id}", "get"): {"200", "400", "401", "404", "422"},
        ("/events", "get"): {"200", "400", "401", "422"},
    }
    assert {key: listed[key] for key in expected} == expected


def test_the_document_types_bodies_strictly(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    install = schemas["InstallBody"]
    assert install["additionalProperties"] is False
    assert install["properties"]["plan"]["type"] == "boolean"
    value = install["properties"]["config"]["additionalProperties"]
    assert {v["type"] for v in value["anyOf"]} == {"string", "integer", "boolean"}
    assert schemas["ReconfigureBody"]["additionalProperties"] is False
    parameters = spec["paths"]["/operations/{operation_id}"]["get"]["parameters"]
    assert parameters[0]["schema"]["pattern"] == OPERATION_ID_PATTERN


def test_plain_text_answers_are_documented_as_such(spec: dict[str, Any]) -> None:
    assert set(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    healthz = spec["paths"]["/healthz"]["get"]["responses"]
    assert set(healthz["200"]["content"]) == set(healthz["503"]["content"]) == {"text/plain"}
