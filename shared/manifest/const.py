"""Constants of manifest schema v3: the fixed vocabularies and formats the seed names.

Every set here is documented in docs/manifest.md; change both together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

SCHEMA_VERSION: Final = 3
KIND: Final = "store"

DEFAULT_ALLOWED_REGISTRY: Final = "git.pic.ngo/roof/"
# Where PIC itself is installed on the host; cells override it through ValidationOptions.
DEFAULT_PIC_ROOT: Final = "/opt/pic"

MAX_MANIFEST_BYTES: Final = 1024 * 1024

RESERVED_SUBDOMAINS: Final = frozenset(
    {"api", "webui", "admin", "www", "ns1", "ns2", "git", "registry", "install"}
)

# Container paths a named volume may not be mounted at, and whether their whole subtree is
# refused too. Kernel and runtime filesystems (True) are refused below as well; images keep
# their data below /var, /etc and /app (/var/lib/postgresql/data, /app/data), so there only
# the path itself is refused. "/" only as itself: everything is below it.
SYSTEM_PATH_SUBTREES: Final[Mapping[str, bool]] = MappingProxyType(
    {
        "/": False,
        "/etc": False,
        "/var": False,
        "/proc": True,
        "/sys": True,
        "/dev": True,
        "/app": False,
        "/run": True,
        "/boot": True,
    }
)
SYSTEM_PATHS: Final = tuple(SYSTEM_PATH_SUBTREES)

EGRESS_CHOICES: Final = ("default", "wireguard_ext", "openvpn", "tor", "sshuttle", "proxy")

# Named account managers built into PIC (the reference services); "http" is the store one.
HTTP_MANAGER: Final = "http"
INTERNAL_MANAGERS: Final = frozenset({"email", "calendar", "files", "htpasswd"})
# "htpasswd": bcrypt entries in a file inside the container (WebDAV and CalDAV servers read it).
HTPASSWD_MANAGER: Final = "htpasswd"
# The secret pic-store sends with every call to an `http` account API (`Authorization: Bearer
# <secret>`): `${PIC_SECRET_ACCOUNTS_API}`, generated once per service and kept like every secret.
ACCOUNTS_API_SECRET: Final = "ACCOUNTS_API"  # noqa: S105 (a secret's name, not a password)
CREDENTIAL_KINDS: Final = frozenset({"password", "token", "ssh_key"})
# "files": the Files reference service's WebDAV htpasswd (nginx with dav-ext).
FILES_MANAGER: Final = "files"
# "calendar": the Calendar reference service's Radicale htpasswd (bcrypt, read on every login).
CALENDAR_MANAGER: Final = "calendar"
# "email": the Email reference service's Dovecot passwd-file (`<peer>@<domain>:{BLF-CRYPT}...`).
EMAIL_MANAGER: Final = "email"
# The credential kinds each manager carries to the account: a manifest listing another kind
# for it is refused at validate time (an account is never made with an empty password).
# `http` sends every kind to the service's API; a file of hashes holds passwords only.
MANAGER_CREDENTIALS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        HTTP_MANAGER: CREDENTIAL_KINDS,
        HTPASSWD_MANAGER: frozenset({"password"}),
        FILES_MANAGER: frozenset({"password"}),
        EMAIL_MANAGER: frozenset({"password"}),
        CALENDAR_MANAGER: frozenset({"password"}),
    }
)

# Blocks a true flag requires, and blocks that are only allowed when the flag is true.
REQUIRED_BLOCKS: Final = {
    "has_subdomain": ("subdomain", "backend"),
    "has_accounts": ("accounts",),
    "has_admin_config": ("config_schema",),
    "has_storage": ("backup",),
    "has_egress": ("egress",),
}
OPTIONAL_BLOCKS: Final = {
    "has_subdomain": ("extra_subdomains", "extra_backends"),
    "has_accounts": ("peer_config_template",),
}

CONFIG_TYPES: Final = ("string", "int", "bool", "enum", "secret")

ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")
CONTAINER_NAME_RE: Final = re.compile(r"cell-[a-z0-9][a-z0-9-]{0,30}")
# A container an iptables rule opens a port of: `<container_name>-<suffix>` (rules.py).
RULE_CONTAINER_RE: Final = re.compile(r"cell-[a-z0-9][a-z0-9-]{0,62}")
DNS_LABEL_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
VOLUME_NAME_RE: Final = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")
ENV_KEY_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
CONFIG_KEY_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Container paths: no spaces, colons or commas (they would change a Compose volume spec).
MOUNT_PATH_RE: Final = re.compile(r"/[A-Za-z0-9._@+/-]*")
BACKUP_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
PORT_RE: Final = re.compile(r"[1-9][0-9]{0,4}")

MAX_NAME_LENGTH: Final = 100
MAX_DESCRIPTION_LENGTH: Final = 2000
MAX_VALUE_LENGTH: Final = 4096
MAX_PATTERN_LENGTH: Final = 200
