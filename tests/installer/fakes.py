"""Plain in-memory stand-ins for what the installer's `Deps` hold (the KV buckets, the bus,
the Docker engine, Docker Compose) and for the compose renderer, for the fast tier: the
installer's own code (the saga, the step table, its steps and compensations, the manager,
recovery) runs unchanged on them, with no NATS and no Docker.

A bucket stores what it is given as JSON and reads it back through the model, as the real one
does, so a value that would not survive the round trip does not survive here either."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from services.installer import steps_local
from services.installer.context import Deps, OpContext, Rendered, Validated
from services.installer.ipam import IpPool
from services.installer.manager import InstallerManager
from services.installer.project import LABEL_OWNER, LABEL_PROJECT, Project
from services.installer.settings import InstallerSettings
from services.installer.state import Buckets, IpLease, OperationRecord, Secrets
from shared.bus import Conflict, Lease
from shared.bus.kv import Record
from shared.config import CELL_CONFIG_RELATIVE
from shared.docker import ContainerInfo
from shared.errors import PartUnavailableError
from shared.events import Message
from shared.installed import ServiceRecord
from tests.parts.store import web_manifest, write_store

SERVICE = "notes"
IMAGE = "git.pic.ngo/roof/notes:1.0"
SECRET = "s3cr3t-generated-pw"  # what the fake renderer "generates"


class FakeBucket:
    """A KV bucket: compare-and-set revisions, a history per key, JSON through the model."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.revision = 0
        self.history: dict[str, list[tuple[int, bytes | None]]] = {}

    def _now(self, key: str) -> tuple[int, bytes | None] | None:
        entries = self.history.get(key)
        return entries[-1] if entries else None

    def _write(self, key: str, raw: bytes | None) -> int:
        self.revision += 1
        self.history.setdefault(key, []).append((self.revision, raw))
        return self.revision

    async def get(self, key: str, revision: int | None = None) -> Record[Any] | None:
        entries = self.history.get(key, [])
        if revision is not None:
            entries = [e for e in entries if e[0] == revision]
        if not entries or entries[-1][1] is None:
            return None
        rev, raw = entries[-1]
        assert raw is not None
        return Record(self.model.model_validate_json(raw), rev)

    async def create(self, key: str, value: BaseModel) -> int:
        now = self._now(key)
        if now is not None and now[1] is not None:
            raise Conflict(f"{key} exists already")
        return self._write(key, value.model_dump_json().encode())

    async def update(self, key: str, value: BaseModel, revision: int) -> int:
        now = self._now(key)
        if now is None or now[0] != revision:
            raise Conflict(f"{key} changed since revision {revision}")
        return self._write(key, value.model_dump_json().encode())

    async def put(self, key: str, value: BaseModel) -> int:
        return self._write(key, value.model_dump_json().encode())

    async def delete(self, key: str, revision: int | None = None) -> None:
        now = self._now(key)
        if revision is not None and (now is None or now[0] != revision):
            raise Conflict(f"{key} changed since revision {revision}")
        self._write(key, None)

    async def keys(self) -> list[str]:
        return list(await self.items())

    async def items(self) -> dict[str, Record[Any]]:
        out = {}
        for key in sorted(self.history):
            record = await self.get(key)
            if record is not None:
                out[key] = record
        return out

    def raw(self, key: str) -> dict[str, Any] | None:
        """What is stored now, as JSON (to break it on purpose)."""
        now = self._now(key)
        return json.loads(now[1]) if now and now[1] else None

    def put_raw(self, key: str, data: dict[str, Any]) -> None:
        self._write(key, json.dumps(data).encode())


class FakeBus:
    """Publishes into a list; its buckets (the participants' presence) are empty: no
    participant runs, so every participant step is skipped with a warning."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Message]] = []
        self.buckets: dict[str, FakeBucket] = {}

    async def publish(self, channel: Any, message: Message) -> None:
        self.published.append((str(channel), message))

    async def bucket(self, name: str, model: type[BaseModel], **_: Any) -> FakeBucket:
        return self.buckets.setdefault(name, FakeBucket(model))

    def of_type(self, kind: type[Message]) -> list[Any]:
        return [m for _, m in self.published if isinstance(m, kind)]


@dataclass
class FakeEngine:
    """Containers and volumes as Compose (FakeCompose) leaves them; images pulled."""

    containers: dict[str, ContainerInfo] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)  # volume -> project
    pulled: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    async def ping(self) -> None:
        return None

    async def free_disk_bytes(self) -> int | None:
        return None

    async def api_version(self) -> tuple[int, int]:
        return (1, 45)

    async def inspect(self, name: str) -> ContainerInfo | None:
        return self.containers.get(name)

    async def list_containers(self, label: str) -> list[ContainerInfo]:
        key, _, value = label.partition("=")
        return [
            c
            for c in self.containers.values()
            if key in c.labels and (not value or c.labels[key] == value)
        ]

    async def list_volumes(self, label: str) -> list[str]:
        project = label.partition("=")[2]
        return sorted(v for v, p in self.volumes.items() if p == project)

    async def remove_volume(self, name: str) -> None:
        self.volumes.pop(name, None)

    async def remove_container(self, name: str, stop_timeout: int = 10) -> None:
        self.containers.pop(name, None)

    async def ensure_network(self, name: str, *_: Any) -> None:
        self.networks.append(name)

    async def image_exists(self, image: str) -> bool:
        return image in self.pulled

    async def pull(self, image: str) -> None:
        self.pulled.append(image)


def canonical(service_id: str = SERVICE) -> dict[str, Any]:
    """What `docker compose config` would say of the test service's file."""
    return {
        "services": {"web": {"image": IMAGE, "container_name": f"cell-{service_id}"}},
        "volumes": {"data": {"name": f"{service_id}_data"}},
    }


class Cell:
    """One cell's worth of fakes, and the installer managers that run on them."""

    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "data"
        config = self.data_dir / CELL_CONFIG_RELATIVE
        config.parent.mkdir(parents=True)
        config.write_text(
            json.dumps({"allow_local_stores": True, "image_verification": {"mode": "off"}})
        )
        self.store = write_store(tmp_path / "store", [(web_manifest(SERVICE, IMAGE), "unused")])
        self.settings = InstallerSettings(data_dir=self.data_dir, health_timeout=5.0)
        self.bus = FakeBus()
        self.engine = FakeEngine()
        self.buckets = Buckets(
            services=FakeBucket(ServiceRecord),  # type: ignore[arg-type]
            operations=FakeBucket(OperationRecord),  # type: ignore[arg-type]
            locks=FakeBucket(Lease),  # type: ignore[arg-type]
            ipam=FakeBucket(IpLease),  # type: ignore[arg-type]
            secrets=FakeBucket(Secrets),  # type: ignore[arg-type]
        )
        self.pool = IpPool(self.buckets.ipam, "172.20.0.10", "172.20.0.20")
        self.compose_calls: list[str] = []
        self.compose_fails: dict[str, str] = {}  # "up" / "down" -> the error's message

    def deps(self, instance: str = "installer-a") -> Deps:
        return Deps(
            bus=self.bus,  # type: ignore[arg-type]
            buckets=self.buckets,
            engine=self.engine,  # type: ignore[arg-type]
            pool=self.pool,
            settings=self.settings,
            instance=instance,
            compose_project=self.compose,  # type: ignore[arg-type]
        )

    def manager(self, instance: str = "installer-a") -> InstallerManager:
        return InstallerManager(self.deps(instance))

    def compose(self, name: str, file: Path, project_dir: Path) -> FakeCompose:
        return FakeCompose(self, name, file)

    async def leases(self) -> dict[str, str]:
        return {ip: lease.service_id for ip, lease in (await self.pool.leases()).items()}

    async def secrets(self) -> Secrets | None:
        found = await self.buckets.secrets.get(SERVICE)
        return found.value if found else None

    @property
    def compose_file(self) -> Path:
        return self.settings.services_dir / SERVICE / "docker-compose.yml"


@dataclass
class FakeCompose:
    """`docker compose up` starts the test service's container (healthy) and makes its
    volume; `down` removes its containers. Either fails when the cell says so."""

    cell: Cell
    name: str
    file: Path

    async def up(self, remove_orphans: bool = False) -> None:
        self.cell.compose_calls.append(f"up {self.file.name}")
        if "up" in self.cell.compose_fails:
            raise PartUnavailableError(self.cell.compose_fails["up"])
        labels = {LABEL_PROJECT: self.name, LABEL_OWNER: self.name}
        self.cell.engine.containers[f"cell-{self.name}"] = ContainerInfo(
            id="c1",
            name=f"cell-{self.name}",
            image=IMAGE,
            labels=labels,
            running=True,
            status="running",
            health="healthy",
            ip_addresses={self.cell.settings.network: "172.20.0.10"},
        )
        self.cell.engine.volumes.setdefault(f"{self.name}_data", self.name)

    async def down(self) -> None:
        self.cell.compose_calls.append("down")
        if "down" in self.cell.compose_fails:
            raise PartUnavailableError(self.cell.compose_fails["down"])
        engine = self.cell.engine
        for name, info in list(engine.containers.items()):
            if info.labels.get(LABEL_PROJECT) == self.name:
                del engine.containers[name]


async def fake_render_file(
    op: OpContext, validated: Validated, ip: str, secrets: dict[str, str]
) -> Rendered:
    """The renderer without `docker compose config`: the canonical form is canned; a
    secret is "generated" once and reused, as the real renderer does."""
    made = {"db_password": secrets.get("db_password", SECRET)}
    op.hide(validated.secret_settings(), made)
    return Rendered(
        service_ip=ip,
        pinned=tuple(sorted(op.pinned.items())),
        secrets=made,
        compose_text=f"# rendered for {ip}\n# password {made['db_password']}\n",
        project=Project(op.service_id, canonical(op.service_id)),
    )


def fake_rendered(ip: str, project: Project, compose_text: str) -> Rendered:
    return Rendered(ip, (), {}, compose_text, project)


def use_fake_renderer(monkeypatch: Any) -> None:
    monkeypatch.setattr(steps_local, "render_file", fake_render_file)
