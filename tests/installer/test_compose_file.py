"""The compose file step keeps what ran before until the operation ends, also across an
installer that died between moving it aside and journaling the step."""

from pathlib import Path

import pytest

from services.installer.context import Deploying, Deps, Fetched, OpContext, Validated
from services.installer.prepare import options_for
from services.installer.project import Project
from services.installer.settings import InstallerSettings
from services.installer.steps_local import forget_previous_compose, restore_compose, write_compose
from shared.config import CellConfig
from shared.events.messages import OperationKind
from shared.manifest import parse_manifest
from tests.installer.fakes import IMAGE, canonical, fake_rendered
from tests.parts.store import web_manifest

pytestmark = pytest.mark.unit


def context(tmp_path: Path, text: str) -> Deploying:
    """An install's context whose render holds `text` as its compose file."""
    settings = InstallerSettings(data_dir=tmp_path)
    deps = Deps(
        bus=None,
        buckets=None,
        engine=None,
        pool=None,  # type: ignore[arg-type]
        settings=settings,
        instance="test",
    )
    op = OpContext(
        deps=deps,
        operation_id="op",
        kind=OperationKind.install,
        service_id="notes",
        cell=CellConfig(),
    )
    data = web_manifest("notes", IMAGE)
    fetched = Fetched("", parse_manifest(data, options_for(op)), data, "unused")
    draft = fake_rendered("172.20.0.10", Project("notes", canonical("notes")), text)
    return Deploying.begin(op, Validated(fetched, {}, None), draft)


async def test_an_upgrade_rolled_back_puts_the_old_file_back(tmp_path: Path) -> None:
    ctx = context(tmp_path, "new\n")
    ctx.service_dir.mkdir(parents=True)
    ctx.compose_path.write_text("old\n")
    data = await write_compose(ctx)
    assert ctx.compose_path.read_text() == "new\n"
    assert ctx.previous_compose_path.read_text() == "old\n"
    await restore_compose(ctx, data)
    assert ctx.compose_path.read_text() == "old\n"
    assert not ctx.previous_compose_path.exists()


async def test_a_retry_after_a_dead_attempt_keeps_the_file_that_ran_before(tmp_path: Path) -> None:
    first = context(tmp_path, "attempt 1\n")
    first.service_dir.mkdir(parents=True)
    first.compose_path.write_text("old\n")
    await write_compose(first)  # ... and the installer dies before journaling the step
    retry = context(tmp_path, "attempt 2\n")
    data = await write_compose(retry)
    assert retry.previous_compose_path.read_text() == "old\n"
    await restore_compose(retry, data)
    assert retry.compose_path.read_text() == "old\n"


async def test_success_forgets_the_old_file_and_its_secrets(tmp_path: Path) -> None:
    ctx = context(tmp_path, "new\n")
    ctx.service_dir.mkdir(parents=True)
    ctx.compose_path.write_text("old SECRET\n")
    await write_compose(ctx)
    forget_previous_compose(ctx)
    assert not ctx.previous_compose_path.exists()
    assert (ctx.compose_path.stat().st_mode & 0o077) == 0
