"""skeleton.init_loss: the loss at initialization matches what the setup implies."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks._skeleton import (
    activation_stats,
    class_prior,
    correct_init_losses,
    entropy,
    init_scale_thresholds,
    judge_hidden,
    rows_are_probabilities,
    standard_error,
)
from nncheck.checks._stats import constant_losses, per_sample_loss
from nncheck.checks.context import Context
from nncheck.checks.registry import BATCH, NON_NEGATIVE, Range, check
from nncheck.engines.base import EngineConfig
from nncheck.results import CheckOutcome, result

_TOO_HIGH_HINT = (
    "The untrained net is confidently wrong: weights too large (try init: he or xavier, or a "
    "smaller init_std), un-normalized inputs, or softmax applied before a loss that applies "
    "it again."
)
_TOO_LOW_HINT = (
    "The untrained net already beats a constant predictor: the labels may leak into the "
    "inputs, or the loss is computed on the wrong targets or with the wrong scale (e.g. "
    "divided by an extra factor)."
)


@check(
    "skeleton.init_loss",
    stage="skeleton",
    defaults={
        "batch_size": 512,
        "warn_rel": 0.3,
        "fail_rel": 1.0,
        "low_rel": 0.5,
        "z": 3.0,
        "reference_inits": 8,
        "zero_bias_rel": 0.5,
    },
    ranges={
        "batch_size": BATCH,
        "warn_rel": NON_NEGATIVE,
        "fail_rel": NON_NEGATIVE,
        "low_rel": NON_NEGATIVE,
        "z": NON_NEGATIVE,
        "reference_inits": Range(ge=0, le=64),
        "zero_bias_rel": NON_NEGATIVE,
    },
    requires=("engine", "trainable"),
)
def init_loss(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The loss at init is what a network that outputs only its bias would score.

    Why: a freshly initialized net should be maximally unsure — log(K) for softmax
    cross-entropy with a zero output bias, the cross-entropy of the class prior with a
    prior bias, the target variance for MSE with a mean bias, (1 - 2 b_y + |b|²)/K for MSE
    on one-hot targets. A loss far above that means weights that are too large (confident
    random predictions) or a wrong loss; far below means the net "knows" the labels before
    training — leakage, or a loss computed on the wrong thing or with the wrong scale.
    Outputs that are already probabilities (every row in [0, 1], summing to 1) under
    softmax cross-entropy mean softmax is applied twice, whatever the loss value.

    Judged on a seeded batch of `batch_size` training samples against two numbers: E, the
    loss of the bias alone (the formulas above), and the loss a correct init of the same
    network gives on the same batch — `reference_inits` seeded draws of the textbook init
    (he for ReLU, xavier for tanh/sigmoid; for a torch model, every weight matrix redrawn
    with std 1/sqrt(fan-in)): their mean C (at least E) and spread s. Random weights at a
    correct scale still add loss (logits of std σ add about σ²/2 nats: 0.03 on the wine
    net, 0.5-0.6 on breast cancer's 30 correlated features, where one seed reaches 4×
    E), so the loss is held against C. The tolerance is `z` times the spread of the
    measurement, √(se² + s²): se the standard error of the batch mean (per-sample losses,
    with the finite-population correction: 0 when the batch is the whole split) and s the
    variation a correct init gives. Fails when the loss is above (1 + `fail_rel`)·C (2×)
    and beyond the tolerance, warns above (1 + `warn_rel`)·C (1.3×) and beyond it — the
    same for MSE against var(y). Too low: below E / (1 + `warn_rel`) warns, below
    (1 - `low_rel`)·E fails (each also beyond the tolerance). On a loss too high the hint
    names the layer where skeleton.init_scale's statistics go wrong first.

    With softmax cross-entropy and a zero output bias it also warns when a prior-initialized
    bias would start more than `zero_bias_rel` lower (relative), i.e. for heavily
    imbalanced classes (D9: 1:20 binary classes start at 0.69 instead of 0.19).

    Fix: use he/xavier init (or a smaller init_std), scale the inputs, feed logits (not
    probabilities) to softmax cross-entropy, and initialize the output bias to the prior.
    """
    cfg = ctx.engine_config
    assert cfg is not None  # guaranteed by requires=("engine",)
    engine = ctx.make_engine()
    x, y = ctx.sample_batch(int(t["batch_size"]))
    loss = float(engine.loss(x, y))
    out = np.asarray(engine.forward(x), dtype=np.float64)
    if cfg.user_loss:
        # The user's loss (label smoothing, class weights ...) of the best constant
        # prediction, computed by the engine that holds it.
        expected, what = user_expected_init_loss(engine, cfg, y)
        per_sample = np.asarray(engine.output_losses(out, y), dtype=np.float64)
        from_outputs = float(engine.output_loss(out, y))
    else:
        expected, what = expected_init_loss(cfg, y)
        per_sample = per_sample_loss(out, y, cfg.loss, cfg.task)
        from_outputs = float(np.mean(per_sample))
    se = standard_error(per_sample, len(ctx.dataset.train))
    metrics: dict[str, Any] = {
        "loss": loss,
        "expected": expected,
        "batch_size": int(len(y)),
        "basis": what,
        "standard_error": se,
        "loss_from_outputs": from_outputs,
    }
    if not math.isfinite(loss):
        return result(
            "fail",
            f"loss at init is {loss} ({what} expects {expected:.3g})",
            hint="The forward pass overflows at init: scale the inputs and use he/xavier init.",
            metrics=metrics,
        )
    ref = correct_init_losses(ctx, x, y, int(t["reference_inits"]))
    finite = ref.losses[np.isfinite(ref.losses)]
    correct = max(float(np.mean(finite)) if finite.size else expected, expected)
    spread = float(np.std(finite, ddof=1)) if finite.size > 1 else 0.0
    tol = float(t["z"]) * math.sqrt(se**2 + spread**2)
    metrics.update(
        correct_init=ref.description,
        correct_init_loss=correct,
        correct_init_spread=spread,
        correct_init_losses=[float(v) for v in ref.losses],
        tolerance=tol,
    )
    said = (
        f"loss at init {loss:.4g}, expected {expected:.4g} ({what}); a correct init "
        f"({ref.description}) gives {correct:.4g} ± {tol:.2g}"
    )

    # Outputs that are probabilities under softmax cross-entropy: softmax applied twice (M4).
    if cfg.loss == "cross_entropy" and rows_are_probabilities(out):
        metrics["outputs_are_probabilities"] = True
        return result(
            "fail",
            f"{said}; but the model's outputs are already probabilities (every row in [0, 1], "
            f"rows sum to 1 ± {np.abs(out.sum(axis=1) - 1).max():.1g}): softmax is applied "
            "twice, so the loss cannot fall much below "
            f"{math.log(1 + (cfg.n_outputs - 1) / math.e):.3g}",
            hint="Return logits from the model and let softmax cross-entropy apply softmax "
            "(drop the final Softmax layer), or use a negative log-likelihood loss on "
            "log-probabilities.",
            metrics=metrics,
        )

    ratio = loss / correct if correct > 0 else float("inf")
    metrics["ratio_to_correct_init"] = ratio
    status, side = judge(loss, expected, correct, tol, t)
    if side == "high":
        limit = 1 + float(t["fail_rel"] if status == "fail" else t["warn_rel"])
        verb = "fails" if status == "fail" else "warns"
        return result(
            status,
            f"{said}: {ratio:.2g}× that ({verb} above {limit:.2g}×)",
            hint=_TOO_HIGH_HINT + _blame(ctx, engine, x, out, ref.output_spread),
            metrics=metrics,
        )
    if side == "low":
        return result(
            status,
            f"{said}: {expected - loss:.3g} below, {loss / expected:.0%} of the expected value",
            hint=_TOO_LOW_HINT,
            metrics=metrics,
        )

    # The engine's loss should be the configured loss of its own outputs.
    mismatch = abs(metrics["loss_from_outputs"] - loss) / max(abs(loss), 1e-12)
    metrics["loss_mismatch"] = mismatch
    if mismatch > 1e-3:
        return result(
            "warn",
            f"{said}, but the engine's loss differs from the configured {cfg.loss} of its "
            f"outputs ({metrics['loss_from_outputs']:.4g}, {mismatch:.1%} apart)",
            hint="forward() must return raw outputs (logits for cross-entropy) and loss() must "
            "be the configured loss of those outputs; check for a softmax inside the model, "
            "dropout left on at evaluation, or a different loss.",
            metrics=metrics,
        )

    # A zero bias on imbalanced classes: fine by this check's arithmetic, costly in practice.
    if cfg.output_bias == "zero" and cfg.loss == "cross_entropy" and not cfg.user_loss:
        prior_cfg = _with_prior_bias(cfg, y)
        if prior_cfg is not None:
            with_prior, _ = expected_init_loss(prior_cfg, y)
            metrics["expected_with_prior_bias"] = with_prior
            cost = (expected - with_prior) / max(with_prior, 1e-12)
            freq = np.asarray(prior_cfg.prior)
            ratio = float(freq.max() / max(freq.min(), 1e-12))
            metrics["zero_bias_cost_rel"] = cost
            if cost > float(t["zero_bias_rel"]):
                return result(
                    "warn",
                    f"{said}; a prior-initialized output bias would start at {with_prior:.3g} "
                    f"(the zero bias costs +{cost:.0%}): the classes are imbalanced "
                    f"(1:{ratio:.3g}, smallest to largest)",
                    hint="Set model.output_bias: prior (class log-priors), so the net does not "
                    "spend its first steps learning the class frequencies.",
                    metrics=metrics,
                )
    return result("pass", said, metrics=metrics)


def judge(
    loss: float, expected: float, correct: float, tol: float, t: dict[str, Any]
) -> tuple[str, str]:
    """(status, side) of a finite loss at init: side is "high", "low" or "" (pass).

    High: above (1 + fail_rel) x the correct init's loss fails, above (1 + warn_rel) x
    warns, each only when also more than ``tol`` above it (a ratio alone would flag the
    noise of a small batch or of an init that varies a lot). Low: below the bias-only
    ``expected`` / (1 + warn_rel) warns, below (1 - low_rel) x expected fails, each only
    when more than ``tol`` below it.
    """
    warn_rel, fail_rel = float(t["warn_rel"]), float(t["fail_rel"])
    if loss > correct + tol and loss > (1 + warn_rel) * correct:
        return ("fail" if loss > (1 + fail_rel) * correct else "warn"), "high"
    if loss < expected - tol and loss * (1 + warn_rel) < expected:
        return ("fail" if loss < (1 - float(t["low_rel"])) * expected else "warn"), "low"
    return "pass", ""


def _blame(ctx: Context, engine: Any, x: np.ndarray, out: np.ndarray, correct_spread: float) -> str:
    """Which layer skeleton.init_scale's statistics blame, as a sentence ('' if none)."""
    _, acts = engine.forward(x, activations=True)  # every engine records them (base.Engine)
    t = init_scale_thresholds(ctx)
    for act in acts[:-1]:
        findings: list[tuple[int, str, str]] = []
        st = activation_stats(act)
        if not st["finite"]:
            return f" skeleton.init_scale's statistics: {act.name} overflows to inf/NaN."
        judge_hidden(act, st, t, findings)
        if findings:
            worst = max(findings, key=lambda f: f[0])
            return f" skeleton.init_scale's statistics point at {act.name}: {worst[1]}."
    spread = float(np.mean(np.std(out, axis=0))) if len(out) > 1 else 0.0
    return (
        f" skeleton.init_scale's statistics point at the output layer: logit std {spread:.3g} "
        f"over the batch, against {correct_spread:.2g} with a correct init."
    )


def expected_init_loss(cfg: EngineConfig, y: np.ndarray) -> tuple[float, str]:
    """The loss of a net that outputs exactly its initial bias, on these labels.

    Computed on the batch's own labels, so the only gap to the measured loss is what the
    random weights add; that gap is small at a good init.
    """
    prior = np.asarray(cfg.prior, dtype=np.float64)
    use_prior = cfg.output_bias == "prior" and prior.size > 0
    k = cfg.n_outputs
    if use_prior:
        value = float(np.mean(constant_losses(y, prior, cfg.task, cfg.loss)))
        if cfg.task == "regression":
            return value, "MSE with the bias at the train mean"
        if cfg.loss == "cross_entropy":
            return value, f"softmax cross-entropy, {k} classes, prior-initialized bias"
        return value, f"MSE on one-hot targets, {k} outputs, prior bias"
    if cfg.task == "regression":
        return float(np.mean(y.astype(np.float64) ** 2)), "MSE with a zero output bias"
    if cfg.loss == "cross_entropy":
        return math.log(k), f"log({k}) for {k} classes, softmax cross-entropy with a zero bias"
    # MSE on one-hot targets against zero outputs: 1/K per sample.
    return 1.0 / k, f"MSE on one-hot targets, {k} outputs, zero bias"


def user_expected_init_loss(engine: Any, cfg: EngineConfig, y: np.ndarray) -> tuple[float, str]:
    """The user's loss of the constant prediction a net outputs at init: the class
    log-priors as logits (or zeros with a zero bias), the train target mean (or 0)."""
    prior = np.asarray(cfg.prior, dtype=np.float64)
    use_prior = cfg.output_bias == "prior" and prior.size > 0
    n = len(y)
    if cfg.task == "regression":
        value = prior[0] if use_prior else 0.0
        const = np.full((n, 1), value, dtype=np.float32)
        basis = "the train target mean" if use_prior else "a zero prediction"
    else:
        k = cfg.n_outputs
        logits = np.log(np.clip(prior / prior.sum(), 1e-6, None)) if use_prior else np.zeros(k)
        const = np.broadcast_to(logits.astype(np.float32), (n, k)).copy()
        basis = "the class log-priors as logits" if use_prior else "zero logits"
    return float(engine.output_loss(const, y)), f"your loss {cfg.user_loss} of {basis}"


def _with_prior_bias(cfg: EngineConfig, y: np.ndarray) -> EngineConfig | None:
    from dataclasses import replace

    prior = class_prior(cfg, y)
    if prior.size < 2 or entropy(prior) <= 0:
        return None
    return replace(cfg, output_bias="prior", prior=tuple(float(p) for p in prior))
