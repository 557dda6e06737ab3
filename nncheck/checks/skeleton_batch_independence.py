"""skeleton.batch_independence: no sample's loss depends on another sample's input."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._skeleton import batch_rows
from nncheck.checks.context import Context
from nncheck.checks.registry import NON_NEGATIVE, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.batch_independence",
    stage="skeleton",
    defaults={"batch_size": 16, "samples": 4, "max_leak": 1e-6},
    ranges={
        "batch_size": Range(ge=2, le=4096),
        "samples": Range(ge=1, le=1000),
        "max_leak": NON_NEGATIVE,
    },
    requires=("engine", "trainable", "any_target", "numeric_inputs"),
)
def batch_independence(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The gradient of one sample's loss with respect to the other samples' inputs is zero.

    Why: a reshape/view/transpose that mixes the batch dimension with another one, or
    statistics computed over the batch where none belong, lets samples leak into each
    other's predictions. The net still trains — on a scrambled problem — and its test
    accuracy depends on the batch it happens to be evaluated with.

    On `batch_size` training samples, for `samples` seeded choices of sample i: the input
    gradient of sample i's loss alone (loss weights one-hot on i). Leakage = the largest
    gradient norm reaching another sample's input, relative to the norm reaching sample
    i's own input. An independent model gives exactly 0 (the gradient of a weighted loss
    with zero weight is 0, not merely small); fail above `max_leak`. A model with
    batch statistics in training mode (BatchNorm) legitimately mixes samples and fails
    here: evaluate it in inference mode or accept this check as informative.

    Fix: find the reshape/permute/view that moves data across the batch dimension (it is
    the first one that does not keep dimension 0 in place), or the mean/normalization over
    dimension 0.
    """
    size = max(2, int(t["batch_size"]))
    x, y = ctx.sample_batch(size, seed_offset=23)
    rows = batch_rows(ctx, size, seed_offset=23)
    n = len(y)
    if n < 2:
        return result(
            "skip",
            "needs at least 2 training samples",
            hint="Add training data; independence is judged between samples of one batch.",
        )
    engine = ctx.make_engine()
    rng = np.random.default_rng(ctx.seed + 2323)
    picks = np.sort(rng.choice(n, size=min(int(t["samples"]), n), replace=False))
    examples, ratios = [], []
    for i in picks:
        w = np.zeros(n, dtype=np.float64)
        w[i] = 1.0
        g = engine.gradients(x, y, inputs=True, weights=w).inputs
        if g is None:
            return result(
                "skip",
                "the engine returned no input gradients (gradients(inputs=True))",
                hint="Implement input gradients in the engine to have this check run.",
            )
        norms = np.sqrt(np.sum(np.asarray(g, np.float64).reshape(n, -1) ** 2, axis=1))
        own = float(norms[i])
        others = norms.copy()
        others[i] = -1.0
        j = int(np.argmax(others))
        leak = float(norms[j])
        ratio = leak / own if own > 0 else (float("inf") if leak > 0 else 0.0)
        ratios.append(ratio)
        examples.append(
            {
                "sample": int(i),
                "row": int(ctx.dataset.train.indices[rows[i]]),
                "own_gradient_norm": own,
                "max_leak_norm": leak,
                "leaks_to_sample": j,
                "leaks_to_row": int(ctx.dataset.train.indices[rows[j]]),
                "leak_ratio": ratio,
            }
        )
    worst = examples[int(np.argmax(ratios))]
    max_ratio = float(max(ratios))
    metrics = {
        "batch_size": n,
        "samples_checked": len(picks),
        "max_leak_ratio": max_ratio,
        "max_leak_norm": max(e["max_leak_norm"] for e in examples),
        "min_own_gradient_norm": min(e["own_gradient_norm"] for e in examples),
    }
    if all(e["own_gradient_norm"] == 0 and e["max_leak_norm"] == 0 for e in examples):
        return result(
            "warn",
            f"no input of a {n}-sample batch gets any gradient from the checked samples' "
            "losses: independence cannot be judged (the model may ignore its inputs)",
            hint="The loss does not depend on the inputs at all: see skeleton.input_independent "
            "and check that the forward pass uses x.",
            metrics=metrics,
            examples=examples,
        )
    mixing = list(getattr(engine, "batch_mixing_modules", []) or [])
    if max_ratio <= float(t["max_leak"]):
        note = ""
        if getattr(engine, "mixes_batch_in_train", False):
            # Judged in eval mode: BatchNorm uses running statistics there. In training mode
            # it normalizes with batch statistics, which mixes samples by design.
            metrics["batch_mixing_modules"] = mixing
            note = (
                f" (judged in eval mode; {', '.join(mixing[:3]) or 'BatchNorm'} mixes samples "
                "through batch statistics in training mode, by design)"
            )
        return result(
            "pass",
            f"samples are independent: the loss of {len(picks)} samples sends "
            f"{max_ratio:.2g}x of its input gradient to the other {n - 1} samples "
            f"(batch of {n}){note}",
            metrics=metrics,
            examples=examples,
        )
    own = worst["own_gradient_norm"]
    rel = "its own input gets none" if own == 0 else f"{worst['leak_ratio']:.2g}x its own"
    return result(
        "fail",
        f"samples mix across the batch: the loss of sample {worst['sample']} sends an input "
        f"gradient of norm {worst['max_leak_norm']:.3g} to sample {worst['leaks_to_sample']} "
        f"({rel}); max leakage {_ratio(max_ratio)} over {len(picks)} samples of a batch of {n}",
        hint="Something in the forward pass moves data across the batch dimension: a reshape "
        "or transpose that mixes dimension 0 with another, or a mean/normalization over the "
        "batch (BatchNorm in training mode).",
        metrics=metrics,
        examples=examples,
    )


def _ratio(r: float) -> str:
    return "unbounded (a sample's own input gets no gradient)" if r == float("inf") else f"{r:.3g}x"
