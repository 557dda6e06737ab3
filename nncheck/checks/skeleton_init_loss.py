"""skeleton.init_loss: the loss at initialization matches what the setup implies."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import check
from nncheck.engines.base import EngineConfig
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.init_loss",
    stage="skeleton",
    defaults={"batch_size": 512, "warn_rel": 0.3, "fail_rel": 1.0, "low_rel": 0.5},
    requires=("engine", "trainable"),
    catches="M3, M4, D9",
)
def init_loss(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The loss at init is what a network that outputs only its bias would score.

    Why: a freshly initialized net should be maximally unsure — log(K) for softmax
    cross-entropy with a zero output bias, the cross-entropy of the class prior with a
    prior bias, the target variance for MSE with a mean bias. A loss far above that means
    weights that are too large (confident random predictions) or a wrong loss (softmax
    applied twice); far below means the net "knows" the labels before training — leakage
    or a loss computed on the wrong thing.
    Judged on a seeded batch: warn when the loss is off by more than `warn_rel` of the
    expected value, fail above `fail_rel` or below by more than `low_rel`.
    Fix: use he/xavier init (or a smaller init_std), check the loss and the output bias.
    """
    cfg = ctx.engine_config
    assert cfg is not None  # guaranteed by requires=("engine",)
    engine = ctx.make_engine()
    x, y = ctx.sample_batch(int(t["batch_size"]))
    loss = float(engine.loss(x, y))
    expected, what = expected_init_loss(cfg, y)
    metrics: dict[str, Any] = {
        "loss": loss,
        "expected": expected,
        "batch_size": int(len(y)),
        "basis": what,
    }
    if not math.isfinite(loss):
        return result(
            "fail",
            f"loss at init is {loss} ({what} expects {expected:.3g})",
            hint="The forward pass overflows at init: scale the inputs and use he/xavier init.",
            metrics=metrics,
        )
    rel = (loss - expected) / max(expected, 1e-12)
    metrics["relative_error"] = rel
    tol = float(t["warn_rel"]) * expected
    said = f"loss at init {loss:.4g}, expected {expected:.4g} ± {tol:.2g} ({what})"
    if rel > float(t["fail_rel"]) or rel < -float(t["low_rel"]):
        status = "fail"
    elif abs(rel) > float(t["warn_rel"]):
        status = "warn"
    else:
        return result("pass", said, metrics=metrics)
    if rel > 0:
        hint = (
            "The untrained net is confidently wrong: weights too large (try init: he or "
            "xavier, or a smaller init_std), un-normalized inputs, or softmax applied before "
            "a loss that applies it again."
        )
    else:
        hint = (
            "The untrained net already beats a constant predictor: the labels may leak into "
            "the inputs, or the loss is computed on the wrong targets."
        )
    return result(status, said, hint=hint, metrics=metrics)


def expected_init_loss(cfg: EngineConfig, y: np.ndarray) -> tuple[float, str]:
    """The loss of a net that outputs exactly its initial bias, on these labels.

    Computed on the batch's own labels, so the only gap to the measured loss is what the
    random weights add; that gap is small at a good init.
    """
    prior = np.asarray(cfg.prior, dtype=np.float64)
    use_prior = cfg.output_bias == "prior" and prior.size > 0
    if cfg.task == "regression":
        yv = y.astype(np.float64)
        if use_prior:
            return float(np.mean((yv - prior[0]) ** 2)), "MSE with the bias at the train mean"
        return float(np.mean(yv**2)), "MSE with a zero output bias"
    k = cfg.n_outputs
    labels = y.astype(np.int64)
    if cfg.loss == "cross_entropy":
        if use_prior:
            p = np.clip(prior, 1e-6, None)
            p = p / p.sum()
            return (
                float(-np.mean(np.log(p[labels]))),
                f"softmax cross-entropy, {k} classes, prior-initialized bias",
            )
        return math.log(k), f"log({k}) for softmax cross-entropy with a zero bias"
    # MSE on one-hot targets, the per-sample loss averaged over the K outputs.
    bias = prior if use_prior else np.zeros(k)
    per_sample = (1.0 - 2.0 * bias[labels] + np.sum(bias**2)) / k
    what = "prior bias" if use_prior else "zero bias"
    return float(np.mean(per_sample)), f"MSE on one-hot targets, {k} outputs, {what}"
