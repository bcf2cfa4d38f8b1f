"""Before any step: fetch, validate, decide install / upgrade / downgrade / no-op."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from services.installer.context import OpContext
from services.installer.project import Project
from services.installer.store import fetch_service
from shared.docker.compose import ComposeRejected, canonical_config
from shared.errors import OperationError
from shared.events.messages import ConfigValue, ServiceState
from shared.manifest import (
    Issue,
    ManifestInvalidError,
    ValidationOptions,
    parse_manifest,
    parse_version,
    validate_config_values,
)


class ConfigInvalidError(OperationError):
    key = "config_invalid"


class DowngradeNeedsConfirmationError(OperationError):
    key = "downgrade_needs_confirmation"


class Change(StrEnum):
    install = "install"
    upgrade = "upgrade"
    downgrade = "downgrade"
    reinstall = "reinstall"
    same = "same"


def options_for(ctx: OpContext) -> ValidationOptions:
    root = ctx.deps.settings.pic_root
    base = ValidationOptions(allowed_registry=ctx.cell.allowed_image_prefix)
    return ValidationOptions(
        allowed_registry=base.allowed_registry, pic_root=str(root) if root else base.pic_root
    )


def _from_a_backup(ctx: OpContext) -> bool:
    """A restore installs from the store files a backup holds (the very version backed up),
    a folder under `<data dir>/backups/`: local, but written by pic-store itself."""
    backups = (ctx.deps.settings.data_dir / "backups").resolve()
    return Path(ctx.store).resolve().is_relative_to(backups)


async def fetch_and_validate(ctx: OpContext) -> None:
    allow_local = ctx.cell.allow_local_stores or _from_a_backup(ctx)
    fetched = await fetch_service(ctx.store, ctx.service_id, allow_local)
    data = fetched.manifest_data
    ctx.parsed = parse_manifest(data, options_for(ctx))
    if ctx.manifest.id != ctx.service_id:
        raise ManifestInvalidError(
            [
                Issue(
                    "$.id",
                    f"the store lists {ctx.service_id!r} but "
                    f"its manifest says id {ctx.manifest.id!r}",
                )
            ]
        )
    assert isinstance(data, dict)  # parse_manifest accepted it
    ctx.manifest_data = data
    ctx.template_text = fetched.template_text
    ctx.image = ctx.manifest.image


def validate_config(ctx: OpContext, values: dict[str, ConfigValue]) -> None:
    typed, issues = validate_config_values(ctx.manifest.config_fields, values)
    if issues:
        raise ConfigInvalidError(
            "the settings are invalid: " + "; ".join(str(issue) for issue in issues)
        )
    ctx.config = typed


def decide(ctx: OpContext, confirm_downgrade: bool) -> Change:
    previous = ctx.previous
    if previous is None or previous.state in (ServiceState.removed,):
        return Change.install
    if previous.state != ServiceState.installed or previous.version is None:
        return Change.reinstall
    old, new = parse_version(previous.version), parse_version(ctx.manifest.version)
    if new == old:
        return Change.same
    if new > old:
        return Change.upgrade
    if not confirm_downgrade:
        raise DowngradeNeedsConfirmationError(
            f"{ctx.service_id} {previous.version} is installed; installing the older "
            f"{ctx.manifest.version} is a downgrade and must be confirmed"
        )
    return Change.downgrade


def load_previous_project(ctx: OpContext) -> None:
    """The canonical form of what runs now, from the compose file the last operation wrote."""
    if not ctx.compose_path.exists():
        return
    try:
        text = ctx.compose_path.read_text()
        canonical = canonical_config(
            text, ctx.service_id, str(ctx.deps.settings.own_dir(ctx.service_id))
        )
    except (OSError, ComposeRejected):
        return  # unreadable: every container counts as changed
    ctx.previous_project = Project(ctx.service_id, canonical)
