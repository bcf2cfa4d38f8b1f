"""Archives, streamed: a tar stream from a container compressed to disk chunk by chunk (a
worker thread compresses one batch while the next is read, so memory stays flat whatever the
size), the tree an archive holds (for checks and verify), and age encryption of whole files.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tarfile
import zlib
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO

import pyrage
from pyrage import x25519

from services.backup.errors import BackupCorruptError, UnsafeEntryError
from services.backup.members import MemberRule

BATCH = 1024 * 1024  # bytes handed to the compressing thread at a time
READ_CHUNK = 1024 * 1024
GZIP_WBITS = 31  # zlib's gzip container


class GzipFile:
    """A gzip file written from a worker thread, one batch at a time."""

    def __init__(self, path: Path, level: int) -> None:
        self.handle: BinaryIO = path.open("wb")
        self.zip = zlib.compressobj(level, zlib.DEFLATED, GZIP_WBITS)

    def write(self, data: bytes) -> None:
        self.handle.write(self.zip.compress(data))

    def close(self) -> None:
        self.handle.write(self.zip.flush())
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


async def gzip_to_file(chunks: AsyncIterable[bytes], path: Path, level: int) -> int:
    """Compress a stream into `path`; the number of bytes read."""
    sink = GzipFile(path, level)
    pending: asyncio.Future[None] | None = None
    batch = bytearray()
    total = 0
    try:
        async for chunk in chunks:
            batch += chunk
            total += len(chunk)
            if len(batch) >= BATCH:
                if pending is not None:
                    await pending
                data = bytes(batch)
                batch.clear()
                pending = asyncio.ensure_future(asyncio.to_thread(sink.write, data))
        if pending is not None:
            await pending
        await asyncio.to_thread(sink.write, bytes(batch))
        await asyncio.to_thread(sink.close)
    except BaseException:
        if pending is not None and not pending.done():
            pending.cancel()
        sink.handle.close()
        raise
    return total


async def raw_to_file(chunks: AsyncIterable[bytes], path: Path) -> None:
    with path.open("wb") as handle:
        async for chunk in chunks:
            await asyncio.to_thread(handle.write, chunk)


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
            yield chunk


def _member_name(name: str, strip_first: bool) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if strip_first:
        parts = parts[1:]
    return "/".join(parts) or "."


def tree_of(
    path: Path, compressed: bool = True, strip_first: bool = False, rule: MemberRule | None = None
) -> dict[str, str]:
    """Every entry of a tar archive: its kind, mode, size and SHA-256 (files) or target
    (links). BackupCorruptError when the archive is truncated or broken; UnsafeEntryError
    when `rule` refuses an entry (one a restore could not put back)."""
    tree: dict[str, str] = {}
    try:
        with tarfile.open(path, "r|gz" if compressed else "r|") as tar:
            for member in tar:
                problem = rule.problem(member) if rule is not None else None
                if problem is not None:
                    raise UnsafeEntryError(f"{path.name.removesuffix('.tar.gz')}: {problem}")
                name = _member_name(member.name, strip_first)
                mode = f"{member.mode & 0o7777:04o}"
                if member.isfile():
                    digest = hashlib.sha256()
                    source = tar.extractfile(member)
                    assert source is not None
                    while chunk := source.read(READ_CHUNK):
                        digest.update(chunk)
                    tree[name] = f"file {mode} {member.size} {digest.hexdigest()}"
                elif member.isdir():
                    tree[name] = f"dir {mode}"
                elif member.issym():
                    tree[name] = f"symlink {member.linkname}"
                elif member.islnk():
                    # Which of two linked names tar stores as the file depends on the order
                    # it meets them: both are described as the file they share.
                    target = _member_name(member.linkname, strip_first)
                    tree[name] = tree.get(target, f"hardlink {target}")
                else:
                    tree[name] = f"special {mode}"
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupCorruptError(f"the archive {path.name} is broken: {exc}") from exc
    return tree


def encrypt_file(plain: Path, sealed: Path, recipient: x25519.Recipient) -> None:
    pyrage.encrypt_file(str(plain), str(sealed), [recipient])


def decrypt_file(sealed: Path, plain: Path, identity: x25519.Identity) -> None:
    try:
        pyrage.decrypt_file(str(sealed), str(plain), [identity])
    except pyrage.DecryptError as exc:
        raise BackupCorruptError(f"{sealed.name} does not decrypt: {exc}") from exc


def tar_config_paths(root: Path, relative: list[str], into: Path, level: int) -> list[str]:
    """The config paths (relative to the PIC root) that exist, archived; those archived."""
    kept = []
    with tarfile.open(into, "w:gz", compresslevel=level) as tar:
        for rel in relative:
            source = root / rel
            if source.exists() or source.is_symlink():
                tar.add(source, arcname=rel)
                kept.append(rel)
    return kept


def untar_config_paths(checked: Path, root: Path, relative: list[str]) -> None:
    """Put the config paths back from `checked`, a plain tar whose every member passed
    members.safe_copy (inside one of `relative`, no link out, no special file): what is
    there now is replaced."""
    for rel in relative:
        target = root / rel
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(checked, "r:") as tar:
        tar.extractall(root, filter="data")
