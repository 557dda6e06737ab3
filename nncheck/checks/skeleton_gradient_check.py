"""skeleton.gradient_check: backprop agrees with central finite differences."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import POSITIVE, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.gradient_check",
    stage="skeleton",
    defaults={
        "batch_size": 8,
        "coordinates": 24,
        "eps": 1e-6,
        "warn_error": 1e-6,
        "fail_error": 1e-4,
    },
    ranges={
        "batch_size": Range(ge=1, le=4096),
        "coordinates": Range(ge=1, le=10_000),
        "eps": Range(gt=0, le=0.1),
        "warn_error": POSITIVE,
        "fail_error": POSITIVE,
    },
    requires=("engine", "trainable", "any_task"),
)
def gradient_check(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The gradients backprop computes agree with finite differences of the loss.

    Why: a hand-written backward pass with a sign error, a transposed matrix or a missing
    factor still trains — badly — and no loss curve tells it apart from a bad learning
    rate. Central finite differences of the loss are the ground truth.

    On a float64 copy of the engine at init (`engine.astype(float64)`) and `batch_size`
    training samples, compares the analytic gradient with (L(p + eps) - L(p - eps)) / 2eps
    on `coordinates` seeded parameter coordinates, spread over every parameter tensor (at
    least 2 per tensor; half uniform, half among each tensor's larger gradients, so a bug in
    any tensor shows). Relative error per coordinate: |analytic - numeric| / max(|analytic|,
    |numeric|, floor). The floor keeps float64 round-off out of the verdict: the finite
    difference of a loss L is only good to about 8·ulp(L)/eps, so floor = 10 × that /
    `warn_error` (round-off alone then stays 10x below `warn_error`; a sign error still
    fails on any coordinate whose gradient exceeds ~1e-6·L and warns above ~1e-8·L). A
    coordinate that fails is retried with eps/10 and eps/100: a ReLU kink crossed within
    eps disappears there, and a point exactly on a kink (a pre-activation of exactly 0,
    e.g. behind a layer whose units are all off for a sample) shows as backprop matching
    one of the two one-sided differences; both count as kinks and are skipped, while a
    wrong gradient matches neither. Healthy float64 gives a max error of 1e-10 to 1e-8 on
    wine, breast cancer, digits, diabetes and MNIST; warn above `warn_error`, fail above
    `fail_error` (a sign or transpose error gives ~1 or more).

    Fix: the message names the worst parameter; check that layer's backward pass (its
    sign, transposes, and the factor of the loss' derivative).
    """
    engine = ctx.make_engine().astype(np.float64)
    size = int(t["batch_size"])
    x, y = ctx.sample_batch(size, seed_offset=11)
    eps = float(t["eps"])
    warn_error = float(t["warn_error"])
    analytic = engine.gradients(x, y).params
    params = {k: np.array(v, dtype=np.float64, copy=True) for k, v in engine.parameters().items()}
    coords = _choose(analytic, params, int(t["coordinates"]), ctx.seed)
    if not coords:
        return result(
            "skip",
            "the engine exposes no parameters to check",
            hint="The engine's parameters() returned nothing: expose the model's parameters.",
        )
    base = float(engine.loss(x, y))
    again = float(engine.loss(x, y))
    if again != base:
        # Finite differences assume the loss is a function of the parameters; a random
        # forward pass breaks that, and every coordinate would "disagree" with backprop.
        return result(
            "fail",
            f"the loss is random: the same parameters and batch give {base:.10g} and then "
            f"{again:.10g}, so backprop cannot be compared with finite differences",
            hint="The forward pass draws random numbers outside the seeded generator (noise, "
            "unseeded dropout) or keeps state between calls; see skeleton.determinism.",
            metrics={"loss_first": base, "loss_second": again, "batch_size": int(len(y))},
        )

    def differences(name: str, flat: int, h: float) -> tuple[float, float, float]:
        """Central, forward and backward differences of the loss along one coordinate."""
        original = params[name]
        p = original.copy()
        p.flat[flat] = original.flat[flat] + h
        engine.set_parameters({name: p})
        plus = float(engine.loss(x, y))
        p.flat[flat] = original.flat[flat] - h
        engine.set_parameters({name: p})
        minus = float(engine.loss(x, y))
        engine.set_parameters({name: original})
        return (plus - minus) / (2 * h), (plus - base) / h, (base - minus) / h

    def error(a: float, numeric: float, h: float) -> float:
        noise = 8 * np.spacing(max(abs(base), 1e-300)) / h
        floor = max(10 * noise / warn_error, 1e-300)
        err = abs(a - numeric) / max(abs(a), abs(numeric), floor)
        return err if math.isfinite(err) else float("inf")

    def at_kink(name: str, flat: int, a: float, fwd: float, bwd: float) -> bool:
        """A ReLU kink, not a wrong gradient: a smaller step agrees, or the point sits on
        the kink itself and backprop returned one of the two one-sided slopes."""
        if fwd != bwd and min(error(a, fwd, eps), error(a, bwd, eps)) <= 1e-3:
            return True
        return any(error(a, differences(name, flat, h)[0], h) <= warn_error for h in small)

    small = (eps / 10, eps / 100)
    rows, kinks = [], []
    for name, flat in coords:
        a = float(np.asarray(analytic[name]).flat[flat])
        numeric, fwd, bwd = differences(name, flat, eps)
        err = error(a, numeric, eps)
        index = [int(i) for i in np.unravel_index(flat, params[name].shape)]
        row = {"parameter": name, "index": index, "analytic": a, "numeric": numeric, "error": err}
        if err > warn_error and at_kink(name, flat, a, fwd, bwd):
            kinks.append(row)
            continue
        rows.append(row)

    metrics: dict[str, Any] = {
        "coordinates": len(coords),
        "checked": len(rows),
        "skipped_kinks": len(kinks),
        "batch_size": int(len(y)),
        "eps": eps,
        "loss": base,
    }
    if not rows:
        return result(
            "warn",
            f"all {len(coords)} coordinates crossed a kink within eps {eps:g}; nothing checked",
            hint="Lower eps (checks.skeleton.gradient_check.eps) or check more coordinates.",
            metrics=metrics,
        )
    errors = np.array([r["error"] for r in rows])
    worst = rows[int(np.argmax(errors))]
    metrics.update(max_error=float(errors.max()), median_error=float(np.median(errors)))
    by_param: dict[str, float] = {}
    for r in rows:
        by_param[r["parameter"]] = max(by_param.get(r["parameter"], 0.0), r["error"])
    metrics["max_error_by_parameter"] = by_param
    examples = sorted(rows, key=lambda r: -r["error"])[:20]
    said = (
        f"relative error of backprop vs finite differences on {len(rows)} coordinates "
        f"(float64, eps {eps:g}): max {errors.max():.2g}, median {np.median(errors):.2g}"
    )
    if kinks:
        said += f"; {len(kinks)} skipped (kink)"
    if errors.max() <= warn_error:
        return result("pass", said, metrics=metrics, examples=examples)
    status = "fail" if not errors.max() <= float(t["fail_error"]) else "warn"
    bad = [p for p, e in by_param.items() if e > warn_error]
    worst_text = (
        f"; worst {worst['parameter']}{worst['index']}: backprop {worst['analytic']:.4g}, "
        f"finite differences {worst['numeric']:.4g}"
    )
    if worst["analytic"] * worst["numeric"] < 0:
        worst_text += " (opposite sign)"
    return result(
        status,
        said + worst_text + f"; affected: {', '.join(bad)}",
        hint=f"The backward pass of {', '.join(bad[:3])} disagrees with the forward pass: "
        "look for a sign error, a transposed matrix or a wrong factor there. (If the model "
        "is stochastic — dropout — the check needs it in a deterministic mode.)",
        metrics=metrics,
        examples=examples,
    )


def _choose(
    grads: dict[str, np.ndarray], params: dict[str, np.ndarray], n: int, seed: int
) -> list[tuple[str, int]]:
    """Seeded (name, flat index) pairs, at least 2 per tensor, half at larger gradients."""
    rng = np.random.default_rng(seed + 4242)
    names = [k for k, v in params.items() if v.size > 0 and k in grads]
    if not names:
        return []
    per = max(2, math.ceil(n / len(names)))
    out: list[tuple[str, int]] = []
    for name in names:
        size = params[name].size
        k = min(per, size)
        uniform = rng.choice(size, size=k - k // 2, replace=False)
        picks = [int(i) for i in uniform]
        mag = np.abs(np.asarray(grads[name], dtype=np.float64)).ravel()
        strong_mask = mag > np.median(mag)
        if not strong_mask.any():
            strong_mask = np.ones(size, dtype=bool)
        strong_mask[uniform] = False
        strong = np.flatnonzero(strong_mask)
        if strong.size:
            extra = rng.choice(strong, size=min(k // 2, strong.size), replace=False)
            picks += [int(i) for i in extra]
        out += [(name, i) for i in picks]
    return out
