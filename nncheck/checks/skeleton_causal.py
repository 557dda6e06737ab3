"""skeleton.causal: a language model's output at position t never depends on later tokens."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._sequences import changed_tokens, max_relative_change, output_scale
from nncheck.checks.context import Context
from nncheck.checks.registry import NON_NEGATIVE, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.causal",
    stage="skeleton",
    defaults={"sequences": 4, "positions": 4, "max_leak": 1e-5},
    ranges={
        "sequences": Range(ge=1, le=1000),
        "positions": Range(ge=1, le=1000),
        "max_leak": NON_NEGATIVE,
    },
    requires=("engine", "trainable", "sequences"),
)
def causal(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Changing the token at position t' leaves the outputs at every position t < t' as
    they were.

    Why: a next-token model that can see the future (an attention without its causal
    mask, a bidirectional RNN, a convolution that is not left-padded) learns to copy the
    next input and reaches a near-zero training loss that means nothing: at generation
    time the future is not there. Nothing else in a training run shows it.

    On `sequences` training sequences, for `positions` seeded positions t' >= 1: replace
    the token at t' by another one, run the model (eval mode) and take the largest change
    of the outputs at positions < t', relative to the outputs' RMS. A causal model gives
    exactly 0; fail above `max_leak`. The outputs at t' and later must change at least
    somewhere (else the model ignores its inputs, and this check cannot judge it).

    Fix: give the attention its causal mask (`torch.triu(..., diagonal=1)` of -inf, or
    `is_causal=True`), use a unidirectional RNN, left-pad convolutions by (kernel - 1).
    """
    x, _ = ctx.sample_batch(int(t["sequences"]), seed_offset=41)
    n, length = x.shape
    if length < 2:
        return result("skip", "sequences of one token have no future to hide")
    engine = ctx.make_engine()
    base = np.asarray(engine.forward(x))
    scale = output_scale(base)
    rng = np.random.default_rng(ctx.seed + 4141)
    count = min(int(t["positions"]), length - 1)
    positions = np.sort(rng.choice(np.arange(1, length), size=count, replace=False))
    leaks, examples, later_change = [], [], 0.0
    for p in positions:
        xp = x.copy()
        xp[:, p] = changed_tokens(xp[:, p], ctx.dataset.n_outputs)
        out = np.asarray(engine.forward(xp))
        leak = max_relative_change(out[:, :p], base[:, :p], scale)
        later_change = max(later_change, max_relative_change(out[:, p:], base[:, p:], scale))
        leaks.append(leak)
        if leak > t["max_leak"]:
            diff = np.abs(out[:, :p].astype(np.float64) - base[:, :p]).max(axis=(0, 2))
            first = int(np.argmax(diff > t["max_leak"] * scale))
            examples.append(
                {"changed_position": int(p), "earliest_affected": first, "relative_change": leak}
            )
    worst = float(max(leaks))
    metrics = {
        "positions": [int(p) for p in positions],
        "max_leak": worst,
        "later_change": later_change,
        "sequence_length": int(length),
    }
    if worst > t["max_leak"]:
        ex = examples[0]
        return result(
            "fail",
            f"the model sees the future: changing the token at position"
            f" {ex['changed_position']} changes the output at position"
            f" {ex['earliest_affected']} (relative change {worst:.2g}; a causal model gives 0)",
            hint="Mask attention to the past (a -inf upper triangle or is_causal=True), use a"
            " unidirectional RNN, or left-pad convolutions; a model that sees its targets"
            " learns to copy them.",
            metrics=metrics,
            examples=examples,
        )
    if later_change == 0.0:
        return result(
            "warn",
            "changing a token changes no output at all: the model ignores its inputs, so"
            " causality cannot be judged",
            hint="Check that forward uses its input ids (an embedding of them).",
            metrics=metrics,
        )
    return result(
        "pass",
        f"causal: changing the token at {count} positions ({', '.join(map(str, positions))})"
        f" leaves every earlier output unchanged (max relative change {worst:.2g}) and"
        f" changes later ones (up to {later_change:.2g})",
        metrics=metrics,
    )
