"""skeleton.sequence_independence: no sequence's outputs depend on another sequence."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._sequences import max_relative_change, output_scale
from nncheck.checks.context import Context
from nncheck.checks.registry import NON_NEGATIVE, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.sequence_independence",
    stage="skeleton",
    defaults={"batch_size": 8, "max_leak": 1e-5},
    ranges={"batch_size": Range(ge=2, le=4096), "max_leak": NON_NEGATIVE},
    requires=("engine", "trainable", "tokens"),
)
def sequence_independence(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Replacing one sequence of a batch leaves the outputs of the others as they were.

    Why: a reshape that mixes the batch and time axes (``view(T, N, ...)`` on a
    batch-first tensor, an RNN fed (N, T) as (T, N)) lets sequences leak into each other.
    The model still trains, on a scrambled problem. Token inputs have no gradient, so this
    is judged by changing inputs, not by input gradients (skeleton.batch_independence).

    On `batch_size` training sequences: replace sequence 0 by another training sequence
    and take the largest change of the other sequences' outputs (eval mode), relative to
    the outputs' RMS. Independent sequences give exactly 0; fail above `max_leak`.

    Fix: keep the batch dimension first and in place through every reshape/permute; feed
    RNNs with batch_first=True or transpose explicitly.
    """
    size = max(2, int(t["batch_size"]))
    x, _ = ctx.sample_batch(size + 1, seed_offset=43)
    if len(x) < 3:
        return result("skip", "needs at least 3 training sequences")
    batch, spare = x[:-1], x[-1]
    engine = ctx.make_engine()
    base = np.asarray(engine.forward(batch))
    changed = batch.copy()
    changed[0] = spare if not np.array_equal(spare, batch[0]) else batch[0][::-1]
    out = np.asarray(engine.forward(changed))
    leak = max_relative_change(out[1:], base[1:], output_scale(base))
    metrics = {"batch_size": len(batch), "max_leak": leak}
    if leak > t["max_leak"]:
        per = np.abs(out[1:].astype(np.float64) - base[1:]).reshape(len(batch) - 1, -1).max(1)
        hit = [int(i) + 1 for i in np.flatnonzero(per > 0)[:10]]
        return result(
            "fail",
            f"sequences leak into each other: replacing sequence 0 of a batch of"
            f" {len(batch)} changes the outputs of sequences {hit} (relative change"
            f" {leak:.2g})",
            hint="Keep the batch axis first through every reshape/permute (batch_first=True"
            " for RNNs); a view(T, N, ...) of an (N, T, ...) tensor mixes sequences.",
            metrics=metrics,
        )
    return result(
        "pass",
        f"sequences are independent: replacing one of {len(batch)} leaves the others'"
        f" outputs unchanged (max relative change {leak:.2g})",
        metrics=metrics,
    )
