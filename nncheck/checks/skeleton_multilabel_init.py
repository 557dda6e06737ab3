"""skeleton.multilabel_init: the loss at init is the labels' summed entropies, with
independent sigmoid outputs (not a softmax over the labels) and a bias at the label rates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks._skeleton import (
    correct_init_losses,
    final_bias,
    rows_are_probabilities,
    standard_error,
)
from nncheck.checks._stats import bernoulli_entropy, constant_losses, per_sample_loss
from nncheck.checks.context import Context
from nncheck.checks.registry import BATCH, NON_NEGATIVE, Range, check
from nncheck.engines.base import prior_log_odds
from nncheck.results import CheckOutcome, result

_SOFTMAX_HINT = (
    "Multilabel targets are independent yes/no questions: end the model with one raw logit "
    "per label and train with binary cross-entropy on logits (model.loss: bce, or torch's "
    "BCEWithLogitsLoss). A softmax (in the model, or nn.CrossEntropyLoss as the loss) makes "
    "the labels compete, so a sample can never carry two of them with confidence."
)


@check(
    "skeleton.multilabel_init",
    stage="skeleton",
    defaults={
        "batch_size": 512,
        "warn_ratio": 1.3,
        "fail_ratio": 2.0,
        "low_ratio": 0.5,
        "z": 3.0,
        "reference_inits": 4,
        "zero_bias_nats": 0.1,
    },
    ranges={
        "batch_size": BATCH,
        "warn_ratio": NON_NEGATIVE,
        "fail_ratio": NON_NEGATIVE,
        "low_ratio": NON_NEGATIVE,
        "z": NON_NEGATIVE,
        "reference_inits": Range(ge=1, le=64),
        "zero_bias_nats": NON_NEGATIVE,
    },
    requires=("engine", "trainable", "multilabel"),
)
def multilabel_init(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """At init, a multilabel net answers each label's rate: loss = sum_l H(p_l).

    Why: with a sigmoid and binary cross-entropy per label, an untrained net whose output
    bias holds the labels' log-odds scores the sum of the labels' Bernoulli entropies
    H(p_l) (L log 2 with a zero bias). Far above that, the random weights are confidently
    wrong (too large an init); far below, the net knows the labels before training. A zero
    bias on rare labels starts every label at "50% yes" and spends the first steps learning
    the rates (the hockey-stick curve). And the outputs must be independent: a softmax over
    the labels (in the model, or softmax cross-entropy as the loss) makes them compete.

    On a seeded batch of `batch_size` training samples: the measured loss L against E
    (the batch's own labels scored at the bias), and against C, the mean loss of
    `reference_inits` correct inits of the same network (random weights at a correct
    scale still add some loss). Fails when L >= `fail_ratio` x E and L is `z` spreads
    above C; warns from `warn_ratio` x E, or below `low_ratio` x E. Fails outright when
    every output row is a probability vector summing to 1 (a softmax in the model), or
    when the loss does not change as all of a row's logits move together (shift
    invariance is the mark of softmax cross-entropy). Warns when a zero output bias costs
    at least `zero_bias_nats` nats per sample at init (L log 2 - sum H(p)).
    Fix: as the message says: a smaller init, `model.output_bias: prior`, logits + BCE.
    """
    ds = ctx.dataset
    cfg = ctx.engine_config
    assert cfg is not None
    x, y = ctx.sample_batch(int(t["batch_size"]), seed_offset=53)
    engine = ctx.make_engine()
    out = np.asarray(engine.forward(x), dtype=np.float64)
    rates = np.asarray(cfg.prior, dtype=np.float64)
    if rates.size != ds.n_outputs:
        rates = np.nanmean(ds.train.y.astype(np.float64), axis=0)
    k = ds.n_outputs
    entropies = bernoulli_entropy(rates)
    metrics: dict[str, Any] = {
        "n_labels": k,
        "summed_entropy": float(entropies.sum()),
        "zero_bias_loss": k * math.log(2.0),
        "batch": len(x),
    }
    if rows_are_probabilities(out):
        row_sums = out.sum(axis=1)
        metrics["outputs_sum_to_one"] = True
        return result(
            "fail",
            f"the model's {k} outputs are a softmax over the labels: every row is in [0, 1]"
            f" and sums to 1 (mean {row_sums.mean():.4f}), so the labels compete for one"
            " unit of probability",
            hint=_SOFTMAX_HINT,
            metrics=metrics,
        )
    const = np.broadcast_to(prior_log_odds(rates), (len(y), k)).astype(np.float32)
    shifted = const + np.float32(1.0)
    base, moved = _output_loss(engine, cfg, const, y), _output_loss(engine, cfg, shifted, y)
    metrics["loss_shift_invariant"] = bool(abs(moved - base) <= 1e-6 * max(1.0, abs(base)))
    if metrics["loss_shift_invariant"]:
        return result(
            "fail",
            f"the loss does not change when all {k} logits of a sample rise together"
            f" ({base:.4f} -> {moved:.4f}): that is softmax cross-entropy over the labels,"
            " not a binary cross-entropy per label",
            hint=_SOFTMAX_HINT,
            metrics=metrics,
        )
    loss = float(engine.loss(x, y))
    per = constant_losses(y, rates, "multilabel", "bce")
    bias = final_bias(engine, k)
    prior_bias = cfg.output_bias == "prior" and (
        bias is None or np.allclose(bias[1], prior_log_odds(rates), atol=1e-3)
    )
    expected = float(per.mean()) if prior_bias else k * math.log(2.0)
    scale = 1.0
    if cfg.user_loss:  # the user's loss of the same constant (a mean over labels, weights...)
        zeros = np.zeros_like(const)
        user_expected = base if prior_bias else _output_loss(engine, cfg, zeros, y)
        scale = user_expected / expected if expected > 0 else 1.0
        expected = user_expected
    ref = correct_init_losses(ctx, x, y, int(t["reference_inits"]))
    spread = math.hypot(
        scale * standard_error(per, len(ds.train)),
        float(ref.losses.std()) if ref.losses.size else 0.0,
    )
    reference = max(expected, float(ref.losses.mean()))
    metrics.update(
        loss=loss,
        expected=expected,
        reference=reference,
        spread=spread,
        prior_bias=prior_bias,
        reference_inits=ref.description,
    )
    loss_name = (
        f"your loss {cfg.user_loss}"
        if cfg.user_loss
        else (f"binary cross-entropy summed over {k} labels")
    )
    basis = (
        "the labels' rates as the bias" + ("" if cfg.user_loss else ": the sum of their entropies")
        if prior_bias
        else "a zero bias" + ("" if cfg.user_loss else f": {k} x log 2")
    )
    said = (
        f"loss at init {loss:.4g} ({loss_name}), expected {expected:.4g} ({basis}); a "
        f"correct init of this net gives {reference:.4g}"
    )
    clear = loss > reference + float(t["z"]) * spread
    ratio = loss / expected if expected > 0 else float("inf")
    metrics["ratio"] = ratio
    if ratio >= float(t["fail_ratio"]) and clear:
        return result(
            "fail",
            f"{said}: {ratio:.2f}x the expected loss",
            hint="The untrained net is confidently wrong about its labels: its weights are "
            "too large (init: he or xavier, a smaller init_std), or its inputs are not "
            "normalized.",
            metrics=metrics,
        )
    if ratio >= float(t["warn_ratio"]) and clear:
        return result(
            "warn",
            f"{said}: {ratio:.2f}x the expected loss",
            hint="Predictions at init are over-confident: scale the init down.",
            metrics=metrics,
        )
    if loss < float(t["low_ratio"]) * expected:
        return result(
            "warn",
            f"{said}: below {float(t['low_ratio']):g}x of it, before any training",
            hint="The untrained net already knows the labels: a label column may have "
            "leaked into the inputs (see data.features), or the loss is scaled down.",
            metrics=metrics,
        )
    cost = k * math.log(2.0) - float(entropies.sum())
    metrics["zero_bias_cost"] = cost
    if not prior_bias and cost >= float(t["zero_bias_nats"]):
        return result(
            "warn",
            f"{said}; a bias at the labels' log-odds would start {cost:.3g} nats lower per "
            f"sample (train rates {100 * rates.min():.1f}%-{100 * rates.max():.1f}%)",
            hint="Set model.output_bias: prior, so the net starts at each label's rate "
            "instead of 50% for every label and does not spend its first steps learning "
            "the rates.",
            metrics=metrics,
        )
    return result("pass", said, metrics=metrics)


def _output_loss(engine: Any, cfg: Any, outputs: np.ndarray, y: np.ndarray) -> float:
    """The engine's loss (the user's, for torch) of given raw outputs."""
    own = getattr(engine, "output_loss", None)
    if own is not None:
        return float(own(outputs, y))
    return float(per_sample_loss(outputs, y, cfg.loss, cfg.task).mean())
