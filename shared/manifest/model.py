"""The pydantic models of manifest schema v3. Field formats live in fields.py; rules that
relate several fields live in rules.py and config_schema.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from shared.manifest import config_fields, fields, placeholders
from shared.manifest.image import ImageRef, split_image_ref
from shared.manifest.options import DEFAULT_OPTIONS, ValidationOptions
from shared.manifest.version import ServiceVersion, parse_version

T = TypeVar("T")
ConfigValue = str | int | bool


def _rule(check: Callable[[T], str | None]) -> AfterValidator:
    def run(value: T) -> T:
        problem = check(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(run)


def _options(info: ValidationInfo) -> ValidationOptions:
    context = info.context
    options = context.get("options") if isinstance(context, dict) else None
    return options if isinstance(options, ValidationOptions) else DEFAULT_OPTIONS


def _image_rule(value: str, info: ValidationInfo) -> str:
    problem = fields.image(value, _options(info).allowed_registry)
    if problem:
        raise ValueError(problem)
    return value


def _mount_rule(value: str, info: ValidationInfo) -> str:
    problem = fields.volume_mount(value, _options(info).pic_root)
    if problem:
        raise ValueError(problem)
    return value


ServiceId = Annotated[str, _rule(fields.service_id)]
ShortText = Annotated[str, _rule(fields.short_text)]
Subdomain = Annotated[str, _rule(fields.subdomain)]
Hostname = Annotated[str, _rule(fields.hostname)]
Backend = Annotated[str, _rule(fields.backend)]
TemplateText = Annotated[str, _rule(fields.template_value)]
Port = Annotated[int, _rule(fields.port)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Volume(_Strict):
    name: Annotated[str, _rule(fields.volume_name)]
    mount: Annotated[str, AfterValidator(_mount_rule)]


class EnvVar(_Strict):
    key: Annotated[str, _rule(fields.env_key)]
    value: TemplateText


class IptablesRule(_Strict):
    type: Annotated[str, _rule(fields.rule_type)]
    dest_ip: Annotated[str, _rule(fields.dest_ip)]
    dest_port: Port
    proto: Annotated[str, _rule(fields.proto)]


class BackupVolume(_Strict):
    container: Annotated[str, _rule(fields.backup_container)]
    path: Annotated[str, _rule(fields.backup_path)]
    name: Annotated[str, _rule(fields.backup_name)]


class BackupHook(_Strict):
    """A command run in one of the service's containers before or after the copy (a dump)."""

    container: Annotated[str, _rule(fields.backup_container)]
    command: list[Annotated[str, _rule(fields.backup_command_word)]] = Field(
        min_length=1, max_length=64
    )


class Backup(_Strict):
    volumes: list[BackupVolume] = Field(default_factory=list)
    config_paths: list[Annotated[str, _rule(fields.config_path)]] = Field(default_factory=list)
    before: BackupHook | None = None
    after: BackupHook | None = None
    stop: bool = False  # stop the service's containers for the copy


class Accounts(_Strict):
    manager: Annotated[str, _rule(fields.manager)]
    credentials: list[Annotated[str, _rule(fields.credential)]]
    # Which container holds the accounts (default: container_name); the http manager's port
    # (default: the backend's when it points at that container, else 80); the htpasswd file.
    container: Annotated[str, _rule(fields.backup_container)] | None = None
    port: Port | None = None
    file: Annotated[str, _rule(fields.backup_path)] | None = None


class Egress(_Strict):
    default: Annotated[str, _rule(fields.egress_choice)]
    allowed: list[Annotated[str, _rule(fields.egress_choice)]]


class ConfigField(_Strict):
    """One setting of the admin form; `${PIC_CFG_<KEY>}` is its value (KEY = key uppercased)."""

    key: Annotated[str, _rule(config_fields.config_key)]
    type: Literal["string", "int", "bool", "enum", "secret"]
    label: ShortText
    description: Annotated[str, _rule(fields.description)] | None = None
    default: Annotated[Any, _rule(config_fields.config_default)] = None
    required: bool = False
    options: list[ShortText] | None = None
    min: int | None = None
    max: int | None = None
    pattern: Annotated[str, _rule(config_fields.config_pattern)] | None = None
    max_length: Annotated[int, _rule(config_fields.config_max_length)] | None = None

    @property
    def variable(self) -> str:
        return f"PIC_CFG_{self.key.upper()}"


@dataclass(frozen=True)
class Route:
    """A subdomain and the backend Caddy proxies it to."""

    subdomain: str
    container: str
    port: int


class Manifest(_Strict):
    """A valid store manifest (schema v3). Build it with parse_manifest(), which also runs
    the cross-field rules; constructing it directly checks field formats only."""

    schema_version: Annotated[int, _rule(fields.schema_version)]
    kind: Annotated[str, _rule(fields.kind)]
    id: ServiceId
    name: ShortText
    description: Annotated[str, _rule(fields.description)]
    version: Annotated[str, _rule(fields.version)]
    author: ShortText
    image: Annotated[str, AfterValidator(_image_rule)]
    container_name: Annotated[str, _rule(fields.container_name)]
    has_subdomain: bool = False
    has_accounts: bool = False
    has_admin_config: bool = False
    has_storage: bool = False
    has_egress: bool = False
    has_api_hooks: Annotated[bool, _rule(fields.must_be_false)] = False
    subdomain: Subdomain | None = None
    backend: Backend | None = None
    extra_subdomains: list[Subdomain] = Field(default_factory=list)
    extra_backends: list[Backend] = Field(default_factory=list)
    # `<label>.<cell domain>` -> the service's own IP (no Caddy route): mail, SSH, a game
    # server, reached on the ports its iptables_rules open.
    hostnames: list[Hostname] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    env: list[EnvVar] = Field(default_factory=list)
    iptables_rules: list[IptablesRule] = Field(default_factory=list)
    backup: Backup | None = None
    accounts: Accounts | None = None
    peer_config_template: (
        dict[
            Annotated[str, _rule(placeholders.peer_template_key)],
            Annotated[str, _rule(placeholders.peer_template_value)],
        ]
        | None
    ) = None
    egress: Egress | None = None
    config_schema: list[ConfigField] | None = None

    @property
    def parsed_version(self) -> ServiceVersion:
        return parse_version(self.version)

    @property
    def image_ref(self) -> ImageRef:
        return ImageRef(*split_image_ref(self.image))

    @property
    def routes(self) -> list[Route]:
        """The primary route first, then each extra subdomain with its backend."""
        if not self.has_subdomain or self.subdomain is None or self.backend is None:
            return []
        pairs = [
            (self.subdomain, self.backend),
            *zip(self.extra_subdomains, self.extra_backends, strict=False),
        ]
        return [Route(sub, *_split_backend(backend)) for sub, backend in pairs]

    @property
    def config_fields(self) -> list[ConfigField]:
        return list(self.config_schema or [])

    @property
    def own_containers(self) -> set[str]:
        """The container_name and every container a backend names."""
        return {self.container_name, *(route.container for route in self.routes)}


def _split_backend(backend: str) -> tuple[str, int]:
    container, _, port = backend.rpartition(":")
    return container, int(port)
