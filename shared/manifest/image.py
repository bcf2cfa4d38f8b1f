"""Image references: split `registry/path:tag@sha256:digest`, and the store's registry rule."""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
MAX_IMAGE_LENGTH = 512


@dataclass(frozen=True)
class ImageRef:
    """`repository` includes the registry host; at least one of tag and digest is set."""

    repository: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def split_image_ref(text: str) -> tuple[str, str | None, str | None]:
    """Split without judging: (repository, tag or None, digest or None)."""
    rest, _, digest = text.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return rest[:colon], rest[colon + 1 :], digest if "@" in text else None
    return rest, None, digest if "@" in text else None


def parse_image_ref(text: str, allowed_registry: str) -> ImageRef:
    """Parse and check an image against the store rules; ValueError says what is wrong."""
    if len(text) > MAX_IMAGE_LENGTH:
        raise ValueError(f"is longer than {MAX_IMAGE_LENGTH} characters")
    if text.count("@") > 1:
        raise ValueError("has more than one @digest")
    repository, tag, digest = split_image_ref(text)
    prefix = normalise_registry_prefix(allowed_registry)
    if not repository.startswith(prefix):
        raise ValueError(
            f"must be an image of the store registry {prefix}* (external registries are rejected)"
        )
    path = repository[len(prefix) :]
    if not path or not all(_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise ValueError(
            f"has an invalid repository name after {prefix}: use lowercase letters, digits "
            "and . _ - separated by /"
        )
    if tag is not None and not _TAG.fullmatch(tag):
        raise ValueError("has an invalid tag: use letters, digits, _ . - (at most 128)")
    if digest is not None and not _DIGEST.fullmatch(digest):
        raise ValueError("has an invalid digest: it must be sha256: and 64 lowercase hex digits")
    if tag is None and digest is None:
        raise ValueError("must name a tag (:1.0.0) or a digest (@sha256:...)")
    return ImageRef(repository, tag, digest)


def normalise_registry_prefix(prefix: str) -> str:
    """`git.pic.ngo/roof` and `git.pic.ngo/roof/` mean the same: the namespace, with a slash."""
    return prefix if prefix.endswith("/") else prefix + "/"
