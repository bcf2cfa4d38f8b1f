"""Key-value state with compare-and-set: every write that can race names the revision it read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel

R = TypeVar("R", bound=BaseModel)


class Conflict(Exception):
    """Someone else wrote the key since we read it (or created it first)."""


@dataclass(frozen=True)
class Record(Generic[R]):
    value: R
    revision: int


class TypedBucket(Generic[R]):
    def __init__(self, kv: KeyValue, model: type[R], js: JetStreamContext, name: str) -> None:
        self.kv = kv
        self.model = model
        self._js = js
        self._stream = f"KV_{name}"
        self._prefix = f"$KV.{name}."

    async def get(self, key: str, revision: int | None = None) -> Record[R] | None:
        """The value now, or at an earlier `revision` (the bucket keeps its history)."""
        try:
            entry = await self.kv.get(key, revision=revision)
        except KeyNotFoundError:
            return None
        if entry.value is None or entry.operation is not None:
            return None
        return Record(self.model.model_validate_json(entry.value), entry.revision or 0)

    async def create(self, key: str, value: R) -> int:
        try:
            return await self.kv.create(key, value.model_dump_json().encode())
        except KeyWrongLastSequenceError as exc:
            raise Conflict(f"{key} exists already") from exc

    async def update(self, key: str, value: R, revision: int) -> int:
        try:
            return await self.kv.update(key, value.model_dump_json().encode(), last=revision)
        except KeyWrongLastSequenceError as exc:
            raise Conflict(f"{key} changed since revision {revision}") from exc

    async def put(self, key: str, value: R) -> int:
        return await self.kv.put(key, value.model_dump_json().encode())

    async def delete(self, key: str, revision: int | None = None) -> None:
        try:
            await self.kv.delete(key, last=revision)
        except KeyWrongLastSequenceError as exc:
            raise Conflict(f"{key} changed since revision {revision}") from exc

    async def _candidates(self) -> list[str]:
        """Every key with a value or a tombstone, from the stream's own index of its
        subjects. Not nats-py's `KeyValue.keys()`: its watcher can end the listing early
        while others write, and a key is missing (nats.py issue #842)."""
        info = await self._js.stream_info(self._stream, subjects_filter=f"{self._prefix}>")
        subjects = info.state.subjects or {}
        return sorted(subject[len(self._prefix) :] for subject in subjects)

    async def keys(self) -> list[str]:
        """The keys that hold a value now."""
        return list(await self.items())

    async def items(self) -> dict[str, Record[R]]:
        out: dict[str, Record[R]] = {}
        for key in await self._candidates():
            record = await self.get(key)
            if record is not None:
                out[key] = record
        return out


async def raw_items(js: JetStreamContext, name: str) -> dict[str, bytes]:
    """Every key of the bucket `name` (the full name, with its cell) that holds a value, with
    its bytes: read as any role reads, by the subject index and direct gets (no consumer)."""
    kv = await js.key_value(name)
    prefix = f"$KV.{name}."
    info = await js.stream_info(f"KV_{name}", subjects_filter=f"{prefix}>")
    out: dict[str, bytes] = {}
    for subject in sorted(info.state.subjects or {}):
        try:
            entry = await kv.get(subject[len(prefix) :])
        except KeyNotFoundError:
            continue
        if entry.value is not None and entry.operation is None:
            out[subject[len(prefix) :]] = entry.value
    return out
