"""skeleton.lm_init_loss: a language model's loss at init is the unigram entropy."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks._sequences import sequence_losses, token_nll, unigram
from nncheck.checks._skeleton import entropy
from nncheck.checks.context import Context
from nncheck.checks.registry import NON_NEGATIVE, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.lm_init_loss",
    stage="skeleton",
    defaults={"sequences": 64, "warn_excess": 0.5, "fail_excess": 2.0},
    ranges={
        "sequences": Range(ge=1, le=100_000),
        "warn_excess": NON_NEGATIVE,
        "fail_excess": NON_NEGATIVE,
    },
    requires=("engine", "trainable", "sequences"),
)
def lm_init_loss(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The loss per token at init is close to what a model that knows nothing scores:
    the unigram entropy H(p) when the output bias holds the log token frequencies
    (``output_bias: prior``), log(vocab) with a zero bias.

    Why: a loss far above it means over-confident random predictions (a too-large init
    scale, logits multiplied up, a softmax before the cross-entropy); a zero output bias
    wastes the first steps learning the token frequencies, log(vocab) - H(p) nats per
    token. A loss far *below* it at init means the model reads its targets.

    On `sequences` training sequences: the mean next-token cross-entropy (padding left
    out), against H(p) (p = train target frequencies) or log(vocab). Warn when it exceeds
    the expectation by `warn_excess` nats, fail by `fail_excess`; fail when it is more
    than `warn_excess` below it.

    Fix: scale the output layer's init down (or zero it), drop a softmax before the loss,
    set ``model.output_bias: prior``.
    """
    ds = ctx.dataset
    x, y = ctx.sample_batch(int(t["sequences"]), seed_offset=47)
    engine = ctx.make_engine()
    losses = sequence_losses(ctx, token_nll(np.asarray(engine.forward(x)), y), y)
    loss = float(losses.mean())
    p = unigram(ctx)
    h, log_v = entropy(p), math.log(ds.n_outputs)
    biased = getattr(engine, "output_layer", None) is not None and (
        ctx.engine_config is not None and ctx.engine_config.output_bias == "prior"
    )
    expected, what = (h, "unigram entropy H(p)") if biased else (log_v, "log(vocab)")
    excess = loss - expected
    metrics = {
        "loss": loss,
        "expected": expected,
        "unigram_entropy": h,
        "log_vocab": log_v,
        "vocab": ds.n_outputs,
        "prior_bias": biased,
        "zero_bias_cost": log_v - h,
    }
    said = (
        f"loss at init {loss:.3f} nats/token, expected {expected:.3f} ({what}, vocabulary"
        f" {ds.n_outputs}{', prior-initialized bias' if biased else ''})"
    )
    bias_note = "" if biased else f"; a prior output bias would save {log_v - h:.3f} nats/token"
    if excess > t["fail_excess"] or excess < -t["warn_excess"]:
        low = excess < 0
        return result(
            "fail",
            said + (": far below, the model reads its targets" if low else ": far above"),
            hint=(
                "Check skeleton.causal and data.sequence_targets: a loss below the entropy"
                " at init needs information about the targets."
                if low
                else "Shrink the output layer's init, remove a softmax before the loss."
            ),
            metrics=metrics,
        )
    if excess > t["warn_excess"]:
        return result(
            "warn",
            said + f": {excess:.2f} nats above{bias_note}",
            hint="Predictions at init are over-confident: scale down the output layer's init.",
            metrics=metrics,
        )
    return result("pass", said + bias_note, metrics=metrics)
