"""Rules that relate several fields. They read the raw data defensively (a value of the
wrong type is skipped: its field-level issue is already reported), so they run and report
even when other parts of the manifest are broken."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from shared.manifest import fields
from shared.manifest.blocks import accounts, backup, egress
from shared.manifest.config_schema import schema_issues
from shared.manifest.const import OPTIONAL_BLOCKS, REQUIRED_BLOCKS
from shared.manifest.issues import Issue, json_path, show
from shared.manifest.raw import Raw, backends, mount_key, no_repeats, valid
from shared.manifest.variables import Variable, parse_template, variable_problem


def cross_field_issues(raw: Raw) -> list[Issue]:
    issues: list[Issue] = []
    for rule in RULES:
        issues.extend(rule(raw))
    return issues


def capability_blocks(raw: Raw) -> Iterator[Issue]:
    """A true flag needs its blocks; a block without its flag is a mistake."""
    for flag in REQUIRED_BLOCKS.keys() | OPTIONAL_BLOCKS.keys():
        state = raw.get(flag, False)
        if not isinstance(state, bool):
            continue
        for block in REQUIRED_BLOCKS.get(flag, ()):
            if state and raw.get(block) is None:
                yield Issue(json_path(block), f"{flag} is true, so {block} is required")
            elif state and block == "config_schema" and raw.get(block) == []:
                yield Issue(
                    json_path(block),
                    "has_admin_config is true, so config_schema needs at least one field",
                )
        for block in (*REQUIRED_BLOCKS.get(flag, ()), *OPTIONAL_BLOCKS.get(flag, ())):
            if not state and raw.get(block) not in (None, []):
                yield Issue(
                    json_path(block),
                    f"{block} is given but {flag} is not true: "
                    f"set {flag} to true or remove {block}",
                )


def subdomains(raw: Raw) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    named = [(json_path("subdomain"), raw.get("subdomain"))]
    extras = raw.get("extra_subdomains")
    if isinstance(extras, list):
        named += [(json_path("extra_subdomains", i), value) for i, value in enumerate(extras)]
    for path, value in named:
        if isinstance(value, str):
            if value in seen:
                yield Issue(path, f"subdomain {show(value)} is used twice (also at {seen[value]})")
            seen.setdefault(value, path)
    backends = raw.get("extra_backends")
    if isinstance(extras, list) and isinstance(backends, list) and len(extras) != len(backends):
        yield Issue(
            json_path("extra_backends"),
            f"needs exactly one backend per extra subdomain: {len(extras)} extra_subdomains "
            f"but {len(backends)} extra_backends",
        )
    elif isinstance(extras, list) and extras and "extra_backends" not in raw:
        yield Issue(
            json_path("extra_backends"), "is required with extra_subdomains (one backend for each)"
        )


def hostnames(raw: Raw) -> Iterator[Issue]:
    """A hostname is not given twice, nor is it one of the service's own subdomains: a name
    either goes through Caddy (the cell's address) or points at the service's own IP."""
    subdomains: dict[str, str] = {}
    if isinstance(raw.get("subdomain"), str):
        subdomains[str(raw["subdomain"])] = json_path("subdomain")
    extras = raw.get("extra_subdomains")
    for index, value in enumerate(extras if isinstance(extras, list) else []):
        if isinstance(value, str):
            subdomains.setdefault(value, json_path("extra_subdomains", index))
    names = raw.get("hostnames")
    seen: dict[str, str] = {}
    for index, value in enumerate(names if isinstance(names, list) else []):
        if not isinstance(value, str):
            continue
        path = json_path("hostnames", index)
        if value in seen:
            yield Issue(path, f"hostname {show(value)} is listed twice (also at {seen[value]})")
        elif value in subdomains:
            yield Issue(
                path,
                f"hostname {show(value)} is also a subdomain of this service (at "
                f"{subdomains[value]}): a name either goes through Caddy (subdomain) or points "
                "at the service's own IP (hostname), not both",
            )
        seen.setdefault(value, path)


def backends_are_own(raw: Raw) -> Iterator[Issue]:
    """A subdomain may only route to this service's containers: its container_name, or one
    named `<container_name>-<suffix>` (a sidecar). Anything else could expose PIC itself."""
    own = valid(raw.get("container_name"), fields.container_name)
    if own is None:
        return
    for path, backend in backends(raw):
        container = backend.rpartition(":")[0]
        if container != own and not container.startswith(own + "-"):
            yield Issue(
                path,
                f"backend {show(backend)} must point at this service's own containers "
                f"({own} or {own}-<name>)",
            )


def rule_containers_are_own(raw: Raw) -> Iterator[Issue]:
    """An iptables rule naming a container opens a port of one of this service's sidecars
    (`<container_name>-<suffix>`) on the cell network; the main container is ${SERVICE_IP}."""
    own = valid(raw.get("container_name"), fields.container_name)
    rules = raw.get("iptables_rules")
    if own is None or not isinstance(rules, list):
        return
    for index, rule in enumerate(rules):
        dest = rule.get("dest_ip") if isinstance(rule, dict) else None
        if not isinstance(dest, str) or not dest.startswith("cell-"):
            continue
        if dest == own:
            yield Issue(
                json_path("iptables_rules", index, "dest_ip"),
                f"the main container {own} is ${{SERVICE_IP}}: write that instead",
            )
        elif not dest.startswith(own + "-") and fields.dest_ip(dest) is None:
            yield Issue(
                json_path("iptables_rules", index, "dest_ip"),
                f"{show(dest)} is not one of this service's containers ({own}-<name>)",
            )


def environment(raw: Raw) -> Iterator[Issue]:
    entries = raw.get("env")
    if not isinstance(entries, list):
        return
    keys = _config_keys(raw)
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        key, value = entry.get("key"), entry.get("value")
        if isinstance(key, str):
            if key in seen:
                yield Issue(
                    json_path("env", index, "key"),
                    f"{show(key)} is set twice (also at {json_path('env', seen[key])})",
                )
            seen.setdefault(key, index)
        if isinstance(value, str) and keys is not None:
            yield from _config_references(json_path("env", index, "value"), value, keys)


def volumes(raw: Raw) -> Iterator[Issue]:
    yield from no_repeats(raw.get("volumes"), "volumes", "name", "volume name")
    yield from no_repeats(raw.get("volumes"), "volumes", "mount", "mount path", same=mount_key)


def config_schema(raw: Raw) -> list[Issue]:
    return schema_issues(raw.get("config_schema"))


RULES: tuple[Callable[[Raw], Iterator[Issue] | list[Issue]], ...] = (
    capability_blocks,
    subdomains,
    hostnames,
    backends_are_own,
    rule_containers_are_own,
    environment,
    volumes,
    backup,
    accounts,
    egress,
    config_schema,
)


def _config_keys(raw: Raw) -> set[str] | None:
    """The config_schema keys, [] without a schema; None when the schema is too broken to tell."""
    schema = raw.get("config_schema")
    if schema is None:
        return set()
    if not isinstance(schema, list) or not all(
        isinstance(f, dict) and isinstance(f.get("key"), str) for f in schema
    ):
        return None
    return {str(f["key"]) for f in schema}


def _config_references(path: str, value: str, keys: set[str]) -> Iterator[Issue]:
    try:
        pieces = parse_template(value)
    except ValueError:
        return
    for piece in pieces:
        if (
            isinstance(piece, Variable)
            and piece.config_key is not None
            and variable_problem(piece.name, None) is None
        ):
            problem = variable_problem(piece.name, keys)
            if problem:
                yield Issue(path, problem)
