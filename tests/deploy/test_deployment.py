"""The deployment (deploy/compose.yml) on the test engine: the image built from this
checkout, brought up, the example installed through it, then pic-store itself upgraded to a
new build on the same volumes: the service, its state and its secrets stay."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.deploy.image import build_image, build_wheels
from app.embedded import free_port
from app.embedded.example import EXAMPLE_STORE
from app.publish import PublishRequest, publish
from shared.config import CellConfig
from shared.cosign import generate_key_pair, load_private_key
from shared.roster import SERVICES
from tests.parts.docker_engine import docker
from tests.parts.host_tables import clear_cell, leftovers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "deploy" / "compose.yml"
CELL = "deploytest"
PROJECT = "pic-deploy-test"


def test_every_service_of_the_roster_runs_in_the_deployment() -> None:
    config = _compose_config({})
    assert set(SERVICES) <= set(config["services"]), "a service the cell needs is missing"
    with_docker = {
        name
        for name, service in config["services"].items()
        if any(v.get("source") == "/var/run/docker.sock" for v in service.get("volumes", []))
    }
    assert with_docker == {"installer", "accounts", "backup"}, "the Docker socket is root"


def _compose(env: dict[str, str], *args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "-f", str(COMPOSE_FILE), "--profile", "parts", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", **env},
        check=False,
        timeout=300,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker compose {args[0]}: {done.stderr[-3000:]}")
    return done.stdout


def _compose_config(env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    return json.loads(_compose(env, "config", "--format", "json"))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


@pytest.fixture
def deployment(tmp_path: Path, registry_host: str, cell_turn: None) -> Iterator[dict[str, str]]:
    data = tmp_path / "data"
    data.mkdir()
    env = {
        "PIC_DATA_DIR": str(data),
        "PIC_CELL": CELL,
        "PIC_DOMAIN": f"{CELL}.test",
        "PIC_NATS_PORT": str(free_port()),
        "PIC_DNS_PORT": str(free_port()),
        "PIC_HTTPS_LISTEN": f"127.0.0.1:{free_port()}",
    }
    yield env
    _compose(env, "down", "--volumes", "--timeout", "5", check=False)
    for sid in ("notes",):
        ids = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={sid}")
        if ids:
            docker("rm", "-f", *ids.split(), check=False)
        vols = docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={sid}")
        if vols:
            docker("volume", "rm", "-f", *vols.split(), check=False)
        nets = docker("network", "ls", "-q", "--filter", f"label=com.docker.compose.project={sid}")
        if nets:
            docker("network", "rm", *nets.split(), check=False)
    docker("network", "rm", "pic-cell", check=False)
    asyncio.run(clear_cell(CELL, data))
    assert leftovers(CELL) == [], "the deployment left rules in the host's tables"


def _trusting_cell(data: Path, registry_host: str, env: dict[str, str]) -> Path:
    """The admin's cell config (before the first start: `prepare` keeps it), trusting a
    store key of its own; returns a store folder with the example published and signed."""
    password = b"deploy-test"
    private_pem, public_pem = generate_key_pair(password)
    # Where the containers see them: the verifier the cell config's folder, the installer
    # the services' folders (a name no service id can have).
    public_key = data / "config" / "api" / "cosign.pub"
    public_key.parent.mkdir(parents=True)
    public_key.write_bytes(public_pem)
    store = data / "data" / ".stores" / "store"
    store.parent.mkdir(parents=True)
    subprocess.run(["cp", "-r", str(EXAMPLE_STORE), str(store)], check=True)
    asyncio.run(
        publish(
            PublishRequest(
                service_dir=store / "services" / "notes",
                registry=f"{registry_host}/roof",
                key=load_private_key(private_pem, password),
                insecure=True,
            )
        )
    )
    CellConfig.model_validate(
        {
            "cell_name": CELL,
            "domain": env["PIC_DOMAIN"],
            "allowed_image_prefix": f"{registry_host}/roof/",
            "allow_local_stores": True,
            "netpolicy": {"vpn_subnet": "10.8.0.0/24"},
            "image_verification": {
                "mode": "enforce",
                "public_keys": [str(public_key)],
                "insecure_registries": [registry_host],
            },
            "router": {
                "caddy_admin_url": f"unix://{data}/caddy/admin.sock",
                "listen": [env["PIC_HTTPS_LISTEN"]],
                "tls": "off",
                "dns": {
                    "hostsdir": str(data / "dns" / "hosts.d"),
                    "server": "127.0.0.1",
                    "port": int(env["PIC_DNS_PORT"]),
                },
            },
        }
    ).write(data)
    return store


def _fetch_through_caddy(env: dict[str, str], path: str) -> str:
    request = urllib.request.Request(
        f"http://{env['PIC_HTTPS_LISTEN']}{path}", headers={"Host": f"notes.{env['PIC_DOMAIN']}"}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.read().decode()


def _container(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads(docker("inspect", name))[0]


def test_the_deployment_runs_the_example_and_survives_an_upgrade_of_itself(
    deployment: dict[str, str], registry_host: str
) -> None:
    env = deployment
    data = Path(env["PIC_DATA_DIR"])
    store = _trusting_cell(data, registry_host, env)
    wheels = build_wheels(Path(env["PIC_DATA_DIR"]).parent / "wheels")
    first = build_image("pic-store-test/deploy:1", label="1", wheels=wheels)
    _compose({**env, "PIC_IMAGE": first}, "up", "--detach", "--wait", "--timeout", "5")

    cli_env = {
        "PATH": "/usr/bin:/bin",
        "PIC_NATS_URL": f"nats://127.0.0.1:{env['PIC_NATS_PORT']}",
        "PIC_CELL": CELL,
        "PIC_DATA_DIR": str(data),
    }
    installed = _cli(
        cli_env, "install", "notes", "--store", str(store), "--set", "site_title=Deployed"
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "<h1>Deployed</h1>" in _fetch_through_caddy(env, "/"), "served through Caddy"
    notes = _container("cell-notes")
    secret_before = next(e for e in notes["Config"]["Env"] if e.startswith("NOTES_SECRET="))

    # pic-store upgraded: a new build, the same volumes.
    second = build_image("pic-store-test/deploy:2", label="2", wheels=wheels)
    _compose({**env, "PIC_IMAGE": second}, "up", "--detach", "--wait", "--timeout", "5")
    assert _container(f"{PROJECT}-installer-1")["Config"]["Labels"]["ngo.pic.store.build"] == "2"
    status = _cli(cli_env, "status", "notes", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["state"] == "installed"
    assert _container("cell-notes")["Id"] == notes["Id"], "the service kept running"

    # The new build reads the old state and secrets: a reconfigure keeps the secret.
    changed = _cli(cli_env, "reconfigure", "notes", "--set", "site_title=Upgraded")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    env_after = _container("cell-notes")["Config"]["Env"]
    assert "NOTES_TITLE=Upgraded" in env_after
    assert secret_before in env_after, "the generated secret survived the upgrade"

    removed = _cli(cli_env, "remove", "notes", "--purge")
    assert removed.returncode == 0, removed.stdout + removed.stderr
