"""Install steps owned by participants (their contracts, shared/contract/), asked over the
bus and compensated the same way."""

from __future__ import annotations

import asyncio

import structlog

from services.installer.context import Deploying, OpContext
from services.installer.saga import Step, StepData, StepSkipped
from shared.config import VerificationMode
from shared.contract.declare import Step as Declared
from shared.contract.participants.verifier import VERIFY
from shared.contract.presence import ask_step, handles, recipient_of
from shared.contract.registry import owner_of, saga
from shared.errors import OperationError
from shared.events import StepRequest
from shared.events.messages import StepAction, StepRequestPayload
from shared.peer_client import seal

log = structlog.get_logger("installer")

# Steps that leave something behind in another service (verify only checks).
PARTICIPANT_STEPS = frozenset(step.name for _, step in saga() if step.leaves_state)


class VerificationRefusedError(OperationError):
    """`enforce`: an image was refused, or no verifier is running."""

    key = "verification_refused"


class RemoteStepError(OperationError):
    """A participant answered a saga step with `ok=False` (its reason)."""

    key = "remote_step_failed"


def _request(
    ctx: OpContext,
    step: str,
    action: StepAction,
    image: str | None = None,
    sealed: str | None = None,
) -> StepRequest:
    manifest = ctx.parsed
    if image is None:
        image = ctx.image or (manifest.image if manifest is not None else None)
    return StepRequest(
        operation_id=ctx.operation_id,
        service_id=ctx.service_id,
        payload=StepRequestPayload(
            step=step,
            action=action,
            manifest=ctx.manifest_data,
            image=image,
            service_ip=ctx.service_ip,
            domain=ctx.cell.domain,
            egress=ctx.egress,
            addresses=ctx.addresses,
            sealed=sealed,
        ),
    )


async def _handed(ctx: OpContext, spec: Declared) -> str | None:
    """The generated secrets the step declares (`Step.handed_secrets`), sealed to the
    recipient its owner announces (it keeps them in its own vault); None when it declares none
    or the service has none of them."""
    handed = {name: ctx.secrets[name] for name in spec.handed_secrets if ctx.secrets.get(name)}
    if not handed:
        return None
    recipient = await recipient_of(ctx.deps.bus, spec.name)
    if recipient is None:
        return None
    try:
        return seal(handed, recipient)
    except ValueError:  # not an age recipient: the owner says what it lacks
        return None


async def verify(ctx: Deploying) -> StepData:
    """Every image the rendered file runs (sidecars too), under the cell's mode; the
    verified digests pin them in the file that runs."""
    mode = ctx.cell.image_verification.mode
    if mode == VerificationMode.off:
        raise StepSkipped("image verification is off in the cell config")
    if not await handles(ctx.deps.bus, VERIFY.name):
        if mode == VerificationMode.enforce:
            raise VerificationRefusedError(
                "image verification is enforced but no verifier is running on this cell"
            )
        ctx.warnings.append("no verifier is running; the images were not verified")
        raise StepSkipped("no verifier is running; warn mode installs without verification")
    images = ctx.rendered.project.images
    results = await asyncio.gather(
        *(
            ask_step(
                ctx.deps.bus,
                _request(ctx, VERIFY.name, StepAction.apply, image),
                ctx.deps.settings.step_timeout,
            )
            for image in images
        )
    )
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


def remote_step(spec: Declared) -> Step[OpContext]:
    step, owner = spec.name, owner_of(spec.name)

    async def apply(ctx: OpContext) -> StepData:
        if not await handles(ctx.deps.bus, step):
            # The manifest asked for it: an install that quietly lacks it is not a success.
            missing = (
                f"{spec.title.lower()}: not done, no service on this cell handles the {step} step"
            )
            ctx.warnings.append(missing)
            raise StepSkipped(missing)
        sealed = await _handed(ctx, spec)
        result = await ask_step(
            ctx.deps.bus,
            _request(ctx, step, StepAction.apply, sealed=sealed),
            ctx.deps.settings.step_timeout,
        )
        if not result.ok:
            raise RemoteStepError(f"the {owner} refused: {result.reason}")
        if result.warning:
            ctx.warnings.append(result.warning)
        return {"owner": owner}

    async def compensate(ctx: OpContext, data: StepData) -> None:
        await withdraw(ctx, step)

    return Step(step, spec.title, apply, compensate)


async def withdraw(ctx: OpContext, step: str) -> str | None:
    """Ask the owner to undo a step; a warning (not a failure) when it cannot."""
    owner = owner_of(step)
    if not await handles(ctx.deps.bus, step):
        return f"no {owner} is running to undo {step}"
    try:
        result = await ask_step(
            ctx.deps.bus, _request(ctx, step, StepAction.compensate), ctx.deps.settings.step_timeout
        )
    except OperationError as exc:
        return exc.message
    return None if result.ok else f"the {owner} could not undo {step}: {result.reason}"
