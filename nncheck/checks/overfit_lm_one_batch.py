"""overfit.lm_one_batch: a language model memorizes a handful of sequences."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._artifacts import curve
from nncheck.checks.context import Context
from nncheck.checks.registry import BATCH, FRACTION, STEPS, check
from nncheck.results import CheckOutcome, result


@check(
    "overfit.lm_one_batch",
    stage="overfit",
    defaults={"sequences": 4, "max_steps": 300, "target_fraction": 0.3},
    ranges={"sequences": BATCH, "max_steps": STEPS, "target_fraction": FRACTION},
    requires=("engine", "trainable", "sequences"),
)
def lm_one_batch(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Trained on the same `sequences` sequences, the loss per token falls to
    `target_fraction` of its value at init within `max_steps` steps.

    Why: a model that cannot memorize four sequences cannot learn a corpus; a loss stuck
    near the unigram entropy means the gradients do not reach the model (a detached
    output, lr 0, frozen weights) or the model cannot see its input.

    With the recipe's optimizer and learning rate, full-batch steps on a fixed seeded set
    of training sequences, stopping at the target; fail when it is not reached.

    Fix: make the loss reach every parameter (no ``.detach()``/``no_grad``, nothing
    frozen), raise a learning rate of 0 or far too small, check skeleton.causal.
    """
    x, y = ctx.sample_batch(int(t["sequences"]), seed_offset=53)
    engine = ctx.make_engine()
    start = engine.loss(x, y)
    target = start * float(t["target_fraction"])
    losses = [start]
    at = [0]
    reached = None
    for step in range(int(t["max_steps"])):
        engine.step(x, y)
        if step % 10 == 9 or step == int(t["max_steps"]) - 1:
            losses.append(engine.loss(x, y))
            at.append(step + 1)
            if not np.isfinite(losses[-1]):
                break
            if losses[-1] <= target:
                reached = step + 1
                break
    final = float(losses[-1])
    metrics = {"initial_loss": float(start), "final_loss": final, "steps": reached}
    artifacts = {"curves": {"one batch: loss (nats/token)": curve(at, loss=losses)}}
    tokens = int(x.size)
    if reached is not None:
        return result(
            "pass",
            f"{len(x)} sequences ({tokens} tokens) memorized in {reached} steps: loss"
            f" {start:.3g} -> {final:.3g} nats/token",
            metrics=metrics,
            artifacts=artifacts,
        )
    return result(
        "fail",
        f"{len(x)} sequences not memorized in {int(t['max_steps'])} steps: loss"
        f" {start:.3g} -> {final:.3g} nats/token (target {target:.3g})",
        hint="Check that the loss reaches every parameter (no .detach(), no frozen model),"
        " the learning rate, and skeleton.causal / skeleton.lm_init_loss.",
        metrics=metrics,
        artifacts=artifacts,
    )
