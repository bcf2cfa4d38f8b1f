"""An async client for the OCI distribution API: manifests, blobs, tags, uploads.

    async with RegistryClient(insecure_registries={"127.0.0.1:5000"}) as client:
        manifest = await client.get_manifest(repo, "sha256:...")

HTTPS by default; plain HTTP only for registries named in `insecure_registries`. Content is
checked against what was asked for: digests are recomputed, sizes capped (`Limits`), content
types and JSON validated. Every failure is a `RegistryError` with an actionable message.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlencode, urlsplit

import httpx

from shared.oci.errors import (
    DigestMismatchError,
    RegistryContentError,
    RegistryProtocolError,
    RegistryTooLargeError,
)
from shared.oci.models import MANIFEST_MEDIA_TYPES, OCI_INDEX, Descriptor, Manifest, sha256_digest
from shared.oci.reference import DIGEST_RE, Repository, parse_digest
from shared.oci.referrers import attach_referrer, list_referrers
from shared.oci.session import RegistrySession

MAX_TAG_PAGES = 20


def _media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip().lower()


class RegistryClient(RegistrySession):
    async def get_manifest(
        self, repo: Repository, reference: str, accept: Collection[str] = MANIFEST_MEDIA_TYPES
    ) -> Manifest:
        """The manifest (or index) at a tag or digest, its digest checked."""
        what = (
            f"manifest {repo}@{reference}"
            if DIGEST_RE.match(reference)
            else f"manifest {repo}:{reference}"
        )
        headers = {"Accept": ", ".join(accept)}
        async with (
            self._t.operation(what),
            self._request(
                "GET", repo, f"/v2/{repo.name}/manifests/{reference}", what, headers=headers
            ) as response,
        ):
            if response.status_code != 200:
                raise await self._t.status_error(response, what)
            media_type = _media_type(response)
            if media_type not in accept:
                raise RegistryProtocolError(
                    f"{what}: served with content type {media_type[:80]!r}, expected one of "
                    + ", ".join(accept)
                )
            content = await self._t.read(response, self.limits.max_manifest_bytes, what)
            manifest = Manifest.parse(content, media_type, what)
            claimed = response.headers.get("docker-content-digest")
        if DIGEST_RE.match(reference) and manifest.digest != reference:
            raise DigestMismatchError(f"{what}: the registry sent content of {manifest.digest}")
        if claimed and claimed != manifest.digest:
            raise DigestMismatchError(
                f"{what}: the registry claims {claimed[:80]} but the content is {manifest.digest}"
            )
        return manifest

    async def head_manifest(self, repo: Repository, reference: str) -> Descriptor:
        """Resolve a tag (or check a digest) with HEAD; falls back to GET without a digest."""
        what = f"manifest {repo}:{reference}"
        async with (
            self._t.operation(what),
            self._request(
                "HEAD",
                repo,
                f"/v2/{repo.name}/manifests/{reference}",
                what,
                headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)},
            ) as response,
        ):
            if response.status_code != 200:
                raise await self._t.status_error(response, what)
            digest = response.headers.get("docker-content-digest", "")
            size = response.headers.get("content-length", "")
            media_type = _media_type(response)
        if (
            not DIGEST_RE.match(digest)
            or not size.isdigit()
            or media_type not in MANIFEST_MEDIA_TYPES
        ):
            return (await self.get_manifest(repo, reference)).descriptor
        if DIGEST_RE.match(reference) and digest != reference:
            raise DigestMismatchError(f"{what}: the registry answers for {digest}")
        return Descriptor(media_type, digest, int(size))

    async def get_blob(
        self, repo: Repository, descriptor: Descriptor, max_size: int | None = None
    ) -> bytes:
        """A blob, refused unread when its descriptor or the registry says it is too big."""
        cap = self.limits.max_blob_bytes if max_size is None else max_size
        what = f"blob {repo}@{descriptor.digest}"
        parse_digest(descriptor.digest)
        if descriptor.size > cap:
            raise RegistryTooLargeError(
                f"{what}: its descriptor says {descriptor.size} bytes, above the {cap} byte limit"
            )
        async with (
            self._t.operation(what),
            self._request(
                "GET", repo, f"/v2/{repo.name}/blobs/{descriptor.digest}", what
            ) as response,
        ):
            if response.status_code != 200:
                raise await self._t.status_error(response, what)
            data = await self._t.read(response, descriptor.size, what)
        if len(data) != descriptor.size:
            raise RegistryContentError(
                f"{what}: got {len(data)} bytes, the descriptor says {descriptor.size}"
            )
        if sha256_digest(data) != descriptor.digest:
            raise DigestMismatchError(f"{what}: content has digest {sha256_digest(data)}")
        return data

    async def blob_exists(self, repo: Repository, digest: str) -> bool:
        what = f"blob {repo}@{digest}"
        async with (
            self._t.operation(what),
            self._request(
                "HEAD", repo, f"/v2/{repo.name}/blobs/{parse_digest(digest)}", what, push=True
            ) as response,
        ):
            if response.status_code in (200, 404):
                return response.status_code == 200
            raise await self._t.status_error(response, what)

    async def put_blob(
        self, repo: Repository, data: bytes, media_type: str = "application/octet-stream"
    ) -> Descriptor:
        """Upload a blob monolithically (POST then PUT), skipped when already present."""
        descriptor = Descriptor(media_type, sha256_digest(data), len(data))
        if await self.blob_exists(repo, descriptor.digest):
            return descriptor
        what = f"upload of blob {descriptor.digest} to {repo}"
        async with self._t.operation(what):
            async with self._request(
                "POST", repo, f"/v2/{repo.name}/blobs/uploads/", what, push=True, content=b""
            ) as response:
                if response.status_code != 202:
                    raise await self._t.status_error(response, what)
                location = response.headers.get("location", "")
            url = self._upload_url(repo, location, descriptor.digest, what)
            async with self._request(
                "PUT",
                repo,
                url,
                what,
                push=True,
                content=data,
                headers={"Content-Type": "application/octet-stream"},
            ) as response:
                if response.status_code != 201:
                    raise await self._t.status_error(response, what)
        return descriptor

    def _upload_url(self, repo: Repository, location: str, digest: str, what: str) -> str:
        if not location:
            raise RegistryProtocolError(f"{what}: upload started without a Location")
        base = self._t.url(repo.api_host, "/")
        url = location if "://" in location else base.rstrip("/") + "/" + location.lstrip("/")
        if (
            urlsplit(url).netloc != urlsplit(base).netloc
            or urlsplit(url).scheme != urlsplit(base).scheme
        ):
            raise RegistryProtocolError(f"{what}: upload location points to another host")
        separator = "&" if urlsplit(url).query else "?"
        return f"{url}{separator}{urlencode({'digest': digest})}"

    async def put_manifest(
        self, repo: Repository, reference: str, content: bytes, media_type: str
    ) -> tuple[Descriptor, bool]:
        """Push a manifest under a tag or its digest; also says if the registry took `subject`
        (the `OCI-Subject` answer header of registries with the referrers API)."""
        descriptor = Descriptor(media_type, sha256_digest(content), len(content))
        if DIGEST_RE.match(reference) and reference != descriptor.digest:
            raise DigestMismatchError(f"manifest for {reference} has digest {descriptor.digest}")
        what = f"push of manifest {repo}:{reference}"
        async with (
            self._t.operation(what),
            self._request(
                "PUT",
                repo,
                f"/v2/{repo.name}/manifests/{reference}",
                what,
                push=True,
                content=content,
                headers={"Content-Type": media_type},
            ) as response,
        ):
            if response.status_code != 201:
                raise await self._t.status_error(response, what)
            claimed = response.headers.get("docker-content-digest")
            subject_taken = "oci-subject" in response.headers
        if claimed and claimed != descriptor.digest:
            raise DigestMismatchError(f"{what}: the registry stored it as {claimed[:80]}")
        return descriptor, subject_taken

    async def list_tags(self, repo: Repository) -> list[str]:
        """All tags of a repository, following `Link` pagination (bounded)."""
        what = f"tag list of {repo}"
        tags: list[str] = []
        path: str | None = f"/v2/{repo.name}/tags/list"
        async with self._t.operation(what):
            for _ in range(MAX_TAG_PAGES):
                if path is None:
                    break
                async with self._request("GET", repo, path, what) as response:
                    if response.status_code != 200:
                        raise await self._t.status_error(response, what)
                    data = await self._t.read_json(response, self.limits.max_index_bytes, what)
                    path = _next_page(response.headers.get("link"))
                page = data.get("tags") if isinstance(data, dict) else None
                if page is not None and not (
                    isinstance(page, list) and all(isinstance(t, str) for t in page)
                ):
                    raise RegistryContentError(f"{what}: `tags` is not a list of strings")
                tags += page or []
        return tags

    async def referrers(
        self, repo: Repository, digest: str, artifact_type: str | None = None
    ) -> list[Descriptor]:
        """Manifests whose `subject` is `digest`: the referrers API, else the tag fallback."""
        parse_digest(digest)
        what = f"referrers of {repo}@{digest}"
        path = f"/v2/{repo.name}/referrers/{digest}"
        if artifact_type:
            path += "?" + urlencode({"artifactType": artifact_type})
        index: Manifest | None = None
        async with (
            self.transport.operation(what),
            self._request("GET", repo, path, what, headers={"Accept": OCI_INDEX}) as response,
        ):
            if response.status_code == 200 and _media_type(response) == OCI_INDEX:
                body = await self.transport.read(response, self.limits.max_index_bytes, what)
                index = Manifest.parse(body, OCI_INDEX, what)
            elif response.status_code not in (200, 400, 404):
                raise await self.transport.status_error(response, what)
        return await list_referrers(self, repo, digest, index, artifact_type)

    async def push_referrer(
        self, repo: Repository, content: bytes, media_type: str, subject: Descriptor
    ) -> Descriptor:
        """Push a manifest that refers to `subject`, updating the fallback index if needed."""
        return await attach_referrer(self, repo, content, media_type, subject)


def _next_page(link: str | None) -> str | None:
    """The path of a `Link: </v2/...>; rel="next"` header, if it stays on this registry."""
    if not link or 'rel="next"' not in link:
        return None
    target = link.split(";")[0].strip().strip("<>")
    return target if target.startswith("/v2/") else None
