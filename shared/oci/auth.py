"""Registry authentication: anonymous, HTTP basic, and the bearer-token dance.

A registry that wants auth answers 401 with `WWW-Authenticate`. For `Basic`, the client sends
the credentials. For `Bearer realm=...,service=...,scope=...`, it asks the token service at
`realm` for a token for that scope (with the credentials as basic auth, or anonymously), then
retries with `Authorization: Bearer <token>`. Tokens are cached per registry and scope.
Credentials never go over plain HTTP unless the registry was configured as insecure.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

_PARAM_RE = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')


@dataclass(frozen=True)
class Credentials:
    """A username and password (or token) for one registry; the password is never printed."""

    username: str
    password: str = field(repr=False)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    """One parsed `WWW-Authenticate` challenge: the scheme (lowercase) and its parameters."""

    scheme: str
    params: dict[str, str]

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


def parse_challenge(header: str | None) -> Challenge | None:
    """Parse `Bearer realm="...",service="...",scope="..."` (or `Basic realm=...`)."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    for name, raw in _PARAM_RE.findall(rest):
        value = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
        params[name.lower()] = value
    return Challenge(scheme.lower(), params)


def token_from_response(data: object) -> str | None:
    """The token of a token-service answer (`token`, or OAuth2's `access_token`)."""
    if not isinstance(data, dict):
        return None
    for key in ("token", "access_token"):
        value = data.get(key)
        if isinstance(value, str) and value and len(value) < 64 * 1024:
            return value
    return None


@dataclass
class TokenCache:
    """Bearer tokens by (registry, scope); a 401 on a cached token drops it."""

    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def get(self, registry: str, scope: str) -> str | None:
        return self._tokens.get((registry, scope))

    def put(self, registry: str, scope: str, token: str) -> None:
        self._tokens[(registry, scope)] = token

    def drop(self, registry: str, scope: str) -> None:
        self._tokens.pop((registry, scope), None)
