"""What the store area of the gateway answers and accepts (services/gateway/api/store.py):
the views of stores, catalogs, a service's details and a plan, and the plan's body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from shared.config import STORE_NAME_PATTERN
from shared.events.messages import OperationStatus, Plan

StrictConfigValue = StrictStr | StrictInt | StrictBool


class Invalid(BaseModel):
    """A 422: FastAPI's list for a request that breaks its schema (each entry naming the
    place), or one sentence for what the store or the installer found invalid."""

    detail: str | list[dict[str, Any]]


# -- the views --------------------------------------------------------------------------


class StoreView(BaseModel):
    name: str
    url: str = Field(description="Where the store is; credentials in the URL masked")
    kind: str | None = Field(
        description="folder, local git repository or remote git repository (None: not a store)"
    )
    default: bool = Field(description="The store an install that names none uses")
    usable: bool = Field(
        description="The cell may read it (a local store needs allow_local_stores)"
    )
    problem: str | None = Field(default=None, description="Why it is not usable")


class StoresView(BaseModel):
    default_store: str | None
    stores: list[StoreView]


class CatalogEntry(BaseModel):
    id: str
    name: str
    description: str
    version: str | None
    author: str | None = None
    has_subdomain: bool = False
    has_accounts: bool = False
    has_admin_config: bool = False
    has_storage: bool = False
    has_egress: bool = False
    has_api_hooks: bool = False
    subdomain: str | None = Field(default=None, description="`<subdomain>.<cell domain>`")
    installed_version: str | None = Field(
        default=None, description="The version installed on the cell (None: not installed)"
    )
    installed_state: str | None = Field(default=None, description="Its state on the cell")
    update_available: bool = Field(
        default=False, description="The store's version is newer than the installed one"
    )
    installable: bool = Field(description="The manifest is valid: the service can be installed")
    problems: list[str] = Field(
        default_factory=list, description="Why it cannot be installed (each `path: message`)"
    )


class CatalogView(BaseModel):
    store: str
    source: str = Field(description="Where the store is; credentials masked")
    read_at: datetime = Field(description="When the store was read (ISO 8601, UTC)")
    services: list[CatalogEntry]
    problems: list[str] = Field(
        default_factory=list, description="Entries of the store's index that are not a service"
    )


class EgressUnavailable(BaseModel):
    name: str
    reason: str


class EgressView(BaseModel):
    default: str = Field(description="The manifest's default choice")
    choices: list[str] = Field(
        description="What the admin may choose: allowed by the manifest and provided by the cell"
    )
    unavailable: list[EgressUnavailable] = Field(
        default_factory=list,
        description="Allowed by the manifest, but the cell config describes no such connection",
    )
    in_use: str | None = Field(default=None, description="The choice of the installed service")


class ServiceDetail(BaseModel):
    store: str
    service: CatalogEntry
    manifest: dict[str, Any] = Field(description="The manifest as the store holds it")
    settings_form: dict[str, Any] = Field(
        description="The settings form: the manifest's config_schema as a JSON Schema (draft "
        "2020-12); secret fields are writeOnly with format password"
    )
    egress: EgressView | None = Field(description="None: the service has no egress choice")


class PlanBody(BaseModel):
    """The body of an install (POST /services/{id}/install) without `plan`: a UI sends the
    same settings to both."""

    model_config = ConfigDict(strict=True, extra="forbid")

    store: str | None = Field(
        default=None,
        pattern=STORE_NAME_PATTERN,
        description="A store's name (GET /stores); none: the cell's default store",
    )
    config: dict[str, StrictConfigValue] = Field(
        default_factory=dict, description="Settings, by key of the settings form"
    )
    egress: str | None = Field(
        default=None,
        pattern=r"^[a-z_]{1,32}$",
        description="The outbound connection: one of the egress choices",
    )
    confirm_downgrade: StrictBool = False


class PlanView(BaseModel):
    store: str
    status: OperationStatus = Field(description="planned, or noop (that version is installed)")
    message: str
    plan: Plan | None


# -- the logic --------------------------------------------------------------------------
