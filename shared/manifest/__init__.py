"""Store manifests (schema v3): the model, every rule of the seed, and loading from disk.

validate_manifest(data, options) -> list[Issue]        every issue, never raises
parse_manifest(data, options) -> Manifest              or ManifestInvalidError
load_manifest(path, options) -> Manifest               a manifest.json or a service folder
validate_config_values(schema, values) -> (typed, issues)   an admin's settings
manifest_notes(data) -> list[Issue]                    warnings: valid, probably not meant
"""

from shared.manifest.config_schema import validate_config_values
from shared.manifest.const import (
    CREDENTIAL_KINDS,
    DEFAULT_ALLOWED_REGISTRY,
    DEFAULT_PIC_ROOT,
    EGRESS_CHOICES,
    INTERNAL_MANAGERS,
    RESERVED_SUBDOMAINS,
    SYSTEM_PATHS,
)
from shared.manifest.hosts import hostnames_of, names_of, subdomains_of
from shared.manifest.image import ImageRef, parse_image_ref, split_image_ref
from shared.manifest.issues import Issue, ManifestInvalidError, json_path
from shared.manifest.load import (
    MANIFEST_FILE,
    TEMPLATE_FILE,
    load_manifest,
    manifest_path,
    read_json_file,
    validate_manifest_file,
)
from shared.manifest.model import (
    Accounts,
    Backup,
    BackupVolume,
    ConfigField,
    ConfigValue,
    Egress,
    EnvVar,
    IptablesRule,
    Manifest,
    Route,
    Volume,
)
from shared.manifest.options import DEFAULT_OPTIONS, ValidationOptions
from shared.manifest.paths import normalise_absolute
from shared.manifest.validate import (
    check_manifest,
    manifest_notes,
    parse_manifest,
    stand_in_manifest,
    validate_manifest,
)
from shared.manifest.version import ServiceVersion, parse_version

__all__ = [
    "CREDENTIAL_KINDS",
    "DEFAULT_ALLOWED_REGISTRY",
    "DEFAULT_OPTIONS",
    "DEFAULT_PIC_ROOT",
    "EGRESS_CHOICES",
    "INTERNAL_MANAGERS",
    "MANIFEST_FILE",
    "RESERVED_SUBDOMAINS",
    "SYSTEM_PATHS",
    "TEMPLATE_FILE",
    "Accounts",
    "Backup",
    "BackupVolume",
    "ConfigField",
    "ConfigValue",
    "Egress",
    "EnvVar",
    "ImageRef",
    "IptablesRule",
    "Issue",
    "Manifest",
    "ManifestInvalidError",
    "Route",
    "ServiceVersion",
    "ValidationOptions",
    "Volume",
    "check_manifest",
    "hostnames_of",
    "json_path",
    "load_manifest",
    "manifest_notes",
    "manifest_path",
    "names_of",
    "normalise_absolute",
    "parse_image_ref",
    "parse_manifest",
    "parse_version",
    "read_json_file",
    "split_image_ref",
    "stand_in_manifest",
    "subdomains_of",
    "validate_config_values",
    "validate_manifest",
    "validate_manifest_file",
]
