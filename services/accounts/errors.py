"""The accounts service's errors: each names what is wrong, never a credential."""

from __future__ import annotations

from shared.errors import OperationError


class AccountsError(OperationError):
    """The accounts service could not make, change or hand out an account; the root of its
    errors."""

    key = "accounts_failed"


class ManagerError(AccountsError):
    """A container's account manager failed or answered something unusable."""

    key = "account_manager_failed"


class UnknownPeerError(AccountsError):
    """No peer has that name."""

    key = "unknown_peer"
