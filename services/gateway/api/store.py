"""The store area: the cell's stores, a store's catalog, one service's manifest with its
settings form and egress choices, and the plan of an install.

The gateway reads a store itself (shared/store/: files only from inside the store, each
bounded, a git store cloned shallowly into a temporary folder), only the stores the cell config
names (`stores`), never a URL a request brings. Catalogs are kept a minute (`fresh=true`
reads again). A plan is the installer's: an install command with `plan_only`, sent over the
bus as `pic-store install --plan` sends it.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Path, Query

from services.gateway.api.store_models import (
    CatalogEntry,
    CatalogView,
    EgressUnavailable,
    EgressView,
    Invalid,
    PlanBody,
    PlanView,
    ServiceDetail,
    StoresView,
    StoreView,
)
from services.gateway.deps import Deps
from shared.client import OperationTimeoutError
from shared.config import STORE_NAME_PATTERN, CellConfig, StoreSource
from shared.errors import PicStoreError
from shared.events import InstallCommand, new_operation_id
from shared.events.messages import InstallPayload, OperationStatus, ServiceState
from shared.http_guard import ErrorDetail
from shared.ids import SERVICE_ID_PATTERN
from shared.installed import ServiceRecord, ServiceView, services_bucket, view
from shared.manifest import (
    DEFAULT_PIC_ROOT,
    ManifestInvalidError,
    ValidationOptions,
    parse_manifest,
    parse_version,
)
from shared.manifest.json_schema import manifest_json_schema
from shared.manifest.model import Manifest
from shared.netconfig import NetPolicyConfig
from shared.store import (
    Catalog,
    CatalogCache,
    CatalogItem,
    StoreError,
    StoreKind,
    mask_url,
    store_kind,
)

log = structlog.get_logger("gateway")

TAG = "store"
DEFAULT_EGRESS = "default"
PLAN_TIMEOUT = 120.0
FLAGS = (
    "has_subdomain",
    "has_accounts",
    "has_admin_config",
    "has_storage",
    "has_egress",
    "has_api_hooks",
)

ServiceId = Annotated[
    str, Path(pattern=SERVICE_ID_PATTERN, description="The service's id in the store's index")
]
StoreName = Annotated[
    str | None,
    Query(
        pattern=STORE_NAME_PATTERN,
        description="A store's name (GET /stores); none: the cell's default store",
    ),
]
Fresh = Annotated[
    bool, Query(description="Read the store again instead of the copy kept for a minute")
]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        404: "No such store (or no default store), or no such service in the store",
        409: "The installed version is newer: the install is a downgrade to confirm",
        422: "The request breaks its schema; or the service's manifest in the store, or the "
        "settings or egress asked, are invalid",
        502: "The store cannot be read (a clone that fails, a missing or broken index, a "
        "local store on a cell that allows none), the cell config cannot be read, or the "
        "installer could not make the plan",
        504: "The installer did not answer in time",
    }
    return {
        code: {"model": Invalid if code == 422 else ErrorDetail, "description": described[code]}
        for code in codes
    }


def _store(cell: CellConfig, name: str | None) -> StoreSource:
    if name is None:
        if cell.default_store is None:
            raise HTTPException(
                404,
                "the cell has no default store: name one with `store=` or set "
                "`default_store` in config/api/cell_config.json (docs/operator.md)",
            )
        name = cell.default_store
    found = cell.store_named(name)
    if found is None:
        known = ", ".join(s.name for s in cell.stores) or "none"
        raise HTTPException(404, f"no store named {name!r} in the cell config (stores: {known})")
    return found


def _store_view(cell: CellConfig, store: StoreSource) -> StoreView:
    try:
        kind = store_kind(store.url)
    except StoreError as exc:
        return StoreView(
            name=store.name,
            url=mask_url(store.url),
            kind=None,
            default=store.name == cell.default_store,
            usable=False,
            problem=exc.message,
        )
    usable = kind is StoreKind.remote_git or cell.allow_local_stores
    return StoreView(
        name=store.name,
        url=mask_url(store.url),
        kind=kind.value,
        default=store.name == cell.default_store,
        usable=usable,
        problem=None
        if usable
        else "a store on this machine: the cell config does not allow local stores",
    )


def _options(cell: CellConfig) -> ValidationOptions:
    # The installer checks volume mounts against its own PIC root; the gateway knows the default.
    return ValidationOptions(allowed_registry=cell.allowed_image_prefix, pic_root=DEFAULT_PIC_ROOT)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _parsed(item: CatalogItem, cell: CellConfig) -> tuple[Manifest | None, list[str]]:
    if item.problem is not None:
        return None, [item.problem]
    try:
        manifest = parse_manifest(item.manifest_data, _options(cell))
    except ManifestInvalidError as exc:
        return None, [str(issue) for issue in exc.issues]
    if manifest.id != item.service_id:
        return manifest, [
            f"$.id: the store lists {item.service_id!r}, the manifest says {manifest.id!r}"
        ]
    return manifest, []


def _newer(store_version: str | None, installed: str | None) -> bool:
    if store_version is None or installed is None:
        return False
    try:
        return parse_version(store_version) > parse_version(installed)
    except (PicStoreError, ValueError):
        return False


def _entry(item: CatalogItem, cell: CellConfig, installed: ServiceView | None) -> CatalogEntry:
    manifest, problems = _parsed(item, cell)
    raw = item.manifest_data if isinstance(item.manifest_data, dict) else {}
    if manifest is not None:
        fields: dict[str, Any] = {
            "name": manifest.name,
            "description": manifest.description,
            "version": manifest.version,
            "author": manifest.author,
            "subdomain": manifest.subdomain if manifest.has_subdomain else None,
            **{flag: getattr(manifest, flag) for flag in FLAGS},
        }
    else:  # what can be shown of a broken manifest, else of the index entry
        fields = {
            "name": _text(raw.get("name")) or _text(item.entry.get("name")) or item.service_id,
            "description": _text(raw.get("description")) or "",
            "version": _text(raw.get("version")) or _text(item.entry.get("version")),
            "author": _text(raw.get("author")),
            "subdomain": _text(raw.get("subdomain")),
            **{flag: raw.get(flag) is True for flag in FLAGS},
        }
    on_cell = (
        installed if installed is not None and installed.state != ServiceState.removed else None
    )
    installed_version = on_cell.version if on_cell is not None else None
    return CatalogEntry(
        id=item.service_id,
        **fields,
        installed_version=installed_version,
        installed_state=on_cell.state if on_cell is not None else None,
        update_available=_newer(fields["version"], installed_version),
        installable=not problems,
        problems=problems,
    )


def _egress(
    manifest: Manifest, netpolicy: NetPolicyConfig, installed: ServiceRecord | None
) -> EgressView | None:
    """The installer's rule (services/installer/egress.py): `default` always, any other
    choice when the cell config describes its connection (netpolicy.egress.<kind>)."""
    egress = manifest.egress
    if egress is None or not manifest.has_egress:
        return None
    allowed = list(dict.fromkeys([egress.default, *egress.allowed]))
    choices: list[str] = []
    unavailable: list[EgressUnavailable] = []
    for choice in allowed:
        if choice == DEFAULT_EGRESS or netpolicy.instance(choice) is not None:
            choices.append(choice)
        else:
            unavailable.append(
                EgressUnavailable(
                    name=choice,
                    reason=f"the cell config describes no {choice} connection "
                    f"(netpolicy.egress.{choice})",
                )
            )
    in_use = None
    if installed is not None and installed.state != ServiceState.removed:
        # as the installer reads it: the recorded choice while allowed, else the default
        in_use = installed.egress if installed.egress in allowed else egress.default
    return EgressView(
        default=egress.default, choices=choices, unavailable=unavailable, in_use=in_use
    )


def router(deps: Deps) -> APIRouter:
    api = APIRouter(tags=[TAG])
    catalogs = CatalogCache()

    def cell() -> CellConfig:
        try:
            return deps.cell_config()
        except PicStoreError as exc:
            raise HTTPException(502, f"the cell config cannot be read: {exc.message}") from exc

    async def catalog_of(config: CellConfig, store: StoreSource, fresh: bool) -> Catalog:
        try:
            return await catalogs.get(store.url, config.allow_local_stores, fresh)
        except PicStoreError as exc:
            log.info("store_unreadable", store=store.name, reason=exc.message)
            raise HTTPException(
                502, f"the store {store.name!r} cannot be read: {exc.message}"
            ) from exc

    async def installed() -> dict[str, ServiceView]:
        return {view.service_id: view for view in await deps.client.services()}

    @api.get("/stores", summary="The cell's stores", responses=_errors(502))
    async def stores() -> StoresView:
        config = cell()
        return StoresView(
            default_store=config.default_store,
            stores=[_store_view(config, store) for store in config.stores],
        )

    @api.get(
        "/catalog",
        summary="A store's services, with what is installed of them",
        responses=_errors(404, 502),
    )
    async def catalog(store: StoreName = None, fresh: Fresh = False) -> CatalogView:
        config = cell()
        source = _store(config, store)
        read = await catalog_of(config, source, fresh)
        on_cell = await installed()
        return CatalogView(
            store=source.name,
            source=read.source,
            read_at=read.read_at,
            services=[_entry(item, config, on_cell.get(item.service_id)) for item in read.items],
            problems=list(read.problems),
        )

    @api.get(
        "/catalog/{service_id}",
        summary="One service of a store: manifest, settings form, egress choices",
        responses=_errors(404, 422, 502),
    )
    async def service(
        service_id: ServiceId, store: StoreName = None, fresh: Fresh = False
    ) -> ServiceDetail:
        config = cell()
        source = _store(config, store)
        read = await catalog_of(config, source, fresh)
        item = read.item(service_id)
        if item is None:
            raise HTTPException(404, f"the store {source.name!r} has no service {service_id!r}")
        record = await (await services_bucket(deps.bus)).get(service_id)
        current = record.value if record is not None else None
        on_cell = view(current) if current is not None else None
        manifest, problems = _parsed(item, config)
        if manifest is None or problems:
            raise HTTPException(
                422,
                f"the manifest of {service_id!r} in the store {source.name!r} is invalid: "
                + "; ".join(problems[:10]),
            )
        egress = _egress(manifest, config.netpolicy, current)
        assert isinstance(item.manifest_data, dict)  # parse_manifest accepts only an object
        return ServiceDetail(
            store=source.name,
            service=_entry(item, config, on_cell),
            manifest=item.manifest_data,
            settings_form=manifest_json_schema(manifest),
            egress=egress,
        )

    @api.post(
        "/catalog/{service_id}/plan",
        summary="What installing this service with these settings would do (changes nothing)",
        responses=_errors(404, 409, 422, 502, 504),
    )
    async def plan(service_id: ServiceId, body: PlanBody) -> PlanView:
        config = cell()
        source = _store(config, body.store)
        command = InstallCommand(
            operation_id=new_operation_id(),
            service_id=service_id,
            payload=InstallPayload(
                store=source.name,  # the installer finds it in the same cell config
                config=body.config,
                plan_only=True,
                confirm_downgrade=body.confirm_downgrade,
                egress=body.egress,
            ),
        )
        try:
            result = await deps.client.run(command, timeout=PLAN_TIMEOUT)
        except OperationTimeoutError as exc:
            raise HTTPException(504, exc.message) from exc
        outcome = result.payload
        if outcome.status == OperationStatus.failed:
            raise HTTPException(_plan_error_status(outcome.error_key), outcome.message)
        return PlanView(
            store=source.name, status=outcome.status, message=outcome.message, plan=outcome.plan
        )

    return api


PLAN_ERRORS = {
    "config_invalid": 422,
    "egress_invalid": 422,
    "manifest_invalid": 422,
    "downgrade_needs_confirmation": 409,
    "store_error": 502,
}


def _plan_error_status(key: str | None) -> int:
    """A refused plan: the request's fault (settings, egress), the store's, or the cell's."""
    return PLAN_ERRORS.get(key or "", 502)
