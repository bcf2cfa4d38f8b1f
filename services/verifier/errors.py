"""Errors of the verifier. Each carries an admin-readable `reason`; none holds key material.

    PicStoreError
    └── VerifierError              an image could not be accepted, for a reason the admin can fix
        ├── NotPinnedError         the image names a tag, not a @sha256 digest
        ├── TrustConfigError       the cell's image_verification keys cannot be used
        └── RegistryCheckError     the registry could not be asked (unreachable, auth, timeout)

A signature that does not verify is `shared.cosign.VerificationError`: not a fault of the
verifier, but the answer to the question it was asked.
"""

from __future__ import annotations

from shared.errors import PicStoreError


class VerifierError(PicStoreError):
    """An image could not be accepted, for a reason the admin can fix (the `reason` of the
    step's answer)."""

    key = "verifier_error"

    @property
    def reason(self) -> str:
        return self.message


class NotPinnedError(VerifierError):
    """The image names a tag, not a `@sha256` digest."""

    key = "image_not_pinned"


class TrustConfigError(VerifierError):
    """The cell's `image_verification` keys cannot be used."""

    key = "trust_config"


class RegistryCheckError(VerifierError):
    """The registry could not be asked (unreachable, auth, timeout)."""

    key = "registry_check_failed"
