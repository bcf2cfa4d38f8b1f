"""An async client for OCI registries (the distribution API), used for image trust.

The public surface is what `__all__` lists; the modules behind it are private.
"""

from shared.oci.auth import Credentials
from shared.oci.client import RegistryClient
from shared.oci.errors import (
    DigestMismatchError,
    InvalidReferenceError,
    RegistryAuthError,
    RegistryContentError,
    RegistryError,
    RegistryNotFoundError,
    RegistryProtocolError,
    RegistryTooLargeError,
    RegistryUnreachableError,
)
from shared.oci.models import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    MANIFEST_MEDIA_TYPES,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    sha256_digest,
)
from shared.oci.reference import (
    ImageReference,
    Repository,
    parse_digest,
    parse_reference,
    referrers_tag,
)
from shared.oci.transport import Limits

__all__ = [
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "MANIFEST_MEDIA_TYPES",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Credentials",
    "Descriptor",
    "DigestMismatchError",
    "ImageReference",
    "InvalidReferenceError",
    "Limits",
    "Manifest",
    "RegistryAuthError",
    "RegistryClient",
    "RegistryContentError",
    "RegistryError",
    "RegistryNotFoundError",
    "RegistryProtocolError",
    "RegistryTooLargeError",
    "RegistryUnreachableError",
    "Repository",
    "parse_digest",
    "parse_reference",
    "referrers_tag",
    "sha256_digest",
]
