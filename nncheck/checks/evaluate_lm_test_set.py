"""evaluate.lm_test_set: a language model's loss on the whole test set, with uncertainty."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks._artifacts import curve as curve_artifact
from nncheck.checks._sequences import (
    curve_summary,
    lm_training,
    predict_nll,
    sequence_losses,
    token_mask,
    unigram,
)
from nncheck.checks._stats import mean_se
from nncheck.checks._trainings import smooth
from nncheck.checks.context import Context
from nncheck.checks.registry import NON_NEGATIVE, check
from nncheck.results import CheckOutcome, result


@check(
    "evaluate.lm_test_set",
    stage="evaluate",
    defaults={"min_gain": 0.0},
    ranges={"min_gain": NON_NEGATIVE},
    requires=("engine", "trainable", "sequences"),
)
def lm_test_set(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """After the recipe's training, the loss per token on every test sequence (mean over
    sequences with a 95% interval), perplexity and next-token accuracy, against the
    unigram baseline (train token frequencies scored on test).

    Why: the number a language model is judged by, on all of the test set, next to what
    knowing only the token frequencies scores. A test loss no better than the unigram
    baseline (by `min_gain` nats) means the model learned no context: fail.

    Fix: see overfit.lm_one_batch first; then the learning rate and the number of steps.
    """
    ds = ctx.dataset
    run = lm_training(ctx)
    x, y = ds.test.x, ds.test.y
    nll = predict_nll(run.engine, x, y)
    losses = sequence_losses(ctx, nll, y)
    loss, se = mean_se(losses)
    p = unigram(ctx)
    mask = token_mask(ctx, y)
    base_tok = -np.log(np.clip(p[y], 1e-12, None))
    baseline, base_se = mean_se(sequence_losses(ctx, base_tok, y))
    metrics = {
        "loss": loss,
        "loss_ci95": [loss - 1.96 * se, loss + 1.96 * se],
        "perplexity": math.exp(loss),
        "unigram_loss": baseline,
        "test_sequences": int(len(x)),
        "test_tokens": int(mask.sum()),
        "train_curve": curve_summary(run.curve),
    }
    curve = metrics["train_curve"]
    steps = list(run.curve.steps)
    finite = [float(v) if np.isfinite(v) else float("nan") for v in run.curve.loss]
    window = max(1, len(finite) // 20)
    artifacts = {
        "curves": {
            "training: batch loss (nats/token)": curve_artifact(
                steps, loss=finite, smoothed=smooth(finite, window) if finite else []
            )
        }
    }
    said = (
        f"test loss {loss:.3f} ± {1.96 * se:.3f} nats/token (perplexity {math.exp(loss):.1f})"
        f" on all {len(x)} test sequences ({int(mask.sum()):,} tokens) after"
        f" {curve['steps']} steps (train loss {curve['first']:.2f} -> {curve['last']:.2f});"
        f" unigram baseline {baseline:.3f} ± {1.96 * base_se:.3f}"
    )
    if run.curve.diverged or not np.isfinite(loss):
        return result(
            "fail", "training diverged (NaN/inf loss)", metrics=metrics, artifacts=artifacts
        )
    if loss > baseline - float(t["min_gain"]):
        return result(
            "fail",
            said + ": no better than knowing the token frequencies",
            hint="The model learned no context: see overfit.lm_one_batch, the learning rate"
            " and the number of steps.",
            metrics=metrics,
            artifacts=artifacts,
        )
    return result("pass", said, metrics=metrics, artifacts=artifacts)
