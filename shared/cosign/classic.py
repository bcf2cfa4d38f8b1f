"""cosign's classic signature format (cosign 1 and 2; cosign 3 with --new-bundle-format=false).

For an image `repo@sha256:<hex>`, cosign stores an OCI image manifest under the tag
`sha256-<hex>.sig` in the same repository. Each layer is one signature:

* media type `application/vnd.dev.cosign.simplesigning.v1+json`, blob = the payload JSON
  `{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},
  "type":"cosign container image signature"},"optional":...}`;
* annotation `dev.cosignproject.cosign/signature`: base64 of the DER ECDSA P-256/SHA-256
  signature of the payload bytes;
* optional annotation `dev.sigstore.cosign/bundle`: a Rekor bundle (see `rekor`).

The config blob is the image config go-containerregistry writes for that layer list. The
payload's `docker-reference` is informative (images move between registries) and not
checked; `docker-manifest-digest` and `type` are.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from shared.cosign.errors import VerificationError
from shared.oci import OCI_MANIFEST, Descriptor, Manifest, Repository, parse_digest

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
SIGNATURE_TYPE = "cosign container image signature"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MAX_SIGNATURE_LAYERS = 64


def signature_tag(digest: str) -> str:
    """`sha256:abc…` → `sha256-abc….sig`, where cosign stores classic signatures."""
    return parse_digest(digest).replace(":", "-", 1) + ".sig"


def signature_layers(manifest: Manifest) -> list[Descriptor]:
    layers = [d for d in manifest.layers if d.media_type == SIMPLE_SIGNING]
    return layers[:MAX_SIGNATURE_LAYERS]


def decode_signature(layer: Descriptor) -> bytes:
    encoded = layer.annotations.get(SIGNATURE_ANNOTATION)
    if not encoded:
        raise VerificationError(f"signature layer has no {SIGNATURE_ANNOTATION} annotation")
    try:
        return base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise VerificationError("signature annotation is not valid base64") from exc


def signed_digest(payload: bytes) -> str:
    """The image digest a (verified) simple-signing payload names."""
    try:
        critical = json.loads(payload)["critical"]
        kind, digest = critical["type"], critical["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError("signed payload is not a cosign simple-signing payload") from exc
    if kind != SIGNATURE_TYPE:
        raise VerificationError(
            f"signed payload has type {str(kind)[:60]!r}, not {SIGNATURE_TYPE!r}"
        )
    if not isinstance(digest, str):
        raise VerificationError("signed payload has no docker-manifest-digest")
    return digest


def make_payload(repo: Repository, digest: str) -> bytes:
    """The payload cosign signs (Go field order, `optional` null without annotations)."""
    payload = {
        "critical": {
            "identity": {"docker-reference": str(repo)},
            "image": {"docker-manifest-digest": parse_digest(digest)},
            "type": SIGNATURE_TYPE,
        },
        "optional": None,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def signature_config(layer_digests: Sequence[str]) -> bytes:
    """The config go-containerregistry writes for cosign's signature image."""
    config = {
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"} for _ in layer_digests],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": list(layer_digests)},
        "config": {},
    }
    return json.dumps(config, separators=(",", ":")).encode()


def signature_manifest(config: Descriptor, layers: Sequence[dict[str, Any]]) -> bytes:
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.to_json(),
        "layers": list(layers),
    }
    return json.dumps(manifest, separators=(",", ":")).encode()
