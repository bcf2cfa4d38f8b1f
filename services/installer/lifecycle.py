"""The saga of each life-cycle command, declared as data: which steps, in which order."""

from __future__ import annotations

import shutil

from services.installer import egress as egress_choice
from services.installer import steps_local as local
from services.installer.context import Deploying, OpContext
from services.installer.runtime import project_containers
from services.installer.saga import Step, StepData, StepSkipped
from services.installer.steps_remote import remote_step, verify, withdraw
from shared.contract.registry import after_health, saga, with_choice

S = Step[OpContext]
D = Step[Deploying]


def install_steps(ctx: OpContext) -> list[D]:
    """The install's steps (its manifest says which participants take part)."""
    steps: list[D] = [
        D("verify", "Verify the image signatures", verify),
        D("allocate_ip", "Allocate the cell IP", local.allocate_ip, local.release_ip),
        D("render", "Render the compose file", local.render),
        D("secrets", "Store new secrets", local.save_secrets, local.drop_new_secrets),
        D("compose_file", "Write docker-compose.yml", local.write_compose, local.restore_compose),
        D("network", "Create the cell network", local.ensure_network),
        D("pull", "Pull the images", local.pull_images),
        D("containers", "docker compose up", local.start_containers, local.restore_containers),
        D("health", "Wait until healthy", local.wait_until_healthy),
    ]
    steps += [remote_step(spec) for _, spec in after_health(ctx.manifest)]
    return steps


def reconfigure_steps(ctx: OpContext) -> list[D]:
    steps: list[D] = [
        D("render", "Render the compose file", local.render),
        D("secrets", "Store new secrets", local.save_secrets, local.drop_new_secrets),
        D("compose_file", "Write docker-compose.yml", local.write_compose, local.restore_compose),
        D(
            "containers",
            "docker compose up (recreates what changed)",
            local.start_containers,
            local.restore_containers,
        ),
        D("health", "Wait until healthy", local.wait_until_healthy),
    ]
    # A step that carries the admin's egress choice runs again while the choice is in play;
    # last: nothing after it can fail and undo it.
    steps += [
        remote_step(spec)
        for _, spec in with_choice()
        if spec.choice == egress_choice.CHOICE and egress_choice.applies_again(ctx)
    ]
    return steps


# -- remove: every step tolerates what is already gone, and none is rolled back ------------


def _withdraw(step: str) -> S:
    async def apply(ctx: OpContext) -> StepData:
        problem = await withdraw(ctx, step)
        if problem:
            ctx.warnings.append(problem)
            raise StepSkipped(problem)
        return {}

    return S(f"withdraw_{step}", f"Withdraw {step}", apply)


async def remove_containers(ctx: OpContext) -> StepData:
    """`docker compose down`: it finds the project's containers by label, file or not."""
    present = [info.name for info in await project_containers(ctx.deps.engine, ctx.service_id)]
    if not present:
        raise StepSkipped("no containers were left")
    await ctx.compose().down()
    return {"removed": present}


async def release_ip(ctx: OpContext) -> StepData:
    if not await ctx.deps.pool.release(ctx.service_id):
        raise StepSkipped("the service held no IP")
    return {}


async def purge_data(ctx: OpContext) -> StepData:
    if not ctx.purge:
        raise StepSkipped("volumes, secrets and config are kept (no purge asked)")
    engine = ctx.deps.engine
    volumes = await engine.list_volumes(f"com.docker.compose.project={ctx.service_id}")
    for volume in volumes:
        await engine.remove_volume(volume)
    await ctx.deps.buckets.secrets.delete(ctx.service_id)
    shutil.rmtree(ctx.service_dir, ignore_errors=True)
    shutil.rmtree(ctx.deps.settings.own_dir(ctx.service_id), ignore_errors=True)
    return {"volumes": volumes}


def _applied(ctx: OpContext) -> list[str]:
    """The participant steps to undo, in install order: those the install recorded as done;
    for an older record, those its manifest wants; with no manifest, every one."""
    applied = ctx.previous.applied_steps if ctx.previous is not None else None
    if applied is not None:
        return [spec.name for _, spec in saga() if spec.name in applied]
    if ctx.parsed is not None:
        return [spec.name for _, spec in after_health(ctx.manifest)]
    return [spec.name for _, spec in saga() if spec.leaves_state]


def remove_steps(ctx: OpContext) -> list[S]:
    withdraws = [_withdraw(name) for name in reversed(_applied(ctx))]
    return [
        *withdraws,
        S("containers", "Stop and remove the containers", remove_containers),
        S("release_ip", "Release the cell IP", release_ip),
        S("purge", "Delete volumes, secrets and config", purge_data),
    ]
