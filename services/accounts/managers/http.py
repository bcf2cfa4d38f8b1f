"""The `http` manager: the container's own account API (the seed's contract).

POST   /service-api/accounts             {"username", "password"}: create (each credential
                                         kind the manifest lists is a field: "password",
                                         "token", "ssh_key")
DELETE /service-api/accounts/{username}  delete
GET    /service-api/accounts             the usernames (a JSON list)

Every call carries the service's own secret (`Authorization: Bearer <secret>`), so the API
can tell pic-store from its neighbours on the cell network. The container owns what it
answers: an answer is read up to ANSWER_LIMIT bytes, as sent (no Content-Encoding is asked
for or accepted), and whatever it is, a bad answer fails this service only.
"""

from __future__ import annotations

import json

import httpx

from services.accounts.errors import ManagerError
from services.accounts.managers.base import Calls, CannotTell, Unavailable
from services.accounts.state import Target
from services.accounts.vault import Credentials

PATH = "/service-api/accounts"
ANSWER_LIMIT = 1024 * 1024  # the largest answer read from an account API


class HttpManager(CannotTell):
    kind = "http"

    def __init__(self, target: Target, calls: Calls, secret: str | None) -> None:
        if not target.address:
            raise ManagerError(
                f"no address is known for {target.container}, the container of "
                f"{target.service_id}'s account API"
            )
        if not secret:
            raise ManagerError(
                f"pic-store has no account-API secret for {target.service_id}: its template "
                "must pass ${PIC_SECRET_ACCOUNTS_API} to "
                f"{target.container} (docs/manifest.md, Accounts), then install it again"
            )
        self.target = target
        self.calls = calls
        self._secret = secret
        self.base = f"http://{target.address}:{target.port}{PATH}"
        self.where = f"{target.container}:{target.port}{PATH}"

    async def _send(
        self, method: str, url: str, body: object | None = None, signed: bool = True
    ) -> tuple[int, bytes]:
        """The status and the body (at most ANSWER_LIMIT bytes) of one call."""
        headers = {"Accept-Encoding": "identity"}
        if signed:
            headers["Authorization"] = f"Bearer {self._secret}"
        try:
            async with (
                httpx.AsyncClient(timeout=self.calls.timeout) as client,
                client.stream(method, url, json=body, headers=headers) as response,
            ):
                encoding = response.headers.get("content-encoding", "identity").strip()
                if encoding.lower() not in ("", "identity"):
                    raise ManagerError(
                        f"{method} {self.where} answered with Content-Encoding "
                        f"{encoding[:40]!r}, which pic-store does not accept"
                    )
                content = bytearray()
                async for chunk in response.aiter_raw():
                    content += chunk
                    if len(content) > ANSWER_LIMIT:
                        raise ManagerError(
                            f"{method} {self.where} answered more than {ANSWER_LIMIT} bytes"
                        )
                status = response.status_code
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise Unavailable(f"{self.where} does not answer ({type(exc).__name__})") from exc
        except httpx.TimeoutException as exc:
            raise Unavailable(
                f"{self.where} did not answer within {self.calls.timeout:.0f} s"
            ) from exc
        except httpx.HTTPError as exc:
            raise ManagerError(f"{method} {self.where} failed ({type(exc).__name__})") from exc
        if status in (502, 503, 504):
            raise Unavailable(f"{method} {self.where} answered {status}")
        return status, bytes(content)

    async def usernames(self) -> set[str]:
        async def call() -> set[str]:
            status, content = await self._send("GET", self.base)
            if status != 200:
                raise ManagerError(f"GET {self.where} answered {status}")
            try:
                data = json.loads(content)
            except ValueError:
                data = None
            if not isinstance(data, list) or not all(isinstance(u, str) for u in data):
                raise ManagerError(
                    f"GET {self.where} did not answer a JSON list of usernames "
                    f"(it began {content[:40]!r})"
                )
            return set(data)

        return await self.calls.run(self.kind, "list", call)

    async def create(self, username: str, credentials: Credentials) -> None:
        async def call() -> None:
            body = {"username": username, **credentials}  # every kind the manifest lists
            status, _ = await self._send("POST", self.base, body)
            if status not in (200, 201, 204):
                raise ManagerError(f"POST {self.where} for {username} answered {status}")

        await self.calls.run(self.kind, "create", call)

    async def delete(self, username: str) -> None:
        async def call() -> None:
            status, _ = await self._send("DELETE", f"{self.base}/{username}")
            if status not in (200, 202, 204, 404):
                raise ManagerError(f"DELETE {self.where}/{username} answered {status}")

        await self.calls.run(self.kind, "delete", call)

    async def refuses_strangers(self) -> None:
        """The API must refuse a call without the secret (401 or 403): anyone on the cell
        network could make or delete accounts otherwise."""

        async def call() -> None:
            status, _ = await self._send("GET", self.base, signed=False)
            if status not in (401, 403):
                raise ManagerError(
                    f"GET {self.where} without pic-store's secret answered {status}: the "
                    "account API must answer 401 to a call without `Authorization: Bearer` "
                    "and the ${PIC_SECRET_ACCOUNTS_API} it gets (docs/manifest.md, Accounts)"
                )

        await self.calls.run(self.kind, "probe", call)
