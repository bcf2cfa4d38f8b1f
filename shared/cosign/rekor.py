"""Rekor transparency-log evidence: the Signed Entry Timestamp (SET) and the entry body.

cosign's classic signatures may carry `dev.sigstore.cosign/bundle`:

    {"SignedEntryTimestamp": "<b64 ECDSA sig>",
     "Payload": {"body": "<b64 entry>", "integratedTime": 1674251859,
                 "logIndex": 11608800, "logID": "<hex sha256 of the log's key>"}}

The SET is Rekor's ECDSA signature (SHA-256) over the RFC 8785 canonical JSON of `Payload`
(keys sorted, no spaces: `{"body":...,"integratedTime":...,"logID":...,"logIndex":...}`),
as cosign's VerifySET computes it. The log id must be the configured key's id. The body
(kinds `hashedrekord`/`rekord` 0.0.1, or `dsse` 0.0.1 for bundles) must name the same
signature, payload hash and public key as the signature being verified; otherwise a SET for
some other entry could be replayed next to it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.cosign.errors import KeyFormatError, VerificationError
from shared.cosign.keys import PublicKey, load_public_key


@dataclass(frozen=True)
class RekorEntry:
    signed_entry_timestamp: bytes
    body: str
    integrated_time: int
    log_index: int
    log_id: str

    @classmethod
    def from_annotation(cls, text: str) -> RekorEntry:
        """Parse the `dev.sigstore.cosign/bundle` annotation of a classic signature."""
        try:
            data = json.loads(text)
            payload = data["Payload"]
            return cls(
                base64.b64decode(data["SignedEntryTimestamp"], validate=True),
                _str(payload["body"]),
                _int(payload["integratedTime"]),
                _int(payload["logIndex"]),
                _str(payload["logID"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise VerificationError("the Rekor bundle annotation is malformed") from exc

    def set_payload(self) -> bytes:
        """The canonical JSON that the SET signs."""
        return canonical_json(
            {
                "body": self.body,
                "integratedTime": self.integrated_time,
                "logID": self.log_id,
                "logIndex": self.log_index,
            }
        )

    def entry(self) -> dict[str, Any]:
        try:
            value = json.loads(base64.b64decode(self.body, validate=True))
        except (ValueError, binascii.Error) as exc:
            raise VerificationError("the Rekor entry body is not base64 JSON") from exc
        if not isinstance(value, dict):
            raise VerificationError("the Rekor entry body is not a JSON object")
        return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("expected an integer")
    return int(value)


def canonical_json(value: object) -> bytes:
    """RFC 8785 for the values Rekor signs (objects, strings, integers)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify_set(entry: RekorEntry, rekor_key: PublicKey) -> None:
    if entry.log_id != rekor_key.key_id:
        raise VerificationError(
            f"the Rekor entry is from log {entry.log_id[:16]}…, not from the configured Rekor "
            f"key {rekor_key.key_id[:16]}…"
        )
    if not rekor_key.verify(entry.signed_entry_timestamp, entry.set_payload()):
        raise VerificationError(
            "the Rekor signed entry timestamp does not verify under the configured Rekor key"
        )


def _same_key(encoded_pem: object, key: PublicKey) -> bool:
    try:
        return load_public_key(base64.b64decode(_str(encoded_pem), validate=True)) == key
    except (KeyFormatError, TypeError, ValueError, binascii.Error):
        return False


def _same_signature(encoded: object, signature: bytes) -> bool:
    try:
        return base64.b64decode(_str(encoded), validate=True) == signature
    except (TypeError, ValueError, binascii.Error):
        return False


def check_entry(entry: RekorEntry, signature: bytes, payload: bytes, key: PublicKey) -> None:
    """The logged entry must be this signature, over this payload, by this key."""
    body = entry.entry()
    kind, spec = body.get("kind"), body.get("spec")
    payload_hash = hashlib.sha256(payload).hexdigest()
    try:
        if kind in ("hashedrekord", "rekord") and isinstance(spec, dict):
            logged_hash = spec["data"]["hash"]
            sig = spec["signature"]
            matches = (
                logged_hash.get("algorithm") == "sha256"
                and logged_hash.get("value") == payload_hash
                and _same_signature(sig["content"], signature)
                and _same_key(sig["publicKey"]["content"], key)
            )
        elif kind == "dsse" and isinstance(spec, dict):
            matches = spec["payloadHash"].get("value") == payload_hash and any(
                _same_signature(s.get("signature"), signature) and _same_key(s.get("verifier"), key)
                for s in spec["signatures"]
            )
        else:
            raise VerificationError(f"unsupported Rekor entry kind {str(kind)[:40]!r}")
    except (KeyError, TypeError, AttributeError) as exc:
        raise VerificationError(f"the Rekor {kind} entry is malformed") from exc
    if not matches:
        raise VerificationError(
            "the Rekor entry does not match this signature (signature, payload hash or key differ)"
        )


def verify_entry(
    entry: RekorEntry, rekor_key: PublicKey, signature: bytes, payload: bytes, key: PublicKey
) -> None:
    verify_set(entry, rekor_key)
    check_entry(entry, signature, payload, key)
