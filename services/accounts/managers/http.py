"""The `http` manager: the container's own account API (the seed's contract).

POST   /service-api/accounts             {"username", "password"}: create
DELETE /service-api/accounts/{username}  delete
GET    /service-api/accounts             the usernames (a JSON list)
"""

from __future__ import annotations

import json

import httpx

from services.accounts.errors import ManagerError
from services.accounts.managers.base import Calls, Unavailable
from services.accounts.state import Target
from services.accounts.vault import Credentials

PATH = "/service-api/accounts"


class HttpManager:
    kind = "http"

    def __init__(self, target: Target, calls: Calls) -> None:
        if not target.address:
            raise ManagerError(
                f"no address is known for {target.container}, the container of "
                f"{target.service_id}'s account API"
            )
        self.target = target
        self.calls = calls
        self.base = f"http://{target.address}:{target.port}{PATH}"
        self.where = f"{target.container}:{target.port}{PATH}"

    async def _send(self, method: str, url: str, body: object | None = None) -> httpx.Response:
        try:
            async with httpx.AsyncClient(timeout=self.calls.timeout) as client:
                response = await client.request(method, url, json=body)
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise Unavailable(f"{self.where} does not answer ({type(exc).__name__})") from exc
        except httpx.TimeoutException as exc:
            raise Unavailable(
                f"{self.where} did not answer within {self.calls.timeout:.0f} s"
            ) from exc
        if response.status_code in (502, 503, 504):
            raise Unavailable(f"{method} {self.where} answered {response.status_code}")
        return response

    async def usernames(self) -> set[str]:
        async def call() -> set[str]:
            response = await self._send("GET", self.base)
            if response.status_code != 200:
                raise ManagerError(f"GET {self.where} answered {response.status_code}")
            try:
                data = json.loads(response.content)
            except ValueError:
                data = None
            if not isinstance(data, list) or not all(isinstance(u, str) for u in data):
                raise ManagerError(
                    f"GET {self.where} did not answer a JSON list of usernames "
                    f"(it began {response.content[:40]!r})"
                )
            return set(data)

        return await self.calls.run(self.kind, "list", call)

    async def create(self, username: str, credentials: Credentials) -> None:
        async def call() -> None:
            body = {"username": username, "password": credentials.get("password", "")}
            response = await self._send("POST", self.base, body)
            if response.status_code not in (200, 201, 204):
                raise ManagerError(
                    f"POST {self.where} for {username} answered {response.status_code}"
                )

        await self.calls.run(self.kind, "create", call)

    async def delete(self, username: str) -> None:
        async def call() -> None:
            response = await self._send("DELETE", f"{self.base}/{username}")
            if response.status_code not in (200, 202, 204, 404):
                raise ManagerError(
                    f"DELETE {self.where}/{username} answered {response.status_code}"
                )

        await self.calls.run(self.kind, "delete", call)
