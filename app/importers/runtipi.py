"""Runtipi apps: `config.json` (identity, web port, install form) and `docker-compose.yml`.

Runtipi fills in `${APP_DATA_DIR}` (the app's folder), `${APP_DOMAIN}`, `${APP_PORT}` (the
host port of the web UI), `${TZ}` and the form's `env_variable`s; a `random` field is a
generated secret. Its traefik labels and `tipi_main_network` are its own glue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from app.importers.common import ImportError_, read_json, read_yaml, time_zone_field
from app.importers.model import App, FormField, Note

CONFIG = "config.json"
COMPOSE = "docker-compose.yml"
_PORT_LABEL = re.compile(r"traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port")
_TYPES: dict[str, str] = {
    "text": "string",
    "email": "string",
    "url": "string",
    "fqdn": "string",
    "ip": "string",
    "fqdnip": "string",
    "password": "secret",
    "number": "int",
    "boolean": "bool",
}


def read(source: Path) -> App:
    config = read_json(source / CONFIG)
    compose = read_yaml(source / COMPOSE)
    app_id = str(config.get("id") or source.name)
    app = App(
        format="runtipi",
        id=app_id,
        name=str(config.get("name") or app_id),
        description=str(config.get("description") or config.get("short_desc") or app_id),
        version=str(config.get("version") or ""),
        author=str(config.get("author") or ""),
        compose=compose,
        data_dir_variables=("APP_DATA_DIR",),
    )
    app.variables.update(
        {
            "APP_DOMAIN": "${PIC_SERVICE_ID}.${PIC_DOMAIN}",
            "APP_HOST": "${PIC_SERVICE_ID}.${PIC_DOMAIN}",
            "LOCAL_DOMAIN": "${PIC_DOMAIN}",
            "APP_PROTOCOL": "https",
            "APP_EXPOSED": "true",
            "APP_PORT": "443",
            "APP_ID": "${PIC_SERVICE_ID}",
        }
    )
    services = compose.get("services")
    if not isinstance(services, dict):
        raise ImportError_(f"{COMPOSE} has no services mapping")
    _find_main(app, services)
    for key, service in services.items():
        if isinstance(service, dict):
            name = service.get("container_name")
            if isinstance(name, str) and name != key:
                app.hostnames[name] = str(key)
    _read_form(app, config.get("form_fields"))
    return app


def _find_main(app: App, services: dict[str, Any]) -> None:
    for key, service in services.items():
        if not isinstance(service, dict):
            continue
        extra = service.get("x-runtipi")  # the newer schema names the main service itself
        if isinstance(extra, dict) and extra.get("is_main"):
            app.main = str(key)
            app.web_port = _port(str(extra.get("internal_port") or ""))
            continue
        for entry in service.get("ports") or []:
            text = str(entry.get("published") if isinstance(entry, dict) else entry)
            if "APP_PORT" in text:
                app.main = str(key)
                target = entry.get("target") if isinstance(entry, dict) else str(entry)
                app.web_port = _port(str(target).split("/")[0].rsplit(":", 1)[-1])
        port = _label_port(service)
        if port is not None and app.main != key:
            if app.main is None and (key == app.id or service.get("container_name") == app.id):
                app.main, app.web_port = str(key), port
            elif app.main is not None:
                app.http_sidecars[str(key)] = port
    if app.main is None:  # the traefik label of the only routed service
        routed = {k: _label_port(s) for k, s in services.items() if isinstance(s, dict)}
        routed = {k: p for k, p in routed.items() if p is not None}
        if len(routed) == 1:
            app.main, app.web_port = next(iter(routed.items()))
    for key in list(app.http_sidecars):
        if key == app.main:
            del app.http_sidecars[key]


def _label_port(service: dict[str, Any]) -> int | None:
    labels = service.get("labels")
    if isinstance(labels, list):
        labels = dict(str(e).partition("=")[::2] for e in labels)
    for label, value in (labels or {}).items() if isinstance(labels, dict) else []:
        if _PORT_LABEL.fullmatch(str(label)):
            return _port(str(value))
    return None


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def _read_form(app: App, fields: object) -> None:
    app.form.append(time_zone_field())
    for index, entry in enumerate(fields if isinstance(fields, list) else []):
        where = f"{CONFIG} form_fields[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("env_variable"), str):
            app.notes.append(Note("decide", where, "has no env_variable: left out"))
            continue
        variable = entry["env_variable"]
        key = re.sub(r"[^a-z0-9_]+", "_", variable.lower()).strip("_")
        if not key or not key[0].isalpha():
            key = f"field_{key}"[:64]
        kind = str(entry.get("type") or "text")
        if kind == "random":
            app.secrets[variable] = re.sub(r"[^A-Z0-9_]", "_", variable.upper())[:64]
            app.notes.append(
                Note(
                    "translated",
                    where,
                    f"the random {variable} -> ${{PIC_SECRET_{app.secrets[variable]}}} "
                    "(generated once at install, kept on reconfigure)",
                )
            )
            continue
        label = " ".join(str(entry.get("label") or variable).split())[:100]
        field = FormField(key=key, variable=variable, type="string", label=label)
        hint = entry.get("hint")
        if isinstance(hint, str) and hint.strip():
            field.description = " ".join(hint.split())[:2000]
        field.required = bool(entry.get("required"))
        options = entry.get("options")
        if isinstance(options, list) and options:
            field.type = "enum"
            field.options = [
                str(o.get("value") if isinstance(o, dict) else o)[:100] for o in options
            ]
        elif kind in _TYPES:
            field.type = _TYPES[kind]  # type: ignore[assignment]
        else:
            app.notes.append(
                Note("decide", where, f"the field type {kind!r} has no PIC kind: a text field")
            )
        low, high = entry.get("min"), entry.get("max")
        if field.type == "int":
            field.min = low if isinstance(low, int) else None
            field.max = high if isinstance(high, int) else None
        elif field.type in ("string", "secret"):
            if isinstance(high, int) and 0 < high <= 4096:
                field.max_length = high
            if isinstance(low, int) and 0 < low <= 1000:
                field.pattern = f"(?s).{{{low},}}"
        default = entry.get("default")
        if isinstance(default, str | int | bool) and field.type != "secret":
            if field.type == "int" and isinstance(default, str) and default.isdigit():
                default = int(default)
            if field.type == "bool" and isinstance(default, str):
                default = default.lower() == "true"
            field.default = default
            field.required = False  # the default always satisfies a required field
        if field.type == "int" and not field.required and field.default is None:
            field.type, field.min, field.max = "string", None, None  # empty stays allowed
            field.pattern = "[0-9]*"
        regex = entry.get("regex")
        if isinstance(regex, str) and field.pattern is None and len(regex) <= 200:
            field.pattern = regex.removeprefix("^").removesuffix("$")
        app.form.append(field)
        app.notes.append(
            Note(
                "translated",
                where,
                f"{variable} -> config_schema {key!r} ({field.type}"
                + (", required" if field.required else "")
                + f"), ${{PIC_CFG_{key.upper()}}}",
            )
        )
