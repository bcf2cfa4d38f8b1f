"""Render a store service's compose template into the per-service docker-compose.yml."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from shared.compose import keys
from shared.compose.attach import attach
from shared.compose.const import SERVICE_IP_FIRST, TEMPLATE_FILE
from shared.compose.context import RenderContext, RenderedRule, RenderResult
from shared.compose.hardening import capability_notes, drop_default_risks
from shared.compose.networks import template_issues as network_issues
from shared.compose.policy import Scope, canonical_issues, raw_issues
from shared.compose.template import escape_values, fill_in, load_template, read_template
from shared.compose.variables import Resolver, VariableProblem, as_text, substitute
from shared.docker.compose import ComposeRejected, canonical_config
from shared.errors import RenderError
from shared.manifest import (
    ConfigValue,
    Issue,
    Manifest,
    ValidationOptions,
    json_path,
    validate_config_values,
)

_SAMPLE = RenderContext(
    domain="example.org",
    cell_name="cell",
    data_dir="/srv/pic/data",
    service_ip=str(SERVICE_IP_FIRST),
)


def render_compose(template_text: str, manifest: Manifest, context: RenderContext) -> RenderResult:
    """The Compose file for one service; RenderError lists every problem (never a secret)."""
    resolver = _resolver(manifest, context, _checked_config(manifest, context))
    rendered, issues = _render(template_text, manifest, resolver, context)
    if rendered is None or issues:
        raise _error("the compose template cannot be rendered", issues, resolver)
    document, text, canonical = rendered
    return RenderResult(
        document,
        text,
        canonical,
        dict(resolver.secrets),
        tuple(resolver.new_secrets),
        dict(resolver.config),
    )


def check_template(
    template_text: str, manifest: Manifest, options: ValidationOptions = _SAMPLE.options
) -> list[Issue]:
    """Every problem of a template, rendered with sample cell values (for validate and review)."""
    context = RenderContext(
        _SAMPLE.domain, _SAMPLE.cell_name, _SAMPLE.data_dir, _SAMPLE.service_ip, options=options
    )
    resolver = _resolver(manifest, context, _sample_config(manifest))
    _, issues = _render(template_text, manifest, resolver, context)
    return [Issue(i.path, i.message, i.file or TEMPLATE_FILE) for i in issues]


def template_notes(
    template_text: str, manifest: Manifest, options: ValidationOptions = _SAMPLE.options
) -> list[Issue]:
    """What review shows without refusing: a service that keeps MKNOD or NET_RAW. Empty
    when the template has problems (check_template names them)."""
    context = RenderContext(
        _SAMPLE.domain, _SAMPLE.cell_name, _SAMPLE.data_dir, _SAMPLE.service_ip, options=options
    )
    resolver = _resolver(manifest, context, _sample_config(manifest))
    rendered, _ = _render(template_text, manifest, resolver, context)
    if rendered is None:
        return []
    return [Issue(i.path, i.message, TEMPLATE_FILE) for i in capability_notes(rendered[2])]


def check_template_file(
    path: Path, manifest: Manifest, options: ValidationOptions = _SAMPLE.options
) -> list[Issue]:
    """check_template for a file; an unreadable file is one issue."""
    try:
        text = read_template(path)
    except OSError as exc:
        return [Issue("$", f"cannot read the template: {exc.strerror or exc}", TEMPLATE_FILE)]
    return check_template(text, manifest, options)


def render_env(manifest: Manifest, context: RenderContext) -> dict[str, str]:
    """The manifest's env with variables filled in. Secrets must already be stored."""
    resolver = _resolver(manifest, context, _checked_config(manifest, context), generate=False)
    env, issues = _manifest_env(manifest, resolver)
    if issues:
        raise _error("the manifest env cannot be rendered", issues, resolver)
    return env


def render_iptables_rules(manifest: Manifest, context: RenderContext) -> list[RenderedRule]:
    """The manifest's iptables_rules with ${SERVICE_IP} filled in."""
    resolver = _resolver(manifest, context, {}, generate=False)
    rules, issues = [], []
    for index, rule in enumerate(manifest.iptables_rules):
        try:
            dest_ip = as_text(substitute(rule.dest_ip, resolver))
        except VariableProblem as exc:
            issues.append(
                Issue(json_path("iptables_rules", index, "dest_ip"), str(exc), "manifest.json")
            )
            continue
        rules.append(RenderedRule(rule.type, dest_ip, rule.dest_port, rule.proto))
    if issues:
        raise _error("the iptables rules cannot be rendered", issues, resolver)
    return rules


def _checked_config(manifest: Manifest, context: RenderContext) -> dict[str, ConfigValue]:
    context.check()
    typed, issues = validate_config_values(manifest.config_fields, context.config)
    if issues:
        raise RenderError("the admin config is not valid:\n" + "\n".join(str(i) for i in issues))
    return typed


def _sample_config(manifest: Manifest) -> dict[str, ConfigValue]:
    samples: dict[str, ConfigValue] = {}
    for field in manifest.config_fields:
        if field.default is not None:
            samples[field.key] = field.default
        elif field.type == "int":
            samples[field.key] = (
                field.min if field.min is not None else (field.max if field.max is not None else 0)
            )
        elif field.type == "bool":
            samples[field.key] = False
        else:
            samples[field.key] = (
                (field.options or ["sample"])[0] if field.type == "enum" else "sample"
            )
    return samples


def _resolver(
    manifest: Manifest,
    context: RenderContext,
    config: dict[str, ConfigValue],
    generate: bool = True,
) -> Resolver:
    return Resolver(
        manifest,
        domain=context.domain,
        cell_name=context.cell_name,
        data_dir=context.data_dir,
        service_ip=context.service_ip,
        config=config,
        stored=context.secrets,
        ca=context.ca,
        **({} if generate else {"generate": None}),
    )


Rendered = tuple[dict[str, Any], str, dict[str, Any]]


def _render(
    text: str, manifest: Manifest, resolver: Resolver, context: RenderContext
) -> tuple[Rendered | None, list[Issue]]:
    """(document, its YAML text, its canonical form) or every issue found.

    Variables are filled in on the parsed tree; keys that make Compose read the host are
    refused before Compose sees anything; then the canonical form Compose gives of the
    file is judged by the one policy.
    """
    tree, issues = load_template(text)
    if issues:
        return None, issues
    filled, issues = fill_in(tree, resolver)
    if filled is None and issues:
        return None, issues
    structure = _structure_issues(filled)
    if structure:
        return None, issues + structure
    assert isinstance(filled, dict)
    refused = raw_issues(filled, context.network)
    issues += refused + network_issues(filled, manifest, context.network)
    env, env_issues = _manifest_env(manifest, resolver)
    issues += env_issues
    if issues:
        # Every issue at once: without what was refused already, Compose and the policy
        # still judge the rest (a refused key never reaches Docker, even here).
        if len(issues) != len(refused) or not _drop_refused(filled, context.network):
            return None, issues
        _, more = _judge(filled, manifest, env, context)
        return None, issues + [i for i in more if i not in issues]
    return _judge(filled, manifest, env, context)


def _judge(
    filled: dict[str, Any], manifest: Manifest, env: dict[str, str], context: RenderContext
) -> tuple[Rendered | None, list[Issue]]:
    """Attach the cell's parts to a filled-in template and judge Compose's canonical form."""
    renamed = attach(filled, manifest, env, context.service_ip, context.network, context.pinned)
    drop_default_risks(filled)
    escaped = escape_values(filled)
    assert isinstance(escaped, dict)
    yaml_text = f"# Rendered by pic-store for {manifest.id} {manifest.version}. Do not edit.\n"
    # ASCII output: PyYAML writes some Unicode line breaks (U+0085, U+2028) raw when allowed,
    # and they would read back as line breaks, changing the value.
    yaml_text += yaml.safe_dump(
        escaped, sort_keys=False, default_flow_style=False, allow_unicode=False
    )
    own_dir = context.own_dir(manifest.id)
    try:
        canonical = canonical_config(yaml_text, manifest.id, own_dir)
    except ComposeRejected as exc:
        parts = exc.path.split(".") if exc.path else []
        if len(parts) > 1 and parts[0] == "services":  # at the template's own key
            parts[1] = renamed.get(parts[1], parts[1])
        where = json_path(*parts) if parts else "$"
        return None, [Issue(where, f"Docker Compose refuses the file: {exc.message}")]
    scope = Scope(
        manifest,
        own_dir,
        context.network,
        context.service_ip,
        context.options.allowed_registry,
    )
    issues = canonical_issues(canonical, scope, renamed)
    if issues:
        return None, issues
    return (escaped, yaml_text, canonical), []


def _drop_refused(document: dict[str, Any], network: str) -> bool:
    """Remove from a filled-in template what raw_issues refused; False when nothing was."""
    dropped = False
    for key in keys.REFUSED_TOP_LEVEL_KEYS:
        dropped |= document.pop(key, None) is not None
    for service in document["services"].values():
        for key in [k for k in service if k in keys.REFUSED_SERVICE_KEYS]:
            del service[key]
            dropped = True
        environment = service.get("environment")
        if isinstance(environment, dict) and None in environment.values():
            service["environment"] = {k: v for k, v in environment.items() if v is not None}
            dropped = True
        elif isinstance(environment, list):
            kept = [e for e in environment if not (isinstance(e, str) and "=" not in e)]
            dropped |= len(kept) != len(environment)
            service["environment"] = kept
    networks = document.get("networks")
    if isinstance(networks, dict):
        for name in [n for n in networks if n != network]:
            del networks[name]
            dropped = True
    return dropped


def _structure_issues(document: object) -> list[Issue]:
    if not isinstance(document, dict):
        return [Issue("$", "the template must be a YAML mapping with a services section")]
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        return [
            Issue(
                json_path("services"),
                "the template must have a services mapping with at least one service",
            )
        ]
    issues = []
    for name, service in services.items():
        if not isinstance(service, dict):
            issues.append(Issue(json_path("services", str(name)), "a service must be a mapping"))
        elif not isinstance(service.get("image"), str):
            issues.append(
                Issue(json_path("services", str(name), "image"), "every service needs an image")
            )
    for key in ("volumes", "networks", "secrets", "configs"):
        if document.get(key) is not None and not isinstance(document[key], dict):
            issues.append(Issue(json_path(key), f"{key} must be a mapping"))
    return issues


def _manifest_env(manifest: Manifest, resolver: Resolver) -> tuple[dict[str, str], list[Issue]]:
    env, issues = {}, []
    for index, entry in enumerate(manifest.env):
        try:
            env[entry.key] = as_text(substitute(entry.value, resolver))
        except VariableProblem as exc:
            issues.append(Issue(json_path("env", index, "value"), str(exc), "manifest.json"))
    return env, issues


def _error(title: str, issues: Sequence[Issue], resolver: Resolver) -> RenderError:
    message = title + ":\n" + "\n".join(str(issue) for issue in issues)
    for value in sorted(resolver.sensitive_values(), key=len, reverse=True):
        message = message.replace(value, "***")
    return RenderError(message)
