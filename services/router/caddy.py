"""An async client of Caddy's admin API, limited to what the router owns.

What we own in Caddy's config: the server `apps.http.servers.<server>` (default `pic_store`),
the routes in it whose `@id` starts with `pic-store.`, its last route `pic-store-fallback`
(a 404 for hosts no service has), and the TLS policy `pic-store-tls` with its CA `pic_store`.
Everything else (other servers, other routes, other policies) is never read-modified-written.

Each change is one request addressing one object (`PUT .../routes/0`, `PATCH|DELETE /id/<id>`),
so a change costs the same request whatever the number of routes. New routes go to the front:
our routes each match one exact host and hosts are unique, so their order among themselves
does not matter, and the fallback must stay last.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.router.errors import CaddyUnavailableError, InvalidRouteError, RouterError
from services.router.routes import ROUTE_ID_PREFIX, Route, is_ours
from services.router.tls import CA_ID, TlsPolicy
from shared.errors import ConfigError

FALLBACK_ID = "pic-store-fallback"
_ATTEMPTS = 3
_UNANSWERED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)
_SERVER_NAME = re.compile(r"[a-z0-9_]{1,64}")
_OBJECT_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")


def fallback_route() -> Route:
    return {
        "@id": FALLBACK_ID,
        "handle": [
            {
                "handler": "static_response",
                "status_code": 404,
                "body": "No service answers at this address.\n",
            }
        ],
        "terminal": True,
    }


@dataclass(frozen=True)
class AdminEndpoint:
    """How to reach one Caddy admin API."""

    label: str  # what reports and errors call it
    base_url: str
    socket: str | None  # a Unix socket's path; None: TCP
    headers: dict[str, str]


def admin_endpoint(admin_url: str) -> AdminEndpoint:
    """`unix:///path/to/admin.sock` (the default of `pic-store up`) or `http://host:port`."""
    parts = urlsplit(admin_url)
    if parts.scheme == "unix":
        if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
            raise ConfigError(
                f"Caddy admin URL {admin_url!r} must name an absolute socket path: "
                "unix:///path/to/admin.sock"
            )
        # On a Unix socket Caddy checks no Host, and refuses every Origin header (it allows
        # none): the socket's file permissions are the access control. Host is a placeholder.
        return AdminEndpoint(f"unix://{parts.path}", "http://localhost", parts.path, {})
    if parts.scheme == "http" and parts.hostname and parts.path in ("", "/"):
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ConfigError(f"Caddy admin URL {admin_url!r} must be only http://host:port")
        origin = f"http://{parts.netloc}"
        # Caddy checks Host (and Origin when present, always with `enforce_origin`) against
        # its admin listen address or its `origins`.
        return AdminEndpoint(origin, origin, None, {"Origin": origin})
    raise ConfigError(
        f"Caddy admin URL {admin_url!r} is neither unix:///path/to/admin.sock nor http://host:port"
    )


class CaddyAdmin:
    """Talks to one Caddy admin endpoint: `unix:///path/to/admin.sock`, or
    `http://127.0.0.1:2019` where a Unix socket cannot be shared (see docs/router.md)."""

    def __init__(
        self,
        admin_url: str,
        *,
        listen: Sequence[str] = (":443",),
        server: str = "pic_store",
        automatic_https: bool = True,
        timeout: float = 10.0,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        """`observe(method, seconds)` is told the duration of every admin API request."""
        if _SERVER_NAME.fullmatch(server) is None:
            raise InvalidRouteError(f"server name {server!r} is not [a-z0-9_]+")
        endpoint = admin_endpoint(admin_url)
        # Caddy replaces its admin server on every config change and closes idle
        # connections, so a kept-alive connection may be reset under the next request: a
        # connection per request. trust_env=False: the admin API is never behind a proxy.
        transport = httpx.AsyncHTTPTransport(
            uds=endpoint.socket, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self._http = httpx.AsyncClient(
            base_url=endpoint.base_url,
            timeout=timeout,
            trust_env=False,
            headers=endpoint.headers,
            transport=transport,
        )
        self.admin_url = endpoint.label
        self.server = server
        self.listen = list(listen)
        self.automatic_https = automatic_https
        self._observe = observe
        self._server_path = f"/config/apps/http/servers/{server}"

    async def __aenter__(self) -> CaddyAdmin:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def server_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"listen": self.listen, "routes": [fallback_route()]}
        if not self.automatic_https:
            config["automatic_https"] = {"disable": True}
        return config

    async def ensure_server(self) -> bool:
        """Create our server when it is missing (True); an existing one is left as it is."""
        resp = await self._call("PUT", self._server_path, json=self.server_config())
        if resp.status_code == 409:
            return False
        self._check(resp, f"create server {self.server}")
        return True

    async def list_routes(self) -> list[Route]:
        """Every route of our server, ours and other owners', in Caddy's order.

        The server must exist (`ensure_server`); Caddy answers 400 otherwise.
        """
        resp = await self._call("GET", f"{self._server_path}/routes")
        self._check(resp, f"list the routes of server {self.server}")
        routes = resp.json()
        return [r for r in routes or [] if isinstance(r, dict)]

    async def get_route(self, route_id: str) -> Route | None:
        resp = await self._call("GET", f"/id/{_object_id(route_id)}", route_id=route_id)
        if resp.status_code == 404:
            return None
        self._check(resp, f"read route {route_id}", route_id)
        route: Route = resp.json()
        return route

    async def add_route(self, route: Route) -> None:
        """Insert a new route at the front; Caddy refuses an `@id` that already exists."""
        rid = _our_id(route)
        resp = await self._call("PUT", f"{self._server_path}/routes/0", json=route, route_id=rid)
        self._check(resp, f"add route {rid}", rid)

    async def replace_route(self, route: Route) -> None:
        """Replace the route with this `@id` where it stands."""
        rid = _our_id(route)
        resp = await self._call("PATCH", f"/id/{rid}", json=route, route_id=rid)
        self._check(resp, f"replace route {rid}", rid)

    async def put_route(self, route: Route) -> None:
        """Replace the route with this `@id`, or add it when there is none."""
        rid = _our_id(route)
        resp = await self._call("PATCH", f"/id/{rid}", json=route, route_id=rid)
        if resp.status_code == 404:
            await self.add_route(route)
            return
        self._check(resp, f"replace route {rid}", rid)

    async def remove_route(self, route_id: str) -> bool:
        """Delete our route by `@id`; False when it was already gone."""
        if not route_id.startswith(ROUTE_ID_PREFIX):
            raise InvalidRouteError(f"route {route_id!r} is not ours; it is left alone")
        resp = await self._call("DELETE", f"/id/{_object_id(route_id)}", route_id=route_id)
        if resp.status_code == 404:
            return False
        self._check(resp, f"remove route {route_id}", route_id)
        return True

    async def ensure_fallback(self, routes: Sequence[Route]) -> bool:
        """Put the 404 fallback back at the end of `routes` (our server's) when it is not."""
        ids = [r.get("@id") for r in routes]
        if ids and ids[-1] == FALLBACK_ID and ids.count(FALLBACK_ID) == 1:
            return False
        for _ in range(ids.count(FALLBACK_ID)):
            resp = await self._call("DELETE", f"/id/{FALLBACK_ID}", route_id=FALLBACK_ID)
            self._check(resp, f"move route {FALLBACK_ID}", FALLBACK_ID)
        # `...` appends the array's items, and creates `routes` when someone deleted it.
        resp = await self._call(
            "POST", f"{self._server_path}/routes/...", json=[fallback_route()], route_id=FALLBACK_ID
        )
        self._check(resp, f"restore route {FALLBACK_ID}", FALLBACK_ID)
        return True

    async def ensure_tls(self, tls: TlsPolicy) -> None:
        """Install or replace our TLS automation policy, ahead of any catch-all policy."""
        if tls.certificate_authority is not None:
            path = f"/config/apps/pki/certificate_authorities/{CA_ID}"
            resp = await self._call("PUT", path, json=tls.certificate_authority)
            if resp.status_code == 409:
                resp = await self._call("PATCH", path, json=tls.certificate_authority)
            self._check(resp, f"set certificate authority {CA_ID}")
        rid = str(tls.policy["@id"])
        resp = await self._call("PATCH", f"/id/{rid}", json=tls.policy, route_id=rid)
        if resp.status_code == 404:
            path = "/config/apps/tls/automation/policies"
            resp = await self._call("PUT", path, json=[tls.policy], route_id=rid)
            if resp.status_code == 409:
                resp = await self._call("PUT", f"{path}/0", json=tls.policy, route_id=rid)
        self._check(resp, f"set TLS policy {rid}", rid)

    async def _call(
        self, method: str, path: str, *, json: object = None, route_id: str | None = None
    ) -> httpx.Response:
        failure: httpx.HTTPError | None = None
        for attempt in range(_ATTEMPTS):
            started = time.perf_counter()
            try:
                resp = await self._http.request(method, path, json=json)
            except _UNANSWERED as exc:
                # Caddy swaps its admin server after each change and answers the request in
                # flight; one that reaches the old server as it closes dies unanswered, undone.
                failure = exc
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            except httpx.HTTPError as exc:
                failure = exc
                break
            if self._observe is not None:
                self._observe(method, time.perf_counter() - started)
            return resp
        subject = f" (route {route_id})" if route_id else ""
        raise CaddyUnavailableError(
            f"Caddy admin API at {self.admin_url} did not answer {method} {path}{subject}: "
            f"{type(failure).__name__}: {failure}",
            route_id=route_id,
        ) from failure

    def _check(self, resp: httpx.Response, action: str, route_id: str | None = None) -> None:
        if resp.is_success:
            return
        raise RouterError(
            f"Caddy refused to {action}: HTTP {resp.status_code}: {_answer(resp)}",
            route_id=route_id,
            status=resp.status_code,
        )


def _answer(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:500] or "(empty answer)"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])[:500]
    return resp.text[:500]


def _object_id(value: str) -> str:
    if _OBJECT_ID.fullmatch(value) is None:
        raise InvalidRouteError(f"object id {value!r} has characters an @id never has")
    return value


def _our_id(route: Route) -> str:
    if not is_ours(route):
        raise InvalidRouteError(f"route {route.get('@id')!r} lacks the {ROUTE_ID_PREFIX} @id")
    return _object_id(str(route["@id"]))
