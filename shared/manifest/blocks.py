"""Cross-field rules of the optional blocks: backup, accounts with peer_config_template,
and egress."""

from __future__ import annotations

from collections.abc import Iterator

from shared.manifest import fields
from shared.manifest.const import (
    CREDENTIAL_KINDS,
    EGRESS_CHOICES,
    HTPASSWD_MANAGER,
    MANAGER_CREDENTIALS,
)
from shared.manifest.issues import Issue, json_path, show
from shared.manifest.placeholders import placeholder_problems
from shared.manifest.raw import Raw, no_repeats, valid


def backup(raw: Raw) -> Iterator[Issue]:
    block = raw.get("backup")
    if not isinstance(block, dict):
        return
    if not block.get("volumes") and not block.get("config_paths"):
        yield Issue(json_path("backup"), "has nothing to back up: list volumes or config_paths")
    yield from no_repeats(block.get("volumes"), "backup.volumes", "name", "backup name")
    hooks = [key for key in ("before", "after") if block.get(key) is not None]
    if block.get("stop") is True and hooks:
        yield Issue(
            json_path("backup", "stop"),
            f"stop and {' / '.join(hooks)} exclude each other: the commands run in the "
            "containers, which are stopped for the copy; use one or the other",
        )
    own = valid(raw.get("container_name"), fields.container_name)
    if own is not None:
        for key in hooks:
            hook = block.get(key)
            container = hook.get("container") if isinstance(hook, dict) else None
            if isinstance(container, str) and not _is_own_container(container, own):
                yield Issue(
                    json_path("backup", key, "container"),
                    f"container {show(container)} is not one of this service's containers: "
                    f"use {own} or {own}-<name> (a sidecar)",
                )
    entries = block.get("volumes")
    if own is None or not isinstance(entries, list):
        return
    for index, entry in enumerate(entries):
        container = entry.get("container") if isinstance(entry, dict) else None
        if isinstance(container, str) and not _is_own_container(container, own):
            yield Issue(
                json_path("backup", "volumes", index, "container"),
                f"container {show(container)} is not one of this service's containers: "
                f"use {own} or {own}-<name> (a sidecar)",
            )


def _is_own_container(container: str, own: str) -> bool:
    """The shapes backends may point at too (rules.backends_are_own): a sidecar such as a
    database needs no backend to have its volume backed up."""
    return container == own or container.startswith(own + "-")


def accounts(raw: Raw) -> Iterator[Issue]:
    block = raw.get("accounts")
    if isinstance(block, dict):
        yield from _account_place(raw, block)
    credentials = block.get("credentials") if isinstance(block, dict) else None
    if isinstance(credentials, list):
        if not credentials:
            yield Issue(json_path("accounts", "credentials"), "must list at least one credential")
        seen: set[object] = set()
        for index, kind in enumerate(credentials):
            if isinstance(kind, str) and kind in seen:
                yield Issue(
                    json_path("accounts", "credentials", index), f"{show(kind)} is listed twice"
                )
            seen.add(kind if isinstance(kind, str) else index)
        if isinstance(block, dict):
            yield from _carried(block, credentials)
    template = raw.get("peer_config_template")
    if not isinstance(template, dict):
        return
    service_id = valid(raw.get("id"), fields.service_id)
    known = (
        {c for c in credentials if isinstance(c, str)} if isinstance(credentials, list) else None
    )
    for key, value in template.items():
        if isinstance(value, str):
            reported = placeholder_problems(value, None, None)  # by the field rule already
            for problem in placeholder_problems(value, service_id, known):
                if problem not in reported:
                    yield Issue(json_path("peer_config_template", str(key)), problem)


def _carried(block: dict[str, object], credentials: list[object]) -> Iterator[Issue]:
    """Every listed kind must reach the account: a manager refuses the kinds it cannot
    carry (an htpasswd file holds password hashes, no token or SSH key)."""
    manager = block.get("manager")
    carried = MANAGER_CREDENTIALS.get(manager) if isinstance(manager, str) else None
    if carried is None:
        return  # an unknown manager: the field rule says so
    for index, kind in enumerate(credentials):
        if isinstance(kind, str) and kind in CREDENTIAL_KINDS and kind not in carried:
            yield Issue(
                json_path("accounts", "credentials", index),
                f"the {manager} account manager cannot carry a {show(kind)} credential "
                f"(it carries: {', '.join(sorted(carried))}): list only those, or use "
                'the "http" manager, which hands every kind to the service',
            )


def _account_place(raw: Raw, block: dict[str, object]) -> Iterator[Issue]:
    """Where the accounts live: the container (the service's own), the http port, the file."""
    own = valid(raw.get("container_name"), fields.container_name)
    container = block.get("container")
    if own is not None and isinstance(container, str) and not _is_own_container(container, own):
        yield Issue(
            json_path("accounts", "container"),
            f"container {show(container)} is not one of this service's containers: "
            f"use {own} or {own}-<name> (a sidecar)",
        )
    manager = block.get("manager")
    if manager == HTPASSWD_MANAGER and "file" not in block:
        yield Issue(
            json_path("accounts", "file"),
            "the htpasswd manager needs the file's path inside the container "
            '(e.g. "/data/htpasswd")',
        )


def egress(raw: Raw) -> Iterator[Issue]:
    block = raw.get("egress")
    if not isinstance(block, dict) or not isinstance(block.get("allowed"), list):
        return
    allowed = block["allowed"]
    if "default" not in allowed:
        yield Issue(json_path("egress", "allowed"), 'must include "default"')
    default = block.get("default")
    if isinstance(default, str) and default in EGRESS_CHOICES and default not in allowed:
        yield Issue(
            json_path("egress", "default"), f"{show(default)} must be one of the allowed choices"
        )
    yield from no_repeats(
        [{"v": v} for v in allowed], "egress.allowed", "v", "egress choice", item_path=True
    )
