"""skeleton.grad_accumulation: the user's train step starts from zeroed gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import BATCH, Range, check
from nncheck.results import CheckOutcome, result

PLANTED = 1.0  # what .grad holds before the probe step


@check(
    "skeleton.grad_accumulation",
    stage="skeleton",
    defaults={"batch_size": 16, "tolerance": 1e-4},
    requires=("engine", "trainable", "user_step"),
    ranges={"batch_size": BATCH, "tolerance": Range(gt=0, lt=1)},
)
def grad_accumulation(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The user's train step zeroes the gradients, so each update uses its own batch only.

    Why: PyTorch adds every ``backward()`` into ``.grad``; a hand-written step without
    ``optimizer.zero_grad()`` updates with the sum of all gradients so far: the effective
    learning rate grows with every step, training drifts or diverges, and with momentum it
    looks like an lr problem.

    Runs the user's step twice on the same batch from the same state: once with ``.grad``
    empty, once with ``.grad`` filled with 1.0 beforehand. A step that zeroes gradients
    leaves the same ``.grad`` both times; one that accumulates leaves gradients exactly 1.0
    apart. Fails when any trainable parameter accumulates (differences within `tolerance`
    of 1.0). Zeroing at the end of the step instead of the start passes as well.

    Fix: call ``optimizer.zero_grad()`` at the start of the step (before ``backward``). If
    the step accumulates over several batches on purpose, skip this check.
    """
    engine = ctx.make_engine()
    x, y = ctx.sample_batch(int(t["batch_size"]), seed_offset=53)
    fresh = engine.step_gradients(x, y, None)  # type: ignore[attr-defined]
    planted = engine.step_gradients(x, y, PLANTED)  # type: ignore[attr-defined]
    tol = float(t["tolerance"])
    accumulated, zeroed, other = [], [], []
    for name, g in fresh.items():
        d = planted[name] - g
        scale = tol * max(1.0, float(np.abs(g).max(initial=0.0)))
        if np.allclose(d, PLANTED, rtol=0.0, atol=scale):
            accumulated.append(name)
        elif np.allclose(d, 0.0, rtol=0.0, atol=scale):
            zeroed.append(name)
        else:
            other.append(name)
    metrics: dict[str, Any] = {
        "batch_size": int(len(y)),
        "tensors": len(fresh),
        "accumulated": accumulated,
        "zeroed": len(zeroed),
        "other": other,
    }
    name = ctx.engine_config.user_step if ctx.engine_config else "the step"
    if accumulated:
        listed = ", ".join(accumulated[:5]) + ("..." if len(accumulated) > 5 else "")
        return result(
            "fail",
            f"{name} adds to the gradients the previous step left: after one step .grad "
            f"holds the planted {PLANTED:g} plus this batch's gradient for "
            f"{len(accumulated)} of {len(fresh)} parameter tensors ({listed}); it never "
            "zeroes them",
            hint="Call optimizer.zero_grad() at the start of each step, before backward(). "
            "If the step accumulates gradients over several batches on purpose, skip this "
            "check.",
            metrics=metrics,
        )
    extra = f"; {len(other)} tensors neither (nondeterministic step?)" if other else ""
    return result(
        "pass",
        f"{name} starts each update from zeroed gradients ({len(zeroed)} of {len(fresh)} "
        f"parameter tensors checked){extra}",
        metrics=metrics,
    )
