"""Publish a service folder: validate, build, push, sign, check, pin the manifest.

Nothing in manifest.json changes until the image is pushed, signed and its signature checked
under the signer's own public key; then only its `image` is rewritten (atomically) to the
pushed `repository@sha256:` digest.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.publish.context import build_context
from app.publish.rewrite import rewrite_image
from shared.cosign import PrivateKey, sign_bundle, sign_classic, verify_image
from shared.docker import DockerEngine
from shared.errors import PicStoreError
from shared.manifest import (
    DEFAULT_PIC_ROOT,
    MANIFEST_FILE,
    ManifestInvalidError,
    ValidationOptions,
    check_manifest,
    read_json_file,
)
from shared.oci import InvalidReferenceError, RegistryClient, parse_reference

DOCKERFILE = "Dockerfile"


class PublishError(PicStoreError):
    """The build, push, sign and pin pipeline of `pic-store publish` failed."""

    key = "publish_failed"


@dataclass(frozen=True)
class PublishRequest:
    service_dir: Path
    registry: str  # HOST[:PORT]/PATH: the image becomes HOST/PATH/<id>
    key: PrivateKey
    bundle: bool = False  # also sign in the cosign 3 bundle format
    insecure: bool = False  # the registry speaks plain HTTP
    tag: str | None = None  # default: the manifest's version
    pic_root: str = DEFAULT_PIC_ROOT


@dataclass(frozen=True)
class Published:
    image: str  # repository@sha256:..., now the manifest's image
    pushed: str  # repository:tag that was pushed
    digest: str
    key_id: str
    formats: tuple[str, ...]


def publish_target(registry: str, service_id: str, tag: str) -> tuple[str, str]:
    """(repository, tag) of a service's image in `registry` (HOST[:PORT]/PATH)."""
    registry = registry.strip().rstrip("/")
    host = registry.split("/", 1)[0]
    try:
        ref = parse_reference(f"{registry}/{service_id}:{tag}")
    except InvalidReferenceError as exc:
        raise PublishError(f"cannot publish to {registry}: {exc.message}") from exc
    if "/" not in registry or ref.repository.registry != host:
        raise PublishError(
            f"--registry must be HOST[:PORT]/PATH (e.g. 127.0.0.1:5000/roof), got {registry!r}"
        )
    return str(ref.repository), tag


def _checked_manifest(request: PublishRequest) -> tuple[str, str, str]:
    """(manifest text, repository, tag), once the manifest as it will be published is valid."""
    path = request.service_dir / MANIFEST_FILE
    data, issues = read_json_file(path)
    if issues or not isinstance(data, dict):
        raise ManifestInvalidError(issues) if issues else PublishError(f"{path}: not an object")
    service_id, version = data.get("id"), data.get("version")
    tag = request.tag or (version if isinstance(version, str) else "")
    publish_target(request.registry, "service", "latest")  # a bad --registry, said first
    candidate = dict(data)
    repository = ""
    if isinstance(service_id, str) and tag:
        try:
            repository, tag = publish_target(request.registry, service_id, tag)
            candidate["image"] = f"{repository}:{tag}"
        except PublishError:
            pass  # a bad id or tag: the manifest's own issues below say which
    options = ValidationOptions(
        allowed_registry=request.registry.rstrip("/") + "/", pic_root=request.pic_root
    )
    _, issues = check_manifest(candidate, options)
    if issues:
        raise ManifestInvalidError(issues)
    if not repository:
        raise PublishError(f"--tag {tag!r} is not a valid image tag")
    return path.read_text(encoding="utf-8"), repository, tag


async def sign_image(
    image: str, key: PrivateKey, *, bundle: bool = False, insecure: bool = False
) -> tuple[str, ...]:
    """Sign a pushed `repository@sha256:` image (classic; and bundle), then check that the
    signature verifies under the key's own public key. Returns the formats written."""
    ref = parse_reference(image)
    if ref.digest is None:
        raise PublishError(f"{image} has no @sha256 digest: only digests are signed")
    hosts = {ref.repository.registry, ref.repository.api_host} if insecure else set()
    async with RegistryClient(insecure_registries=hosts) as client:
        await sign_classic(client, ref, key)
        if bundle:
            await sign_bundle(client, ref, key)
        await verify_image(client, ref, [key.public])
    return ("classic", "bundle") if bundle else ("classic",)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def publish(request: PublishRequest, engine: DockerEngine | None = None) -> Published:
    """Build SERVICE_DIR/Dockerfile, push, sign, and pin manifest.json to the digest."""
    text, repository, tag = _checked_manifest(request)
    if not (request.service_dir / DOCKERFILE).is_file():
        raise PublishError(
            f"no {DOCKERFILE} in {request.service_dir}: publish builds the service's image from it"
        )
    try:
        context = build_context(request.service_dir)
    except (OSError, ValueError) as exc:
        raise PublishError(f"cannot read the build context: {exc}") from exc
    pushed = f"{repository}:{tag}"
    own = engine is None
    engine = engine or DockerEngine()
    try:
        await engine.build(context, pushed)
        digest = await engine.push(pushed)
    finally:
        if own:
            await engine.close()
    image = f"{repository}@{digest}"
    formats = await sign_image(image, request.key, bundle=request.bundle, insecure=request.insecure)
    new_text = rewrite_image(text, image)
    if json.loads(new_text).get("image") != image:  # never write a manifest we did not mean
        raise PublishError("the manifest's image could not be rewritten")
    _write_atomically(request.service_dir / MANIFEST_FILE, new_text)
    return Published(image, pushed, digest, request.key.public.key_id, formats)
