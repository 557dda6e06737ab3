"""Helpers shared by the skeleton checks (init loss, output bias, init scale, ...).

Everything here works from what the ``Engine`` protocol returns — raw outputs, parameter
names, gradients — so the checks built on it serve every engine alike. Numbers are computed
in float64 whatever the engine's dtype, so a judgement never hinges on float32 rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.engines.base import Engine, EngineConfig


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


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in nats (0 log 0 = 0)."""
    p = np.asarray(p, dtype=np.float64)
    nz = p[p > 0]
    return float(-np.sum(nz * np.log(nz)))


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
