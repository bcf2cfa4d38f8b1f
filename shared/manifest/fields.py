"""Single-value rules: each returns why a value is refused (a sentence naming it), or None.

The pydantic models attach them to fields; rules.py handles what needs two fields or more.
"""

from __future__ import annotations

import ipaddress
import re

from shared.manifest import const
from shared.manifest.image import parse_image_ref
from shared.manifest.issues import show
from shared.manifest.paths import mount_problem, normalise_absolute, relative_path_problem
from shared.manifest.variables import SERVICE_IP, template_problems
from shared.manifest.version import parse_version

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_DNS_NAME_MAX = 253


def schema_version(value: int) -> str | None:
    if value != const.SCHEMA_VERSION:
        return f"must be {const.SCHEMA_VERSION} (this is manifest schema v3), got {show(value)}"
    return None


def kind(value: str) -> str | None:
    return None if value == const.KIND else f'must be "store", got {show(value)}'


def service_id(value: str) -> str | None:
    if not const.ID_RE.fullmatch(value):
        return (
            f"{show(value)} is not a valid id: use 1-31 lowercase letters, digits and dashes, "
            "starting with a letter or digit (it becomes a folder and a project name)"
        )
    return None


def short_text(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    if len(value) > const.MAX_NAME_LENGTH:
        return f"must be at most {const.MAX_NAME_LENGTH} characters"
    if _CONTROL.search(value):
        return "must be one line without control characters"
    return None


def description(value: str) -> str | None:
    if not value.strip():
        return "must not be empty"
    if len(value) > const.MAX_DESCRIPTION_LENGTH:
        return f"must be at most {const.MAX_DESCRIPTION_LENGTH} characters"
    if _CONTROL_BUT_NEWLINE.search(value):
        return "must not contain control characters"
    return None


def version(value: str) -> str | None:
    try:
        parse_version(value)
    except ValueError as exc:
        return f"{show(value)} {exc}"
    return None


def image(value: str, allowed_registry: str) -> str | None:
    try:
        parse_image_ref(value, allowed_registry)
    except ValueError as exc:
        return f"image {show(value)} {exc}"
    return None


def container_name(value: str) -> str | None:
    if not const.CONTAINER_NAME_RE.fullmatch(value):
        return (
            f"{show(value)} is not a valid container name: it must match "
            "^cell-[a-z0-9][a-z0-9-]{0,30}$ (for example cell-notes)"
        )
    return None


def subdomain(value: str) -> str | None:
    return _cell_label(value, "subdomain")


def hostname(value: str) -> str | None:
    """A `hostnames` item: `<label>.<cell domain>` points at the service's own IP."""
    return _cell_label(value, "hostname")


def _cell_label(value: str, what: str) -> str | None:
    if not const.DNS_LABEL_RE.fullmatch(value):
        return (
            f"{show(value)} is not a valid {what}: use one DNS label of lowercase letters, "
            "digits and dashes (1-63, not starting or ending with a dash)"
        )
    if value in const.RESERVED_SUBDOMAINS:
        reserved = ", ".join(sorted(const.RESERVED_SUBDOMAINS))
        return f"{show(value)} is a reserved {what} (reserved: {reserved})"
    return None


def dns_name_problem(value: str) -> str | None:
    if len(value) > _DNS_NAME_MAX or not all(
        const.DNS_LABEL_RE.fullmatch(label) for label in value.split(".")
    ):
        return "lowercase DNS labels of letters, digits and dashes"
    return None


def backend(value: str) -> str | None:
    container, sep, port = value.rpartition(":")
    if not sep or not container:
        return f"backend {show(value)} must be container:port, for example cell-notes:8080"
    if dns_name_problem(container):
        return (
            f"backend {show(value)} has an invalid container name: "
            "use lowercase letters, digits and dashes"
        )
    if not const.PORT_RE.fullmatch(port) or int(port) > 65535:
        return f"backend {show(value)} has an invalid port: use a number from 1 to 65535"
    return None


def volume_name(value: str) -> str | None:
    if not const.VOLUME_NAME_RE.fullmatch(value):
        return (
            f"{show(value)} is not a valid Docker volume name: use letters, digits and _ . -, "
            "starting with a letter or digit"
        )
    return None


def volume_mount(value: str, pic_root: str) -> str | None:
    problem = mount_problem(value, pic_root)
    return f"mount {show(value)} {problem}" if problem else None


def env_key(value: str) -> str | None:
    if not const.ENV_KEY_RE.fullmatch(value):
        return (
            f"{show(value)} is not a valid environment variable name: "
            "use letters, digits and _, not starting with a digit"
        )
    return None


def template_value(value: str) -> str | None:
    if len(value) > const.MAX_VALUE_LENGTH:
        return f"must be at most {const.MAX_VALUE_LENGTH} characters"
    problems = template_problems(value, config_keys=None)
    return "; ".join(problems) if problems else None


def rule_type(value: str) -> str | None:
    return None if value == "ACCEPT" else f"only ACCEPT rules are permitted, got {show(value)}"


def proto(value: str) -> str | None:
    return None if value in ("tcp", "udp") else f'must be "tcp" or "udp", got {show(value)}'


def port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else f"must be a port from 1 to 65535, got {show(value)}"


def dest_ip(value: str) -> str | None:
    if value == "${" + SERVICE_IP + "}" or const.RULE_CONTAINER_RE.fullmatch(value):
        return None  # a container name: its address on the cell network (rules.py: own)
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return (
            f"{show(value)} must be an IPv4 or IPv6 address, ${{SERVICE_IP}} (the main "
            "container), or the container_name of one of the service's sidecars"
        )
    return None


def backup_container(value: str) -> str | None:
    if dns_name_problem(value):
        return f"{show(value)} is not a valid container name"
    return None


def backup_path(value: str) -> str | None:
    if len(value) > 4096:
        return "must be at most 4096 characters"
    if not value.startswith("/") or not const.MOUNT_PATH_RE.fullmatch(value):
        return (
            f"{show(value)} must be an absolute path in the container "
            "(letters, digits and . _ @ + - /)"
        )
    if normalise_absolute(value) == "/":
        return "must not be the container's root /"
    return None


def backup_name(value: str) -> str | None:
    problem = relative_path_problem(value)
    if problem is None and not const.BACKUP_NAME_RE.fullmatch(value):
        problem = "must be a plain file name (letters, digits, _ . -), without /"
    return f"backup name {show(value)} {problem}" if problem else None


def backup_command_word(value: str) -> str | None:
    if not value or len(value) > 4096 or "\x00" in value:
        return "each word of a backup command must have 1 to 4096 characters, without NUL"
    return None


def config_path(value: str) -> str | None:
    problem = relative_path_problem(value)
    if problem is None and len(value) > 255:
        problem = "must be at most 255 characters"
    return f"config path {show(value)} {problem}" if problem else None


def manager(value: str) -> str | None:
    known = sorted({const.HTTP_MANAGER, *const.INTERNAL_MANAGERS})
    return (
        None
        if value in known
        else f"{show(value)} is not an account manager (known: {', '.join(known)})"
    )


def credential(value: str) -> str | None:
    known = sorted(const.CREDENTIAL_KINDS)
    return (
        None
        if value in known
        else f"{show(value)} is not a credential kind (known: {', '.join(known)})"
    )


def egress_choice(value: str) -> str | None:
    if value not in const.EGRESS_CHOICES:
        return f"{show(value)} is not an egress choice (known: {', '.join(const.EGRESS_CHOICES)})"
    return None


def must_be_false(value: bool) -> str | None:
    return "is reserved and must be false" if value else None
