"""Install steps owned by other services, asked over the bus and compensated the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from services.installer.context import OpContext
from services.installer.remote import ask
from services.installer.saga import Step, StepData, StepSkipped
from shared.config import VerificationMode
from shared.errors import OperationError
from shared.events import StepRequest
from shared.events.messages import StepAction, StepName
from shared.participants import handles

log = structlog.get_logger("installer")

OWNERS: dict[StepName, str] = {
    StepName.verify: "verifier",
    StepName.routes: "router",
    StepName.firewall: "router",
    StepName.egress: "router",
    StepName.accounts: "accounts",
    StepName.backup: "backup",
}


# Steps that leave something behind in another service (verify only checks).
PARTICIPANT_STEPS = frozenset(name.value for name in OWNERS if name != StepName.verify)


class VerificationRefusedError(OperationError):
    key = "verification_refused"


class RemoteStepError(OperationError):
    key = "remote_step_failed"


def _request(ctx: OpContext, step: StepName, action: StepAction,
             image: str | None = None) -> StepRequest:
    manifest = ctx.manifest
    egress = manifest.egress if manifest is not None else None
    if image is None:
        image = ctx.image or (manifest.image if manifest is not None else None)
    return StepRequest(
        operation_id=ctx.operation_id, service_id=ctx.service_id,
        payload={"step": step, "action": action, "manifest": ctx.manifest_data,
                 "image": image, "service_ip": ctx.service_ip, "domain": ctx.cell.domain,
                 "egress": egress.default if egress is not None else None,
                 "addresses": ctx.addresses},
    )


async def verify(ctx: OpContext) -> StepData:
    """Every image the rendered file runs (sidecars too), under the cell's mode; the
    verified digests pin them in the file that runs."""
    mode = ctx.cell.image_verification.mode
    if mode == VerificationMode.off:
        raise StepSkipped("image verification is off in the cell config")
    if not await handles(ctx.deps.bus, OWNERS[StepName.verify], StepName.verify.value):
        if mode == VerificationMode.enforce:
            raise VerificationRefusedError(
                "image verification is enforced but no verifier is running on this cell")
        ctx.warnings.append("no verifier is running; the images were not verified")
        raise StepSkipped("no verifier is running; warn mode installs without verification")
    assert ctx.project is not None
    images = ctx.project.images
    results = await asyncio.gather(*(
        ask(ctx.deps.bus, OWNERS[StepName.verify],
            _request(ctx, StepName.verify, StepAction.apply, image),
            ctx.deps.settings.step_timeout) for image in images))
    warnings = []
    for image, result in zip(images, results, strict=True):
        if not result.ok:
            if mode == VerificationMode.enforce:
                raise VerificationRefusedError(f"image {image} refused: {result.reason}")
            ctx.warnings.append(f"image {image} not verified: {result.reason}")
            warnings.append(result.reason)
        elif result.details.get("image"):
            ctx.pinned[image] = result.details["image"]
    ctx.image = ctx.pinned.get(ctx.manifest.image, ctx.manifest.image)
    return {"image": ctx.image, "pinned": ctx.pinned, "warnings": warnings}


def remote_step(step: StepName, title: str) -> Step[OpContext]:
    owner = OWNERS[step]

    async def apply(ctx: OpContext) -> StepData:
        if not await handles(ctx.deps.bus, owner, step.value):
            # The manifest asked for it: an install that quietly lacks it is not a success.
            missing = f"{title.lower()}: not done, no service on this cell handles " \
                      f"the {step.value} step"
            ctx.warnings.append(missing)
            raise StepSkipped(missing)
        result = await ask(ctx.deps.bus, owner, _request(ctx, step, StepAction.apply),
                           ctx.deps.settings.step_timeout)
        if not result.ok:
            raise RemoteStepError(f"the {owner} refused: {result.reason}")
        return {"owner": owner}

    async def compensate(ctx: OpContext, data: StepData) -> None:
        await withdraw(ctx, step)

    return Step(step.value, title, apply, compensate)


async def withdraw(ctx: OpContext, step: StepName) -> str | None:
    """Ask the owner to undo a step; a warning (not a failure) when it cannot."""
    owner = OWNERS[step]
    if not await handles(ctx.deps.bus, owner, step.value):
        return f"no {owner} is running to undo {step.value}"
    try:
        result = await ask(ctx.deps.bus, owner, _request(ctx, step, StepAction.compensate),
                           ctx.deps.settings.step_timeout)
    except OperationError as exc:
        return exc.message
    return None if result.ok else f"the {owner} could not undo {step.value}: {result.reason}"


def wanted_remote_steps(manifest: object) -> list[tuple[StepName, str]]:
    """The steps of other services this manifest's capabilities call for, in saga order."""
    wants: list[tuple[StepName, str, Callable[[object], bool]]] = [
        (StepName.routes, "Add the Caddy routes and DNS records",
         lambda m: bool(getattr(m, "has_subdomain", False))),
        (StepName.firewall, "Apply the iptables ACCEPT rules",
         lambda m: bool(getattr(m, "iptables_rules", None))),
        (StepName.egress, "Select the outbound interface",
         lambda m: bool(getattr(m, "has_egress", False))),
        (StepName.accounts, "Provision an account for every peer",
         lambda m: bool(getattr(m, "has_accounts", False))),
        (StepName.backup, "Register the backups",
         lambda m: bool(getattr(m, "has_storage", False))),
    ]
    return [(name, title) for name, title, wanted in wants if wanted(manifest)]
