"""The interface every account manager has, and how its calls are timed and retried."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from services.accounts.errors import ManagerError
from services.accounts.metrics import CALLS
from services.accounts.vault import Credentials

T = TypeVar("T")


class AccountManager(Protocol):
    """Accounts of one service, by username. `create` of an existing username replaces it
    where the manager can (htpasswd), or fails (http: delete it first).

    `rejected`: of the accounts `held` (username -> the credentials pic-store holds), those
    that exist and would refuse their credentials, wherever the manager can tell (a hash in
    a file: the held password checked against it); a manager that cannot tell answers an
    empty set (`CannotTell`). The reconcile makes those accounts again: a restored or
    replaced user store agrees with what pic-store holds.

    The credential kinds a manager carries are declared in shared/manifest/const.py
    (MANAGER_CREDENTIALS), where validation refuses the others."""

    kind: str

    async def usernames(self) -> set[str]: ...

    async def create(self, username: str, credentials: Credentials) -> None: ...

    async def delete(self, username: str) -> None: ...

    async def rejected(self, held: Mapping[str, Credentials]) -> set[str]: ...


class CannotTell:
    """For managers that cannot check credentials (an API that only lists names)."""

    async def rejected(self, held: Mapping[str, Credentials]) -> set[str]:
        return set()


def password_of(kind: str, username: str, credentials: Credentials) -> str:
    """The password an account is made with: never an empty one."""
    password = credentials.get("password", "")
    if not password:
        raise ManagerError(
            f"the {kind} account manager got no password for {username}: it carries "
            'passwords only (the manifest\'s accounts.credentials must list "password")'
        )
    return password


class Unavailable(ManagerError):
    """The manager cannot be reached yet (the container is starting): worth retrying."""


@dataclass(frozen=True)
class Calls:
    """A timeout on every call; calls that find the manager unavailable are retried with
    back-off until `window` seconds have passed (0: one try)."""

    timeout: float
    window: float

    def within(self, window: float) -> Calls:
        return Calls(self.timeout, window)

    async def run(self, kind: str, verb: str, call: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.window
        delay = 0.2
        while True:
            try:
                result = await asyncio.wait_for(call(), self.timeout)
            except TimeoutError:
                CALLS.labels(kind, verb, "timeout").inc()
                failure: ManagerError = Unavailable(
                    f"the {kind} account manager did not answer {verb} within {self.timeout:.0f} s"
                )
            except Unavailable as exc:
                CALLS.labels(kind, verb, "unavailable").inc()
                failure = exc
            except ManagerError:
                CALLS.labels(kind, verb, "refused").inc()
                raise
            except Exception as exc:  # whatever the container made of it: this service only
                CALLS.labels(kind, verb, "refused").inc()
                raise ManagerError(
                    f"the {kind} account manager failed {verb} ({type(exc).__name__})"
                ) from exc
            else:
                CALLS.labels(kind, verb, "ok").inc()
                return result
            if time.monotonic() + delay > deadline:
                raise failure
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
