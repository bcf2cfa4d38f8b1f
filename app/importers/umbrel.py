"""Umbrel apps: `umbrel-app.yml` (identity, web port) and `docker-compose.yml`.

Umbrel's `app_proxy` service names the web container (`APP_HOST: <id>_<key>_1`) and its
port; `tor_server` gives a Tor address. Both are Umbrel's glue. `${APP_PASSWORD}` and
`${APP_SEED}` are generated secrets; `${APP_DATA_DIR}` is the app's folder; `exports.sh`
may export fixed values other services read.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.importers.common import ImportError_, read_text, read_yaml, time_zone_field
from app.importers.model import App, Note

MANIFEST = "umbrel-app.yml"
COMPOSE = "docker-compose.yml"
EXPORTS = "exports.sh"
_EXPORT = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=[\"']?([^\"'$`]*)[\"']?\s*$")
_ENTROPY = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=.*\bderive_entropy\b")
_IP = re.compile(r"\d+\.\d+\.\d+\.\d+")


def read(source: Path) -> App:
    meta = read_yaml(source / MANIFEST)
    compose = read_yaml(source / COMPOSE)
    app_id = str(meta.get("id") or source.name)
    description = str(meta.get("tagline") or "")
    if meta.get("description"):
        description = (description + "\n\n" if description else "") + str(meta["description"])
    app = App(
        format="umbrel",
        id=app_id,
        name=str(meta.get("name") or app_id),
        description=description or app_id,
        version=str(meta.get("version") or ""),
        author=str(meta.get("developer") or ""),
        compose=compose,
        data_dir_variables=("APP_DATA_DIR",),
    )
    app.variables.update(
        {
            "DEVICE_DOMAIN_NAME": "${PIC_DOMAIN}",
            "DEVICE_HOSTNAME": "${PIC_CELL_NAME}",
            "APP_DOMAIN": "${PIC_SERVICE_ID}.${PIC_DOMAIN}",
        }
    )
    app.secrets.update({"APP_PASSWORD": "APP_PASSWORD", "APP_SEED": "APP_SEED"})
    services = compose.get("services")
    if not isinstance(services, dict):
        raise ImportError_(f"{COMPOSE} has no services mapping")
    for key in services:
        for spelling in (f"{app_id}_{key}_1", f"{app_id}-{key}-1"):
            app.hostnames[spelling] = str(key)
    for key, service in services.items():
        if not isinstance(service, dict):
            continue
        image = str(service.get("image") or "")
        if key == "app_proxy":
            app.glue[key] = "Umbrel's auth proxy: PIC's Caddy serves the web UI at the subdomain"
            env = service.get("environment")
            if isinstance(env, list):
                env = dict(str(e).partition("=")[::2] for e in env)
            env = env if isinstance(env, dict) else {}
            host = str(env.get("APP_HOST") or "")
            for spelling, target in app.hostnames.items():
                if host == spelling:
                    app.main = target
            if app.main is None and host in services:
                app.main = host
            if app.main is None and host.startswith("$"):  # the web container's fixed IP
                app.main = _by_address(services, host)
            port = str(env.get("APP_PORT") or "")
            app.web_port = int(port) if port.isdigit() and 0 < int(port) < 65536 else None
        elif key == "tor_server" or "getumbrel/tor" in image:
            app.glue[key] = "Umbrel's Tor hidden service: PIC peers reach the app over the VPN"
    if app.main is None and app.glue.get("app_proxy"):
        app.notes.append(
            Note("decide", "services.app_proxy", "its APP_HOST names no service of the app")
        )
    if (source / EXPORTS).is_file():
        _read_exports(app, read_text(source / EXPORTS))
    dependencies = meta.get("dependencies")
    if isinstance(dependencies, list) and dependencies:
        app.notes.append(
            Note(
                "decide",
                f"{MANIFEST} dependencies",
                f"the app needs the Umbrel apps {', '.join(map(str, dependencies))}: PIC has "
                "no such services; point it at where they run, or leave it out",
            )
        )
    app.form.append(time_zone_field())
    app.notes.append(
        Note(
            "translated",
            MANIFEST,
            "${APP_PASSWORD} and ${APP_SEED} -> ${PIC_SECRET_APP_PASSWORD} and "
            "${PIC_SECRET_APP_SEED} (generated once at install, kept on reconfigure)",
        )
    )
    return app


def _by_address(services: dict[str, object], variable: str) -> str | None:
    """The service whose ipv4_address is `variable` (`$APP_X_IP` or `${APP_X_IP}`)."""
    wanted = variable.strip("${}")
    for key, service in services.items():
        networks = service.get("networks") if isinstance(service, dict) else None
        for entry in networks.values() if isinstance(networks, dict) else []:
            address = entry.get("ipv4_address") if isinstance(entry, dict) else None
            if isinstance(address, str) and address.strip("${}") == wanted:
                return str(key)
    return None


def _read_exports(app: App, text: str) -> None:
    for line in text.splitlines():
        entropy = _ENTROPY.match(line)
        if entropy:
            name = entropy.group(1)
            app.secrets[name] = re.sub(r"^APP_", "", name)[:64] or name
            app.notes.append(
                Note(
                    "translated",
                    EXPORTS,
                    f"${{{name}}} (derived from Umbrel's entropy) -> "
                    f"${{PIC_SECRET_{app.secrets[name]}}} (generated once at install)",
                )
            )
            continue
        match = _EXPORT.match(line)
        if match and not _IP.fullmatch(match.group(2)):
            app.variables.setdefault(match.group(1), match.group(2))
            app.notes.append(
                Note(
                    "translated",
                    EXPORTS,
                    f"${{{match.group(1)}}} -> its fixed value {match.group(2)!r}",
                )
            )
