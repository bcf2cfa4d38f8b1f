"""Descriptors and manifests as the distribution API returns them, validated on the way in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.oci.errors import RegistryContentError
from shared.oci.reference import DIGEST_RE

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
MANIFEST_MEDIA_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _string_map(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RegistryContentError(f"{where}: annotations must be an object of strings")
    return dict(value)


@dataclass(frozen=True)
class Descriptor:
    """What points at content: its media type, sha256 digest and exact size in bytes."""

    media_type: str
    digest: str
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    artifact_type: str | None = None

    @classmethod
    def from_json(cls, value: object, where: str) -> Descriptor:
        if not isinstance(value, dict):
            raise RegistryContentError(f"{where}: a descriptor must be a JSON object")
        media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
        artifact_type = value.get("artifactType")
        if not isinstance(media_type, str) or not isinstance(digest, str):
            raise RegistryContentError(f"{where}: descriptor lacks mediaType or digest")
        if not DIGEST_RE.match(digest):
            raise RegistryContentError(f"{where}: {digest[:80]!r} is not a sha256 digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise RegistryContentError(f"{where}: descriptor size must be a non-negative integer")
        if artifact_type is not None and not isinstance(artifact_type, str):
            raise RegistryContentError(f"{where}: artifactType must be a string")
        annotations = _string_map(value.get("annotations"), where)
        return cls(media_type, digest, size, annotations, artifact_type)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.artifact_type:
            data["artifactType"] = self.artifact_type
        if self.annotations:
            data["annotations"] = dict(self.annotations)
        return data


@dataclass(frozen=True)
class Manifest:
    """A manifest or index exactly as served: its bytes, their digest, and the parsed JSON."""

    media_type: str
    digest: str
    content: bytes
    data: Mapping[str, Any]

    @classmethod
    def parse(cls, content: bytes, media_type: str, where: str) -> Manifest:
        try:
            data = json.loads(content)
        except (UnicodeDecodeError, ValueError) as exc:
            raise RegistryContentError(f"{where}: manifest is not valid JSON") from exc
        if not isinstance(data, dict) or data.get("schemaVersion") != 2:
            raise RegistryContentError(f"{where}: not a schemaVersion 2 manifest")
        declared = data.get("mediaType")
        if declared is not None and declared != media_type:
            raise RegistryContentError(
                f"{where}: served as {media_type} but its mediaType says {declared!r}"
            )
        return cls(media_type, sha256_digest(content), content, data)

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.content))

    @property
    def config(self) -> Descriptor | None:
        value = self.data.get("config")
        return None if value is None else Descriptor.from_json(value, f"{self.digest} config")

    @property
    def layers(self) -> list[Descriptor]:
        return self._descriptors("layers")

    @property
    def manifests(self) -> list[Descriptor]:
        return self._descriptors("manifests")

    @property
    def subject(self) -> Descriptor | None:
        value = self.data.get("subject")
        return None if value is None else Descriptor.from_json(value, f"{self.digest} subject")

    @property
    def annotations(self) -> dict[str, str]:
        return _string_map(self.data.get("annotations"), f"{self.digest} annotations")

    def _descriptors(self, key: str) -> list[Descriptor]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise RegistryContentError(f"{self.digest}: {key} must be a list")
        return [
            Descriptor.from_json(item, f"{self.digest} {key}[{i}]") for i, item in enumerate(value)
        ]
