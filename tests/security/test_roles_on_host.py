"""Issue #19, finding 11: every role is a user (or a container) of its own on the host.

Run as root, `up` starts each service as its role's user; as that user, the role's own seed
opens and every other role's seed, the API token (unless its API needs it), the backup key
and the accounts key do not (EACCES). The stack still works: every service answers, the
router drives Caddy through its admin socket, the CLI lists the routes. In the deployment
(deploy/compose.yml), each container mounts its own role's files and no other secret.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.parts.up import start_up, stop_up, up_cell

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CELL = "rooms"
COMPOSE_FILE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yml"
CONFIG_ARGS = ("--profile", "parts", "config", "--format", "json")
ROLES = ("gateway", "verifier", "router", "netpolicy", "accounts", "backup")


@pytest.fixture
def cell(tmp_path: Path, registry_host: str, cell_turn: None) -> dict[str, str]:
    return up_cell(tmp_path / "cell", registry_host, cell=CELL)


def credentials(pid: int) -> list[str]:
    """setpriv's arguments for the user, group and groups process `pid` runs with."""
    status = Path(f"/proc/{pid}/status").read_text()

    def field(name: str) -> list[str]:
        found = re.search(rf"^{name}:[ \t]*(.*)$", status, re.MULTILINE)
        assert found, status
        return found.group(1).split()

    groups = field("Groups")
    return [
        f"--reuid={field('Uid')[0]}",
        f"--regid={field('Gid')[0]}",
        f"--groups={','.join(groups)}" if groups else "--clear-groups",
    ]


def read_as(who: list[str], path: Path) -> str:
    """`ok`, or why a process with these credentials cannot read `path` (as `cat` says)."""
    done = subprocess.run(
        ["setpriv", *who, "--", "cat", str(path)], capture_output=True, text=True, check=False
    )
    return "ok" if done.returncode == 0 else done.stderr.strip().rpartition(": ")[2]


@pytest.mark.skipif(os.geteuid() != 0, reason="roles get users of their own when up runs as root")
def test_each_role_reads_its_own_secrets_and_no_other(cell: dict[str, str]) -> None:
    data = Path(cell["DATA"]).resolve()  # where the roles' users can reach it
    seeds = data / "secrets" / "nats" / CELL
    secrets = {
        "the API token": data / "secrets" / "api-token",
        "the backup key": data / "secrets" / "backup-key.txt",
        "the accounts key": data / "accounts" / "credentials.key",
        "the JetStream key": data / "secrets" / "jetstream.key",
        "the admin seed": seeds / "admin.nk",
        "the gateway seed": seeds / "gateway.nk",
        **{f"the {role} seed": seeds / f"{role}.nk" for role in ROLES},
    }
    own = {
        "gateway": {"the API token"},
        "accounts": {"the accounts key"},  # its HTTP API: /healthz and /metrics only
        "backup": {"the backup key"},
    }
    up, out = start_up(cell)
    try:
        pids = {
            role: int(out.until(rf"^  {role}\s+\S+\s+pid (\d+)", 120).group(1)) for role in ROLES
        }
        out.until("pic-store is up", 30)

        users = {
            role: pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name for role, pid in pids.items()
        }
        assert users == {role: f"pic-{role}" for role in ROLES}

        wrong = {}
        for role in ROLES:
            who = credentials(pids[role])
            for what, path in secrets.items():
                mine = what == f"the {role} seed" or what in own.get(role, set())
                answer = read_as(who, path)
                if answer != ("ok" if mine else "Permission denied"):
                    wrong[f"{role} reading {what}"] = answer
        assert wrong == {}

        for role in ROLES:  # the stack works: every service answers as its own user
            port = cell[f"PIC_{role.upper()}_HTTP_PORT"]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as got:
                assert got.status == 200, role
        routes = subprocess.run(
            [sys.executable, "-m", "app.cli.main", "routes"],
            capture_output=True,
            text=True,
            env=cell,  # over the bus, as the admin
            timeout=60,
            check=False,
        )
        assert routes.returncode == 0, routes.stdout + routes.stderr
    finally:
        stop_up(up)


def test_each_container_of_the_deployment_mounts_only_its_role_s_files() -> None:
    data = "/srv/pic-rooms"
    done = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), *CONFIG_ARGS],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "PIC_DATA_DIR": data, "PIC_CELL": CELL},
        check=True,
        timeout=60,
    )
    services = json.loads(done.stdout)["services"]
    wrong = {}
    for name, service in services.items():
        if name == "prepare":  # it makes every file, once, and exits
            continue
        # By where they appear inside (a named volume's source is its name, not its path).
        mounts = {v["target"]: v for v in service.get("volumes", [])}
        secrets = f"{data}/secrets"
        roles = {t for t in mounts if t.startswith(f"{data}/roles/")}
        if any(t == secrets or f"{secrets}/".startswith(f"{t}/") for t in mounts):
            wrong[name] = f"sees every secret: {sorted(mounts)}"
        elif any(t.startswith(f"{secrets}/") for t in mounts):
            wrong[name] = f"mounts from the secrets: {sorted(mounts)}"
        elif roles - {f"{data}/roles/{name}"}:
            wrong[name] = f"mounts another role's files: {sorted(roles)}"
        elif any(not mounts[r].get("read_only") for r in roles):
            wrong[name] = "may write its own secrets"
        for key in ("PIC_NATS_SEED", "PIC_API_NATS_SEED", "PIC_API_TOKEN_FILE"):
            path = (service.get("environment") or {}).get(key)
            if path and not any(path.startswith(f"{target}/") for target in mounts):
                wrong[f"{name} {key}"] = f"{path} is in no folder it mounts"
    assert wrong == {}
