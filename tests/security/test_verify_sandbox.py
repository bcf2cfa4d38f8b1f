"""Issue #19: the sandbox of `backup verify` keeps the restrictions the service's own
containers run with (its template's `user`, `cap_drop`, `read_only`, `pids_limit`,
`mem_limit`, and the cap_drop the renderer adds), plus no-new-privileges, never more powers
than the service had. A backup written before the restrictions were recorded verifies with
the defaults (MKNOD and NET_RAW dropped, no-new-privileges)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from services.backup.description import ServiceEntry
from shared.client import StoreClient
from shared.docker.restrictions import Restrictions
from tests.backup.parts import backup, storage_manifest, verify
from tests.installer.helpers import install, service_id
from tests.parts.docker_engine import docker
from tests.parts.image_set import ImageSet
from tests.parts.images import build_image, push
from tests.parts.store import write_store

SANDBOX_LABEL = "ngo.pic.store.backup-sandbox"

TEMPLATE = """services:
  ${SERVICE}:
    image: ${IMAGE}
    container_name: ${CONTAINER}
    init: true
    user: "1000:1000"
    read_only: true
    cap_drop: [SETFCAP]
    pids_limit: 64
    mem_limit: 96m
    volumes:
      - files:/srv/files
"""


def caps(values: list[str] | None) -> set[str]:
    return {v.upper().removeprefix("CAP_") for v in values or []}


# -- the translation, without an engine -------------------------------------------------------


def test_defaults_drop_mknod_and_net_raw_and_forbid_new_privileges() -> None:
    config = Restrictions().container_config()
    host = config["HostConfig"]
    assert caps(host["CapDrop"]) == {"MKNOD", "NET_RAW"}
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert "User" not in config and "CapAdd" not in host and not host.get("ReadonlyRootfs")


def test_recorded_restrictions_are_kept_and_a_kept_capability_is_not_dropped() -> None:
    recorded = Restrictions.from_inspect(
        {
            "Config": {"User": "1000:1000"},
            "HostConfig": {
                "CapAdd": ["CAP_NET_RAW"],
                "CapDrop": ["CAP_CHOWN", "CAP_MKNOD"],
                "ReadonlyRootfs": True,
                "SecurityOpt": ["no-new-privileges:true"],
                "PidsLimit": 64,
                "Memory": 96 * 2**20,
                "NanoCpus": 500_000_000,
                "Privileged": True,  # never recorded: only the fields above
            },
        }
    )
    config = recorded.container_config()
    host = config["HostConfig"]
    assert config["User"] == "1000:1000"
    assert caps(host["CapAdd"]) == {"NET_RAW"}
    assert caps(host["CapDrop"]) == {"CHOWN", "MKNOD"}  # NET_RAW: the template asked for it
    assert host["ReadonlyRootfs"] is True
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PidsLimit"] == 64 and host["Memory"] == 96 * 2**20
    assert host["NanoCpus"] == 500_000_000
    assert "Privileged" not in host


@pytest.mark.parametrize(
    "host_config",
    [
        {"CapAdd": ["SYS_ADMIN"]},  # beyond Docker's default set: no template renders it
        {"SecurityOpt": ["seccomp=unconfined"]},
        {"SecurityOpt": ["apparmor=unconfined"]},
        {"PidsLimit": -5},
    ],
)
def test_restrictions_that_loosen_the_sandbox_are_refused(host_config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Restrictions.from_inspect({"Config": {}, "HostConfig": host_config})


def test_a_description_without_restrictions_still_reads_and_a_loosening_one_is_refused() -> None:
    old = {"service_id": "notes", "manifest": {}, "images": {"cell-notes": "x"}}
    assert ServiceEntry.model_validate(old).restrictions == {}  # verify uses the defaults
    loose = {**old, "restrictions": {"cell-notes": {"cap_add": ["SYS_ADMIN"]}}}
    with pytest.raises(ValueError):
        ServiceEntry.model_validate(loose)
    unknown = {**old, "restrictions": {"cell-notes": {"privileged": True}}}
    with pytest.raises(ValueError):
        ServiceEntry.model_validate(unknown)


# -- a real service, a real backup and verify ---------------------------------------------------


class SandboxWatcher:
    """Inspects every sandbox container that shows up while a verify runs."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SandboxWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            ids = docker("ps", "-aq", "--filter", f"label={SANDBOX_LABEL}", check=False)
            for cid in ids.split():
                if cid not in self.seen:
                    raw = docker("inspect", cid, check=False)
                    found = json.loads(raw) if raw.strip().startswith("[") else []
                    if found:
                        self.seen[cid] = found[0]
            time.sleep(0.05)


@pytest.mark.integration
@pytest.mark.slow
async def test_the_sandbox_runs_with_the_services_own_restrictions(
    stack_factory: Any, images: ImageSet, registry_host: str, tmp_path: Path
) -> None:
    # The web image, able to start as user 1000 (its entrypoint serves /www).
    local = build_image(
        "pic-store-test/web-user:1",
        "FROM pic-store-test/web:1\nRUN mkdir -p /www && chown 1000:1000 /www\n",
    )
    image = push(local, f"{registry_host}/roof/web-user:1")
    sid = service_id()
    stack_factory.used_ids.append(sid)
    stack = stack_factory(PIC_ROOT=str(tmp_path / "root"))
    stack.start_installer()
    stack.start("backup")
    bus = await stack.bus("admin")
    try:
        manifest = storage_manifest(sid, image)
        manifest["backup"]["config_paths"] = []
        template = (
            TEMPLATE.replace("${IMAGE}", image)
            .replace("${CONTAINER}", manifest["container_name"])
            .replace("${SERVICE}", sid)
        )
        store = write_store(tmp_path / "store", [(manifest, template)])
        result = await install(StoreClient(bus), store, sid, config={"api_key": "k-123456789"})
        assert result.payload.status == "succeeded", result.payload.message
        container = f"cell-{sid}"
        docker(
            "exec", "-u", "0", container, "sh", "-c",
            "echo kept > /srv/files/mine && chown 1000:1000 /srv/files/mine",
        )  # fmt: skip
        live = json.loads(docker("inspect", container))[0]
        assert live["Config"]["User"] == "1000:1000"

        made = await backup(bus, sid)
        assert made.payload.ok, made.payload.message
        (backup_id,) = made.payload.backups
        described = json.loads((stack.data_dir / "backups" / backup_id / "backup.json").read_text())
        recorded = described["services"][0]["restrictions"][container]
        assert recorded["user"] == "1000:1000" and recorded["read_only"] is True

        with SandboxWatcher() as watcher:
            checked = await verify(bus, backup_id)
        assert checked.payload.ok, checked.payload.message
        assert len(watcher.seen) == 1, watcher.seen.keys()
        (sandbox,) = watcher.seen.values()
        host = sandbox["HostConfig"]
        assert sandbox["Config"]["User"] == "1000:1000"
        assert {"MKNOD", "NET_RAW", "SETFCAP"} <= caps(host["CapDrop"])
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["ReadonlyRootfs"] is True
        assert host["PidsLimit"] == 64
        assert host["Memory"] == live["HostConfig"]["Memory"] == 96 * 2**20
        # Its one network is the sandbox's own (internal: no route out), never the cell's.
        (network,) = sandbox["NetworkSettings"]["Networks"]
        assert host["NetworkMode"] == network and network.startswith("pic-verify-")
        assert docker("ps", "-aq", "--filter", f"label={SANDBOX_LABEL}") == ""
    finally:
        await bus.close()
