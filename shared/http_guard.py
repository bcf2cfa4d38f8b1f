"""The guard in front of a service's HTTP API: a bearer token and a Host check.

The token stops any other program or user on the machine; the Host check stops a web page
that re-binds its own DNS name to 127.0.0.1 (DNS rebinding) from using a browser as a
client. Both are plain ASGI middleware, so every route, `/openapi.json`, `/docs` and unknown
paths alike, is behind them; only `/healthz` takes no token (a probe carries none).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import ConfigError

TOKEN_SETTING = "PIC_API_TOKEN_FILE"  # noqa: S105 (the name of a setting)
HOSTS_SETTING = "PIC_API_HOSTS"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
OPEN_PATHS = frozenset({"/healthz", "/", "/ui"})
# The gateway's admin page: static files that hold no secret (the page asks for the token and
# sends it with each API call it makes).
OPEN_PREFIX = "/ui/"
SCHEME_NAME = "bearerToken"
CHALLENGE = {"WWW-Authenticate": "Bearer"}
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# RFC 6750's b64token: what an Authorization header can carry as a bearer token.
_B64TOKEN = re.compile(rb"[A-Za-z0-9._~+/-]+=*")


class ErrorDetail(BaseModel):
    """The body of every refusal: one readable sentence."""

    detail: str


MISSING_TOKEN = (
    f"this API needs the header `Authorization: Bearer <token>`; the token is in the file "
    f"{TOKEN_SETTING} names (`pic-store up` prints where)"
)
WRONG_TOKEN = f"the bearer token is not this API's token (see the file {TOKEN_SETTING} names)"
FOREIGN_HOST = (
    f"the Host header is not a name this API answers to ({HOSTS_SETTING}); "
    "use http://127.0.0.1:<port>"
)


def parse_hosts(raw: str) -> tuple[str, ...]:
    """`PIC_API_HOSTS`: comma-separated Host header values, compared without case."""
    return tuple(name.strip().lower() for name in raw.split(",") if name.strip())


def loopback_hosts(port: int) -> tuple[str, ...]:
    """The default: the loopback names, bare and with the port (browsers send the port)."""
    return (*LOOPBACK_NAMES, *(f"{name}:{port}" for name in LOOPBACK_NAMES))


def read_token(path: Path | None) -> bytes:
    """The token in `path`; a clear ConfigError (never quoting the file) when unusable."""
    if path is None:
        raise ConfigError(
            f"{TOKEN_SETTING} is not set: the HTTP API refuses to run without a bearer token "
            "file (`pic-store up` makes <data dir>/secrets/api-token)"
        )
    try:
        token = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the API token file {path} ({TOKEN_SETTING}): {exc.strerror}"
        ) from exc
    if not token:
        raise ConfigError(f"the API token file {path} ({TOKEN_SETTING}) is empty")
    if not _B64TOKEN.fullmatch(token):
        raise ConfigError(
            f"the API token file {path} ({TOKEN_SETTING}) holds characters a bearer token "
            "cannot carry (one line of letters, digits and -._~+/ is expected)"
        )
    return token


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key.lower() == name]


async def _refuse(
    status: int,
    detail: str,
    scope: Scope,
    receive: Receive,
    send: Send,
    headers: dict[str, str] | None = None,
) -> None:
    response = JSONResponse({"detail": detail}, status_code=status, headers=headers)
    await response(scope, receive, send)


class HostCheck:
    """Starlette's TrustedHostMiddleware, but exact: the whole Host value (its split on ':'
    cuts `[::1]:8470` to `[`), one Host header only, and a JSON answer naming the setting."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self._allowed(scope):
            await _refuse(400, FOREIGN_HOST, scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        values = _header(scope, b"host")
        return len(values) == 1 and values[0].decode("latin-1").lower() in self.hosts


class BearerToken:
    """Every path but OPEN_PATHS needs `Authorization: Bearer <token>`."""

    def __init__(self, app: ASGIApp, token: bytes) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and not _open(path):
            refusal = self._refusal(scope)
            if refusal is not None:
                await _refuse(401, refusal, scope, receive, send, CHALLENGE)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> str | None:
        values = _header(scope, b"authorization")
        if len(values) != 1:
            return MISSING_TOKEN
        scheme, _, given = values[0].partition(b" ")
        if scheme.lower() != b"bearer":
            return MISSING_TOKEN
        # compare_digest on bytes: its time does not depend on where the two differ, and
        # (unlike on str) it cannot raise on a non-ASCII header.
        return None if hmac.compare_digest(given.strip(), self.token) else WRONG_TOKEN


def _open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIX)


@dataclass(frozen=True)
class HttpGuard:
    """What a service's HTTP API lets in: the one token, from these Host names."""

    token: bytes
    hosts: frozenset[str]

    @classmethod
    def load(cls, token_file: Path | None, hosts: Iterable[str]) -> HttpGuard:
        return cls(read_token(token_file), frozenset(h.lower() for h in hosts))

    def protect(self, app: FastAPI) -> None:
        """Put the checks in front of `app` and describe them in its OpenAPI document."""
        app.add_middleware(BearerToken, token=self.token)
        app.add_middleware(HostCheck, hosts=self.hosts)  # added last: runs first
        _document(app)


def _document(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_guard(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend


def _refusal(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorDetail"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def describe_guard(schema: dict[str, Any]) -> dict[str, Any]:
    """The bearer scheme, required everywhere but OPEN_PATHS, and the 400 and 401 answers."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME_NAME] = {
        "type": "http",
        "scheme": "bearer",
        "description": f"the token in the file {TOKEN_SETTING} names",
    }
    components.setdefault("schemas", {})["ErrorDetail"] = ErrorDetail.model_json_schema()
    schema["security"] = [{SCHEME_NAME: []}]
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            # A route may answer 400 for reasons of its own (a body FastAPI cannot read).
            said = responses.get("400", {}).get("description")
            host = f"the Host header is not one of {HOSTS_SETTING}"
            responses["400"] = _refusal(f"{said}; or {host}" if said else host)
            if path in OPEN_PATHS:
                operation["security"] = []
            else:
                responses["401"] = _refusal("no bearer token, or not this API's")
    return schema
