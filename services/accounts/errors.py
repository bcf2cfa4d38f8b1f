"""The accounts service's errors: each names what is wrong, never a credential."""

from __future__ import annotations

from shared.errors import OperationError


class AccountsError(OperationError):
    key = "accounts_failed"


class ManagerError(AccountsError):
    """A container's account manager failed or answered something unusable."""

    key = "account_manager_failed"


class UnknownPeerError(AccountsError):
    key = "unknown_peer"
