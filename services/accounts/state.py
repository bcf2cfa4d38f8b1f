"""The accounts service's durable state, in its own buckets: the peers, the services it
provisions (where their accounts live), and the accounts with their encrypted credentials."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.bus import Bus, TypedBucket
from shared.contract.participants.accounts import ACCOUNT_SERVICES, ACCOUNTS, PEERS


class PeerRecord(BaseModel):
    """A peer, or (present False) the time it was removed, so an older "added" that arrives
    late cannot bring it back. Nothing else of a removed peer is kept."""

    name: str
    present: bool
    time: datetime


class Target(BaseModel):
    """A service whose accounts this service keeps, and how to reach its account manager."""

    service_id: str
    manager: str
    credentials: list[str]
    container: str
    address: str | None = None  # the container's address on the cell network (http)
    port: int = 80
    file: str | None = None  # htpasswd
    # The service's account-API secret (http), encrypted with the service's key (vault.py)
    api_secret: str | None = Field(default=None, repr=False)
    domain: str = ""
    template: dict[str, str] = Field(default_factory=dict)


class AccountState(StrEnum):
    pending = "pending"  # credentials made, the account not confirmed yet
    created = "created"  # this service created it: it may delete it
    foreign = "foreign"  # was there before this service tried: never touched
    # The peer is gone and this service deleted its account (no credentials kept): an entry
    # of that name that comes back (a user store restored from a backup) is deleted again;
    # the peer added again gets a new account with new credentials.
    removed = "removed"


class AccountRecord(BaseModel):
    service_id: str
    peer: str
    state: AccountState
    sealed: str = Field(description="The credentials, encrypted with the service's key")


def account_key(service_id: str, peer: str) -> str:
    return f"{service_id}.{peer}"


class State:
    def __init__(
        self,
        peers: TypedBucket[PeerRecord],
        targets: TypedBucket[Target],
        accounts: TypedBucket[AccountRecord],
    ) -> None:
        self.peers = peers
        self.targets = targets
        self.accounts = accounts

    @classmethod
    async def open(cls, bus: Bus) -> State:
        return cls(
            await bus.bucket(PEERS, PeerRecord, history=1),
            await bus.bucket(ACCOUNT_SERVICES, Target, history=1),
            await bus.bucket(ACCOUNTS, AccountRecord, history=1),
        )

    async def present_peers(self) -> list[str]:
        return sorted(k for k, r in (await self.peers.items()).items() if r.value.present)

    async def all_targets(self) -> dict[str, Target]:
        return {k: r.value for k, r in (await self.targets.items()).items()}

    async def accounts_of(self, service_id: str) -> dict[str, AccountRecord]:
        """peer -> record, for one service."""
        return {
            r.value.peer: r.value
            for k, r in (await self.accounts.items()).items()
            if r.value.service_id == service_id
        }

    async def save_account(self, record: AccountRecord) -> None:
        await self.accounts.put(account_key(record.service_id, record.peer), record)

    async def drop_account(self, service_id: str, peer: str) -> None:
        await self.accounts.kv.purge(account_key(service_id, peer))  # no history kept

    async def drop_target(self, service_id: str) -> None:
        await self.targets.kv.purge(service_id)
