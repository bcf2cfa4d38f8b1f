"""The admin commands of `pic-store` against a running installer, as a user types them."""

from __future__ import annotations

import asyncio

import pytest

from app.cli.main import main
from shared.bus.auth import new_seed
from tests.installer.helpers import containers_of, service_id
from tests.parts.image_set import ImageSet
from tests.parts.stack import Stack
from tests.parts.store import web_manifest, web_template, write_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_install_list_status_reconfigure_remove(
    stack: Stack, tmp_path, images: ImageSet, stack_factory, capsys
) -> None:
    sid = service_id()
    stack_factory.used_ids.append(sid)
    manifest = web_manifest(sid, images.web)
    store = write_store(tmp_path / "store", [(manifest, web_template(manifest))])
    bus = ["--nats", stack.nats_url, "--cell", stack.cell, "--nats-seed", str(stack.seed("admin"))]

    code, out, _ = await cli(capsys, "install", sid, "--store", str(store), *bus)
    assert code == 0, out
    assert "✓ containers done" in out and "✓ health done" in out
    assert f"install {sid}: succeeded" in out
    code, out, _ = await cli(capsys, "list", *bus)
    assert code == 0 and sid in out and "installed" in out
    code, out, _ = await cli(capsys, "status", sid, *bus)
    assert code == 0 and "172.20.0." in out

    code, _, err = await cli(capsys, "reconfigure", sid, "--set", "nosuch=1", *bus)
    assert code == 1 and "nosuch" in err
    code, out, _ = await cli(capsys, "reconfigure", sid, "--set", "greeting=hey", *bus)
    assert code == 0 and f"recreated: cell-{sid}" in out

    code, out, _ = await cli(capsys, "remove", sid, "--plan", *bus)
    assert code == 0 and '"containers"' in out and containers_of(sid) == [f"cell-{sid}"]
    code, out, _ = await cli(capsys, "remove", sid, *bus)
    assert code == 0 and containers_of(sid) == []
    code, _, err = await cli(capsys, "status", sid, *bus)
    assert code == 1 and "not installed" in err


async def test_a_cell_that_does_not_answer_is_named(capsys, tmp_path) -> None:
    seed = tmp_path / "admin.nk"
    seed.write_bytes(new_seed())
    code, _, err = await cli(
        capsys, "list", "--nats", "nats://127.0.0.1:1", "--cell", "x", "--nats-seed", str(seed)
    )
    assert code == 1
    assert "NATS at nats://127.0.0.1:1 refused or did not answer the connection" in err
    assert "Traceback" not in err


async def test_without_an_identity_the_cli_says_where_it_looked(capsys, tmp_path) -> None:
    code, _, err = await cli(capsys, "list", "--cell", "x", "--data-dir", str(tmp_path))
    assert code == 1
    assert f"no admin identity at {tmp_path}/secrets/nats/x/admin.nk" in err


async def test_a_wrong_identity_is_refused_by_the_server(stack: Stack, capsys, tmp_path) -> None:
    stranger = tmp_path / "stranger.nk"
    stranger.write_bytes(new_seed())
    code, _, err = await cli(
        capsys,
        "list",
        "--nats",
        stack.nats_url,
        "--cell",
        stack.cell,
        "--nats-seed",
        str(stranger),
    )
    assert code == 1 and "refused" in err and "Authorization" in err
