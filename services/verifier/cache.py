"""A memo of successful verifications, per verifier replica.

This is a cache, not state: it lives in this process's memory only, another replica has its
own, and a restart loses it; all it saves is registry round trips. Entries are keyed by
(repository, digest, trust fingerprint): a signature is reused only for the same image
under the same keys. Only successes are kept (an image refused now may be signed a minute
later), entries expire after `ttl` seconds (a signature removed from the registry stops
counting by then), and a change of the trusted keys empties the whole cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from shared.cosign import VerifiedSignature


@dataclass(frozen=True)
class CacheKey:
    repository: str
    digest: str
    trust: str


class VerificationCache:
    def __init__(
        self, max_entries: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[CacheKey, tuple[float, VerifiedSignature]] = OrderedDict()
        self._trust: str | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def use_trust(self, fingerprint: str) -> bool:
        """Empty the cache when the trusted keys changed; True when it was emptied."""
        if fingerprint == self._trust:
            return False
        changed = self._trust is not None
        self._trust = fingerprint
        self._entries.clear()
        return changed

    def get(self, key: CacheKey) -> VerifiedSignature | None:
        found = self._entries.get(key)
        if found is None or key.trust != self._trust:
            return None
        stored_at, signature = found
        if self._clock() - stored_at > self.ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return signature

    def put(self, key: CacheKey, signature: VerifiedSignature) -> None:
        if self.max_entries <= 0 or key.trust != self._trust:
            return
        self._entries[key] = (self._clock(), signature)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
