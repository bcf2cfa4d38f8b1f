"""The verifier's logic: is this image pinned, and signed by a key the cell trusts?

The cell config is read on every request, so a change of mode or keys needs no restart.
`verify` never raises for a bad image: it returns a `Decision` whose `reason` the installer
shows the admin. In `enforce` and `warn` the answer is the same (`ok` or not); the installer
decides by the mode whether a refusal stops the install, and the verifier adds a `warning`
and a log line in `warn` so that an unverified image never goes by silently.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import structlog

from services.verifier import metrics
from services.verifier.cache import CacheKey, VerificationCache
from services.verifier.errors import (
    NotPinnedError,
    RegistryCheckError,
    TrustConfigError,
    VerifierError,
)
from services.verifier.registries import Registries
from services.verifier.settings import VerifierSettings
from services.verifier.trust import Trust, load_trust
from shared.config import CELL_CONFIG_RELATIVE, ImageVerification, VerificationMode
from shared.config_source import cell_config
from shared.cosign import VerificationError, VerifiedSignature, verify_image
from shared.errors import ConfigError
from shared.oci import ImageReference, InvalidReferenceError, RegistryClient, RegistryError
from shared.oci import parse_reference as parse_image

log = structlog.get_logger("verifier")


@dataclass(frozen=True)
class Decision:
    ok: bool
    mode: str
    result: str
    reason: str = ""
    warning: str = ""
    details: dict[str, str] = field(default_factory=dict)
    cached: bool = False


class VerifierManager:
    def __init__(
        self,
        settings: VerifierSettings,
        cache: VerificationCache | None = None,
        registries: Registries | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache or VerificationCache(settings.cache_entries, settings.cache_ttl)
        self.registries = registries or Registries()
        self.config_dir = settings.data_dir / CELL_CONFIG_RELATIVE.parent

    async def close(self) -> None:
        await self.registries.close()

    async def verify(self, image: str | None) -> Decision:
        """Check `image` under the cell config as it is now."""
        started = time.perf_counter()
        try:
            config = cell_config(self.settings.data_dir).image_verification
        except ConfigError as exc:
            decision = Decision(False, "unknown", "config_error", exc.message)
        else:
            decision = await self._decide(config, image)
        metrics.VERIFICATIONS.labels(decision.mode, decision.result).inc()
        outcome = (
            "none" if decision.result != "verified" else ("hit" if decision.cached else "miss")
        )
        metrics.VERIFY_SECONDS.labels(outcome).observe(time.perf_counter() - started)
        metrics.CACHE_ENTRIES.set(len(self.cache))
        self._log(decision, image)
        return decision

    async def _decide(self, config: ImageVerification, image: str | None) -> Decision:
        mode = config.mode
        if mode == VerificationMode.off:
            return Decision(
                True, mode.value, "skipped", warning="image verification is off in the cell config"
            )
        try:
            ref, signature, cached = await self._check(config, image)
        except NotPinnedError as exc:
            return _refused(mode, "unpinned", exc.reason)
        except VerificationError as exc:
            return _refused(mode, "unsigned", exc.reason)
        except RegistryCheckError as exc:
            return _refused(mode, "registry_error", exc.reason)
        except TrustConfigError as exc:
            return _refused(mode, "config_error", exc.reason)
        details = {
            "image": _pinned(ref, signature.digest),
            "digest": signature.digest,
            "key_id": signature.key_id,
            "format": signature.format,
            "rekor": "verified" if signature.rekor_verified else "not checked",
        }
        return Decision(True, mode.value, "verified", details=details, cached=cached)

    async def _check(
        self,
        config: ImageVerification,
        image: str | None,
    ) -> tuple[ImageReference, VerifiedSignature, bool]:
        ref = _parse(image)
        trust = load_trust(config, self.config_dir)
        if self.cache.use_trust(trust.fingerprint):
            metrics.CACHE_CLEARS.inc()
            log.info("trusted_keys_changed", cache="emptied")
        client = await self.registries.client(config.insecure_registries)
        if ref.digest is None:
            await self._unpinned(client, ref, trust, config.mode)
        signature, cached = await self._signature(client, ref, trust)
        return ref, signature, cached

    async def _unpinned(
        self, client: RegistryClient, ref: ImageReference, trust: Trust, mode: VerificationMode
    ) -> None:
        """Always raises NotPinnedError; says what the tag points to when the registry can
        tell, and in warn mode whether that digest is signed."""
        base = f"image {ref} is not pinned by a @sha256 digest"
        try:
            digest = await self._resolve(client, ref)
        except RegistryCheckError as exc:
            raise NotPinnedError(f"{base}; {_PIN_HINT} ({exc.reason})") from exc
        pinned = _pinned(ref, digest)
        if mode == VerificationMode.enforce:
            raise NotPinnedError(
                f"{base}, and enforce mode runs only digest-pinned images because a tag can "
                f"be moved to other content. Its tag points to {digest} now: pin the manifest's "
                f"image to {pinned} if that is the image you mean, or {_PUBLISH_HINT}"
            )
        try:
            signature, _ = await self._signature(client, ref.with_digest(digest), trust)
        except (VerificationError, VerifierError) as exc:
            raise NotPinnedError(
                f"{base}; its tag points to {digest} now, which is not verified: {exc.reason}"
            ) from exc
        raise NotPinnedError(
            f"{base}; its tag points to {digest} now, signed by key "
            f"{signature.key_id[:16]}: pin the manifest's image to {pinned}"
        )

    async def _resolve(self, client: RegistryClient, ref: ImageReference) -> str:
        try:
            async with asyncio.timeout(self.settings.verify_timeout):
                return (await client.head_manifest(ref.repository, ref.reference)).digest
        except TimeoutError as exc:
            raise RegistryCheckError(
                f"{ref.repository.registry} did not answer within "
                f"{self.settings.verify_timeout:.0f} s"
            ) from exc
        except RegistryError as exc:
            raise RegistryCheckError(exc.message) from exc

    async def _signature(
        self, client: RegistryClient, ref: ImageReference, trust: Trust
    ) -> tuple[VerifiedSignature, bool]:
        assert ref.digest is not None
        key = CacheKey(str(ref.repository), ref.digest, trust.fingerprint)
        hit = self.cache.get(key)
        if hit is not None:
            metrics.CACHE_HITS.inc()
            return hit, True
        metrics.CACHE_MISSES.inc()
        try:
            async with asyncio.timeout(self.settings.verify_timeout):
                signature = await verify_image(client, ref, trust.keys, trust.rekor_key)
        except TimeoutError as exc:
            raise RegistryCheckError(
                f"checking the signature of {ref} took longer than "
                f"{self.settings.verify_timeout:.0f} s; is {ref.repository.registry} "
                "reachable?"
            ) from exc
        except RegistryError as exc:
            raise RegistryCheckError(
                f"could not check the signature of {ref}: {exc.message}"
            ) from exc
        self.cache.put(key, signature)
        return signature, False

    def _log(self, decision: Decision, image: str | None) -> None:
        if decision.ok and decision.result == "verified":
            log.info(
                "image_verified",
                mode=decision.mode,
                image=decision.details["image"],
                key_id=decision.details["key_id"],
                format=decision.details["format"],
                cached=decision.cached,
            )
        elif decision.ok:
            log.info("image_not_checked", mode=decision.mode, image=image)
        elif decision.mode == VerificationMode.warn:
            log.warning(
                "image_not_verified",
                mode=decision.mode,
                image=image,
                result=decision.result,
                reason=decision.reason,
                consequence="warn mode: the install goes on",
            )
        else:
            log.warning(
                "image_refused",
                mode=decision.mode,
                image=image,
                result=decision.result,
                reason=decision.reason,
            )


_PUBLISH_HINT = "publish it with `pic-store publish`, which pins and signs it"
_PIN_HINT = f"pin the manifest's image as <repository>@sha256:<digest>, or {_PUBLISH_HINT}"


def _parse(image: str | None) -> ImageReference:
    if not image:
        raise NotPinnedError("the verify request names no image")
    try:
        return parse_image(image)
    except InvalidReferenceError as exc:
        raise NotPinnedError(f"{exc.message}; {_PIN_HINT}") from exc


def _pinned(ref: ImageReference, digest: str) -> str:
    return str(ImageReference(ref.repository, None, digest))


def _refused(mode: VerificationMode, result: str, reason: str) -> Decision:
    warning = reason if mode == VerificationMode.warn else ""
    return Decision(False, mode.value, result, reason, warning)
