"""A base image made locally from Debian's busybox-static: no pulls from the internet.

The example service and the tests build their images FROM it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from shared.errors import PartUnavailableError

BUSYBOX = Path("/bin/busybox")
BASE_TAG = "pic-store/busybox:base"
APPLETS = [
    "sh",
    "httpd",
    "echo",
    "cat",
    "sleep",
    "wget",
    "nc",
    "ls",
    "env",
    "tar",
    "mkdir",
    "rm",
    "cp",
    "mv",
    "gzip",
    "id",
    "test",
    "true",
    "false",
    "printf",
    "grep",
    "ip",
    "date",
    "hostname",
    "sort",
    "sed",
    "head",
    "tail",
    "wc",
    "chmod",
    "touch",
]


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise PartUnavailableError(
            f"docker {args[0]} failed: {done.stderr.decode(errors='replace').strip()}"
        )
    return done.stdout.decode().strip()


def build_base(tag: str = BASE_TAG) -> str:
    """Import a busybox root filesystem as an image (once) and return its tag."""
    if _docker("images", "-q", tag):
        return tag
    if not BUSYBOX.exists():
        raise PartUnavailableError(
            "busybox-static is not installed (apt-get install busybox-static)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rootfs"
        for folder in ("bin", "tmp", "etc", "www", "data"):
            (root / folder).mkdir(parents=True)
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (root / "etc" / "group").write_text("root:x:0:\n")
        shutil.copy2(BUSYBOX, root / "bin" / "busybox")
        for applet in APPLETS:
            (root / "bin" / applet).symlink_to("busybox")
        archive = shutil.make_archive(str(Path(tmp) / "rootfs"), "tar", root_dir=root)
        _docker("import", "-c", 'CMD ["/bin/sh"]', archive, tag)
    return tag
