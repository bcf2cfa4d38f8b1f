"""Before any step: fetch, validate, decide install / upgrade / downgrade / no-op."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from services.installer import egress as egress_choice
from services.installer.context import Fetched, OpContext, Validated
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
    """The admin's settings do not fit the manifest's `config_schema`."""

    key = "config_invalid"


class DowngradeNeedsConfirmationError(OperationError):
    """An older version than the installed one, without `confirm_downgrade`."""

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


def _from_a_backup(ctx: OpContext, store: str) -> bool:
    """A restore installs from the store files a backup holds (the very version backed up),
    a folder under `<data dir>/backups/`: local, but written by pic-store itself."""
    backups = (ctx.deps.settings.data_dir / "backups").resolve()
    return Path(store).resolve().is_relative_to(backups)


async def fetch(ctx: OpContext, asked: str | None) -> Fetched:
    """The fetched phase: the service's manifest (parsed, its id the one asked for) and
    template from the store; the step requests carry that manifest from now on. The store
    asked is a name of the cell config's `stores`, a location, or none (the default store)."""
    store = ctx.cell.store_location(asked)
    allow_local = ctx.cell.allow_local_stores or _from_a_backup(ctx, store)
    found = await fetch_service(store, ctx.service_id, allow_local)
    data = found.manifest_data
    manifest = parse_manifest(data, options_for(ctx))
    if manifest.id != ctx.service_id:
        raise ManifestInvalidError(
            [
                Issue(
                    "$.id",
                    f"the store lists {ctx.service_id!r} but its manifest says id {manifest.id!r}",
                )
            ]
        )
    if not isinstance(data, dict):  # parse_manifest accepts only an object
        raise ManifestInvalidError([Issue("$", "the manifest is not a JSON object")])
    fetched = Fetched(store, manifest, data, found.template_text)
    ctx.take(fetched)
    return fetched


def validate(
    ctx: OpContext, fetched: Fetched, values: dict[str, ConfigValue], egress: str | None
) -> Validated:
    """The validated phase: the settings checked against the manifest's schema (defaults
    applied), and the egress choice against the manifest and the cell config."""
    typed, issues = validate_config_values(fetched.manifest.config_fields, values)
    if issues:
        raise ConfigInvalidError(
            "the settings are invalid: " + "; ".join(str(issue) for issue in issues)
        )
    egress_choice.choose(ctx, egress)
    return Validated(fetched, typed, ctx.egress)


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
