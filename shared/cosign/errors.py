"""Errors of image trust (cosign keys, signatures, Rekor). Registry failures stay RegistryError.

    PicStoreError
    └── TrustError                   something about keys or signatures is wrong
        ├── KeyFormatError           a key file that is not a supported cosign key
        ├── KeyPasswordError         the password does not open the private key
        ├── SigningError             a signature could not be made or pushed
        └── VerificationError        an image is not signed by a trusted key; `.reason` says why

Messages never contain a password or private key material.
"""

from __future__ import annotations

from shared.errors import PicStoreError


class TrustError(PicStoreError):
    """Something about keys or signatures is wrong."""

    key = "trust_error"


class KeyFormatError(TrustError):
    """A key file that is not a supported cosign key."""

    key = "key_format"


class KeyPasswordError(TrustError):
    """The password does not open the private key."""

    key = "key_password"


class SigningError(TrustError):
    """A signature could not be made or pushed."""

    key = "signing_failed"


class VerificationError(TrustError):
    """`reason` is the admin-readable cause; `digest` the image digest that was checked."""

    key = "verification_failed"

    def __init__(self, reason: str, digest: str | None = None) -> None:
        in_reason = digest is None or digest in reason
        super().__init__(reason if in_reason else f"{reason} (image {digest})")
        self.reason = reason
        self.digest = digest
