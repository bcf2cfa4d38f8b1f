"""Answering a registry's 401: basic credentials, or a token from its bearer token service."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from shared.oci.auth import Challenge, token_from_response
from shared.oci.errors import RegistryAuthError
from shared.oci.transport import Transport, safe_url

MAX_TOKEN_RESPONSE = 256 * 1024


async def authorization_for(
    transport: Transport, host: str, scope: str, challenge: Challenge | None, what: str
) -> str:
    """The Authorization header value that answers `challenge`, or RegistryAuthError."""
    if challenge is None or challenge.scheme not in ("basic", "bearer"):
        raise RegistryAuthError(
            f"{what}: {host} requires authentication but sent no usable WWW-Authenticate header"
        )
    credentials = transport.credentials.get(host)
    if challenge.scheme == "basic":
        if credentials is None:
            raise RegistryAuthError(
                f"{what}: {host} requires a username and password; none is configured for it"
            )
        transport.basic_hosts.add(host)
        return credentials.basic_header()
    token = await _fetch_token(transport, host, scope, challenge, what)
    transport.tokens.put(host, scope, token)
    return f"Bearer {token}"


async def _fetch_token(
    transport: Transport, host: str, scope: str, challenge: Challenge, what: str
) -> str:
    realm = challenge.realm
    if not realm or urlsplit(realm).scheme not in ("http", "https"):
        raise RegistryAuthError(f"{what}: {host} sent a bearer challenge without a valid realm")
    if urlsplit(realm).scheme == "http" and host not in transport.insecure:
        raise RegistryAuthError(
            f"{what}: {host} points to a token service over plain HTTP ({safe_url(realm)}); "
            "refused, credentials and tokens must travel over HTTPS"
        )
    params: list[tuple[str, str]] = []
    if "service" in challenge.params:
        params.append(("service", challenge.params["service"]))
    scopes = [scope]
    offered = challenge.params.get("scope")
    if offered and offered != scope:
        scopes.append(offered)
    params += [("scope", s) for s in scopes]
    separator = "&" if urlsplit(realm).query else "?"
    url = f"{realm}{separator}{urlencode(params)}"
    headers = {"Accept": "application/json"}
    credentials = transport.credentials.get(host)
    if credentials is not None:
        headers["Authorization"] = credentials.basic_header()
    service = safe_url(realm)
    response = await transport.send("GET", url, headers, f"{what}: token service {service}")
    try:
        if response.status_code in (401, 403):
            raise RegistryAuthError(
                f"{what}: the token service {service} refused "
                + ("the configured credentials" if credentials else "anonymous access")
            )
        if response.status_code != 200:
            raise await transport.status_error(response, f"{what}: token service {service}")
        data = await transport.read_json(response, MAX_TOKEN_RESPONSE, f"{what}: token")
    finally:
        await response.aclose()
    token = token_from_response(data)
    if token is None:
        raise RegistryAuthError(f"{what}: the token service {service} sent no token")
    return token
