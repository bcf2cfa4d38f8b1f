"""`pic-store up --install-example`: build, push and install the example Notes service.

The image is built locally FROM the busybox base and pushed to the stack's own registry;
the store is copied with the manifest's image pinned to the pushed digest, as the store's
pipeline would, and installed through the bus like any other install.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

from shared.bus import Bus
from shared.cli.connect import print_progress, report
from shared.client import StoreClient
from shared.embedded.base_image import build_base
from shared.embedded.stack import EmbeddedStack
from shared.errors import PartUnavailableError
from shared.events import InstallCommand, new_operation_id

EXAMPLE_STORE = Path(__file__).resolve().parents[2] / "examples" / "store"
SERVICE = "notes"


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise PartUnavailableError(f"docker {args[0]} failed: "
                                   f"{done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode().strip()


def publish_example(stack: EmbeddedStack) -> Path:
    """Build and push the example image; return a store copy pinned to its digest."""
    build_base()
    source = EXAMPLE_STORE / "services" / SERVICE
    repository = f"{stack.registry}/roof/pic-notes"
    _docker("build", "--network", "none", "-q", "-t", f"{repository}:1.0.0", str(source))
    _docker("push", "-q", f"{repository}:1.0.0")
    digests = _docker("inspect", "--format", "{{join .RepoDigests \"\\n\"}}",
                      f"{repository}:1.0.0").splitlines()
    pinned = next(d for d in digests if d.startswith(repository + "@"))
    store = stack.data_dir / "example-store"
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(EXAMPLE_STORE, store)
    manifest_path = store / "services" / SERVICE / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["image"] = pinned
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return store


def install_example(stack: EmbeddedStack) -> int:
    store = publish_example(stack)
    print(f"example: installing {SERVICE} from {store}", flush=True)

    async def run() -> int:
        bus = await Bus.connect(stack.nats_url, stack.cell, name="pic-store-example")
        try:
            command = InstallCommand(operation_id=new_operation_id(), service_id=SERVICE,
                                     payload={"store": str(store)})
            result = await StoreClient(bus).run(command, print_progress, timeout=300)
            return report(result)
        finally:
            await bus.close()

    return asyncio.run(run())
