"""Helpers shared by the language-model checks: token statistics, per-token losses and the
one short training they judge.

Losses are computed here in float64 from the engine's raw logits ``(n, T, V)``, with the
padding token left out exactly as the engine leaves it out, so a check's number is the loss
the model is trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.engines.base import Engine, TrainCurve

CHUNK_TOKENS = 1 << 18  # tokens per forward pass when predicting a whole split


def token_mask(ctx: Context, y: np.ndarray) -> np.ndarray:
    """True for the target tokens that count in the loss (all but padding)."""
    pad = ctx.dataset.pad_token
    return np.ones(y.shape, bool) if pad is None else (y != pad)


def unigram(ctx: Context) -> np.ndarray:
    """Next-token frequencies on train (padding left out): the best constant prediction."""
    y = ctx.dataset.train.y
    counts = np.bincount(y[token_mask(ctx, y)].ravel(), minlength=ctx.dataset.n_outputs)
    return counts / max(int(counts.sum()), 1)


def token_nll(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n, T) negative log-likelihood of each target token, float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=-1))
    picked = np.take_along_axis(z, y[..., None].astype(np.int64), axis=-1)[..., 0]
    return lse - picked


def sequence_losses(ctx: Context, nll: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n,) mean loss of each sequence over its counted tokens (the engine's reduction)."""
    m = token_mask(ctx, y).astype(np.float64)
    return (nll * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)


def predict_nll(engine: Engine, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n, T) token losses of a whole split, a bounded number of tokens per forward."""
    rows = max(1, CHUNK_TOKENS // max(1, x.shape[1]))
    parts = [
        token_nll(np.asarray(engine.forward(x[i : i + rows])), y[i : i + rows])
        for i in range(0, len(x), rows)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, x.shape[1]))


@dataclass
class LmTraining:
    curve: TrainCurve
    engine: Engine
    seconds: float


def lm_training(ctx: Context) -> LmTraining:
    """The recipe's own training (its steps, batch size, seed), run once per audit."""

    def run() -> LmTraining:
        import time

        cfg = ctx.engine_config
        assert cfg is not None
        engine = ctx.make_engine()
        start = time.perf_counter()
        curve = engine.train(
            ctx.dataset.train.x,
            ctx.dataset.train.y,
            steps=cfg.steps,
            batch_size=cfg.batch_size,
            seed=ctx.seed,
            callback=ctx.report_steps("training", cfg.steps),
        )
        return LmTraining(curve, engine, time.perf_counter() - start)

    return ctx.memo("lm_training", run)


def changed_tokens(tokens: np.ndarray, vocab: int) -> np.ndarray:
    """Each token replaced by a different one (the next id, wrapping)."""
    return (tokens + 1) % max(vocab, 2)


def max_relative_change(a: np.ndarray, b: np.ndarray, scale: float) -> float:
    """The largest |a - b| relative to ``scale`` (the outputs' typical size), 0 when empty."""
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))) / max(scale, 1e-12))


def output_scale(out: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(out.astype(np.float64))))) or 1.0


def curve_summary(curve: TrainCurve, window: int = 20) -> dict[str, Any]:
    loss = np.asarray(curve.loss, dtype=np.float64)
    w = max(1, min(window, len(loss) // 2 or 1))
    return {"first": float(loss[:w].mean()), "last": float(loss[-w:].mean()), "steps": len(loss)}
