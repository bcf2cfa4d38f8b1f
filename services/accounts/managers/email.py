"""The `email` manager: the accounts of the Email reference service (Postfix and Dovecot in
one container, examples/store/services/email). A peer's mailbox is `<peer>@<cell domain>`,
which is also its login, in Dovecot's passwd-file: one line per mailbox,
`<peer>@<domain>:{BLF-CRYPT}<bcrypt hash>`. Dovecot's passdb reads the file again whenever
it changes (its mtime), so an account made, removed or given a new password counts from the
next login with no reload; Postfix asks Dovecot (SASL on submission, and its delivery agent
asks whether an address exists), so Postfix has no mailbox map of its own to keep.

The file is read and written like the `htpasswd` manager's (the service's own container by
its exact name, UTF-8 text up to 4 MiB, a new file renamed over the old). This manager's
lines are those of an address in the cell's domain; every other line (another domain, a
comment, a line it cannot read) is kept as it is, never listed, never changed. `rejected`
checks the password pic-store holds against the line's bcrypt hash, so a restored or
replaced file that disagrees is written again."""

from __future__ import annotations

import re
import time

import bcrypt

from services.accounts.errors import ManagerError
from services.accounts.managers.base import Calls, Unavailable
from services.accounts.managers.htpasswd import HtpasswdManager, accepts
from services.accounts.state import Target
from shared.docker.engine import ContainerInfo, DockerEngine, DockerError
from shared.manifest.const import EMAIL_MANAGER

FILE = "/data/users/passwd"  # Dovecot's passdb in the Email image, unless accounts.file says
SCHEME = "{BLF-CRYPT}"
_LOCAL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
_STAMPS: dict[str, int] = {}  # container:file -> the last modification time given to it


def hashed(password: str) -> str:
    """`{BLF-CRYPT}$2y$...`: bcrypt, which Dovecot checks through the system's crypt()."""
    value = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    return SCHEME + value.replace("$2b$", "$2y$", 1)


class EmailManager(HtpasswdManager):
    kind = EMAIL_MANAGER

    def __init__(self, target: Target, calls: Calls, engine: DockerEngine) -> None:
        domain = target.domain.lower()
        if not _DOMAIN.fullmatch(domain):
            raise ManagerError(
                f"{target.service_id}: the email account manager needs the cell's domain "
                f"(mailboxes are <peer>@<domain>), and {domain!r} is not one"
            )
        super().__init__(target.model_copy(update={"file": target.file or FILE}), calls, engine)
        self.domain = domain

    def address(self, username: str) -> str:
        if not _LOCAL.fullmatch(username):
            raise ManagerError(
                f"{username!r} cannot be the local part of a mailbox in {self.service_id} "
                "(lowercase letters, digits, '.', '_', '-')"
            )
        return f"{username}@{self.domain}"

    def peer_of(self, line: str) -> str | None:
        """The peer a line is the mailbox of (an address of the cell's domain), or None."""
        if line.lstrip().startswith("#"):
            return None
        local, at, domain = line.split(":", 1)[0].strip().lower().rpartition("@")
        return local if at and local and domain == self.domain else None

    async def _write(self, info: ContainerInfo, lines: list[str]) -> None:
        """The new file, then a modification time later than the last one given: Dovecot
        reads the file again when its mtime (in seconds) or size changes, and a rotated
        password's line has the same size: two writes within one second would look alike."""
        await super()._write(info, lines)
        key = f"{self.container}:{self.file}"
        stamp = max(int(time.time()), _STAMPS.get(key, 0) + 1)
        try:
            await self.engine.run_in(info.id, ["touch", "-c", "-d", f"@{stamp}", self.file])
        except DockerError as exc:
            raise Unavailable(exc.message) from exc
        _STAMPS[key] = stamp

    def line_for(self, username: str, password: str) -> str:
        return f"{self.address(username)}:{hashed(password)}"

    def accepted(self, line: str, password: str) -> bool:
        """Whether the line's `{BLF-CRYPT}` bcrypt hash accepts the password."""
        local, _, rest = line.partition(":")
        stored = rest.split(":", 1)[0]
        plain = stored.removeprefix(SCHEME) if stored.startswith(SCHEME) else ""
        return accepts(f"{local}:{plain}", password)
