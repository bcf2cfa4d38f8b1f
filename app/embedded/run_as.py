"""A role's own user on the host: made once (a system user, no home, no shell), and the
setpriv arguments that start a process as it, with its groups and capabilities only."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shared.errors import PartUnavailableError

NOLOGIN = "/usr/sbin/nologin"
# useradd / groupadd: "already exists" (another `up` made it a moment ago).
_EXISTS = {9}


@dataclass(frozen=True)
class RunAs:
    """Who a child runs as: `user` (and its own group), the supplementary `groups` (names)
    and `gids` (numbers, such as the Docker socket's), and the `caps` it keeps (ambient
    capabilities, by setpriv's names: net_admin, net_bind_service...)."""

    user: str
    groups: tuple[str, ...] = ()
    gids: tuple[int, ...] = ()
    caps: tuple[str, ...] = ()

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.user).pw_uid

    @property
    def gid(self) -> int:
        return pwd.getpwnam(self.user).pw_gid

    def setpriv_args(self) -> list[str]:
        gids = sorted({*(grp.getgrnam(name).gr_gid for name in self.groups), *self.gids})
        args = [
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            f"--groups={','.join(map(str, gids))}" if gids else "--clear-groups",
        ]
        if self.caps:
            caps = ",".join(f"+{cap}" for cap in self.caps)
            args += [f"--inh-caps={caps}", f"--ambient-caps={caps}"]
        # No setuid program can give it more than it has.
        return [*args, "--no-new-privs"]

    def own(self, path: Path, mode: int) -> None:
        """`path` and everything under it become this user's; `path` itself gets `mode`."""
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                for name in (*dirs, *files):
                    os.chown(os.path.join(folder, name), self.uid, self.gid, follow_symlinks=False)
        os.chown(path, self.uid, self.gid)
        path.chmod(mode)


def ensure_group(name: str) -> int:
    """The system group `name` (made when missing); its gid."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        _run(["groupadd", "--system", name], f"groupadd {name}")
        return grp.getgrnam(name).gr_gid


def ensure_user(name: str) -> int:
    """The system user `name` with a group of its own (made when missing): no home, no login
    shell, no password. Its uid."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        argv = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"]
        _run([*argv, "--shell", NOLOGIN, "--user-group", name], f"useradd {name}")
        return pwd.getpwnam(name).pw_uid


def _run(argv: list[str], what: str) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise PartUnavailableError(f"{what}: {exc.strerror} (Debian package: passwd)") from exc
    if done.returncode not in (0, *_EXISTS):
        raise PartUnavailableError(f"{what} failed: {done.stderr.strip()[:200]}")
