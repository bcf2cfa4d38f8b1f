"""Real Docker Compose runs each store service: the paths a new user takes, the keys Compose
honours, and what the closed policy keeps from ever reaching Docker."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.client import StoreClient
from shared.events import StepRequest
from shared.events.messages import StepResultPayload
from shared.installed import services_bucket
from tests.installer.helpers import (
    StandIn,
    containers_of,
    env_of,
    inspect,
    install,
    reconfigure,
    remove,
    service_id,
)
from tests.parts.docker_engine import docker
from tests.parts.eventually import present
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def new_id(stack_factory: Any) -> str:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    return sid


def exec_in(container: str, *command: str) -> str:
    return docker("exec", container, *command).strip()


async def test_dollar_signs_reach_the_container_as_written(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = new_id(stack_factory)
    manifest = web_manifest(sid, images.web)
    template = web_template(manifest).replace(
        "      APP_DOMAIN: ${PIC_DOMAIN}\n",
        "      APP_DOMAIN: ${PIC_DOMAIN}\n      NOTES_PRICE: 'Costs $$0, or $${FREE}'\n",
    )
    store = write_store(tmp_path / "store", [(manifest, template)])
    result = await install(client, store, sid, config={"greeting": "pay $HOME or $$5"})
    assert result.payload.status == "succeeded", result.payload.message
    env = env_of(inspect(f"cell-{sid}") or {})
    assert env["NOTES_PRICE"] == "Costs $0, or ${FREE}"
    assert env["NOTES_GREETING"] == "pay $HOME or $$5"
    assert "NOTES_PRICE=Costs $0, or ${FREE}" in exec_in(f"cell-{sid}", "env")


async def test_a_service_with_no_settings_installs(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = new_id(stack_factory)
    manifest = web_manifest(sid, images.web, has_admin_config=False)
    del manifest["config_schema"]
    template = web_template(manifest).replace("      NOTES_GREETING: ${PIC_CFG_GREETING}\n", "")
    store = write_store(tmp_path / "store", [(manifest, template)])
    result = await install(client, store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    again = await reconfigure(client, sid)
    assert again.payload.status == "noop", again.payload.message


ALLOWED = """\
    mem_limit: 64m
    cpus: 0.5
    shm_size: 16m
    pids_limit: 100
    stop_grace_period: 3s
    stop_signal: SIGINT
    read_only: true
    tmpfs: [/www, /tmp]
    hostname: {sid}-web
    working_dir: /tmp
    cap_drop: [ALL]
    cap_add: [SETUID, SETGID, NET_BIND_SERVICE]
    security_opt: [no-new-privileges:true]
    sysctls: {{net.ipv4.ip_unprivileged_port_start: 80}}
    ulimits: {{nofile: {{soft: 1024, hard: 2048}}}}
    logging: {{driver: json-file, options: {{max-size: 1m, max-file: '2'}}}}
    labels: {{org.example.role: web}}
    healthcheck:
      test: [CMD, wget, -q, -O, /dev/null, 'http://127.0.0.1:8080/']
      interval: 1s
      retries: 30
    depends_on:
      {sid}-db: {{condition: service_healthy}}
  {sid}-db:
    image: {image}
    container_name: cell-{sid}-db
    entrypoint: sh -c 'echo ready > /dev/null && exec sleep 3600'
    init: true
    restart: on-failure:3
    user: '1000:1000'
    group_add: ['2000']
    domainname: cell.test
    expose: ['5432']
    tty: true
    stdin_open: true
    cpu_shares: 512
    cpu_quota: 50000
    cpu_period: 100000
    cpuset: '0'
    mem_reservation: 32m
    oom_score_adj: 100
    deploy: {{resources: {{limits: {{pids: 50}}}}}}
    healthcheck:
      test: [CMD, 'true']
      interval: 1s
"""


async def test_every_allowed_key_takes_the_effect_compose_gives_it(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = new_id(stack_factory)
    manifest = web_manifest(sid, images.web)
    manifest["volumes"] = []
    template = web_template(manifest).replace("    volumes:\n      - notes-data:/data/notes\n", "")
    template += ALLOWED.format(sid=sid, image=images.web)
    store = write_store(tmp_path / "store", [(manifest, template)])
    result = await install(client, store, sid)
    assert result.payload.status == "succeeded", result.payload.message

    web, db = inspect(f"cell-{sid}"), inspect(f"cell-{sid}-db")
    assert web is not None and db is not None
    host = web["HostConfig"]
    assert host["Memory"] == 64 * 1024**2
    assert host["NanoCpus"] == 500_000_000
    assert host["ShmSize"] == 16 * 1024**2
    assert host["PidsLimit"] == 100
    assert host["ReadonlyRootfs"] is True
    assert set(host["Tmpfs"]) == {"/www", "/tmp"}
    assert [c.removeprefix("CAP_") for c in host["CapDrop"]] == ["ALL"]
    added = {c.removeprefix("CAP_") for c in host["CapAdd"]}
    assert added == {"SETUID", "SETGID", "NET_BIND_SERVICE"}
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["Sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "80"}
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}
    assert host["Init"] is True
    config = web["Config"]
    assert config["StopTimeout"] == 3 and config["StopSignal"] == "SIGINT"
    assert config["Hostname"] == f"{sid}-web" and config["WorkingDir"] == "/tmp"
    assert config["Labels"]["org.example.role"] == "web"
    assert config["Labels"]["ngo.pic.store.service"] == sid
    assert web["State"]["Health"]["Status"] == "healthy"
    db_host, db_config = db["HostConfig"], db["Config"]
    assert db_host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert db_config["User"] == "1000:1000" and db_host["GroupAdd"] == ["2000"]
    assert db_config["Domainname"] == "cell.test"
    assert set(db_config["ExposedPorts"]) & {"5432", "5432/tcp"}
    assert db_config["Tty"] is True and db_config["OpenStdin"] is True
    assert (db_host["CpuShares"], db_host["CpuQuota"], db_host["CpuPeriod"]) == (512, 50000, 100000)
    assert db_host["CpusetCpus"] == "0"
    assert db_host["MemoryReservation"] == 32 * 1024**2
    assert db_host["OomScoreAdj"] == 100
    # No cap_drop of its own: the cell drops MKNOD and NET_RAW (ALL covers them on web).
    assert {c.removeprefix("CAP_") for c in db_host["CapDrop"]} == {"MKNOD", "NET_RAW"}
    assert db_host["PidsLimit"] == 50
    # A string entrypoint is split by Compose, not run through a shell of our making.
    assert db["Config"]["Entrypoint"] == ["sh", "-c", "echo ready > /dev/null && exec sleep 3600"]
    # The database is on the service's private network only, by its service key.
    networks = db["NetworkSettings"]["Networks"]
    assert set(networks) == {f"{sid}_default"}
    assert f"{sid}-db" in networks[f"{sid}_default"]["Aliases"]
    # depends_on with service_healthy: the web container started after db was healthy.
    assert web["State"]["StartedAt"] > db["State"]["StartedAt"]
    view = await client.service(sid)
    assert view is not None
    assert sorted(view.containers) == sorted([f"cell-{sid}", f"cell-{sid}-db"])


async def test_a_hostile_setting_is_refused_before_anything_runs(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    """validate passes the template (its default is harmless); the real value is judged by
    the same policy at install time and nothing reaches Docker."""
    sid = new_id(stack_factory)
    manifest = web_manifest(sid, images.web)
    manifest["config_schema"].append(
        {
            "key": "cap",
            "type": "enum",
            "label": "Capability",
            "options": ["CHOWN", "ALL"],
            "default": "CHOWN",
        }
    )
    template = web_template(manifest) + "    cap_add: ['${PIC_CFG_CAP}']\n"
    store = write_store(tmp_path / "store", [(manifest, template)])
    result = await install(client, store, sid, config={"cap": "ALL"})
    assert result.payload.status == "failed"
    assert f"$.services.{sid}.cap_add[0]" in result.payload.message
    assert containers_of(sid) == []


async def test_a_secret_setting_never_shows_in_an_error(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = new_id(stack_factory)
    manifest = web_manifest(sid, images.web)
    manifest["config_schema"].append({"key": "policy", "type": "secret", "label": "Policy"})
    template = web_template(manifest) + "    restart: ${PIC_CFG_POLICY}\n"
    store = write_store(tmp_path / "store", [(manifest, template)])
    result = await install(client, store, sid, config={"policy": "hunter2"})
    assert result.payload.status == "failed"
    assert "restart" in result.payload.message
    assert "hunter2" not in result.payload.message
    view = await client.service(sid)
    assert view is None or "hunter2" not in view.last_error
    assert "hunter2" not in stack.log()


async def test_a_wanted_capability_nobody_carries_out_is_a_warning(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = new_id(stack_factory)
    manifest = web_manifest(
        sid,
        images.web,
        has_storage=True,
        backup={"volumes": [{"container": f"cell-{sid}", "path": "/data/notes", "name": "data"}]},
    )
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    result = await install(client, store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    assert (
        "warnings: register the backups: not done, no service on this cell handles"
        in result.payload.message
    )
    view = await client.service(sid)
    assert view is not None
    assert view.warnings == [
        "register the backups: not done, no service on this cell handles the backup step"
    ]


@contextlib.asynccontextmanager
async def routes_participant(stack: Stack) -> AsyncIterator[list[StepRequest]]:
    """A real participant on the bus, with the router's identity, that owns the routes step
    and accepts every request."""
    seen: list[StepRequest] = []
    stop = asyncio.Event()
    bus = await stack.bus("router", name="stand-in")

    async def answer(request: StepRequest) -> StepResultPayload:
        seen.append(request)
        return StepResultPayload(step=request.payload.step, action=request.payload.action, ok=True)

    tasks = StandIn("router", answer).tasks(bus, stop)
    await present(bus, "routes")
    try:
        yield seen
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bus.close()


@pytest.mark.parametrize("damage", ["missing", "broken"])
async def test_remove_works_when_the_installed_manifest_is_gone(
    stack: Stack,
    client: StoreClient,
    tmp_path: Path,
    images: ImageSet,
    stack_factory: Any,
    damage: str,
) -> None:
    sid = new_id(stack_factory)
    manifest = web_manifest(
        sid, images.web, has_subdomain=True, subdomain=sid, backend=f"cell-{sid}:8080"
    )
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    async with routes_participant(stack) as asked:
        assert (await install(client, store, sid)).payload.status == "succeeded"
        as_installer = await stack.bus("installer", name="damage")  # only it writes records
        bucket = await services_bucket(as_installer)
        record = await bucket.get(sid)
        assert record is not None and record.value.applied_steps == ["routes"]
        manifest_now: dict[str, Any] = {} if damage == "missing" else {"id": sid, "image": 5}
        await bucket.put(sid, record.value.model_copy(update={"manifest": manifest_now}))
        await as_installer.close()
        result = await remove(client, sid)
    assert result.payload.status == "succeeded", result.payload.message
    assert "warnings" not in result.payload.message
    assert containers_of(sid) == []
    assert [r.payload.action.value for r in asked] == ["apply", "compensate"]
    assert await client.service(sid) is None


async def test_an_admin_sees_the_service_with_docker_compose(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    sid = new_id(stack_factory)
    manifest = web_manifest(sid, images.web)
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    assert (await install(client, store, sid)).payload.status == "succeeded"
    listed = json.loads(
        "[" + ",".join(docker("compose", "-p", sid, "ps", "--format", "json").split("\n")) + "]"
    )
    assert [c["Name"] for c in listed] == [f"cell-{sid}"]
    assert listed[0]["State"] == "running"


async def test_a_bind_through_a_symlink_out_of_the_own_folder_is_refused(
    stack: Stack, client: StoreClient, tmp_path: Path, images: ImageSet, stack_factory: Any
) -> None:
    """The path passes the policy as written; on the host it is a symlink to /etc, which the
    installer refuses: it makes every bind folder itself, as a real folder."""
    sid = new_id(stack_factory)
    own = stack.data_dir / "data" / sid
    own.mkdir(parents=True)
    (own / "conf").symlink_to("/etc")
    manifest = web_manifest(sid, images.web)
    template = web_template(manifest) + "      - ${PIC_DATA_DIR}/" + sid + "/conf:/host-etc\n"
    store = write_store(tmp_path / "store", [(manifest, template)])
    result = await install(client, store, sid)
    assert result.payload.status == "failed"
    assert "is a symlink to /etc on the host" in result.payload.message
    assert containers_of(sid) == []

    (own / "conf").unlink()
    (own / "conf").mkdir()
    (own / "conf" / "app.ini").write_text("x=1\n")
    result = await install(client, store, sid)
    assert result.payload.status == "succeeded", result.payload.message
    assert exec_in(f"cell-{sid}", "cat", "/host-etc/app.ini") == "x=1"
