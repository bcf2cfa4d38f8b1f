"""Image references: `[registry/]repository[:tag][@sha256:hex]`, parsed as Docker does.

A reference without a registry names Docker Hub (`docker.io`, one-word repositories under
`library/`). The first path component is a registry when it has a dot or a port, or is
`localhost`. Only sha256 digests are accepted: they are what cosign signs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shared.oci.errors import InvalidReferenceError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_HOST_RE = re.compile(
    r"^(?:\[[0-9a-fA-F:]+\]|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]{1,5})?$"
)
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_NAME_LENGTH = 255


def parse_digest(text: str) -> str:
    """Return `text` if it is a `sha256:<64 lowercase hex>` digest, else raise."""
    if not DIGEST_RE.match(text):
        raise InvalidReferenceError(f"{text[:100]!r} is not a sha256 digest (sha256:<64 hex>)")
    return text


@dataclass(frozen=True)
class Repository:
    """A repository in a registry: `registry` is `host[:port]`, `name` its path."""

    registry: str
    name: str

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    def __str__(self) -> str:
        return f"{self.registry}/{self.name}"


@dataclass(frozen=True)
class ImageReference:
    repository: Repository
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What goes after `/manifests/`: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> ImageReference:
        return replace(self, digest=parse_digest(digest))

    def __str__(self) -> str:
        text = str(self.repository)
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _split_registry(remainder: str) -> tuple[str, str]:
    first, sep, rest = remainder.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        if not _HOST_RE.match(first):
            raise InvalidReferenceError(f"{first!r} is not a valid registry host")
        registry, name = first, rest
    else:
        registry, name = DOCKER_HUB, remainder
    if registry == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"
    return registry, name


def parse_reference(text: str) -> ImageReference:
    """Parse an image reference; raise InvalidReferenceError with the reason if it is not one."""
    if not text or len(text) > 1024 or text != text.strip():
        raise InvalidReferenceError(f"{text[:100]!r} is not an image reference")
    remainder, _, digest = text.partition("@")
    if digest:
        parse_digest(digest)
    tag: str | None = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidReferenceError(f"{tag!r} is not a valid tag in {text!r}")
    registry, name = _split_registry(remainder)
    if not _NAME_RE.match(name) or len(name) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(
            f"{name!r} is not a valid repository name (lowercase letters, digits, . _ - and /)"
        )
    return ImageReference(Repository(registry, name), tag, digest or None)


def referrers_tag(digest: str) -> str:
    """The OCI referrers tag schema fallback: `sha256:abc...` becomes `sha256-abc...`."""
    return parse_digest(digest).replace(":", "-", 1)
