"""`pic-store up --install-example`: publish, trust and install the example store.

Every service of examples/store is built locally (FROM the busybox base, or the Debian base
with nginx for Files), pushed to the stack's own registry and signed with the cell's example
key (the seed's store pipeline, in small); the cell config is set to `enforce` with that key.
Notes, Files, Calendar and Email are installed through the bus like any other service, a
peer `demo` gets its accounts, and what to try next is printed once those accounts work. A
second start reuses the published store when the examples did not change, and the installs
are no-ops: it takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

from app.cli.connect import print_progress, report
from app.cli.output import EXIT_OK
from app.deploy.image import build_base as build_debian_base
from app.embedded.base_image import build_base
from app.embedded.stack import EmbeddedStack
from app.publish import PublishRequest, publish
from shared.bus import Bus
from shared.cell_ca import ROOT_CERT, ca_dir
from shared.client import StoreClient
from shared.config import StoreSource, VerificationMode
from shared.cosign import PrivateKey, generate_key_pair, load_private_key
from shared.events import InstallCommand, new_operation_id
from shared.events.layout import CELL_LAYOUT
from shared.events.messages import InstallPayload
from shared.events.peers import PeerAction
from shared.installed import services_bucket
from shared.peer_client import PeerRequestError, add_peer, ask_peer

EXAMPLE_STORE = Path(__file__).resolve().parents[2] / "examples" / "store"
INSTALLED = ("notes", "files", "calendar", "email")
EXAMPLE_STORE_NAME = "examples"
PEER = "demo"
# One Debian base for every reference service (one debootstrap, ~60 s, instead of one each):
# nginx with its WebDAV extensions (Files), Radicale (Calendar), Postfix and Dovecot (Email).
REFERENCE_BASE = (
    "pic-store/reference:base",
    (
        "busybox",
        "ca-certificates",
        "openssl",
        "apache2-utils",
        "nginx",
        "libnginx-mod-http-dav-ext",
        "radicale",
        "python3-bcrypt",
        "python3-cffi-backend",  # python3-bcrypt's, named: debootstrap skips virtual packages
        "postfix",
        "dovecot-core",
        "dovecot-imapd",
    ),
)
STAMP = ".published-from"
# `pic-store up`'s defaults: the CLI finds such a stack without being told.
DEFAULT_DATA_DIR = Path("var/pic")
DEFAULT_NATS_PORT = 4222
DEFAULT_CELL = "cell"


def example_key(stack: EmbeddedStack) -> PrivateKey:
    """The embedded cell's own store key (made once), standing in for the store pipeline's."""
    folder = stack.data_dir / "keys"
    key_path, password_path = folder / "cosign.key", folder / "cosign.password"
    if not key_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        private_pem, public_pem = generate_key_pair(password.encode())
        for path, data in ((password_path, password.encode()), (key_path, private_pem)):
            path.unlink(missing_ok=True)  # a half-made pair: made again, whole
            # 0600 from its first byte: created with its mode, never chmod-ed after.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        (folder / "cosign.pub").write_bytes(public_pem)
    return load_private_key(key_path.read_bytes(), password_path.read_bytes())


def trust_example_key(stack: EmbeddedStack) -> None:
    """Enforce verification with the example key, as a cell trusting its store would."""
    config = stack.config()
    verification = config.image_verification.model_copy(
        update={
            "mode": VerificationMode.enforce,
            "public_keys": [str(stack.data_dir / "keys" / "cosign.pub")],
            "insecure_registries": sorted(
                {*config.image_verification.insecure_registries, stack.registry}
            ),
        }
    )
    # The published copy is the cell's default store: the admin page browses it, and an
    # install that names no store takes it.
    stores = [s for s in config.stores if s.name != EXAMPLE_STORE_NAME]
    stores.append(StoreSource(name=EXAMPLE_STORE_NAME, url=str(stack.data_dir / "example-store")))
    config.model_copy(
        update={
            "image_verification": verification,
            "stores": stores,
            "default_store": config.default_store or EXAMPLE_STORE_NAME,
        }
    ).write(stack.data_dir)


def _source_stamp(stack: EmbeddedStack, key: PrivateKey) -> str:
    """What the published copy was made from: the examples' files, the registry, the key."""
    digest = hashlib.sha256(f"{stack.registry} {key.public.key_id}\n".encode())
    for path in sorted(p for p in EXAMPLE_STORE.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(EXAMPLE_STORE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def publish_example(stack: EmbeddedStack) -> Path:
    """Build, push and sign every example image; return a store copy pinned to the digests
    (the one made last time, when nothing it was made from changed)."""
    store = stack.data_dir / "example-store"
    key = example_key(stack)
    stamp = _source_stamp(stack, key)
    if (store / STAMP).is_file() and (store / STAMP).read_text() == stamp:
        print(f"example: the published store in {store} is up to date", flush=True)
        trust_example_key(stack)
        return store
    build_base()
    build_debian_base(*REFERENCE_BASE)
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(EXAMPLE_STORE, store)
    index = json.loads((store / "index.json").read_text())
    for entry in index["services"]:
        published = asyncio.run(
            publish(
                PublishRequest(
                    service_dir=store / entry["path"],
                    registry=f"{stack.registry}/roof",
                    key=key,
                    insecure=True,
                )
            )
        )
        print(f"example: published and signed {published.image}", flush=True)
    (store / STAMP).write_text(stamp)
    trust_example_key(stack)
    return store


async def _install(stack: EmbeddedStack, store: Path) -> tuple[int, dict[str, str]]:
    """Install the examples and add the peer; the code and each service's IP."""
    bus = await Bus.connect(
        stack.nats_url,
        stack.cell,
        name="pic-store-example",
        seed=stack.seed("admin"),
        role="admin",
        layout=CELL_LAYOUT,
    )
    try:
        for service in INSTALLED:
            print(f"example: installing {service} from {store}", flush=True)
            command = InstallCommand(
                operation_id=new_operation_id(),
                service_id=service,
                payload=InstallPayload(store=str(store)),
            )
            code = report(await StoreClient(bus).run(command, print_progress, timeout=300))
            if code != EXIT_OK:
                return code, {}
        await add_peer(bus, PEER)
        await _accounts_made(bus)
        records = await services_bucket(bus)
        addresses = {}
        for service in INSTALLED:
            stored = await records.get(service)
            if stored is not None and stored.value.service_ip:
                addresses[service] = stored.value.service_ip
        return EXIT_OK, addresses
    finally:
        await bus.close()


async def _accounts_made(bus: Bus, within: float = 60.0) -> None:
    """Wait until the peer's account exists in every example service (its config lists it),
    so that each line printed next works when copied at once; say so if one is late."""
    deadline = time.monotonic() + within
    missing: set[str] = set(INSTALLED)
    while time.monotonic() < deadline:
        with contextlib.suppress(PeerRequestError):
            missing = set(INSTALLED) - set(await ask_peer(bus, PeerAction.config, PEER))
            if not missing:
                return
        await asyncio.sleep(0.5)
    print(
        f"example: {PEER}'s accounts in {', '.join(sorted(missing))} are not made yet; "
        f"`pic-store status` and the accounts log say why",
        flush=True,
    )


def install_example(stack: EmbeddedStack) -> int:
    code, addresses = asyncio.run(_install(stack, publish_example(stack)))
    if code == EXIT_OK:
        print(what_to_try(stack, addresses), flush=True)
    return code


def _command_line(stack: EmbeddedStack) -> tuple[str, list[str]]:
    """How to call the CLI from here, and what it must be told of a non-default stack."""
    exe = Path(sys.executable).parent / "pic-store"
    with contextlib.suppress(ValueError):
        exe = exe.relative_to(Path.cwd())
    exports = []
    if stack.data_dir != DEFAULT_DATA_DIR.resolve():
        exports.append(f"PIC_DATA_DIR={stack.data_dir}")
    if stack.nats_port != DEFAULT_NATS_PORT:
        exports.append(f"PIC_NATS_URL={stack.nats_url}")
    if stack.cell != DEFAULT_CELL:
        exports.append(f"PIC_CELL={stack.cell}")
    return str(exe), exports


def what_to_try(stack: EmbeddedStack, addresses: dict[str, str] | None = None) -> str:
    """The next steps, each a line to paste. The peer's password is fetched by the line
    itself when it runs, so it never lands in the terminal's scroll-back."""
    cli, exports = _command_line(stack)
    config = stack.config()
    listen = config.router.listen[0]
    port = listen.rpartition(":")[2]
    domain = config.domain
    mail_ip = (addresses or {}).get("email")
    ca = ca_dir(stack.data_dir) / ROOT_CERT
    with contextlib.suppress(ValueError):
        ca = ca.relative_to(Path.cwd())

    def url(name: str, path: str = "/") -> str:
        return f"http://{name}.{domain}:{port}{path}"

    def curl(name: str, service: str, *extra: str, user: str = PEER, at: str = "") -> str:
        password = f'"{user}:$({cli} peers config {PEER} --get {service}.password)"'
        resolve = at or f"{name}.{domain}:{port}:127.0.0.1"
        return " ".join(["curl", "--resolve", resolve, "-u", password, *extra])

    mail = f"mail.{domain}"
    address = f"{PEER}@{domain}"
    lines = [
        "",
        f"Try it: Caddy answers on {listen} for *.{domain}; the peer {PEER!r} has an account "
        "in each service.",
        *([f"  export {' '.join(exports)}"] if exports else []),
        f"  Notes  {url('notes')}",
        f"    {curl('notes', 'notes', url('notes', '/login'))}",
        f"  Files  {url('files')}, WebDAV at {url('files-dav')}",
        f"    {curl('files-dav', 'files', '-T', 'README.md', url('files-dav', '/README.md'))}",
        f"    {curl('files-dav', 'files', url('files-dav', '/README.md'))}",
        f"  Calendar  CalDAV and CardDAV at {url('calendar')} (a calendar app takes "
        f"the `calendar` part of `{cli} peers config {PEER}`)",
        "    "
        + curl(
            "calendar",
            "calendar",
            "-X",
            "PROPFIND",
            "-H",
            "'Depth: 1'",
            url("calendar", f"/{PEER}/"),
        ),
    ]
    if mail_ip:
        lines += [
            f"  Email  {address} on {mail} ({mail_ip}): IMAP 993 (TLS), submission 587 "
            f"(STARTTLS), certificates of the cell's CA {ca}; a mail client takes "
            f"the `email` part of `{cli} peers config {PEER}`",
            "    printf 'Subject: hello\\n\\nfrom the cell\\n' | "
            + curl(
                mail,
                "email",
                "--cacert",
                str(ca),
                "--ssl-reqd",
                "--mail-from",
                address,
                "--mail-rcpt",
                address,
                "-T",
                "-",
                f"smtp://{mail}:587",
                user=address,
                at=f"{mail}:587:{mail_ip}",
            ),
            "    "
            + curl(
                mail,
                "email",
                "--cacert",
                str(ca),
                f"'imaps://{mail}/INBOX;UID=1'",
                user=address,
                at=f"{mail}:993:{mail_ip}",
            ),
        ]
    lines += [
        "  From another terminal:",
        *([f"    export {' '.join(exports)}"] if exports else []),
        *(
            f"    {cli} {command}"
            for command in (
                "list",
                "status files",
                f"peers config {PEER}",
                "peers add alice",
                "backup files",
                "routes",
            )
        ),
    ]
    return "\n".join(lines)
