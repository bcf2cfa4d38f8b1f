"""Translate an App (another store's app, read by its format's reader) into a PIC store
service: manifest.json (schema v3), compose-template.yml, and the notes of the report.

Whatever reaches the host is left out of the template and named as refused, with the
policy's own reason (shared/compose/keys.py): the template written never asks for more
than the policy allows. What has no PIC meaning (a sidecar's non-HTTP port, a store
variable nobody fills in, a file bind) is left out too, and named as a decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.importers.model import App, Note
from shared.compose import keys
from shared.compose.binds import BIND_FOLDER_RE
from shared.compose.host_files import HOST_FILES
from shared.manifest import RESERVED_SUBDOMAINS
from shared.manifest.const import DNS_LABEL_RE, ID_RE, MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH
from shared.manifest.image import split_image_ref

_VARIABLE = re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+=])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)
_SEMVER_START = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_FILE_SUFFIX = re.compile(
    r"\.(ya?ml|json|toml|ini|conf|cfg|env|txt|xml|js|php|py|sh|db|sqlite3?|key|pem|crt|lua)$"
)
_SECRET_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|_KEY$", re.IGNORECASE)
_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
_REFUSED_SECURITY = "only no-new-privileges is allowed: the others lift the host's confinement"
# Refused keys that reach the host: the app asks for host access, which PIC never gives.
HOST_ACCESS_KEYS = frozenset(
    {
        "privileged",
        "pid",
        "ipc",
        "uts",
        "userns_mode",
        "cgroup",
        "cgroup_parent",
        "devices",
        "device_cgroup_rules",
        "gpus",
        "runtime",
        "isolation",
        "volumes_from",
        "use_api_socket",
        "blkio_config",
        "storage_opt",
        "credential_spec",
        "oom_kill_disable",
        "cpu_rt_runtime",
        "cpu_rt_period",
    }
)
# Refused keys whose meaning PIC gives another way, or that only the store needed.
_DROPPED = {
    "links": "containers find each other by service key on the service's private network",
    "dns": "store containers use the cell's DNS",
    "dns_search": "store containers use the cell's DNS",
    "dns_opt": "store containers use the cell's DNS",
    "mac_address": "the cell network assigns addresses",
    "platform": "the cell runs images for its own platform",
    "pull_policy": "the cell pulls each image itself, after verifying it",
    "scale": "each service runs one container",
    "cpu_count": "use cpus",
    "cpu_percent": "use cpus",
    "annotations": "OCI annotations reach the runtime",
}
_STORE_LABELS = ("traefik.", "runtipi.", "com.centurylinklabs.watchtower.", "umbrel.")


@dataclass
class Result:
    manifest: dict[str, Any]
    template: dict[str, Any]
    notes: list[Note] = field(default_factory=list)

    @property
    def refused(self) -> list[Note]:
        return [n for n in self.notes if n.kind == "refused"]

    @property
    def decisions(self) -> list[Note]:
        return [n for n in self.notes if n.kind == "decide"]


def convert(app: App, registry: str) -> Result:
    return _Converter(app, registry).run()


def service_id(text: str) -> str:
    """A PIC service id from another store's id: lowercase, `-` for anything else."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:31].strip("-")
    return cleaned if cleaned and ID_RE.fullmatch(cleaned) else "app"


def semantic_version(text: str) -> str | None:
    match = _SEMVER_START.match(text.strip())
    if match is None:
        return None
    major, minor, patch = (int(part or 0) for part in match.groups())
    return f"{major}.{minor}.{patch}"


class _Converter:
    def __init__(self, app: App, registry: str) -> None:
        self.app = app
        self.registry = registry if registry.endswith("/") else registry + "/"
        self.id = service_id(app.id)
        self.own = f"cell-{self.id}"
        self.notes: list[Note] = list(app.notes)
        self.services: dict[str, dict[str, Any]] = {}
        self.top_volumes: dict[str, dict[str, Any]] = {}
        self.backups: list[dict[str, str]] = []
        self.backed_up: set[str] = set()
        self.iptables: list[dict[str, Any]] = []
        self.extra_subdomains: list[str] = []
        self.extra_backends: list[str] = []
        self.secrets_used: set[str] = set()
        self.config_used: set[str] = set()
        self.container_names: dict[str, str] = {}
        self.unknown_variables: set[str] = set()
        self.fixed: dict[str, str] = {}

    def note(self, kind: str, where: str, text: str) -> None:
        self.notes.append(Note(kind, where, text))  # type: ignore[arg-type]

    # ---- the whole app ----------------------------------------------------------------

    def run(self) -> Result:
        compose = self.app.compose
        services = compose.get("services")
        if not isinstance(services, dict) or not services:
            self.note("decide", "docker-compose.yml", "has no services: nothing to translate")
            services = {}
        for key, why in self.app.glue.items():
            if key in services:
                self.note("translated", f"services.{key}", f"dropped: {why}")
        keys_kept = [
            k for k in services if k not in self.app.glue and isinstance(services[k], dict)
        ]
        self.fixed = _fixed_passwords(services, keys_kept)
        main = self.app.main if self.app.main in keys_kept else None
        if main is None and keys_kept:
            main = self.id if self.id in keys_kept else keys_kept[0]
            self.note(
                "decide",
                f"services.{main}",
                "the store names no web container: this one was taken as the main container "
                f"({self.own}); check that it is the app's front end",
            )
        for key in keys_kept:
            self.container_names[str(key)] = (
                self.own if key == main else f"{self.own}-{_slug(str(key))}"
            )
        for key in keys_kept:
            self.services[str(key)] = self.service(str(key), services[key], key == main)
        self.top_level(compose)
        template: dict[str, Any] = {"services": self.services}
        if self.top_volumes:
            template["volumes"] = self.top_volumes
        if self.unknown_variables:
            names = ", ".join(sorted(self.unknown_variables))
            self.note(
                "decide",
                "docker-compose.yml",
                f"the store's variables {names} have no PIC meaning and were left empty: "
                "give each a fixed value, or a config_schema field (${PIC_CFG_<KEY>})",
            )
        self.leftover_passwords(template)
        manifest = self.manifest(main)
        return Result(manifest, template, self.notes)

    def top_level(self, compose: dict[str, Any]) -> None:
        for key in compose:
            if key in ("services", "version", "name", "volumes"):
                continue
            if key == "networks":
                self.note(
                    "translated",
                    "networks",
                    "dropped the store's networks: every container of a PIC service is on "
                    "the service's private network and finds the others by service key",
                )
            elif key.startswith("x-"):
                self.note("translated", key, "dropped (an extension field)")
            else:
                reason = keys.REFUSED_TOP_LEVEL_KEYS.get(key, "not a key store services may use")
                self.note("decide", key, f"left out: {reason}")
        volumes = compose.get("volumes")
        for name, entry in (volumes or {}).items() if isinstance(volumes, dict) else []:
            if (
                name in self.top_volumes
                and entry
                and (entry.get("external") or entry.get("driver") or entry.get("driver_opts"))
            ):
                self.note(
                    "decide",
                    f"volumes.{name}",
                    "its driver, options or external volume were left out: PIC volumes are "
                    "plain local volumes of the service's own project",
                )

    # ---- the manifest -----------------------------------------------------------------

    def manifest(self, main: str | None) -> dict[str, Any]:
        app = self.app
        version = semantic_version(app.version)
        if version is None:
            version = "1.0.0"
            self.note(
                "decide",
                "version",
                f"the store's version {app.version!r} is not a number: 1.0.0 was used",
            )
        elif version != app.version:
            self.note("translated", "version", f"{app.version!r} -> {version} (a semantic version)")
        if self.id != app.id:
            self.note("translated", "id", f"{app.id!r} -> {self.id!r} (PIC ids are lowercase)")
        image = self.services[main]["image"] if main else f"{self.registry}{self.id}:1.0.0"
        data: dict[str, Any] = {
            "schema_version": 3,
            "id": self.id,
            "name": _one_line(app.name, MAX_NAME_LENGTH) or self.id,
            "description": _text(app.description, MAX_DESCRIPTION_LENGTH) or app.name or self.id,
            "version": version,
            "author": _one_line(app.author, MAX_NAME_LENGTH) or "unknown",
            "kind": "store",
            "image": image,
            "container_name": self.own,
            "has_subdomain": False,
            "has_accounts": False,
            "has_admin_config": False,
            "has_storage": False,
            "has_egress": False,
            "has_api_hooks": False,
        }
        if main is not None and app.web_port is not None:
            subdomain = self.id if self.id not in RESERVED_SUBDOMAINS else f"{self.id}-app"
            if not DNS_LABEL_RE.fullmatch(subdomain):
                subdomain = "app"
            data["has_subdomain"] = True
            data["subdomain"] = subdomain
            data["backend"] = f"{self.own}:{app.web_port}"
            self.note(
                "translated",
                "subdomain",
                f"the web UI (port {app.web_port} of {main}) is served by Caddy at "
                f"https://{subdomain}.<cell domain>/ (subdomain + backend)",
            )
            if self.extra_subdomains:
                data["extra_subdomains"] = [
                    f"{subdomain}-{name}"[:63].rstrip("-") for name in self.extra_subdomains
                ]
                data["extra_backends"] = self.extra_backends
        elif main is not None:
            self.note(
                "decide",
                "subdomain",
                "the store names no web port: the app gets no subdomain; if it has a web UI, "
                "set has_subdomain, subdomain and backend (container:port)",
            )
        if self.iptables:
            data["iptables_rules"] = self.iptables
        if self.backups:
            data["has_storage"] = True
            data["backup"] = {"volumes": self.backups}
        form = [f for f in app.form if f.key in self.config_used]
        for unused in (f for f in app.form if f.key not in self.config_used and f.variable != "TZ"):
            self.note(
                "translated",
                f"form field {unused.variable}",
                "left out: the compose file does not use it",
            )
        if form:
            data["has_admin_config"] = True
            data["config_schema"] = [f.schema() for f in form]
        return data

    # ---- one service ------------------------------------------------------------------

    def service(self, key: str, service: dict[str, Any], is_main: bool) -> dict[str, Any]:
        at = f"services.{key}"
        out: dict[str, Any] = {}
        image = service.get("image")
        if isinstance(image, str):
            out["image"] = self.image(image, at)
        else:
            out["image"] = f"{self.registry}{self.id}-{_slug(key)}:1.0.0"
            self.note(
                "decide",
                f"{at}.build",
                f"has no image (it is built from source): publish it to the store registry "
                f"as {out['image']}",
            )
        out["container_name"] = self.container_names[key]
        if service.get("container_name") not in (None, out["container_name"]):
            self.note(
                "translated",
                f"{at}.container_name",
                f"{service['container_name']!r} -> {out['container_name']!r}",
            )
        for name, value in service.items():
            where = f"{at}.{name}"
            if name in ("image", "container_name", "build"):
                if name == "build" and isinstance(image, str):
                    self.note("translated", where, "dropped: the image is used instead")
                continue
            if name.startswith("x-"):
                self.note("translated", where, "dropped: an extension field of the store")
            elif name == "ports":
                self.ports(key, value, is_main, where)
            elif name == "volumes":
                mounts = self.volumes(key, value, where, is_main)
                if mounts:
                    out["volumes"] = mounts
                if service.get("user") and any("${PIC_DATA_DIR}" in str(m) for m in mounts):
                    self.note(
                        "decide",
                        where,
                        f"the container runs as user {service['user']} and binds folders "
                        "pic-store makes for it (mode 0755, pic-store's own user): check that "
                        "it can write them, or use a named volume",
                    )
            elif name == "environment":
                env = self.environment(value, where)
                if env:
                    out["environment"] = env
            elif name in ("networks", "network_mode"):
                self.network(name, value, where)
            elif name == "labels":
                labels = self.labels(value, where)
                if labels:
                    out["labels"] = labels
            elif name == "depends_on":
                kept = self.depends_on(value)
                if kept:
                    out["depends_on"] = kept
            elif name in HOST_ACCESS_KEYS:
                self.refuse(where, f"{name} is not allowed: {keys.REFUSED_SERVICE_KEYS[name]}")
            elif name in _DROPPED:
                self.note("translated", where, f"dropped: {_DROPPED[name]}")
            elif name in keys.REFUSED_SERVICE_KEYS:
                self.note("decide", where, f"left out: {name}: {keys.REFUSED_SERVICE_KEYS[name]}")
            elif name in keys.PLAIN_SERVICE_KEYS:
                out[name] = self.strings(value)
            elif name in keys.CHECKED_SERVICE_KEYS:
                checked = self.checked(name, value, where)
                if checked is not None:
                    out[name] = checked
            else:
                self.note("decide", where, f"left out: {name} is not a key store services may use")
        return out

    def refuse(self, where: str, reason: str) -> None:
        self.note("refused", where, f"host access, left out: {reason}")

    def image(self, text: str, at: str) -> str:
        text = self.substitute(text, at)
        repository, tag, digest = split_image_ref(text)
        parts = repository.split("/")
        if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
            parts = parts[1:]
        if parts[:1] == ["library"] and len(parts) > 1:
            parts = parts[1:]
        parts = [p.lower() if _COMPONENT.fullmatch(p.lower()) else _slug(p) for p in parts]
        if tag is None or not _TAG.fullmatch(tag):
            tag = "latest"
            self.note("decide", f"{at}.image", f"{text!r} names no usable tag: :latest was used")
        renamed = f"{self.registry}{'/'.join(parts)}:{tag}"
        self.note(
            "translated",
            f"{at}.image",
            f"{text!r} -> {renamed!r}"
            + (" (digest dropped: the store pipeline pins its own)" if digest else "")
            + ": publish it to the store registry (build, scan, sign) before installing",
        )
        return renamed

    def ports(self, key: str, value: object, is_main: bool, where: str) -> None:
        for index, entry in enumerate(value if isinstance(value, list) else []):
            spot = f"{where}[{index}]"
            parsed = self.port(entry, spot)
            if parsed is None:
                continue
            port, proto = parsed
            if is_main and port == self.app.web_port and proto == "tcp":
                self.note(
                    "translated",
                    spot,
                    f"the web port {port} -> backend {self.own}:{port} (Caddy serves it over "
                    "HTTPS at the subdomain; host ports bypass Caddy and the firewall)",
                )
            elif is_main:
                self.iptables.append(
                    {
                        "type": "ACCEPT",
                        "dest_ip": "${SERVICE_IP}",
                        "dest_port": port,
                        "proto": proto,
                    }
                )
                self.note(
                    "translated",
                    spot,
                    f"port {port}/{proto} -> iptables_rules ACCEPT ${{SERVICE_IP}}:{port}/{proto} "
                    "(open to VPN peers at the container's own address, not a host port)",
                )
            elif self.app.http_sidecars.get(key) == port and proto == "tcp":
                self.extra_subdomains.append(_slug(key))
                self.extra_backends.append(f"{self.container_names[key]}:{port}")
                self.note(
                    "translated",
                    spot,
                    f"the HTTP port {port} of {key} -> extra_subdomains/extra_backends "
                    f"{self.container_names[key]}:{port}",
                )
            else:
                container = self.container_names[key]
                self.iptables.append(
                    {"type": "ACCEPT", "dest_ip": container, "dest_port": port, "proto": proto}
                )
                self.note(
                    "translated",
                    spot,
                    f"port {port}/{proto} of the sidecar {key} -> iptables_rules ACCEPT "
                    f"{container}:{port}/{proto} (open to VPN peers at the sidecar's own "
                    "address on the cell network, not a host port)",
                )

    def port(self, entry: object, spot: str) -> tuple[int, str] | None:
        if isinstance(entry, dict):
            target, proto = entry.get("target"), str(entry.get("protocol") or "tcp")
        else:
            text = self.substitute(str(entry), spot)
            text, _, proto = text.partition("/")
            target = text.rsplit(":", 1)[-1]
            proto = proto or "tcp"
        if isinstance(target, str) and "-" in target:
            self.note("decide", spot, f"the port range {target} was not opened: name each port")
            return None
        try:
            port = int(str(target))
        except ValueError:
            self.note("decide", spot, f"{entry!r} is not a port PIC can read: not opened")
            return None
        if not 1 <= port <= 65535 or proto not in ("tcp", "udp"):
            self.note("decide", spot, f"{entry!r} is not a tcp or udp port: not opened")
            return None
        return port, proto

    def volumes(self, key: str, value: object, where: str, is_main: bool) -> list[Any]:
        mounts: list[Any] = []
        for index, entry in enumerate(value if isinstance(value, list) else []):
            spot = f"{where}[{index}]"
            if isinstance(entry, dict):
                source = str(entry.get("source") or "")
                target = str(entry.get("target") or "")
                read_only = bool(entry.get("read_only"))
                kind = str(
                    entry.get("type")
                    or ("bind" if source.startswith(("/", "$", ".")) else "volume")
                )
                if kind == "tmpfs":
                    mounts.append(entry)
                    continue
            else:
                parts = str(entry).split(":")
                if len(parts) == 1:
                    mounts.append(self.substitute(parts[0], spot))  # an anonymous volume
                    continue
                source, target = parts[0], parts[1]
                read_only = len(parts) > 2 and "ro" in parts[2].split(",")
            mount = self.mount(key, source, target, read_only, spot, is_main)
            if mount is not None:
                mounts.append(mount)
        return mounts

    def mount(
        self, key: str, source: str, target: str, read_only: bool, spot: str, is_main: bool
    ) -> str | None:
        suffix = ":ro" if read_only else ""
        data_root = self.data_relative(source)
        if data_root is not None:
            if _FILE_SUFFIX.search(data_root):
                self.note(
                    "decide",
                    spot,
                    f"binds the file {data_root} to {target}: PIC binds folders only "
                    f"(made empty at install): put the file in the image, or bind its "
                    f"folder, ${{PIC_DATA_DIR}}/{self.id}/<name>",
                )
                return None
            folder = _folder_name(data_root)
            bind = f"${{PIC_DATA_DIR}}/{self.id}/{folder}"
            self.note("translated", spot, f"{source} -> {bind} (a folder of the service's own)")
            self.backup(key, target, folder, spot)
            return f"{bind}:{target}{suffix}"
        if source and "/" not in source and "$" not in source and not source.startswith("."):
            self.top_volumes.setdefault(source, {})
            self.backup(key, target, source, spot)
            self.note("translated", spot, f"the named volume {source} stays a named volume")
            return f"{source}:{target}{suffix}"
        if source in HOST_FILES:
            if not read_only:
                self.note("translated", spot, f"{source} is bound read-only (it was read-write)")
            self.note(
                "translated",
                spot,
                f"{source} stays a read-only bind (a harmless host file PIC allows read-only)",
            )
            return f"{source}:{target}:ro"
        resolved = self.substitute(source, spot, quiet=True)
        if resolved in _DOCKER_SOCKETS or source in _DOCKER_SOCKETS:
            self.refuse(
                spot,
                f"{source} is the Docker engine's socket: "
                + keys.REFUSED_SERVICE_KEYS["use_api_socket"],
            )
            return None
        self.refuse(
            spot,
            f"the bind mount {source} is a host path outside the service's data folder "
            f"${{PIC_DATA_DIR}}/{self.id}: binds may only use folders directly in it, or "
            "named volumes (shared host folders let a container read or change the host)",
        )
        return None

    def data_relative(self, source: str) -> str | None:
        """The path below the store's app data folder, or None when it is not there."""
        for name in self.app.data_dir_variables:
            for spelling in (f"${{{name}}}", f"${name}"):
                if source == spelling:
                    return ""
                if source.startswith(spelling + "/"):
                    return source[len(spelling) + 1 :].strip("/")
        return None

    def backup(self, key: str, target: str, name: str, spot: str) -> None:
        if name in self.backed_up:
            return
        self.backed_up.add(name)
        backup_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-") or "data"
        self.backups.append(
            {"container": self.container_names[key], "path": target, "name": backup_name}
        )
        self.note("translated", spot, f"backed up as {backup_name} (backup.volumes, from {target})")

    def environment(self, value: object, where: str) -> dict[str, str]:
        pairs: list[tuple[str, object]] = []
        if isinstance(value, dict):
            pairs = [(str(k), v) for k, v in value.items()]
        elif isinstance(value, list):
            for entry in value:
                name, sep, written = str(entry).partition("=")
                pairs.append((name, written if sep else None))
        env: dict[str, str] = {}
        text: object
        for name, text in pairs:
            if text is None:
                self.note(
                    "decide",
                    f"{where}.{name}",
                    "has no value (Compose would copy it from the host): left out",
                )
                continue
            if isinstance(text, bool):
                text = "true" if text else "false"
            env[name] = self.secret_literals(self.substitute(str(text), f"{where}.{name}"))
            if (
                env[name] != str(text)
                and "${PIC_SECRET_" in env[name]
                and str(text) in str(self.fixed)
            ):
                self.note(
                    "translated",
                    f"{where}.{name}",
                    "a fixed password of the store's file (every install would share it) -> "
                    "a secret generated at install, the same wherever it was used",
                )
        return env

    def secret_literals(self, text: str) -> str:
        """The store's fixed passwords as generated secrets: a whole value, or the password
        of a URL (`postgres://user:PASSWORD@db/app`)."""
        if text in self.fixed:
            return f"${{PIC_SECRET_{self.fixed[text]}}}"
        for literal, name in self.fixed.items():
            if literal in text:
                secret = f"${{PIC_SECRET_{name}}}".replace("\\", "\\\\")
                text = re.sub(
                    rf"(://[^:/@\s]*:){re.escape(literal)}(@)", rf"\g<1>{secret}\g<2>", text
                )
        return text

    def leftover_passwords(self, template: dict[str, Any]) -> None:
        """A fixed password still written somewhere (a command, a healthcheck) is a decision:
        there it was not replaced, and no longer matches the generated secret."""
        for key, service in template["services"].items():
            dumped = str([service.get(k) for k in ("command", "entrypoint", "healthcheck")])
            for literal, name in self.fixed.items():
                if re.search(rf"(?<![A-Za-z0-9_-]){re.escape(literal)}(?![A-Za-z0-9_-])", dumped):
                    self.note(
                        "decide",
                        f"services.{key}",
                        "still holds the store's fixed password replaced elsewhere by "
                        f"${{PIC_SECRET_{name}}} (in its command or healthcheck): use the "
                        "secret there too",
                    )

    def network(self, name: str, value: object, where: str) -> None:
        if name == "network_mode" and value == "host":
            self.refuse(
                where, f"network_mode is not allowed: {keys.REFUSED_SERVICE_KEYS['network_mode']}"
            )
        elif name == "network_mode":
            self.note(
                "decide",
                where,
                f"network_mode {value!r} left out: {keys.REFUSED_SERVICE_KEYS['network_mode']}; "
                "the containers find each other by service key",
            )

    def labels(self, value: object, where: str) -> dict[str, str]:
        if isinstance(value, list):
            value = dict(str(e).partition("=")[::2] for e in value)
        kept: dict[str, str] = {}
        dropped = 0
        for label, text in (value or {}).items() if isinstance(value, dict) else []:
            if str(label).startswith(_STORE_LABELS + keys.RESERVED_LABEL_PREFIXES):
                dropped += 1
            else:
                kept[str(label)] = self.substitute(str(text), where)
        if dropped:
            self.note(
                "translated",
                where,
                f"dropped {dropped} label(s) of the store's proxy and manager: Caddy routes "
                "the subdomain from the manifest",
            )
        return kept

    def depends_on(self, value: object) -> object:
        if isinstance(value, list):
            return [k for k in value if k in self.container_names]
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k in self.container_names}
        return None

    def checked(self, name: str, value: Any, where: str) -> Any:
        if name == "cap_add":
            caps: list[Any] = []
            for cap in value or []:
                if str(cap).upper().removeprefix("CAP_") in keys.DOCKER_DEFAULT_CAPABILITIES:
                    caps.append(cap)
                else:
                    self.refuse(
                        where,
                        f"the capability {cap} is not allowed: cap_add may only give back one "
                        "of Docker's default capabilities",
                    )
            return caps or None
        if name == "security_opt":
            allowed = [o for o in value or [] if o in keys.SECURITY_OPTIONS]
            for option in value or []:
                if option not in keys.SECURITY_OPTIONS:
                    self.refuse(where, f"{option!r} is not allowed: {_REFUSED_SECURITY}")
            return allowed or None
        if name == "sysctls":
            items = (
                value.items()
                if isinstance(value, dict)
                else [str(e).partition("=")[::2] for e in value or []]
            )
            kept_map = {}
            for key, text in items:
                if str(key).startswith(keys.SYSCTL_PREFIXES):
                    kept_map[str(key)] = text
                else:
                    self.refuse(where, f"the sysctl {key} is not allowed: it reaches the host")
            return kept_map or None
        if name == "logging":
            if value.get("driver") not in (None, *keys.LOG_DRIVERS):
                self.note("translated", where, "dropped: the cell keeps the containers' logs")
                return None
            return value
        if name == "deploy":
            kept: dict[str, Any] = {k: v for k, v in (value or {}).items() if k in keys.DEPLOY_KEYS}
            resources = kept.get("resources") or {}
            if isinstance(resources, dict) and any(
                isinstance(r, dict) and "devices" in r for r in resources.values()
            ):
                self.refuse(
                    where,
                    "deploy.resources reservations of devices (GPUs): "
                    f"{keys.REFUSED_SERVICE_KEYS['devices']}",
                )
                kept["resources"] = {
                    kind: {n: v for n, v in (limits or {}).items() if n in keys.RESOURCE_KEYS}
                    for kind, limits in resources.items()
                    if kind in ("limits", "reservations")
                }
            if set(value or {}) - set(kept):
                self.note("translated", where, "kept resources and restart_policy only")
            return kept or None
        if name == "ulimits":
            kept_map = {k: v for k, v in (value or {}).items() if k not in keys.REFUSED_ULIMITS}
            for limit in set(value or {}) - set(kept_map):
                self.refuse(where, f"the ulimit {limit}: {keys.REFUSED_ULIMITS[limit]}")
            return kept_map or None
        if name == "oom_score_adj" and int(value) < 0:
            self.refuse(
                where, "a negative oom_score_adj would let the host kill its own processes first"
            )
            return None
        return self.strings(value)

    # ---- variables --------------------------------------------------------------------

    def strings(self, value: Any, where: str = "") -> Any:
        if isinstance(value, str):
            return self.substitute(value, where)
        if isinstance(value, list):
            return [self.strings(v, where) for v in value]
        if isinstance(value, dict):
            return {k: self.strings(v, where) for k, v in value.items()}
        return value

    def substitute(self, text: str, where: str, quiet: bool = False) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$$"
            name = match.group(1) or match.group(4)
            operator, default = match.group(2), match.group(3)
            return self.variable(name, operator, default, where, quiet)

        replaced = _VARIABLE.sub(one, text)
        replaced = re.sub(r"\$(?![{$A-Za-z_])", "$$", replaced)  # a lone `$` stays literal
        for host, key in self.app.hostnames.items():
            if key in self.container_names and host in replaced:
                replaced = re.sub(
                    rf"(?<![A-Za-z0-9_.-]){re.escape(host)}(?![A-Za-z0-9_-])", key, replaced
                )
        return replaced

    def variable(
        self, name: str, operator: str | None, default: str | None, where: str, quiet: bool
    ) -> str:
        app = self.app
        if name in app.secrets:
            self.secrets_used.add(app.secrets[name])
            return f"${{PIC_SECRET_{app.secrets[name]}}}"
        for form_field in app.form:
            if form_field.variable == name:
                self.config_used.add(form_field.key)
                return f"${{PIC_CFG_{form_field.key.upper()}}}"
        if name in app.variables:
            return app.variables[name]
        if name in app.data_dir_variables:
            return f"${{PIC_DATA_DIR}}/{self.id}"
        if operator in ("-", ":-") and default is not None:
            if not quiet:
                self.note(
                    "translated",
                    where,
                    f"${{{name}}} has no PIC meaning: its default {default!r} was used",
                )
            return self.substitute(default, where, quiet) if "$" in default else default
        if not quiet:
            self.unknown_variables.add(name)
        return ""


def _fixed_passwords(services: dict[str, Any], kept: list[Any]) -> dict[str, str]:
    """literal -> secret name, for each fixed value of a password-like variable."""
    found: dict[str, str] = {}
    for key in kept:
        environment = services[key].get("environment")
        if isinstance(environment, list):
            environment = dict(str(e).partition("=")[::2] for e in environment)
        for name, value in (environment or {}).items() if isinstance(environment, dict) else []:
            text = str(value) if isinstance(value, str | int) else ""
            if (
                _SECRET_KEY.search(str(name))
                and len(text) >= 4
                and "$" not in text
                and not text.isdigit()
                and text.lower() not in _NOT_PASSWORDS
                and text not in found
            ):
                secret = re.sub(r"[^A-Z0-9_]", "_", str(name).upper()).strip("_")[:60] or "KEY"
                while secret in found.values():
                    secret += "_2"
                found[text] = secret
    return found


_NOT_PASSWORDS = frozenset({"true", "false", "none", "null", "yes", "no", "changeme_later"})


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _folder_name(relative: str) -> str:
    """`data/db` -> `db`, `data/app/config` -> `app-config`, `` -> `data`."""
    parts = [p for p in relative.split("/") if p and p != "."]
    if len(parts) > 1 and parts[0] == "data":
        parts = parts[1:]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts)).strip(".-")[:100] or "data"
    return name if BIND_FOLDER_RE.fullmatch(name) else "data"


def _one_line(text: str, limit: int) -> str:
    return " ".join(str(text).split())[:limit]


def _text(text: str, limit: int) -> str:
    cleaned = re.sub(r"[\x00-\x09\x0b-\x1f\x7f]", " ", str(text)).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."
