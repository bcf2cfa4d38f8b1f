"""DNS records as hosts files in a directory that dnsmasq watches (`--hostsdir=DIR`).

One file per service, `pic-store.<service_id>.hosts`, each line `address name`. A file is
replaced atomically (a dot-named temporary file in the same directory, fsync, rename, fsync of
the directory), so dnsmasq, which re-reads a file when it is closed or moved into place and
drops the records of a deleted one, never sees half a file. Dot-named files are ignored by
dnsmasq, and files without our prefix are not ours: they are never read or changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from services.router.dns.backend import Address, checked_records
from services.router.errors import DnsError
from services.router.routes import check_label

_PREFIX = "pic-store."
_SUFFIX = ".hosts"


class HostsDirBackend:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Checking that a name is free and writing it must not interleave within a process.
        self._lock = asyncio.Lock()

    async def set_records(self, service_id: str, records: Mapping[str, str]) -> None:
        checked = checked_records(service_id, records)
        async with self._lock:
            await asyncio.to_thread(self._set, service_id, checked)

    async def remove(self, service_id: str) -> None:
        check_label(service_id, "service id")
        async with self._lock:
            await asyncio.to_thread(self._remove, service_id)

    async def list(self) -> dict[str, str]:
        return await asyncio.to_thread(self._list)

    async def by_service(self) -> dict[str, dict[str, str]]:
        return await asyncio.to_thread(self._by_service)

    def path_of(self, service_id: str) -> Path:
        return self.directory / f"{_PREFIX}{service_id}{_SUFFIX}"

    def _set(self, service_id: str, records: dict[str, Address]) -> None:
        if not records:
            self._remove(service_id)
            return
        for other, names in self._by_service().items():
            taken = sorted(set(records) & set(names)) if other != service_id else []
            if taken:
                raise DnsError(
                    f"{', '.join(taken)} already held by service {other} "
                    f"in {self.directory}; not given to {service_id}"
                )
        lines = [f"# pic-store: DNS records of service {service_id}; rewritten, do not edit"]
        lines += [f"{address} {name}" for name, address in sorted(records.items())]
        content = "\n".join(lines) + "\n"
        path = self.path_of(service_id)
        with contextlib.suppress(FileNotFoundError):
            if path.read_text() == content:
                return  # unchanged: no rewrite, so dnsmasq has nothing to reload
        self._write_atomically(path, content)

    def _write_atomically(self, path: Path, content: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{path.name}.")
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(content)
                    out.flush()
                    os.fsync(out.fileno())
                # dnsmasq reads the file after dropping its privileges.
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            self._sync_directory()
        except OSError as exc:
            raise DnsError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def _remove(self, service_id: str) -> None:
        path = self.path_of(service_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise DnsError(f"cannot remove {path}: {exc.strerror or exc}") from exc
        self._sync_directory()

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _by_service(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        if not self.directory.is_dir():
            return found
        for path in sorted(self.directory.glob(f"{_PREFIX}*{_SUFFIX}")):
            service_id = path.name[len(_PREFIX) : -len(_SUFFIX)]
            found[service_id] = _parse(path.read_text(errors="replace"))
        return found

    def _list(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for names in self._by_service().values():
            merged.update(names)
        return merged


def _parse(text: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        for name in fields[1:]:
            names.setdefault(name, fields[0])
    return names
