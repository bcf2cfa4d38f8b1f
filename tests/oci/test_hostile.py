"""A hostile registry must give a clean RegistryError, quickly, for every misbehaviour."""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import pytest

from shared.oci import (
    OCI_MANIFEST,
    Credentials,
    Descriptor,
    DigestMismatchError,
    RegistryAuthError,
    RegistryClient,
    RegistryContentError,
    RegistryError,
    RegistryProtocolError,
    RegistryTooLargeError,
    RegistryUnreachableError,
    Repository,
    sha256_digest,
)
from tests.oci.conftest import TIGHT
from tests.oci.hostile import HostileRegistry, Request

pytestmark = pytest.mark.integration

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 2,
            "digest": sha256_digest(b"{}"),
        },
        "layers": [],
    }
).encode()
BOUND = 5.0  # seconds: generous, the client's deadline in these tests is 3 s


async def expect(error: type[RegistryError], call, match: str | None = None) -> RegistryError:
    started = time.monotonic()
    with pytest.raises(error, match=match) as caught:
        await call
    assert time.monotonic() - started < BOUND
    return caught.value


def repo(hostile: HostileRegistry, name: str) -> Repository:
    return Repository(hostile.host, name)


def blob(size: int = 1000) -> Descriptor:
    return Descriptor("application/octet-stream", sha256_digest(b"y" * size), size)


async def test_huge_declared_blob_is_refused_unread(hostile, hostile_client):
    @hostile.route("/v2/huge/")
    async def _(request: Request) -> None:
        await request.send(
            200, {"Content-Type": "application/octet-stream"}, b"y" * 4096, length=10 * 1024**3
        )
        await asyncio.sleep(3600)

    await expect(
        RegistryTooLargeError,
        hostile_client.get_blob(repo(hostile, "huge"), blob()),
        "announces 10737418240 bytes",
    )


async def test_endless_blob_is_cut_at_its_descriptor_size(hostile, hostile_client):
    @hostile.route("/v2/endless/")
    async def _(request: Request) -> None:
        await request.stream_forever(200, {"Content-Type": "application/octet-stream"})

    await expect(
        RegistryTooLargeError,
        hostile_client.get_blob(repo(hostile, "endless"), blob(100_000)),
        "more than 100000 bytes",
    )


async def test_endless_manifest_is_cut_at_the_manifest_cap(hostile, hostile_client):
    @hostile.route("/v2/endless/")
    async def _(request: Request) -> None:
        await request.stream_forever(200, {"Content-Type": OCI_MANIFEST})

    await expect(
        RegistryTooLargeError,
        hostile_client.get_manifest(repo(hostile, "endless"), "latest"),
        f"more than {4 * 1024 * 1024} bytes",
    )


async def test_manifest_with_the_wrong_digest(hostile, hostile_client):
    @hostile.route("/v2/liar/")
    async def _(request: Request) -> None:
        await request.send(200, {"Content-Type": OCI_MANIFEST}, MANIFEST)

    asked = sha256_digest(b"something else")
    await expect(
        DigestMismatchError,
        hostile_client.get_manifest(repo(hostile, "liar"), asked),
        f"sent content of {sha256_digest(MANIFEST)}",
    )


async def test_tag_answer_whose_claimed_digest_differs(hostile, hostile_client):
    @hostile.route("/v2/liar/")
    async def _(request: Request) -> None:
        await request.send(
            200,
            {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": sha256_digest(b"x")},
            MANIFEST,
        )

    await expect(DigestMismatchError, hostile_client.get_manifest(repo(hostile, "liar"), "v1"))


async def test_blob_with_the_wrong_content(hostile, hostile_client):
    @hostile.route("/v2/liar/")
    async def _(request: Request) -> None:
        await request.send(200, {}, b"z" * 1000)

    await expect(DigestMismatchError, hostile_client.get_blob(repo(hostile, "liar"), blob()))


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"schemaVersion": 1}', b"\xff\xfe"])
async def test_malformed_manifest_json(hostile, hostile_client, body):
    @hostile.route("/v2/broken/")
    async def _(request: Request) -> None:
        await request.send(200, {"Content-Type": OCI_MANIFEST}, body)

    await expect(
        RegistryContentError, hostile_client.get_manifest(repo(hostile, "broken"), "latest")
    )


async def test_manifest_whose_media_type_contradicts_its_content_type(hostile, hostile_client):
    body = MANIFEST.replace(
        OCI_MANIFEST.encode(), b"application/vnd.docker.distribution.manifest.v2+json"
    )

    @hostile.route("/v2/broken/")
    async def _(request: Request) -> None:
        await request.send(200, {"Content-Type": OCI_MANIFEST}, body)

    await expect(
        RegistryContentError,
        hostile_client.get_manifest(repo(hostile, "broken"), "latest"),
        "mediaType says",
    )


@pytest.mark.parametrize("content_type", ["text/html", "application/json", None])
async def test_wrong_content_type(hostile, hostile_client, content_type):
    @hostile.route("/v2/html/")
    async def _(request: Request) -> None:
        await request.send(200, {"Content-Type": content_type}, b"<html>login</html>")

    await expect(
        RegistryProtocolError,
        hostile_client.get_manifest(repo(hostile, "html"), "latest"),
        "content type",
    )


@pytest.mark.parametrize("kind", ["self", "ping-pong", "endless"])
async def test_redirects_are_bounded(hostile, hostile_client, kind):
    @hostile.route("/v2/loop/")
    async def _(request: Request) -> None:
        if kind == "self":
            target = request.path
        elif kind == "ping-pong":
            target = request.path + "x" if not request.path.endswith("x") else request.path[:-1]
        else:
            target = f"{request.path}/{len(hostile.seen)}"
        await request.send(302, {"Location": target})

    message = "more than 5 redirects" if kind == "endless" else "redirect loop"
    await expect(
        RegistryProtocolError, hostile_client.get_manifest(repo(hostile, "loop"), "latest"), message
    )
    assert len(hostile.seen) <= 6


async def test_slow_drip_hits_the_deadline(hostile, hostile_client):
    @hostile.route("/v2/slow/")
    async def _(request: Request) -> None:
        await request.send(200, {"Content-Type": OCI_MANIFEST}, length=1000)
        for _ in range(1000):
            request.writer.write(b" ")
            await request.writer.drain()
            await asyncio.sleep(0.2)

    await expect(
        RegistryUnreachableError,
        hostile_client.get_manifest(repo(hostile, "slow"), "latest"),
        "3 s deadline",
    )


async def test_silent_registry_hits_the_read_timeout(hostile, hostile_client):
    @hostile.route("/v2/silent/")
    async def _(request: Request) -> None:
        await asyncio.sleep(3600)

    await expect(
        RegistryUnreachableError,
        hostile_client.get_manifest(repo(hostile, "silent"), "latest"),
        "stopped answering",
    )


async def test_server_error(hostile, hostile_client):
    @hostile.route("/v2/down/")
    async def _(request: Request) -> None:
        await request.send(503, {"Content-Type": "text/html"}, b"<html>oops</html>")

    await expect(
        RegistryUnreachableError,
        hostile_client.get_manifest(repo(hostile, "down"), "latest"),
        "HTTP 503",
    )


async def test_compressed_body_is_refused(hostile, hostile_client):
    @hostile.route("/v2/gz/")
    async def _(request: Request) -> None:
        await request.send(
            200, {"Content-Type": OCI_MANIFEST, "Content-Encoding": "gzip"}, gzip.compress(MANIFEST)
        )

    await expect(
        RegistryProtocolError,
        hostile_client.get_manifest(repo(hostile, "gz"), "latest"),
        "Content-Encoding",
    )


async def test_tags_that_are_not_a_list(hostile, hostile_client):
    @hostile.route("/v2/tags/")
    async def _(request: Request) -> None:
        await request.send(200, {"Content-Type": "application/json"}, b'{"tags": "v1"}')

    await expect(RegistryContentError, hostile_client.list_tags(repo(hostile, "tags")))


async def test_referrers_index_that_is_garbage(hostile, hostile_client):
    @hostile.route("/v2/refs/")
    async def _(request: Request) -> None:
        await request.send(
            200,
            {"Content-Type": "application/vnd.oci.image.index.v1+json"},
            b'{"schemaVersion": 2, "manifests": [{"digest": "md5:x"}]}',
        )

    await expect(
        RegistryContentError,
        hostile_client.referrers(repo(hostile, "refs"), sha256_digest(b"image")),
    )


async def test_upload_location_on_another_host(hostile, hostile_client):
    @hostile.route("/v2/upload/")
    async def _(request: Request) -> None:
        if request.method == "HEAD":
            await request.send(404)
        else:
            await request.send(202, {"Location": "http://attacker.invalid/upload"})

    await expect(
        RegistryProtocolError,
        hostile_client.put_blob(repo(hostile, "upload"), b"data"),
        "another host",
    )


async def test_401_without_a_challenge(hostile, hostile_client):
    @hostile.route("/v2/locked/")
    async def _(request: Request) -> None:
        await request.send(401)

    await expect(
        RegistryAuthError,
        hostile_client.get_manifest(repo(hostile, "locked"), "latest"),
        "no usable WWW-Authenticate",
    )


async def test_malformed_token_answer(hostile, hostile_client):
    @hostile.route("/v2/")
    async def _(request: Request) -> None:
        realm = f"http://{hostile.host}/token"
        await request.send(401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})

    @hostile.route("/token")
    async def _(request: Request) -> None:
        await request.send(200, {"Content-Type": "application/json"}, b'{"token": 42}')

    await expect(
        RegistryAuthError,
        hostile_client.get_manifest(repo(hostile, "x"), "latest"),
        "sent no token",
    )


async def test_credentials_never_follow_a_redirect_to_another_host(hostile):
    other = await HostileRegistry().start()
    try:

        @hostile.route("/v2/")
        async def _(request: Request) -> None:
            if "authorization" not in request.headers:
                await request.send(401, {"WWW-Authenticate": 'Basic realm="r"'})
            else:
                await request.send(307, {"Location": f"http://{other.host}/blob"})

        @other.route("/blob")
        async def _(request: Request) -> None:
            await request.send(200, {}, b"y" * 1000)

        secret = "s3cret-password"
        async with RegistryClient(
            insecure_registries={hostile.host},
            limits=TIGHT,
            credentials={hostile.host: Credentials("admin", secret)},
            trust_env=False,
        ) as client:
            assert await client.get_blob(repo(hostile, "private"), blob()) == b"y" * 1000
            with pytest.raises(RegistryError) as caught:
                await client.get_manifest(repo(hostile, "private"), "sha256:bad")
            assert secret not in str(caught.value)
        assert other.seen
        assert all("authorization" not in r.headers for r in other.seen)
    finally:
        await other.stop()
