"""Issue #21: the verify sandbox runs the service as its own rendered compose file says
(command, environment with its secrets, sidecars, health checks) on scratch volumes filled
from the backup, on an internal network of its own, as a separate Compose project; it leaves
nothing behind (containers, networks, volumes), also when the backup service is killed in the
middle; a corrupted volume still fails it, naming the volume. A config path that is not there
is a warning of the backup (it used to be skipped without a word)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from services.backup.sandbox import CELL_LABEL, cell_key, sandbox_document
from shared.client import StoreClient
from shared.docker.restrictions import Restrictions
from tests.backup.parts import backup, verify
from tests.installer.helpers import install, service_id
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.images import build_base, build_image, push
from tests.parts.store import web_manifest, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SANDBOX_LABEL = "ngo.pic.store.backup-sandbox"

# One image, two parts: `app` needs its command, APP_TOKEN (a generated secret) and the
# `store` sidecar by its name; `store` needs its command. Run bare, it exits at once.
ENTRYPOINT = """#!/bin/sh
mkdir -p /www
case "$1" in
  app)
    [ -n "$APP_TOKEN" ] || { echo "APP_TOKEN is not set" >&2; exit 3; }
    i=0
    until wget -q -O /dev/null "http://$STORE_HOST:8080/ok"; do
      i=$((i+1)); [ "$i" -lt 300 ] || { echo "no $STORE_HOST" >&2; exit 4; }; sleep 0.1
    done ;;
  store) ;;
  *) echo "usage: app | store" >&2; exit 2 ;;
esac
echo ok > /www/ok
exec httpd -f -p 8080 -h /www
"""

HEALTH = """    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/ok"]
      interval: 1s
      timeout: 2s
      retries: 30
"""

TEMPLATE = (
    """services:
  ${SERVICE}:
    image: ${IMAGE}
    container_name: ${CONTAINER}
    init: true
    command: ["app"]
    environment:
      APP_TOKEN: ${PIC_SECRET_APP_TOKEN}
      STORE_HOST: store
    volumes:
      - files:/srv/files
"""
    + HEALTH
    + """  store:
    image: ${IMAGE}
    container_name: ${CONTAINER}-store
    init: true
    command: ["store"]
    volumes:
      - store-data:/srv/store
"""
    + HEALTH
    + """volumes:
  store-data: {}
"""
)


def two_part_manifest(sid: str, image: str) -> dict[str, Any]:
    main = f"cell-{sid}"
    return web_manifest(
        sid,
        image,
        has_storage=True,
        volumes=[{"name": "files", "mount": "/srv/files"}],
        env=[],
        backup={
            "volumes": [
                {"container": main, "path": "/srv/files", "name": "files"},
                {"container": f"{main}-store", "path": "/srv/store", "name": "store"},
            ],
            "config_paths": [f"config/{sid}/app.conf", f"config/{sid}/absent.conf"],
        },
    )


RENDERED = b"""
name: notes
services:
  cell-notes:
    image: reg/notes@sha256:aa
    container_name: cell-notes
    restart: unless-stopped
    user: "1000"
    command: [serve]
    labels: {ngo.pic.service: notes, ngo.pic.store.service: notes}
    volumes:
      - notes-data:/data:ro
      - /srv/pic/data/data/notes/conf:/conf:ro
      - {type: tmpfs, target: /tmp}
    networks:
      default: {aliases: [notes]}
      pic-cell: {ipv4_address: 172.20.0.30}
    cap_drop: [MKNOD, NET_RAW]
    logging: {driver: local}
volumes:
  notes-data: {name: cell-notes-data}
networks:
  default: {internal: true}
  pic-cell: {external: true}
"""


def test_the_sandbox_file_touches_nothing_of_the_host_or_the_cell() -> None:
    recorded = Restrictions(user="1000:1000", read_only=True, pids_limit=64, memory=2**26)
    document, names = sandbox_document(
        RENDERED,
        "pic-verify-1",
        {SANDBOX_LABEL: "pic-verify-1"},
        {"cell-notes": recorded},
        {},
        {"cell-notes": {"/data"}},
    )
    assert names == {"cell-notes": "pic-verify-1-cell-notes"}
    service = document["services"]["cell-notes"]
    assert service["container_name"] == "pic-verify-1-cell-notes"
    assert service["command"] == ["serve"] and service["restart"] == "no"
    assert service["labels"] == {SANDBOX_LABEL: "pic-verify-1"}  # none of the service's
    assert service["networks"] == {"sandbox": {"aliases": ["cell-notes", "notes"]}}
    assert document["networks"]["sandbox"]["internal"] is True
    assert set(document["networks"]) == {"sandbox"}  # never the cell network
    # The filled volume is writable; the host folder is a scratch volume; tmpfs stays.
    assert service["volumes"][0] == "notes-data:/data"
    assert service["volumes"][1].endswith(":/conf:ro") and not service["volumes"][1].startswith("/")
    assert service["volumes"][2] == {"type": "tmpfs", "target": "/tmp"}
    assert all("name" not in v for v in document["volumes"].values())  # project-scoped
    assert "logging" not in service
    assert service["user"] == "1000:1000" and service["read_only"] is True
    assert service["pids_limit"] == 64 and service["mem_limit"] == 2**26
    assert service["security_opt"] == ["no-new-privileges"]
    assert {"MKNOD", "NET_RAW"} <= set(service["cap_drop"])


def filled(manifest: dict[str, Any], template: str) -> str:
    return (
        template.replace("${IMAGE}", manifest["image"])
        .replace("${CONTAINER}", manifest["container_name"])
        .replace("${SERVICE}", manifest["id"])
    )


class SandboxWatcher:
    """Inspects every container, network and volume of a sandbox while a verify runs."""

    def __init__(self) -> None:
        self.containers: dict[str, dict[str, Any]] = {}
        self.networks: dict[str, dict[str, Any]] = {}  # name -> its inspect data
        self.volumes: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SandboxWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        label = f"label={SANDBOX_LABEL}"
        while not self._stop.is_set():
            for cid in docker("ps", "-aq", "--filter", label, check=False).split():
                raw = docker("inspect", cid, check=False)
                found = json.loads(raw) if raw.strip().startswith("[") else []
                if found and found[0]["State"]["Running"]:
                    self.containers[found[0]["Name"].lstrip("/")] = found[0]
                    self.volumes |= {m["Name"] for m in found[0]["Mounts"] if m.get("Name")}
            for net in docker("network", "ls", "-q", "--filter", label).split():
                raw = docker("network", "inspect", net, check=False)
                found = json.loads(raw) if raw.strip().startswith("[") else []
                if found:
                    self.networks[found[0]["Name"]] = found[0]
            self.volumes |= set(docker("volume", "ls", "-q", "--filter", label).split())
            time.sleep(0.05)


def leftovers(data_dir: Path, names: set[str] | None = None) -> list[str]:
    """Whatever of a sandbox of the cell at `data_dir` is still there (by its label), and
    whichever of the volumes `names` (anonymous ones too)."""
    label = f"label={CELL_LABEL}={cell_key(data_dir)}"
    left = docker("ps", "-aq", "--filter", label).split()
    left += docker("network", "ls", "-q", "--filter", label).split()
    volumes = set(docker("volume", "ls", "-q").split())
    left += docker("volume", "ls", "-q", "--filter", label).split()
    left += sorted((names or set()) & volumes)
    return left


def run_bare(image: str) -> tuple[int, str]:
    """Its exit code and stderr when run without its template, as the old sandbox did."""
    argv = ["docker", "run", "--rm", "--network", "none", image]
    done = subprocess.run(argv, capture_output=True, check=False)
    return done.returncode, done.stderr.decode(errors="replace").strip()


@pytest.fixture(scope="session")
def app_image(images: ImageSet, registry_host: str) -> str:
    local = build_image(
        "pic-store-test/verify-app:1",
        f'FROM {build_base()}\nCOPY entrypoint.sh /entrypoint.sh\nENTRYPOINT ["/entrypoint.sh"]\n',
        {"entrypoint.sh": ENTRYPOINT},
    )
    return push(local, f"{registry_host}/roof/verify-app:1")


async def test_a_two_container_service_verifies_as_its_template_runs_it(
    stack_factory: Any, app_image: str, tmp_path: Path
) -> None:
    # Bare, as the old sandbox started it, the image does not come up.
    assert run_bare(app_image) == (2, "usage: app | store")
    sid = service_id()
    stack_factory.used_ids.append(sid)
    root = tmp_path / "root"
    # The killed verify is not delivered again while the test runs (PIC_ACK_WAIT).
    stack = stack_factory(PIC_ROOT=str(root), PIC_HEALTH_TIMEOUT="30", PIC_ACK_WAIT="120")
    stack.start_installer()
    service = stack.start("backup")
    bus = await stack.bus("admin")
    try:
        manifest = two_part_manifest(sid, app_image)
        store = write_store(tmp_path / "store", [(manifest, filled(manifest, TEMPLATE))])
        installed = await install(StoreClient(bus), store, sid, config={})
        assert installed.payload.status == "succeeded", installed.payload.message
        main, sidecar = f"cell-{sid}", f"cell-{sid}-store"
        docker("exec", main, "sh", "-c", "echo note > /srv/files/note")
        docker("exec", sidecar, "sh", "-c", "mkdir -p /srv/store/x && echo kept > /srv/store/x/y")
        (root / "config" / sid).mkdir(parents=True)
        (root / "config" / sid / "app.conf").write_text("colour = blue\n")
        live = {c: json.loads(docker("inspect", c))[0] for c in (main, sidecar)}

        made = await backup(bus, sid)
        assert made.payload.ok, made.payload.message
        (backup_id,) = made.payload.backups
        # The config path that is not there is said, in the result and its message.
        (warning,) = made.payload.warnings
        assert f"config/{sid}/absent.conf is not there" in warning and str(root) in warning
        assert f"warning: {warning}" in made.payload.message
        described = json.loads((stack.data_dir / "backups" / backup_id / "backup.json").read_text())
        assert described["services"][0]["config_paths"] == [f"config/{sid}/app.conf"]
        assert described["services"][0]["compose"] is True

        with SandboxWatcher() as watcher:
            checked = await verify(bus, backup_id)
        assert checked.payload.ok, checked.payload.message
        assert json.loads((stack.data_dir / "backups" / backup_id / "backup.json").read_text())[
            "verified"
        ]["ok"]
        # Both containers ran, as the template says, with the sidecar's name, on an internal
        # network of their own, with no label of the service and no published port.
        by_part = {
            part: next(c for name, c in watcher.containers.items() if name.endswith(part))
            for part in (main, sidecar)
        }
        assert len(watcher.containers) == 2, watcher.containers.keys()
        app_env = dict(e.split("=", 1) for e in by_part[main]["Config"]["Env"])
        live_env = dict(e.split("=", 1) for e in live[main]["Config"]["Env"])
        assert app_env["APP_TOKEN"] == live_env["APP_TOKEN"] and len(app_env["APP_TOKEN"]) >= 16
        for part, inspected in by_part.items():
            assert inspected["Name"].lstrip("/") != part  # never the live container's name
            assert inspected["Config"]["Cmd"] == live[part]["Config"]["Cmd"]
            labels = inspected["Config"]["Labels"]
            assert not any(k.startswith("ngo.pic.service") for k in labels), labels
            assert labels["com.docker.compose.project"] != sid
            host = inspected["HostConfig"]
            assert not host.get("PortBindings") and host["RestartPolicy"]["Name"] == "no"
            assert "no-new-privileges" in host["SecurityOpt"]
            assert {"MKNOD", "NET_RAW"} <= {c.removeprefix("CAP_") for c in host["CapDrop"]}
            (network,) = inspected["NetworkSettings"]["Networks"]
            assert watcher.networks[network]["Internal"] is True
            assert inspected["Mounts"] and all(m["Type"] == "volume" for m in inspected["Mounts"])
        # The live service was never touched.
        for part in (main, sidecar):
            now = json.loads(docker("inspect", part))[0]
            assert now["Id"] == live[part]["Id"] and now["State"]["Running"]
            assert now["State"]["StartedAt"] == live[part]["State"]["StartedAt"]
        assert docker("exec", main, "cat", "/srv/files/note").strip() == "note"
        assert watcher.networks and len(watcher.volumes) >= 2
        assert leftovers(stack.data_dir, watcher.volumes) == []

        # The backup service killed while a sandbox runs: the next verify removes it first.
        with SandboxWatcher() as killed:
            running = asyncio.ensure_future(verify(bus, backup_id, timeout=60))
            for _ in range(400):
                if killed.containers:
                    break
                await asyncio.sleep(0.05)
            assert killed.containers, "no sandbox container ever ran"
            service.kill()
        running.cancel()
        assert leftovers(stack.data_dir) != []  # left behind
        service.restart()
        again = await verify(bus, backup_id)
        assert again.payload.ok, again.payload.message
        left = set(leftovers(stack.data_dir, killed.volumes))
        names = {*killed.containers, *killed.networks, *killed.volumes}
        assert not left & names, left & names

        # A corrupted volume fails verify, naming it; again nothing is left.
        sealed = stack.data_dir / "backups" / backup_id / sid / "volumes" / "store.tar.gz.age"
        data = bytearray(sealed.read_bytes())
        data[len(data) // 2] ^= 0xFF
        sealed.write_bytes(bytes(data))
        bad = await verify(bus, backup_id)
        assert not bad.payload.ok and bad.payload.error_key == "verify_failed"
        assert f"{sid}/volumes/store.tar.gz.age" in bad.payload.message
        assert leftovers(stack.data_dir, watcher.volumes) == []
        assert service.running()
    finally:
        await bus.close()


# -- a service with a Postgres sidecar ------------------------------------------------------

POSTGRES_BASE = "pic-store-test/postgres:base"  # Debian's postgresql, one debootstrap (~70 s)

PG_ENTRYPOINT = """#!/bin/sh
set -e
case "$1" in
  db)
    D=/var/lib/pic-db/data
    if [ ! -s "$D/PG_VERSION" ]; then
      [ -n "$DB_PASSWORD" ] || { echo "DB_PASSWORD is not set" >&2; exit 3; }
      printf '%s\\n' "$DB_PASSWORD" > /tmp/pw
      initdb -D "$D" -U app --pwfile=/tmp/pw --auth-local=trust --auth-host=scram-sha-256 >/dev/null
      rm -f /tmp/pw
      echo "host all all 0.0.0.0/0 scram-sha-256" >> "$D/pg_hba.conf"
    fi
    exec postgres -D "$D" -c listen_addresses='*' -c unix_socket_directories=/tmp ;;
  app)
    until psql -h db -U app -d postgres -qc "create table if not exists notes (note text)"; do
      sleep 0.2
    done
    exec sleep infinity ;;
  *) echo "usage: db | app" >&2; exit 2 ;;
esac
"""

PG_TEMPLATE = """services:
  ${SERVICE}:
    image: ${IMAGE}
    container_name: ${CONTAINER}
    init: true
    command: ["app"]
    environment:
      PGPASSWORD: ${PIC_SECRET_DB_PASSWORD}
    healthcheck:
      test: ["CMD", "psql", "-h", "db", "-U", "app", "-d", "postgres", "-tAc",
             "select count(*) from notes"]
      interval: 1s
      timeout: 3s
      retries: 60
  db:
    image: ${IMAGE}
    container_name: ${CONTAINER}-db
    init: true
    command: ["db"]
    environment:
      DB_PASSWORD: ${PIC_SECRET_DB_PASSWORD}
    volumes:
      - db-data:/var/lib/pic-db
    healthcheck:
      test: ["CMD", "pg_isready", "-h", "/tmp", "-U", "app"]
      interval: 1s
      timeout: 3s
      retries: 60
volumes:
  db-data: {}
"""


@pytest.fixture(scope="session")
def postgres_image(images: ImageSet, registry_host: str) -> str:
    from app.deploy.image import build_base as debian_base

    debian_base(POSTGRES_BASE, ("postgresql",))
    local = build_image(
        "pic-store-test/verify-postgres:1",
        f"FROM {POSTGRES_BASE}\n"
        "ENV PATH=/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "RUN mkdir -p /var/lib/pic-db && chown postgres:postgres /var/lib/pic-db\n"
        "COPY entrypoint.sh /entrypoint.sh\nUSER postgres\n"
        'ENTRYPOINT ["/entrypoint.sh"]\n',
        {"entrypoint.sh": PG_ENTRYPOINT},
    )
    return push(local, f"{registry_host}/roof/verify-postgres:1")


@pytest.mark.skipif(
    not os.environ.get("PIC_TEST_POSTGRES"),
    reason="set PIC_TEST_POSTGRES=1: its Debian base takes ~70 s once, its image push and the "
    "test ~60 s more, beyond the suite's budget",
)
async def test_a_service_with_a_postgres_sidecar_verifies(
    stack_factory: Any, postgres_image: str, tmp_path: Path
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    stack = stack_factory(PIC_ROOT=str(tmp_path / "root"), PIC_HEALTH_TIMEOUT="60")
    stack.start_installer()
    stack.start("backup")
    bus = await stack.bus("admin")
    try:
        main, db = f"cell-{sid}", f"cell-{sid}-db"
        manifest = web_manifest(
            sid,
            postgres_image,
            has_storage=True,
            volumes=[],
            env=[],
            backup={
                "volumes": [{"container": db, "path": "/var/lib/pic-db", "name": "db"}],
                "stop": True,  # a consistent copy of the database's files
            },
        )
        store = write_store(tmp_path / "store", [(manifest, filled(manifest, PG_TEMPLATE))])
        installed = await install(StoreClient(bus), store, sid, config={})
        assert installed.payload.status == "succeeded", installed.payload.message
        docker("exec", main, "psql", "-h", "db", "-U", "app", "-d", "postgres", "-qc",
               "insert into notes values ('kept')")  # fmt: skip

        made = await backup(bus, sid)
        assert made.payload.ok, made.payload.message
        (backup_id,) = made.payload.backups
        with SandboxWatcher() as watcher:
            checked = await verify(bus, backup_id)
        assert checked.payload.ok, checked.payload.message
        names = sorted(watcher.containers)
        assert len(names) == 2 and all(n.endswith((main, db)) for n in names), names
        sandbox_db = next(c for n, c in watcher.containers.items() if n.endswith(db))
        assert sandbox_db["Config"]["User"] == "postgres"
        assert leftovers(stack.data_dir, watcher.volumes) == []
    finally:
        await bus.close()
