"""What the deployment's `prepare` container does before anything else starts.

Idempotent: a second start (or a new image on the same volumes) keeps every identity, the
JetStream key, the API token and the admin's cell config, and only adds what is missing
(the identity of a role a newer pic-store brought).
"""

from __future__ import annotations

from collections.abc import Iterator

from app.deploy.role_files import BACKUP_KEY_FILE, link_role_files, place_backup_key
from app.deploy.settings import DeploySettings
from app.embedded.api_token import ensure_api_token
from app.embedded.bus_identity import BusAuthority
from app.embedded.parts import caddy_admin_url, prepare_caddy
from shared.cell_ca import ensure_ca
from shared.config import CELL_CONFIG_RELATIVE, CellConfig


def first_cell_config(settings: DeploySettings) -> CellConfig:
    """The cell config of a new deployment: this Caddy and this DNS server, enforcing
    verification (the admin adds the store's public key)."""
    raw: dict[str, object] = {
        "cell_name": settings.cell,
        "domain": settings.domain,
        "netpolicy": {"vpn_subnet": settings.vpn_subnet},
        "router": {
            "caddy_admin_url": caddy_admin_url(settings.caddy_dir),
            "listen": [settings.https_listen],
            "dns": {
                "backend": "hostsdir",
                "hostsdir": str(settings.hostsdir),
                "server": "127.0.0.1" if settings.dns_listen == "0.0.0.0" else settings.dns_listen,
                "port": settings.dns_port,
            },
        },
    }
    if settings.registry:
        raw["allowed_image_prefix"] = settings.registry
    # Where the backup container sees it (role_files.py).
    raw["backup"] = {"key_file": BACKUP_KEY_FILE}
    return CellConfig.model_validate(raw)


def prepare(settings: DeploySettings) -> Iterator[str]:
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    authority = BusAuthority(data / "secrets")
    authority.add_cell(settings.cell)
    authority.write_config(settings.nats_port, settings.nats_store)
    yield f"bus identities of cell {settings.cell} in {authority.secrets_dir / 'nats'}"
    yield f"API token in {ensure_api_token(data)}"
    yield f"the cell's CA in {ensure_ca(data, settings.cell)}"
    prepare_caddy(settings.caddy_dir)
    settings.hostsdir.mkdir(parents=True, exist_ok=True)
    if (data / CELL_CONFIG_RELATIVE).exists():
        CellConfig.load(data)  # a broken config is named now, not by each service later
        yield f"cell config kept: {data / CELL_CONFIG_RELATIVE}"
    else:
        yield f"cell config written: {first_cell_config(settings).write(data)}"
    yield f"each role's files linked in its own folder of {link_role_files(data, settings.cell)}"
    yield place_backup_key(data)
