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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from shared.oci.errors import RegistryContentError, RegistryNotFoundError
from shared.oci.models import OCI_INDEX, Descriptor, Manifest, sha256_digest
from shared.oci.reference import Repository, parse_digest, referrers_tag

if TYPE_CHECKING:
    from shared.oci.client import RegistryClient


async def list_referrers(client: RegistryClient, repo: Repository, digest: str,
                         artifact_type: str | None = None) -> list[Descriptor]:
    parse_digest(digest)
    what = f"referrers of {repo}@{digest}"
    path = f"/v2/{repo.name}/referrers/{digest}"
    if artifact_type:
        path += "?" + urlencode({"artifactType": artifact_type})
    index: Manifest | None = None
    async with client.transport.operation(what), client._request(
        "GET", repo, path, what, headers={"Accept": OCI_INDEX}
    ) as response:
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if response.status_code == 200 and media_type == OCI_INDEX:
            body = await client.transport.read(response, client.limits.max_index_bytes, what)
            index = Manifest.parse(body, OCI_INDEX, what)
        elif response.status_code not in (200, 400, 404):
            raise await client.transport.status_error(response, what)
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
    return Descriptor(descriptor.media_type, descriptor.digest, descriptor.size,
                      annotations, artifact_type)


async def attach_referrer(client: RegistryClient, repo: Repository, content: bytes,
                          media_type: str, subject: Descriptor) -> Descriptor:
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
    await client.put_manifest(repo, tag, json.dumps(index, separators=(",", ":")).encode(),
                              OCI_INDEX)
    return entry
