"""Each role of the embedded stack as its own user on the host (`pic-store up` run as root).

| role      | user          | groups                    | capabilities        |
|-----------|---------------|---------------------------|---------------------|
| gateway   | pic-gateway   | pic-cell, pic-api         |                     |
| verifier  | pic-verifier  | pic-cell                  |                     |
| router    | pic-router    | pic-cell                  | (its parts: <1024)  |
| netpolicy | pic-netpolicy | pic-cell                  | NET_ADMIN, NET_RAW  |
| accounts  | pic-accounts  | pic-cell, docker          |                     |
| backup    | pic-backup    | pic-cell, docker          |                     |
| installer | root          |                           |                     |

Every secret is 0600 and belongs to the one role that uses it: its bus seed, the accounts'
credentials key (router: Caddy's folder, its TLS keys), the backup key; the folders that
hold them are 0711, so a role opens its own file by name and lists nothing. Two groups carry
what several roles read: `pic-cell` the cell config (0640, it may hold a TSIG secret),
`pic-api` the API token (0640; the gateway's HTTP API, the one a UI talks to, wants it).
nats-server and the
registry stay with the user running `up`; Caddy and dnsmasq run as the router (its proxy,
whose admin socket only its user can reach, and its DNS server, reading its folder).

The installer stays root: it creates and deletes the store services' folders, whose files
belong to the containers' users, and reads stores from wherever the admin points it. Whoever
holds the Docker socket (installer, accounts, backup) can get root through the engine anyway:
the socket is the boundary there, and a user of their own keeps their files apart from a bug
that merely reads paths. The netpolicy needs CAP_NET_ADMIN and CAP_NET_RAW for the firewall
and routes: it gets them as ambient capabilities, as an unprivileged user (and CAP_SYS_ADMIN
too when told to work in a named network namespace, `ip netns exec` needs it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyrage

from app.embedded.api_token import api_token_path
from app.embedded.run_as import RunAs, ensure_group, ensure_user
from shared.config import CELL_CONFIG_RELATIVE, CellConfig

CELL_GROUP = "pic-cell"  # reads the cell config
API_GROUP = "pic-api"  # reads the API token
DOCKER_SOCKET = Path("/var/run/docker.sock")
TRAVERSE = 0o711  # enter and open a file by name; no listing


def docker_gids() -> tuple[int, ...]:
    """The group of the Docker socket (its users may talk to the engine)."""
    host = os.environ.get("DOCKER_HOST", "")
    socket = Path(host.removeprefix("unix://")) if host.startswith("unix://") else DOCKER_SOCKET
    try:
        return (socket.stat().st_gid,)
    except OSError:
        return ()


def role_users(netns: bool = False) -> dict[str, RunAs]:
    """The user each service runs as, by service name (a service not named runs as root)."""
    docker = docker_gids()
    netpolicy_caps = ("net_admin", "net_raw", *(("sys_admin",) if netns else ()))
    return {
        # The one HTTP API a browser talks to: no Docker socket, its seed and the token only.
        "gateway": RunAs("pic-gateway", (CELL_GROUP, API_GROUP)),
        "verifier": RunAs("pic-verifier", (CELL_GROUP,)),
        "router": RunAs("pic-router", (CELL_GROUP,)),
        "netpolicy": RunAs("pic-netpolicy", (CELL_GROUP,), caps=netpolicy_caps),
        "accounts": RunAs("pic-accounts", (CELL_GROUP,), docker),
        "backup": RunAs("pic-backup", (CELL_GROUP,), docker),
    }


def parts_user_of(router: RunAs) -> RunAs:
    """Caddy and dnsmasq run as the router, free to listen on a port below 1024 (:443, :53)."""
    return RunAs(router.user, caps=("net_bind_service",))


@dataclass
class HostRoles:
    """The users of the roles and what each owns under the data dir."""

    data_dir: Path
    users: dict[str, RunAs]

    @classmethod
    def make(cls, data_dir: Path) -> HostRoles:
        users = role_users(netns=bool(os.environ.get("PIC_NETPOLICY_NETNS")))
        for group in (CELL_GROUP, API_GROUP):
            ensure_group(group)
        for run_as in users.values():
            ensure_user(run_as.user)
        return cls(data_dir, users)

    def seal(self, seeds: dict[str, Path]) -> None:
        """Give each role its files (made when missing) and keep the rest from it.

        `seeds`: the bus seed file of every role of the cell, by role."""
        data = self.data_dir
        for seed in seeds.values():
            for folder in (seed.parent, seed.parent.parent, seed.parent.parent.parent):
                folder.chmod(TRAVERSE)  # secrets/, secrets/nats/, secrets/nats/<cell>/
            os.chown(seed, 0, 0)  # a role without a user of its own: root only
            seed.chmod(0o600)
        for role, run_as in self.users.items():
            if role in seeds:
                run_as.own(seeds[role], 0o600)
        _group_reads(api_token_path(data), API_GROUP)
        config = data / CELL_CONFIG_RELATIVE
        _reachable(data, config.parent)
        _group_reads(config, CELL_GROUP)
        keys = data / "keys"
        if keys.is_dir():
            keys.chmod(0o755)  # the public keys the verifier trusts; each private key is 0600
        self._own_folders()

    def _own_folders(self) -> None:
        data = self.data_dir
        cell = CellConfig.load(data)
        router, accounts, backup = (self.users[r] for r in ("router", "accounts", "backup"))
        _own_folder(router, data / "caddy", 0o700)
        _own_folder(router, data / cell.router.dns.hostsdir, 0o755)  # dnsmasq reads it
        _own_folder(accounts, data / "accounts", 0o700)
        _own_folder(backup, data / "backups", 0o700)
        _own_folder(backup, data / "backups-scratch", 0o700)
        key = cell.backup.path(data, cell.backup.key_file)
        if not key.exists():
            # What the backup service does on first use, done here: it may not write secrets/.
            _reachable(data, key.parent)
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(str(pyrage.x25519.Identity.generate()) + "\n")
        backup.own(key, 0o600)
        if cell.backup.passphrase_file:
            phrase = cell.backup.path(data, cell.backup.passphrase_file)
            if phrase.exists():
                backup.own(phrase, 0o600)


def _own_folder(run_as: RunAs, folder: Path, mode: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    run_as.own(folder, mode)


def _group_reads(path: Path, group: str) -> None:
    """`path` (when it exists): root's, readable by `group` too, by nobody else."""
    if path.exists():
        os.chown(path, 0, ensure_group(group))
        path.chmod(0o640)


def _reachable(data: Path, folder: Path) -> None:
    """Every folder from the data dir down to `folder` may be entered (made when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    for step in _between(data, folder):
        step.chmod(step.stat().st_mode & 0o777 | 0o111)


def _between(top: Path, folder: Path) -> Iterable[Path]:
    try:
        parts = folder.relative_to(top).parts
    except ValueError:
        return []
    return [top.joinpath(*parts[: i + 1]) for i in range(len(parts))]


def unreachable(path: Path) -> Path | None:
    """The first folder on the way to `path` that other users may not enter (None: none)."""
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if folder.exists() and not folder.stat().st_mode & 0o001:
            return folder
    return None
