"""Errors of the OCI distribution client. Every one is a `RegistryError`.

    PicStoreError
    └── RegistryError                 a registry could not give what was asked
        ├── InvalidReferenceError     an image reference or digest that does not parse
        ├── RegistryUnreachableError  connection refused, DNS, TLS, or a timeout / the deadline
        ├── RegistryAuthError         credentials missing or refused, token service failed
        ├── RegistryNotFoundError     the repository, manifest, tag or blob does not exist
        ├── RegistryProtocolError     an unexpected status, a bad redirect, a wrong content type
        ├── RegistryContentError      malformed JSON, or content that is not what it claims
        │   └── DigestMismatchError   content whose sha256 differs from the digest asked for
        └── RegistryTooLargeError     a manifest or blob above its size cap

Messages name the registry, the repository and what was asked, never a credential: an admin
reading one knows which registry to look at and what to fix.
"""

from __future__ import annotations

from shared.errors import PicStoreError


class RegistryError(PicStoreError):
    """A registry could not give what was asked."""

    key = "registry_error"


class InvalidReferenceError(RegistryError):
    """An image reference or digest does not parse."""

    key = "invalid_image_reference"


class RegistryUnreachableError(RegistryError):
    """The registry did not answer: connection refused, DNS, TLS, a timeout or the deadline."""

    key = "registry_unreachable"


class RegistryAuthError(RegistryError):
    """Credentials are missing or refused, or the token service failed."""

    key = "registry_auth"


class RegistryNotFoundError(RegistryError):
    """The repository, manifest, tag or blob does not exist (made from a 404)."""

    key = "registry_not_found"


class RegistryProtocolError(RegistryError):
    """An unexpected status, a bad redirect or a wrong content type."""

    key = "registry_protocol"


class RegistryContentError(RegistryError):
    """Malformed JSON, or content that is not what it claims."""

    key = "registry_bad_content"


class DigestMismatchError(RegistryContentError):
    """Content whose sha256 differs from the digest asked for."""

    key = "registry_digest_mismatch"


class RegistryTooLargeError(RegistryError):
    """A manifest or blob above its size cap."""

    key = "registry_too_large"
