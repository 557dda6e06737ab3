"""skeleton.determinism: the same seed gives the same training, bit for bit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nncheck.checks._artifacts import curve
from nncheck.checks.context import Context
from nncheck.checks.registry import NON_NEGATIVE, STEPS, Range, check
from nncheck.engines.base import TrainCurve
from nncheck.results import CheckOutcome, result


@check(
    "skeleton.determinism",
    stage="skeleton",
    defaults={"steps": 30, "batch_size": 0, "other_seed_steps": 5, "tolerance": 0.0},
    ranges={
        "steps": STEPS,
        "batch_size": Range(ge=0, le=100_000),
        "other_seed_steps": STEPS,
        "tolerance": NON_NEGATIVE,
    },
    requires=("engine", "trainable", "any_task"),
)
def determinism(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Two short trainings with the same seed are identical; another seed differs.

    Why: unseeded randomness (a shuffle, an init, dropout or augmentation drawn outside
    the seeded generator) makes every comparison between two runs partly noise: a change
    that "helped" may just be a different draw, and a failure cannot be reproduced.

    Trains a fresh engine for `steps` steps from the recipe's seed twice (batch size
    `batch_size`, 0 = the recipe's) and compares the loss curves and the final parameters;
    a third run with seed + 1 (`other_seed_steps` steps) must differ. Besides, one forward
    pass repeated on the same batch must give the same outputs (no noise at inference).
    The default `tolerance` 0 demands bit-identical results, which a seeded CPU engine
    gives; raise it (a relative difference) for GPU kernels that are not deterministic.

    Fix: draw every random number from the seeded generator (shuffle, init, dropout),
    seed every library the model uses, and for torch on GPU enable deterministic
    algorithms.
    """
    cfg = ctx.engine_config
    assert cfg is not None  # guaranteed by requires=("engine",)
    steps = int(t["steps"])
    batch = int(t["batch_size"]) or int(cfg.batch_size)
    tol = float(t["tolerance"])
    x, y = ctx.dataset.train.x, ctx.dataset.train.y
    seed = ctx.seed

    def run(s: int, n_steps: int) -> tuple[TrainCurve, dict[str, np.ndarray]]:
        engine = ctx.make_engine(s)
        c = engine.train(x, y, steps=n_steps, batch_size=batch, seed=s)
        return c, {k: np.array(v, copy=True) for k, v in engine.parameters().items()}

    # Inference first: the same batch twice through one engine.
    probe = ctx.make_engine(seed)
    xb, _ = ctx.sample_batch(min(64, len(y)), seed_offset=31)
    out1 = np.asarray(probe.forward(xb))
    out2 = np.asarray(probe.forward(xb))
    forward_diff = _max_rel_diff(out1, out2)

    curve_a, params_a = run(seed, steps)
    curve_b, params_b = run(seed, steps)
    # Another seed changes the init, so a few steps show it (and keep the check cheap).
    curve_c, _ = run(seed + 1, min(steps, int(t["other_seed_steps"])))
    la, lb, lc = (np.asarray(c.loss, dtype=np.float64) for c in (curve_a, curve_b, curve_c))
    part = _first_difference(la, lb, tol)
    param_diff = {k: _max_rel_diff(params_a[k], params_b[k]) for k in params_a if k in params_b}
    worst_param = max(param_diff, key=lambda k: param_diff[k]) if param_diff else ""
    max_param = param_diff.get(worst_param, 0.0)
    other = _first_difference(la[: len(lc)], lc, 0.0)

    metrics: dict[str, Any] = {
        "steps": steps,
        "batch_size": batch,
        "seed": seed,
        "forward_max_rel_diff": forward_diff,
        "curves_identical": part is None,
        "first_different_step": None if part is None else part[0],
        "param_max_rel_diff": max_param,
        "other_seed_first_different_step": None if other is None else other[0],
    }
    artifacts = {
        "curves": {
            f"seed {seed} (run 1)": curve(curve_a.steps, loss=curve_a.loss),
            f"seed {seed} (run 2)": curve(curve_b.steps, loss=curve_b.loss),
            f"seed {seed + 1}": curve(curve_c.steps, loss=curve_c.loss),
        }
    }
    problems = []
    if forward_diff > tol:
        problems.append(
            f"two forward passes on the same {len(xb)} samples differ (max relative "
            f"difference {forward_diff:.2g}): the model is random at inference"
        )
    if part is not None:
        step, va, vb = part
        delta = abs(va - vb)
        problems.append(
            f"two {steps}-step trainings with seed {seed} part at step {step}: loss "
            f"{va:.6g} vs {vb:.6g} (|Δ| {delta:.2g}, {delta / max(abs(va), 1e-12):.2g} relative)"
        )
        metrics["first_difference"] = {"step": step, "run1": va, "run2": vb}
    if max_param > tol:
        problems.append(
            f"final parameters differ (worst {worst_param}: max relative difference "
            f"{max_param:.2g})"
        )
    if problems:
        return result(
            "fail",
            "; ".join(problems),
            hint="Something draws random numbers outside the seeded generator: a shuffle, "
            "an init, dropout or noise in the forward pass (np.random.* / torch.* without "
            "the seed). Seed it, or take it from the generator the engine is given.",
            metrics=metrics,
            artifacts=artifacts,
        )
    summary = (
        f"two {steps}-step trainings with seed {seed} are "
        f"{'bit-identical' if tol == 0 else f'identical within {tol:g}'} "
        f"(loss {_f(la[0])} -> {_f(la[-1])}, parameters equal)"
    )
    if other is None:
        return result(
            "warn",
            f"{summary}, but seed {seed + 1} gives exactly the same curve: the seed is ignored",
            hint="The engine does not use the seed it is given (a hard-coded seed or "
            "generator): different seeds must give different inits and batch orders, or "
            "seed-to-seed variation cannot be measured.",
            metrics=metrics,
            artifacts=artifacts,
        )
    step_c, va, vc = other
    said = f"{summary}; seed {seed + 1} differs from step {step_c} (loss {_f(va)} vs {_f(vc)})"
    # Engines may know more than two short runs can show: a non-deterministic op (torch on
    # a GPU, scatter/index ops) can agree for 30 steps on a CPU and part later.
    warnings = [w for w in getattr(probe, "warnings", []) if "non-deterministic" in w]
    if warnings:
        metrics["engine_warnings"] = warnings
        return result(
            "warn",
            f"{said}, but the model uses {len(warnings)} non-deterministic op(s): "
            + "; ".join(warnings[:3]),
            hint="Replace the op with a deterministic one, or accept run-to-run noise and "
            "compare runs by their spread over seeds, not bit for bit.",
            metrics=metrics,
            artifacts=artifacts,
        )
    return result("pass", said, metrics=metrics, artifacts=artifacts)


def _first_difference(a: np.ndarray, b: np.ndarray, tol: float) -> tuple[int, float, float] | None:
    """The first step where two loss curves differ by more than ``tol`` (relative), or None."""
    n = min(len(a), len(b))
    for i in np.flatnonzero(~_close(a[:n], b[:n], tol)):
        return int(i), float(a[i]), float(b[i])
    if len(a) != len(b):
        return n, float(a[n]) if n < len(a) else math.nan, float(b[n]) if n < len(b) else math.nan
    return None


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if tol <= 0:
        return same
    with np.errstate(all="ignore"):
        return same | (np.abs(a - b) <= tol * np.maximum(np.abs(a), np.abs(b)))


def _max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if same.all():
        return 0.0
    with np.errstate(all="ignore"):
        d = np.abs(a - b)[~same] / np.maximum(np.maximum(np.abs(a), np.abs(b))[~same], 1e-30)
    return float(np.nan_to_num(d, nan=math.inf).max())


def _f(v: float) -> str:
    return f"{v:.4g}"
