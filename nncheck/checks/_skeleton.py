"""Helpers shared by the skeleton checks (init loss, output bias, init scale, ...).

Everything here works from what the ``Engine`` protocol returns — raw outputs, parameter
names, gradients — so the checks built on it serve every engine alike. Numbers are computed
in float64 whatever the engine's dtype, so a judgement never hinges on float32 rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.engines.base import Engine, EngineConfig, LayerActivation


def batch_rows(ctx: Context, size: int, seed_offset: int = 0) -> np.ndarray:
    """Positions in the train split of ``ctx.sample_batch(size, seed_offset)``'s samples.

    Same generator and draw as ``Context.sample_batch``, so examples can name source rows.
    """
    n = len(ctx.dataset.train)
    rng = np.random.default_rng(ctx.seed + 1000 + seed_offset)
    return np.sort(rng.choice(n, size=min(size, n), replace=False))


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (stable: shifted by the row max)."""
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def standard_error(values: np.ndarray, population: int) -> float:
    """Standard error of the mean of ``values`` drawn without replacement from
    ``population`` samples (finite-population correction: 0 when the batch is everything)."""
    n = int(values.size)
    if n < 2:
        return 0.0
    fpc = max(0.0, (population - n) / max(population - 1, 1)) if population > n else 0.0
    return float(np.std(values, ddof=1) / np.sqrt(n) * np.sqrt(fpc))


def final_bias(engine: Engine, n_outputs: int) -> tuple[str, np.ndarray] | None:
    """The output layer's bias: the last parameter named ``*bias`` with ``n_outputs`` entries."""
    found = None
    for name, value in engine.parameters().items():
        arr = np.asarray(value)
        if name.endswith("bias") and arr.size == n_outputs:
            found = (name, arr.reshape(-1).astype(np.float64))
    return found


def layer_of(name: str) -> str:
    """Parameter name -> its layer: ``layer0.weight`` -> ``layer0``, ``net.0.bias`` -> ``net.0``."""
    return name.rsplit(".", 1)[0] if "." in name else name


def class_prior(cfg: EngineConfig, y: np.ndarray) -> np.ndarray:
    """Class frequencies from the config (measured on train), else from these labels."""
    prior = np.asarray(cfg.prior, dtype=np.float64)
    if prior.size != cfg.n_outputs:
        counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=cfg.n_outputs)
        prior = counts / max(counts.sum(), 1)
    return prior / prior.sum()


def rows_are_probabilities(out: np.ndarray) -> bool:
    """Every output row is a probability vector (in [0, 1], summing to 1): a softmax the
    model applies itself, before a loss that applies it again or across labels that
    should be independent."""
    if out.ndim != 2 or out.shape[1] < 2 or out.size == 0 or not np.isfinite(out).all():
        return False
    in_range = bool((out >= -1e-6).all() and (out <= 1 + 1e-6).all())
    return in_range and bool(np.abs(out.sum(axis=1) - 1.0).max() < 1e-3)


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in nats (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    nz = p[p > 0]
    return float(-np.sum(nz * np.log(nz)))


# The init a textbook recommends for each activation (He et al. 2015; Glorot & Bengio 2010).
TEXTBOOK_INIT = {"relu": "he", "tanh": "xavier", "sigmoid": "xavier"}


@dataclass(frozen=True)
class ReferenceInits:
    """Losses of a correct init of the recipe's network, one per seeded draw."""

    losses: np.ndarray  # float64 (draws,), on the batch they were asked for
    output_spread: float  # mean over outputs of the outputs' std over the batch
    description: str  # for messages: which init, how many draws


def correct_init_losses(ctx: Context, x: np.ndarray, y: np.ndarray, draws: int) -> ReferenceInits:
    """The loss on (x, y) of ``draws`` correct inits of the recipe's network.

    numpy MLP: the same network under the textbook init for its activation. torch: the
    user's module with every weight matrix (``ndim >= 2``, not a bias) redrawn from
    N(0, 1/fan-in), fan-in being the product of all but the first dimension (torch's
    layout), biases and normalization layers as the factory built them. Either way the
    output bias stays what the recipe asked for, so only the random weights differ.
    """
    cfg = ctx.engine_config
    assert cfg is not None
    seeds = [ctx.seed + 7919 + i for i in range(max(int(draws), 1))]
    losses, spreads = [], []
    if ctx.recipe.model.engine == "torch":
        engine = ctx.make_engine()
        shapes = {
            name: tuple(p.shape)
            for name, p in engine.parameters().items()
            if p.ndim >= 2 and not name.endswith("bias")
        }
        for seed in seeds:
            rng = np.random.default_rng(seed)
            engine.set_parameters(
                {
                    name: (
                        rng.standard_normal(shape) / math.sqrt(max(int(np.prod(shape[1:])), 1))
                    ).astype(np.float32)
                    for name, shape in shapes.items()
                }
            )
            losses.append(float(engine.loss(x, y)))
            spreads.append(_output_spread(engine.forward(x)))
        description = f"weights N(0, 1/fan-in), {len(seeds)} seeds"
    else:
        init = TEXTBOOK_INIT.get(cfg.activation, "xavier")
        for seed in seeds:
            engine = ctx.make_engine(seed=seed, init=init)
            losses.append(float(engine.loss(x, y)))
            spreads.append(_output_spread(engine.forward(x)))
        description = f"{init}, {len(seeds)} seeds"
    finite = [s for s in spreads if math.isfinite(s)]
    return ReferenceInits(
        np.asarray(losses, dtype=np.float64),
        float(np.mean(finite)) if finite else float("nan"),
        description,
    )


def _output_spread(outputs: Any) -> float:
    out = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    return float(np.mean(np.std(out, axis=0))) if len(out) > 1 else 0.0


def init_scale_thresholds(ctx: Context) -> dict[str, Any]:
    """skeleton.init_scale's thresholds as this run uses them (defaults + the recipe's)."""
    from nncheck.checks.registry import all_checks

    spec = all_checks().get("skeleton.init_scale")
    thresholds = dict(spec.defaults) if spec is not None else {}
    section = ctx.recipe.checks if isinstance(ctx.recipe.checks, dict) else {}
    override = section.get("skeleton.init_scale")
    if isinstance(override, dict):
        thresholds.update(override)
    return thresholds


def histogram(values: np.ndarray, bins: int = 40) -> dict[str, Any]:
    """A histogram artifact ``{"edges": [...], "counts": [...]}`` of the finite values."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"edges": [0.0, 1.0], "counts": [0]}
    try:
        counts, edges = np.histogram(v, bins=bins)
    except ValueError:
        # a range too narrow for its magnitude (values ~1e32 that differ in the last digits):
        # float64 cannot hold `bins` distinct edges, so one bin holds them all
        counts, edges = np.array([v.size]), np.array([v.min(), v.max()])
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


# ------------------------------------------------------------ per-layer statistics at init


def activation_stats(act: LayerActivation) -> dict[str, Any]:
    post = np.asarray(act.post, dtype=np.float64).reshape(len(act.post), -1)
    pre = None if act.pre is None else np.asarray(act.pre, np.float64).reshape(len(act.pre), -1)
    finite = bool(np.isfinite(post).all() and (pre is None or np.isfinite(pre).all()))
    st: dict[str, Any] = {
        "name": act.name,
        "kind": act.kind,
        "units": int(post.shape[1]),
        "finite": finite,
        "mean": float(post.mean()) if finite else float("nan"),
        "std": float(post.std()) if finite else float("nan"),
        "pre_std": float(pre.std()) if pre is not None and finite else None,
        "dead": None,
        "saturated": None,
    }
    if act.kind == "relu":
        # Never active, and pushed below zero rather than fed zeros (a conv position over
        # an all-zero image border has pre-activation exactly 0: idle, not dead).
        off = (pre < 0) if pre is not None and pre.shape == post.shape else (post <= 0)
        st["dead"] = float(np.mean(off.all(axis=0)))
    elif act.kind == "tanh":
        st["saturated"] = float(np.mean(np.abs(post) > 0.99))
    elif act.kind == "sigmoid":
        st["saturated"] = float(np.mean((post < 0.01) | (post > 0.99)))
    return st


def judge_hidden(
    act: LayerActivation, st: dict[str, Any], t: dict[str, Any], findings: list
) -> None:
    scale = st["pre_std"] if st["pre_std"] is not None else st["std"]
    what = "pre-activation std" if st["pre_std"] is not None else "activation std"
    if scale < float(t["act_std_low_warn"]):
        level = 2 if scale < float(t["act_std_low_fail"]) else 1
        findings.append(
            (
                level,
                f"signal vanishes: {act.name} {what} {scale:.2g} at init",
                "Weights too small: use he (ReLU) or xavier (tanh/sigmoid) init, or a larger "
                "init_std.",
            )
        )
    level = severity(scale, float(t["act_std_high_warn"]), float(t["act_std_high_fail"]))
    if level:
        findings.append(
            (
                level,
                f"activations explode: {act.name} {what} {scale:.3g} at init",
                "Weights too large or inputs un-normalized: use he/xavier init and normalize "
                "the inputs.",
            )
        )
    if st["saturated"] is not None:
        level = severity(st["saturated"], float(t["saturated_warn"]), float(t["saturated_fail"]))
        if level:
            findings.append(
                (
                    level,
                    f"{st['saturated']:.0%} of {act.name} activations saturated at init",
                    f"Saturated {act.kind} units pass almost no gradient: use xavier init, "
                    "a smaller init_std, and normalized inputs.",
                )
            )
    if st["dead"] is not None:
        level = severity(st["dead"], float(t["dead_warn"]), float(t["dead_fail"]))
        if level:
            findings.append(
                (
                    level,
                    f"{st['dead']:.0%} of {act.name} units are dead (never active over the "
                    "batch) at init",
                    "Dead ReLUs never learn: check for large negative biases, use he init "
                    "and normalized inputs, or try LeakyReLU.",
                )
            )


def severity(value: float, warn: float, fail: float) -> int:
    if not value <= fail:  # NaN counts as a failure
        return 2
    return 1 if value > warn else 0
