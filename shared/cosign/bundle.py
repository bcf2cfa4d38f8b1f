"""cosign 3's signature format: a Sigstore bundle v0.3 attached to the image as a referrer.

`cosign sign` (cosign 3, or 2.x with --new-bundle-format) pushes, in the image's repository:

* the empty config blob `{}` (media type `application/vnd.oci.empty.v1+json`);
* the bundle JSON as a blob of media type `application/vnd.dev.sigstore.bundle.v0.3+json`;
* an OCI image manifest with `artifactType` = that media type, `config` = the empty
  descriptor, one layer = the bundle, `subject` = the image's descriptor, and annotations
  `dev.sigstore.bundle.content: dsse-envelope`,
  `dev.sigstore.bundle.predicateType: https://sigstore.dev/cosign/sign/v1`,
  `org.opencontainers.image.created`;
* on registries without the referrers API, the index under tag `sha256-<hex>` is updated.

The bundle holds `dsseEnvelope` (payloadType `application/vnd.in-toto+json`) whose payload is
an in-toto Statement v1 with `subject[].digest.sha256` = the image digest and
`predicateType` = `https://sigstore.dev/cosign/sign/v1`; the envelope signature is over the
DSSE pre-authentication encoding (PAE) of type and payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.cosign.errors import VerificationError
from shared.cosign.keys import PublicKey
from shared.cosign.rekor import RekorEntry

BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_TYPES = (
    BUNDLE_V03,
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
)
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
MAX_ENVELOPE_SIGNATURES = 8


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what the envelope signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class DsseBundle:
    payload: bytes
    payload_type: str
    signatures: list[bytes]
    tlog_entries: list[RekorEntry]


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise VerificationError(f"bundle {what} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise VerificationError(f"bundle {what} is not valid base64") from exc


def _tlog_entry(item: Any) -> RekorEntry | None:
    """A Rekor v1 entry with an inclusion promise (SET); entries without one are skipped."""
    try:
        promise = item.get("inclusionPromise") or {}
        if "signedEntryTimestamp" not in promise:
            return None
        return RekorEntry(
            _b64(promise["signedEntryTimestamp"], "SET"),
            str(item["canonicalizedBody"]),
            int(item["integratedTime"]),
            int(item["logIndex"]),
            _b64(item["logId"]["keyId"], "log id").hex(),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise VerificationError("bundle has a malformed transparency log entry") from exc


def parse_bundle(data: bytes) -> DsseBundle:
    try:
        bundle = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise VerificationError("signature bundle is not valid JSON") from exc
    if not isinstance(bundle, dict) or bundle.get("mediaType") not in BUNDLE_MEDIA_TYPES:
        raise VerificationError("not a Sigstore bundle v0.3")
    envelope = bundle.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        raise VerificationError("bundle holds no DSSE envelope (cosign 3 signs images with one)")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise VerificationError("bundle DSSE envelope has no signatures")
    material = bundle.get("verificationMaterial") or {}
    entries = material.get("tlogEntries") or [] if isinstance(material, dict) else []
    return DsseBundle(
        _b64(envelope.get("payload"), "payload"),
        str(envelope.get("payloadType")),
        [
            _b64(s.get("sig") if isinstance(s, dict) else None, "signature")
            for s in signatures[:MAX_ENVELOPE_SIGNATURES]
        ],
        [e for e in (_tlog_entry(i) for i in entries[:MAX_ENVELOPE_SIGNATURES]) if e],
    )


def statement_digests(payload: bytes) -> list[str]:
    """The sha256 subject digests of a (verified) cosign sign statement."""
    try:
        statement = json.loads(payload)
        kind, predicate = statement["_type"], statement["predicateType"]
        subjects = statement["subject"]
        digests = [f"sha256:{s['digest']['sha256']}" for s in subjects if "sha256" in s["digest"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationError("signed statement is not an in-toto statement") from exc
    if kind != STATEMENT_V1 or predicate != SIGN_PREDICATE:
        raise VerificationError(
            f"signed statement is {str(predicate)[:80]!r}, not a cosign image signature "
            f"({SIGN_PREDICATE})"
        )
    return digests


def make_statement(digest: str) -> bytes:
    statement = {
        "_type": STATEMENT_V1,
        "subject": [{"digest": {"sha256": digest.removeprefix("sha256:")}}],
        "predicateType": SIGN_PREDICATE,
        "predicate": {},
    }
    return json.dumps(statement, separators=(",", ":")).encode()


def make_bundle(statement: bytes, signature: bytes, key: PublicKey) -> bytes:
    """A v0.3 bundle with a public-key hint and no transparency log entry."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    bundle = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": b64(hashlib.sha256(key.der).digest())}},
        "dsseEnvelope": {
            "payload": b64(statement),
            "payloadType": INTOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": b64(signature)}],
        },
    }
    return json.dumps(bundle, separators=(",", ":")).encode()
