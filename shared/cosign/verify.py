"""Verify that an image digest is signed by a trusted key, in either cosign format.

`verify_image` looks for classic signatures (tag `sha256-<hex>.sig`) and for cosign 3
bundles (referrers of the digest), and succeeds on the first signature that verifies under
one of the trusted keys and names the image digest. With a Rekor key configured, that
signature must also carry a Rekor entry whose SET verifies and which logs this very
signature; without one, the check is offline (cosign's `--insecure-ignore-tlog`).
An unreachable registry or refused credentials propagate as `RegistryError` ("could not
look" is not "not signed"); an unreadable signature among others is skipped and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shared.cosign import bundle, classic
from shared.cosign.errors import VerificationError
from shared.cosign.keys import PublicKey
from shared.cosign.rekor import RekorEntry, verify_entry
from shared.oci import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    Descriptor,
    ImageReference,
    RegistryClient,
    RegistryContentError,
    RegistryNotFoundError,
    RegistryProtocolError,
    RegistryTooLargeError,
    Repository,
    parse_reference,
)

MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
MAX_BUNDLES = 32
NO_KEY = "signature does not verify under any trusted key"
# One broken signature among others is skipped (and reported); an unreachable registry or
# refused credentials abort the whole check.
_UNREADABLE = (
    RegistryNotFoundError,
    RegistryContentError,
    RegistryTooLargeError,
    RegistryProtocolError,
)


@dataclass(frozen=True)
class VerifiedSignature:
    digest: str
    key_id: str
    format: Literal["classic", "bundle"]
    rekor_verified: bool
    integrated_time: int | None = None


def _matching_key(keys: Sequence[PublicKey], signature: bytes, data: bytes) -> PublicKey:
    for key in keys:
        if key.verify(signature, data):
            return key
    raise VerificationError(NO_KEY)


def _check_tlog(
    entries: Sequence[RekorEntry],
    rekor_key: PublicKey | None,
    signature: bytes,
    payload: bytes,
    key: PublicKey,
) -> RekorEntry | None:
    if rekor_key is None:
        return None
    if not entries:
        raise VerificationError(
            "signature has no Rekor transparency-log entry, and a Rekor key is configured"
        )
    errors: list[VerificationError] = []
    for entry in entries:
        try:
            verify_entry(entry, rekor_key, signature, payload, key)
            return entry
        except VerificationError as exc:
            errors.append(exc)
    raise errors[0]


def _require_digest(signed: Sequence[str], digest: str, what: str) -> None:
    if digest not in signed:
        names = ", ".join(signed) or "no digest"
        raise VerificationError(f"{what} names digest {names}, not {digest}")


async def _classic(
    client: RegistryClient,
    repo: Repository,
    layer: Descriptor,
    digest: str,
    keys: Sequence[PublicKey],
    rekor_key: PublicKey | None,
) -> VerifiedSignature:
    signature = classic.decode_signature(layer)
    payload = await client.get_blob(repo, layer, max_size=MAX_PAYLOAD_BYTES)
    key = _matching_key(keys, signature, payload)
    _require_digest([classic.signed_digest(payload)], digest, "signed payload")
    annotation = layer.annotations.get(classic.BUNDLE_ANNOTATION)
    entries = [RekorEntry.from_annotation(annotation)] if annotation and rekor_key else []
    entry = _check_tlog(entries, rekor_key, signature, payload, key)
    return VerifiedSignature(
        digest, key.key_id, "classic", entry is not None, entry.integrated_time if entry else None
    )


async def _bundle(
    client: RegistryClient,
    repo: Repository,
    referrer: Descriptor,
    digest: str,
    keys: Sequence[PublicKey],
    rekor_key: PublicKey | None,
) -> VerifiedSignature:
    manifest = await client.get_manifest(repo, referrer.digest, accept=(OCI_MANIFEST,))
    subject = manifest.subject
    if subject is not None and subject.digest != digest:
        raise VerificationError(f"bundle manifest refers to {subject.digest}, not {digest}")
    layers = [d for d in manifest.layers if d.media_type in bundle.BUNDLE_MEDIA_TYPES]
    if not layers:
        raise VerificationError("bundle manifest has no Sigstore bundle layer")
    parsed = bundle.parse_bundle(await client.get_blob(repo, layers[0], max_size=MAX_PAYLOAD_BYTES))
    if parsed.payload_type != bundle.INTOTO_PAYLOAD_TYPE:
        raise VerificationError(f"bundle payload type is {parsed.payload_type[:60]!r}")
    signed = bundle.pae(parsed.payload_type, parsed.payload)
    for signature in parsed.signatures:
        try:
            key = _matching_key(keys, signature, signed)
        except VerificationError:
            continue
        _require_digest(bundle.statement_digests(parsed.payload), digest, "signed statement")
        entry = _check_tlog(parsed.tlog_entries, rekor_key, signature, parsed.payload, key)
        return VerifiedSignature(
            digest,
            key.key_id,
            "bundle",
            entry is not None,
            entry.integrated_time if entry else None,
        )
    raise VerificationError(NO_KEY)


async def _classic_layers(
    client: RegistryClient, repo: Repository, digest: str
) -> list[Descriptor]:
    try:
        manifest = await client.get_manifest(
            repo, classic.signature_tag(digest), accept=(OCI_MANIFEST, DOCKER_MANIFEST)
        )
    except RegistryNotFoundError:
        return []
    return classic.signature_layers(manifest)


async def verify_image(
    client: RegistryClient,
    image: str | ImageReference,
    public_keys: Sequence[PublicKey],
    rekor_key: PublicKey | None = None,
) -> VerifiedSignature:
    """Return which trusted key signed `image` (which must carry @sha256), or raise
    VerificationError whose `reason` says why not."""
    ref = parse_reference(image) if isinstance(image, str) else image
    if ref.digest is None:
        raise VerificationError(f"image reference {ref} has no @sha256 digest; pin it by digest")
    if not public_keys:
        raise VerificationError("no trusted public key is configured", ref.digest)
    digest, repo = ref.digest, ref.repository
    reasons: list[str] = []
    for layer in await _classic_layers(client, repo, digest):
        try:
            return await _classic(client, repo, layer, digest, public_keys, rekor_key)
        except VerificationError as exc:
            reasons.append(exc.reason)
        except _UNREADABLE as exc:
            reasons.append(f"a signature could not be read ({exc.message})")
    bundles = [
        d
        for d in await client.referrers(repo, digest)
        if d.artifact_type in bundle.BUNDLE_MEDIA_TYPES
    ][:MAX_BUNDLES]
    for referrer in bundles:
        try:
            return await _bundle(client, repo, referrer, digest, public_keys, rekor_key)
        except VerificationError as exc:
            reasons.append(exc.reason)
        except _UNREADABLE as exc:
            reasons.append(f"a signature bundle could not be read ({exc.message})")
    if not reasons:
        raise VerificationError(f"no signature found for {digest}", digest)
    raise VerificationError("; ".join(dict.fromkeys(reasons)), digest)
