"""The `calendar` manager: the accounts of the Calendar reference service (Radicale, CalDAV
and CardDAV, examples/store/services/calendar). Its user store is Radicale's htpasswd file
(`[auth] type = htpasswd`, `htpasswd_encryption = bcrypt`): bcrypt entries, written
atomically by the `htpasswd` manager (a new file renamed over the old) at the path the
Calendar image's Radicale config names, unless the manifest names another. Radicale opens
the file on every login (it keeps no copy), so a change needs no reload or restart: a new
peer logs in at once, a removed or rotated one is refused at its next request.

Radicale's own rights (`owner_only`) keep each user to their own collections; the manager
only makes and removes logins. Lines it did not write (an admin's own Radicale users) stay."""

from __future__ import annotations

from services.accounts.managers.base import Calls
from services.accounts.managers.htpasswd import HtpasswdManager
from services.accounts.state import Target
from shared.docker.engine import DockerEngine
from shared.manifest.const import CALENDAR_MANAGER

# `[auth] htpasswd_filename` in the Calendar image (examples/store/services/calendar/config),
# in the service's volume beside the collections.
FILE = "/var/lib/radicale/users"


class CalendarManager(HtpasswdManager):
    kind = CALENDAR_MANAGER

    def __init__(self, target: Target, calls: Calls, engine: DockerEngine) -> None:
        super().__init__(target.model_copy(update={"file": target.file or FILE}), calls, engine)
