"""Pre-flight: a label of the cell domain is one installed service's, subdomain or hostname
(`hostnames`: a name at the service's own IP). A second service claiming it, either way, is
refused up front, naming the first. On the in-memory fakes (tests/installer/fakes.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.installer.context import OpContext
from services.installer.preflight import early_problems
from shared.config import CellConfig
from shared.events.messages import OperationKind, ServiceState
from shared.installed import ServiceRecord
from tests.installer.fakes import Cell

pytestmark = pytest.mark.unit


def claims(**fields: Any) -> dict[str, Any]:
    return {"container_name": "cell-x", "has_subdomain": False, **fields}


@pytest.fixture
async def cell(tmp_path: Path) -> Cell:
    cell = Cell(tmp_path)
    mail = claims(hostnames=["mail", "imap"])
    web = claims(has_subdomain=True, subdomain="web", backend="cell-web:80")
    for sid, manifest, state in [
        ("email", mail, ServiceState.installed),
        ("web", web, ServiceState.installed),
        ("gone", claims(hostnames=["old"]), ServiceState.removed),
    ]:
        record = ServiceRecord(service_id=sid, state=state, manifest=manifest)
        await cell.buckets.services.put(sid, record)
    return cell


async def problems(cell: Cell, service_id: str, manifest: dict[str, Any]) -> list[str]:
    ctx = OpContext(
        deps=cell.deps(),
        operation_id="op-1",
        kind=OperationKind.install,
        service_id=service_id,
        cell=CellConfig(),
        manifest_data=manifest,
    )
    return await early_problems(ctx)


async def test_a_hostname_of_another_service_is_refused_naming_it(cell: Cell) -> None:
    found = await problems(cell, "other", claims(hostnames=["ssh", "mail"]))
    assert found == ["hostname 'mail' is already used by the installed service email"]


async def test_a_subdomain_that_is_another_services_hostname_is_refused(cell: Cell) -> None:
    other = claims(has_subdomain=True, subdomain="imap", backend="cell-other:80")
    assert await problems(cell, "other", other) == [
        "subdomain 'imap' is already used by the installed service email (as its hostname)"
    ]


async def test_a_hostname_that_is_another_services_subdomain_is_refused(cell: Cell) -> None:
    assert await problems(cell, "other", claims(hostnames=["web"])) == [
        "hostname 'web' is already used by the installed service web (as its subdomain)"
    ]


async def test_free_names_own_names_and_removed_services_pass(cell: Cell) -> None:
    assert await problems(cell, "other", claims(hostnames=["ssh", "old"])) == []
    assert await problems(cell, "email", claims(hostnames=["mail", "imap"])) == []
