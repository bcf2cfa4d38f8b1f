"""`pic-store up --install-example`: publish, trust and install the example Notes service.

The image is built locally FROM the busybox base, pushed to the stack's own registry and
signed with the cell's example key (the seed's store pipeline, in small); the cell config is
set to `enforce` with that key, and the service is installed through the bus like any other.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

from app.cli.connect import print_progress, report
from app.embedded.base_image import build_base
from app.embedded.stack import EmbeddedStack
from app.publish import PublishRequest, publish
from shared.bus import Bus
from shared.client import StoreClient
from shared.config import VerificationMode
from shared.cosign import PrivateKey, generate_key_pair, load_private_key
from shared.events import InstallCommand, new_operation_id

EXAMPLE_STORE = Path(__file__).resolve().parents[2] / "examples" / "store"
SERVICE = "notes"


def example_key(stack: EmbeddedStack) -> PrivateKey:
    """The embedded cell's own store key (made once), standing in for the store pipeline's."""
    folder = stack.data_dir / "keys"
    key_path, password_path = folder / "cosign.key", folder / "cosign.password"
    if not key_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(24)
        private_pem, public_pem = generate_key_pair(password.encode())
        for path, data in ((password_path, password.encode()), (key_path, private_pem)):
            path.write_bytes(data)
            path.chmod(0o600)
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
    config.model_copy(update={"image_verification": verification}).write(stack.data_dir)


def publish_example(stack: EmbeddedStack) -> Path:
    """Build, push and sign the example image; return a store copy pinned to its digest."""
    build_base()
    store = stack.data_dir / "example-store"
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(EXAMPLE_STORE, store)
    published = asyncio.run(
        publish(
            PublishRequest(
                service_dir=store / "services" / SERVICE,
                registry=f"{stack.registry}/roof",
                key=example_key(stack),
                insecure=True,
            )
        )
    )
    print(
        f"example: published and signed {published.image} (key {published.key_id[:16]})", flush=True
    )
    trust_example_key(stack)
    return store


def install_example(stack: EmbeddedStack) -> int:
    store = publish_example(stack)
    print(f"example: installing {SERVICE} from {store}", flush=True)

    async def run() -> int:
        bus = await Bus.connect(
            stack.nats_url,
            stack.cell,
            name="pic-store-example",
            seed=stack.seed("admin"),
            role="admin",
        )
        try:
            command = InstallCommand(
                operation_id=new_operation_id(), service_id=SERVICE, payload={"store": str(store)}
            )
            result = await StoreClient(bus).run(command, print_progress, timeout=300)
            return report(result)
        finally:
            await bus.close()

    return asyncio.run(run())
