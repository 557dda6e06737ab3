"""skeleton.lr_schedule: the user's schedule keeps the learning rate usable over the run."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._artifacts import curve
from nncheck.checks.context import Context
from nncheck.checks.registry import Range, check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.lr_schedule",
    stage="skeleton",
    defaults={"min_ratio": 1e-3, "max_ratio": 100.0, "until": 0.9},
    requires=("engine", "user_scheduler"),
    ranges={
        "min_ratio": Range(gt=0, lt=1),
        "max_ratio": Range(gt=1),
        "until": Range(gt=0, le=1),
    },
)
def lr_schedule(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The learning rate the schedule sets over the planned steps neither collapses to
    zero early nor climbs far above where it started.

    Why: a schedule written for epochs but stepped once per batch (``StepLR(step_size=30)``,
    ``CosineAnnealingLR(T_max=epochs)``) runs through its whole course in the first few
    hundred steps: the lr is ~0 for the rest of the run and nothing learns after a promising
    start; a growth factor above 1 or an unbounded warmup lambda makes it explode instead.

    Steps a copy of the user's scheduler once per training step for `train.steps` steps
    (the engine steps it once per step too) and records every param group's lr. Fails when,
    after its peak, a group's lr falls below `min_ratio` times that peak before `until` of
    the planned steps, or when it rises above `max_ratio` times its first value. A cosine or
    linear decay to zero at the end of the run, and warmup, pass. The curve is in the report.

    Fix: size the schedule in training steps (T_max / total_steps = the number of optimizer
    steps), or step the scheduler once per epoch as it was written for.
    """
    steps = int(ctx.recipe.train.steps)
    engine = ctx.make_engine()
    lrs = engine.lr_schedule(steps)  # type: ignore[attr-defined]
    if lrs is None:
        return result("skip", "the engine has no scheduler")
    min_ratio, max_ratio, until = float(t["min_ratio"]), float(t["max_ratio"]), float(t["until"])
    series = {f"group {i}": v for i, v in enumerate(lrs)} if len(lrs) > 1 else {"lr": lrs[0]}
    artifacts = {"curves": {"learning rate per training step": curve(range(steps), **series)}}
    problems, groups = [], []
    for i, values in enumerate(lrs):
        lr = np.asarray(values, dtype=np.float64)
        first, peak = float(lr[0]), float(lr.max())
        at_peak = int(lr.argmax())
        low = np.flatnonzero(lr[at_peak:] <= min_ratio * peak) + at_peak
        collapse = int(low[0]) if low.size else None
        label = f"group {i}: " if len(lrs) > 1 else ""
        groups.append(
            {
                "first": first,
                "peak": peak,
                "peak_step": at_peak,
                "last": float(lr[-1]),
                "min": float(lr.min()),
                "collapse_step": collapse,
            }
        )
        if peak <= 0:
            problems.append(f"{label}the lr is 0 at every one of the {steps} steps")
        elif collapse is not None and collapse < until * steps:
            problems.append(
                f"{label}the lr falls from {peak:.3g} to {lr[collapse]:.3g} by step {collapse} "
                f"of {steps} ({collapse / steps:.0%} of the run) and ends at {lr[-1]:.3g}"
            )
        elif first > 0 and peak > max_ratio * first:
            problems.append(
                f"{label}the lr climbs from {first:.3g} to {peak:.3g} ({peak / first:.0f}x) "
                f"by step {at_peak} of {steps}"
            )
    metrics: dict[str, Any] = {"steps": steps, "groups": groups}
    name = ctx.engine_config.user_scheduler if ctx.engine_config else "the schedule"
    if problems:
        return result(
            "fail",
            f"{name} over the planned {steps} steps: " + "; ".join(problems),
            hint="The schedule is sized for another number of steps (epochs instead of "
            "batches?): give it the number of optimizer steps (T_max, total_steps, "
            "step_size), or step it once per epoch; a growth factor above 1 needs a cap.",
            metrics=metrics,
            artifacts=artifacts,
        )
    g = groups[0]
    usable = "the whole run" if g["collapse_step"] is None else f"{g['collapse_step']} steps"
    return result(
        "pass",
        f"{name}: lr {g['first']:.3g} at step 0, peak {g['peak']:.3g} (step {g['peak_step']}), "
        f"{g['last']:.3g} at step {steps - 1}; usable over {usable}",
        metrics=metrics,
        artifacts=artifacts,
    )
