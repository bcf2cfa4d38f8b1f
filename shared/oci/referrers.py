"""OCI 1.1 referrers: the referrers API, and the referrers tag schema for registries without it.

Reading: `GET /v2/<name>/referrers/<digest>`; a 404 (or 400, or a non-index answer) means
the registry has no referrers API, and the index under the tag `sha256-<hex>` is read
instead. Writing: the manifest is pushed by digest; when the registry does not answer with
`OCI-Subject`, the client adds it to that fallback index (entries sorted by digest, as
go-containerregistry and cosign do). The fallback update is read-modify-write: two writers
racing on one image can drop an entry, as with every client of that schema.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from shared.oci.errors import RegistryContentError, RegistryNotFoundError
from shared.oci.models import OCI_INDEX, Descriptor, Manifest, sha256_digest
from shared.oci.reference import Repository, parse_digest, referrers_tag


class ManifestStore(Protocol):
    """What the tag fallback needs of a registry client (RegistryClient has it)."""

    async def get_manifest(
        self, repo: Repository, reference: str, accept: tuple[str, ...] = ...
    ) -> Manifest: ...

    async def put_manifest(
        self, repo: Repository, reference: str, content: bytes, media_type: str
    ) -> tuple[Descriptor, bool]: ...


async def list_referrers(
    client: ManifestStore,
    repo: Repository,
    digest: str,
    api_index: Manifest | None,
    artifact_type: str | None = None,
) -> list[Descriptor]:
    """`api_index`: what the referrers API answered (None when the registry has none); the
    tag fallback `sha256-<hex>` is read otherwise."""
    parse_digest(digest)
    index = api_index
    if index is None:
        try:
            index = await client.get_manifest(repo, referrers_tag(digest), accept=(OCI_INDEX,))
        except RegistryNotFoundError:
            return []
    found = index.manifests
    return [d for d in found if artifact_type is None or d.artifact_type == artifact_type]


def _entry_for(content: bytes, descriptor: Descriptor) -> Descriptor:
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise RegistryContentError("a referrer manifest must be JSON") from exc
    config = data.get("config") or {}
    artifact_type = data.get("artifactType") or config.get("mediaType")
    annotations = data.get("annotations") or {}
    return Descriptor(
        descriptor.media_type, descriptor.digest, descriptor.size, annotations, artifact_type
    )


async def attach_referrer(
    client: ManifestStore, repo: Repository, content: bytes, media_type: str, subject: Descriptor
) -> Descriptor:
    pushed, subject_taken = await client.put_manifest(
        repo, sha256_digest(content), content, media_type
    )
    entry = _entry_for(content, pushed)
    if subject_taken:
        return entry
    tag = referrers_tag(subject.digest)
    try:
        existing = await client.get_manifest(repo, tag, accept=(OCI_INDEX,))
        entries: list[Any] = list(existing.data.get("manifests") or [])
        known = {d.digest for d in existing.manifests}
    except RegistryNotFoundError:
        entries, known = [], set()
    if entry.digest in known:
        return entry
    entries.append(entry.to_json())
    entries.sort(key=lambda item: str(item.get("digest", "")))
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    await client.put_manifest(
        repo, tag, json.dumps(index, separators=(",", ":")).encode(), OCI_INDEX
    )
    return entry
