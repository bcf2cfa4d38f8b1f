"""Issue #19: a service whose HTTP API is served beyond loopback (PIC_HTTP_HOST) wants the
API token and a Host it answers to on every path but /healthz: /metrics, and the router's
/routes, are no longer anyone's on the network. On loopback they stay open to the cell's
own Prometheus, as before."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.parts.stack import Stack

pytestmark = pytest.mark.integration


def get(port: int, path: str, host: str | None = None, token: str | None = None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if host is not None:
        request.add_header("Host", host)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_metrics_beyond_loopback_want_the_token(stack_factory) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = stack_factory()
    token = Path(stack.env["PIC_API_TOKEN_FILE"]).read_text().strip()
    wide = stack.start("verifier", PIC_HTTP_HOST="0.0.0.0")
    port = wide.port
    assert get(port, "/healthz") == 200, "a probe carries no token"
    assert get(port, "/metrics") == 401
    assert get(port, "/metrics", token="not-the-token") == 401
    assert get(port, "/metrics", host="rebound.example", token=token) == 400
    assert get(port, "/metrics", token=token) == 200

    narrow = stack.start("verifier")
    assert get(narrow.port, "/metrics") == 200, "on loopback, as before"
