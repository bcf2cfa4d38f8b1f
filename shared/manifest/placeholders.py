"""`peer_config_template` placeholders: `{domain}`, `{peer.username}`,
`{peer.service_credentials.<id>.<credential>}` and `{cell.ca_certificate}` (the cell's root,
PEM: what a client trusts for a service's `hostnames`); `{{` and `}}` are literal braces."""

from __future__ import annotations

import re
from collections.abc import Collection

from shared.manifest import const
from shared.manifest.issues import show

DOMAIN = "domain"
USERNAME = "peer.username"
CA_CERTIFICATE = "cell.ca_certificate"
CREDENTIAL_PREFIX = "peer.service_credentials."


def placeholder_names(text: str) -> list[str]:
    """The placeholders of a template string; ValueError on unbalanced braces."""
    names: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            i += 2
        elif char == "}":
            raise ValueError("has a } without an opening { (write }} for a literal brace)")
        elif char == "{":
            end = text.find("}", i + 1)
            if end < 0 or "{" in text[i + 1 : end]:
                raise ValueError("has a { without a closing } (write {{ for a literal brace)")
            names.append(text[i + 1 : end])
            i = end + 1
        else:
            i += 1
    return names


def placeholder_problems(
    text: str, service_id: str | None, credentials: Collection[str] | None
) -> list[str]:
    """Why the placeholders of one value are wrong. None arguments skip the checks needing them."""
    try:
        names = placeholder_names(text)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    for name in names:
        if name in (DOMAIN, USERNAME, CA_CERTIFICATE):
            continue
        if name.startswith(CREDENTIAL_PREFIX):
            problem = _credential_problem(name, service_id, credentials)
        else:
            problem = (
                f"has an unknown placeholder {{{show(name)[1:-1]}}}: use {{domain}}, "
                "{peer.username}, {peer.service_credentials.<id>.<credential>} or "
                "{cell.ca_certificate}"
            )
        if problem:
            problems.append(problem)
    return problems


def _credential_problem(
    name: str, service_id: str | None, credentials: Collection[str] | None
) -> str | None:
    parts = name[len(CREDENTIAL_PREFIX) :].split(".")
    shown = "{" + show(name)[1:-1] + "}"
    if len(parts) != 2:
        return f"has {shown}: write {{peer.service_credentials.<id>.<credential>}}"
    owner, credential = parts
    if service_id is not None and owner != service_id:
        return f"has {shown}: a service can only use its own credentials ({show(service_id)})"
    if credentials is not None and credential not in credentials:
        return f"has {shown}: {show(credential)} is not one of the credentials declared in accounts"
    return None


def peer_template_key(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", value):
        return f"{show(value)} is not a valid key: use letters, digits and _ . - (at most 64)"
    return None


def peer_template_value(value: str) -> str | None:
    if len(value) > const.MAX_VALUE_LENGTH:
        return f"must be at most {const.MAX_VALUE_LENGTH} characters"
    problems = placeholder_problems(value, service_id=None, credentials=None)
    return "; ".join(problems) if problems else None


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """`text` with each placeholder replaced by its value and `{{`, `}}` made single braces;
    KeyError names a placeholder `values` lacks, ValueError unbalanced braces."""
    out: list[str] = []
    i = 0
    placeholder_names(text)  # the same rules as validation: unbalanced braces fail here
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            out.append(char)
            i += 2
        elif char == "{":
            end = text.index("}", i + 1)
            out.append(values[text[i + 1 : end]])
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)
