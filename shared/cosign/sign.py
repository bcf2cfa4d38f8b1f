"""Sign an image digest and push the signature as cosign does, in either format.

`sign_classic` adds a layer to the `sha256-<hex>.sig` manifest (keeping the signatures
already there; nothing is pushed when this key already signed this digest), as
`cosign sign --key` (cosign 2, or cosign 3 with --new-bundle-format=false) does without a
transparency log upload. `sign_bundle` attaches a Sigstore bundle v0.3 referrer as cosign 3
does (see `bundle`). Neither uploads to Rekor: real cosign verifies these with
`--insecure-ignore-tlog`.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from shared.cosign import bundle, classic
from shared.cosign.errors import SigningError
from shared.cosign.keys import PrivateKey, PublicKey
from shared.oci import (
    OCI_EMPTY,
    OCI_MANIFEST,
    Descriptor,
    ImageReference,
    RegistryClient,
    RegistryNotFoundError,
    Repository,
    parse_reference,
    sha256_digest,
)


def _pinned(image: str | ImageReference) -> tuple[Repository, str]:
    ref = parse_reference(image) if isinstance(image, str) else image
    if ref.digest is None:
        raise SigningError(f"image reference {ref} has no @sha256 digest; sign digests only")
    return ref.repository, ref.digest


async def _existing_layers(
    client: RegistryClient, repo: Repository, tag: str
) -> list[dict[str, Any]]:
    try:
        manifest = await client.get_manifest(repo, tag, accept=(OCI_MANIFEST,))
    except RegistryNotFoundError:
        return []
    layers = manifest.data.get("layers")
    return (
        [layer for layer in layers if isinstance(layer, dict)] if isinstance(layers, list) else []
    )


async def sign_classic(
    client: RegistryClient, image: str | ImageReference, private_key: PrivateKey
) -> Descriptor:
    """Push a classic cosign signature of the image digest; return the .sig manifest."""
    repo, digest = _pinned(image)
    await client.head_manifest(repo, digest)
    payload = classic.make_payload(repo, digest)
    tag = classic.signature_tag(digest)
    layers = await _existing_layers(client, repo, tag)
    if _already_signed(layers, payload, private_key.public):
        return (await client.get_manifest(repo, tag, accept=(OCI_MANIFEST,))).descriptor
    signature = base64.b64encode(private_key.sign(payload)).decode("ascii")
    blob = await client.put_blob(repo, payload, classic.SIMPLE_SIGNING)
    layers.append(
        Descriptor(
            classic.SIMPLE_SIGNING,
            blob.digest,
            blob.size,
            {classic.SIGNATURE_ANNOTATION: signature},
        ).to_json()
    )
    config_blob = classic.signature_config([str(old.get("digest")) for old in layers])
    config = await client.put_blob(repo, config_blob, classic.OCI_CONFIG)
    manifest = classic.signature_manifest(config, layers)
    pushed, _ = await client.put_manifest(repo, tag, manifest, OCI_MANIFEST)
    return pushed


def _already_signed(layers: list[dict[str, Any]], payload: bytes, key: PublicKey) -> bool:
    """Like cosign's duplicate detector: this key already signed this very payload."""
    for layer in layers:
        encoded = (layer.get("annotations") or {}).get(classic.SIGNATURE_ANNOTATION)
        if layer.get("digest") != sha256_digest(payload) or not isinstance(encoded, str):
            continue
        try:
            if key.verify(base64.b64decode(encoded, validate=True), payload):
                return True
        except ValueError:
            continue
    return False


async def sign_bundle(
    client: RegistryClient, image: str | ImageReference, private_key: PrivateKey
) -> Descriptor:
    """Attach a cosign 3 bundle signature (referrer) to the image; return its manifest."""
    repo, digest = _pinned(image)
    subject = await client.head_manifest(repo, digest)
    statement = bundle.make_statement(digest)
    signature = private_key.sign(bundle.pae(bundle.INTOTO_PAYLOAD_TYPE, statement))
    bundle_blob = bundle.make_bundle(statement, signature, private_key.public)
    config = await client.put_blob(repo, b"{}", OCI_EMPTY)
    layer = await client.put_blob(repo, bundle_blob, bundle.BUNDLE_V03)
    title = layer.digest.replace(":", "-", 1) + ".sigstore.json"
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": bundle.BUNDLE_V03,
        "config": config.to_json(),
        "layers": [
            Descriptor(
                layer.media_type,
                layer.digest,
                layer.size,
                {"org.opencontainers.image.title": title},
            ).to_json()
        ],
        "subject": Descriptor(subject.media_type, subject.digest, subject.size).to_json(),
        "annotations": {
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": bundle.SIGN_PREDICATE,
            "org.opencontainers.image.created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    content = json.dumps(manifest, separators=(",", ":")).encode()
    return await client.push_referrer(repo, content, OCI_MANIFEST, subject)
