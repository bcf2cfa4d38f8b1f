"""Backup throughput against a plain `docker exec <container> tar | gzip -6 > file` of the same
1 GiB volume in the same run (both at gzip level 6, gzip's default, on the same data), and
the backup service's peak memory (VmHWM: its largest resident set since it started)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.backup.parts import backup, sh, storage_cell
from tests.parts.image_set import ImageSet

# 1 GiB: half random (does not compress), half base64 text (compresses to about 3/4).
FILL = """
set -e
cd /srv/files
for i in 1 2 3 4 5 6 7 8; do head -c 67108864 /dev/urandom > random-$i.bin; done
for i in 1 2 3 4 5 6 7 8; do
  head -c 50331648 /dev/urandom | base64 | head -c 67108864 > text-$i.txt
done
"""


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def plain_tar_gzip(container: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        f"docker exec {container} tar -c -f - -C /srv/files . | gzip -6 > {out}",
        shell=True,
        check=True,
    )
    return time.perf_counter() - started


@pytest.mark.integration
async def test_backup_of_one_gib_against_tar_gzip(
    stack_factory, images: ImageSet, tmp_path: Path
) -> None:
    made = await storage_cell(stack_factory, images, tmp_path)
    stack, sid, bus, service = made.stack, made.sid, made.bus, made.backup
    container = f"cell-{sid}"
    sh(container, FILL)
    size = int(sh(container, "du -sk /srv/files | cut -f1")) * 1024
    assert service.pid is not None
    at_start = rss_mib(service.pid)

    plain = plain_tar_gzip(container, tmp_path / "plain.tar.gz")  # also warms the page cache
    started = time.perf_counter()
    made = await backup(bus, sid, timeout=900)
    ours = time.perf_counter() - started
    assert made.payload.ok, made.payload.message
    plain = min(plain, plain_tar_gzip(container, tmp_path / "plain.tar.gz"))
    peak = peak_rss_mib(service.pid)
    stored = sum(p.stat().st_size for p in (stack.data_dir / "backups").rglob("*") if p.is_file())
    mib = size / 1024**2
    print(
        f"\nbackup of a {mib:.0f} MiB volume (gzip level 6 on both sides): pic-store "
        f"{ours:.1f} s ({mib / ours:.0f} MiB/s, tree checksums, age encryption and SHA-256 of "
        f"every file included), docker exec tar | gzip -6 {plain:.1f} s ({mib / plain:.0f} "
        f"MiB/s); throughput ratio {plain / ours:.2f} (target >= 0.8)\n"
        f"stored {stored / 1024**2:.0f} MiB, plain gzip "
        f"{(tmp_path / 'plain.tar.gz').stat().st_size / 1024**2:.0f} MiB; backup service "
        f"peak memory {peak:.0f} MiB (resident at start {at_start:.0f} MiB, growth "
        f"{peak - at_start:.0f} MiB; target < 100 MiB)"
    )
    await bus.close()
    assert plain / ours > 0.3, "sanity bound only"
