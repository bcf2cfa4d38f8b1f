"""Account managers: one small interface, one module per kind (`http`, `htpasswd`, and the
reference services' named managers: `files`, ...)."""

from __future__ import annotations

from services.accounts.errors import AccountsError
from services.accounts.managers.base import AccountManager, Calls
from services.accounts.managers.calendar import CalendarManager
from services.accounts.managers.email import EmailManager
from services.accounts.managers.files import FilesManager
from services.accounts.managers.htpasswd import HtpasswdManager
from services.accounts.managers.http import HttpManager
from services.accounts.state import Target
from shared.docker.engine import DockerEngine
from shared.manifest.const import (
    CALENDAR_MANAGER,
    EMAIL_MANAGER,
    FILES_MANAGER,
    HTPASSWD_MANAGER,
    HTTP_MANAGER,
)


def manager_for(
    target: Target, calls: Calls, engine: DockerEngine, api_secret: str | None = None
) -> AccountManager:
    """`api_secret`: the service's account-API secret in clear (http)."""
    if target.manager == HTTP_MANAGER:
        return HttpManager(target, calls, api_secret)
    if target.manager == HTPASSWD_MANAGER:
        return HtpasswdManager(target, calls, engine)
    if target.manager == FILES_MANAGER:
        return FilesManager(target, calls, engine)
    if target.manager == CALENDAR_MANAGER:
        return CalendarManager(target, calls, engine)
    if target.manager == EMAIL_MANAGER:
        return EmailManager(target, calls, engine)
    raise AccountsError(
        f"{target.service_id} wants the {target.manager!r} account manager, which this "
        "accounts service does not have"
    )


__all__ = ["AccountManager", "Calls", "manager_for"]
