"""The trainings that several model checks judge, run once per `nncheck run`.

One short run of the recipe's own training (``main_training``) serves
``overfit.loss_decreases`` (is the curve going down?), ``skeleton.input_independent`` (does
it beat the same model on zeroed inputs?) and ``evaluate.full_test_set`` (how good is it on
the whole test set?). The zeroed-input twin (``zeroed_training``) is the input-independent
baseline. Both are memoized on the context, so the order in which checks run, or which of
them ``--only`` selects, never changes a number.

Only the ``Engine`` protocol is used. Besides the batch-loss curve that ``Engine.train``
returns, a few evaluation points are recorded through its step callback: the loss on fixed
monitor subsets of train and test (noise-free, unlike batch losses) and the raw outputs on
a small fixed batch of test samples ("prediction dynamics" in the report). The callback
only calls ``engine.loss``/``engine.forward``, which change no parameter and draw no random
number, so the curve is bit-identical to a plain ``train`` call with the same seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.engines.base import Engine, TrainCurve

EVAL_POINTS = 10  # evaluation points spread over a training (plus one at init)
MONITOR_SIZE = 1024  # samples in each fixed monitor subset (train and test)
FIXED_BATCH = 5  # test samples whose predictions are followed over training
CHUNK = 4096  # rows per forward pass when predicting a whole split


@dataclass
class Training:
    """One finished training and what was measured along the way."""

    name: str
    curve: TrainCurve
    engine: Engine  # the trained engine (read-only for checks: never step it)
    state: dict[str, Any]  # ``engine.state()`` right after training
    eval_steps: list[int] = field(default_factory=list)  # updates done at each point
    train_monitor_loss: list[float] = field(default_factory=list)
    test_monitor_loss: list[float] = field(default_factory=list)
    fixed_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # test pos
    train_monitor_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    test_monitor_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    fixed_outputs: list[np.ndarray] = field(default_factory=list)  # (m, k) per eval point
    test_outputs: np.ndarray | None = None  # final raw outputs on the whole test set
    seconds: float = 0.0

    @property
    def diverged(self) -> bool:
        return bool(self.curve.diverged) or not np.all(np.isfinite(self.curve.loss))


def predict(engine: Engine, x: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Raw outputs for every row of ``x``, computed ``chunk`` rows at a time."""
    parts = [np.asarray(engine.forward(x[i : i + chunk])) for i in range(0, len(x), chunk)]
    if not parts:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(parts, axis=0)


def main_training(ctx: Context) -> Training:
    """The recipe's training (its optimizer, lr, batch size and steps) on the real data."""
    return ctx.memo("training.main", lambda: _run(ctx, "main training", zeroed=False))


def zeroed_training(ctx: Context) -> Training:
    """The same model, seed and schedule trained on all-zero inputs (train and test).

    Whatever it reaches is what the labels alone allow: the input-independent baseline.
    """
    return ctx.memo("training.zeroed", lambda: _run(ctx, "zeroed-input training", zeroed=True))


def best_constant_outputs(ctx: Context) -> np.ndarray:
    """Raw outputs of the constant that minimizes the test loss (the test labels' class
    frequencies; the mean target in regression), one row per test sample.

    Any model whose inputs are all the same (the zeroed-input twin) gives one answer for
    every test sample, so its test loss is at least this constant's: a lower bound that
    costs nothing, where the twin costs a whole training.
    """
    ds = ctx.dataset
    cfg = ctx.engine_config
    y = ds.test.y
    n = len(y)
    if ds.task == "regression":
        return np.full((n, 1), float(np.mean(y)) if n else 0.0, np.float64)
    if ds.is_multilabel:  # each label's test rate, as log-odds
        from nncheck.engines.base import prior_log_odds

        rates = np.nanmean(np.asarray(y, np.float64), axis=0) if n else np.full(y.shape[1], 0.5)
        return np.broadcast_to(prior_log_odds(rates), (n, y.shape[1])).astype(np.float64)
    k = max(int(ds.n_classes or 0), int(y.max()) + 1 if n else 1)
    freq = np.bincount(np.asarray(y, np.int64), minlength=k) / max(n, 1)
    if cfg is not None and cfg.loss == "cross_entropy":
        row = np.log(np.maximum(freq, 1e-300))  # softmax(log p) = p
    else:
        row = freq  # the mean one-hot target minimizes the squared error
    return np.broadcast_to(row, (n, k)).astype(np.float64)


def dumb_baseline(ctx: Context) -> dict[str, Any]:
    """The majority-class / mean predictor on the whole test set (``_stats.dumb_baseline``),
    computed once per run; ``skeleton.dumb_baseline`` reports it, evaluate compares."""
    from nncheck.checks._stats import dumb_baseline as compute

    ds = ctx.dataset
    return ctx.memo("baseline.dumb", lambda: compute(ds.train.y, ds.test.y, ds.task, ds.n_classes))


def _subset(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def fixed_batch_rows(ctx: Context, size: int = FIXED_BATCH) -> np.ndarray:
    """Test positions followed over training: one per class first (then random), seeded."""
    test = ctx.dataset.test
    n = len(test)
    rng = np.random.default_rng(ctx.seed + 4242)
    order = rng.permutation(n)
    if not ctx.dataset.has_classes:
        return np.sort(order[:size])
    y = test.y[order]
    _, first = np.unique(y, return_index=True)
    picks = order[np.sort(first)][:size]
    rest = order[~np.isin(order, picks)][: max(0, size - len(picks))]
    return np.sort(np.concatenate([picks, rest]).astype(np.int64))


def _run(ctx: Context, name: str, *, zeroed: bool) -> Training:
    start = time.perf_counter()
    ds = ctx.dataset
    train, test = ds.train, ds.test
    tr_x, te_x = train.x, test.x
    if zeroed:
        tr_x, te_x = np.zeros_like(tr_x), np.zeros_like(te_x)
    steps = int(ctx.recipe.train.steps)
    engine = ctx.make_engine()
    mon_tr = _subset(len(train), MONITOR_SIZE, ctx.seed + 11)
    mon_te = _subset(len(test), MONITOR_SIZE, ctx.seed + 12)
    fixed = fixed_batch_rows(ctx)
    x_mtr, y_mtr = tr_x[mon_tr], train.y[mon_tr]
    x_mte, y_mte = te_x[mon_te], test.y[mon_te]
    x_fix = te_x[fixed]
    run = Training(
        name,
        TrainCurve([], []),
        engine,
        {},
        fixed_rows=fixed,
        train_monitor_rows=mon_tr,
        test_monitor_rows=mon_te,
    )

    def evaluate(done: int) -> None:
        run.eval_steps.append(done)
        run.train_monitor_loss.append(float(engine.loss(x_mtr, y_mtr)))
        run.test_monitor_loss.append(float(engine.loss(x_mte, y_mte)))
        run.fixed_outputs.append(np.asarray(engine.forward(x_fix), dtype=np.float32).copy())

    every = max(1, steps // EVAL_POINTS)
    progress = ctx.report_steps(name, steps)

    def callback(step: int, loss: float) -> None:
        if progress is not None:
            progress(step, loss)
        if np.isfinite(loss) and ((step + 1) % every == 0 or step + 1 == steps):
            evaluate(step + 1)

    evaluate(0)
    run.curve = engine.train(
        tr_x,
        train.y,
        steps=steps,
        batch_size=int(ctx.recipe.train.batch_size),
        seed=ctx.seed,
        callback=callback,
    )
    done = sum(1 for v in run.curve.loss if np.isfinite(v))
    if run.eval_steps[-1] != done:
        evaluate(done)  # stopped early (NaN/inf): the state it stopped in
    run.state = engine.state()
    run.test_outputs = predict(engine, te_x)
    run.seconds = time.perf_counter() - start
    return run


def smooth(values: list[float] | np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first points average what exists so far)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or window <= 1:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def prediction_series(ctx: Context, run: Training) -> dict[str, list[float]]:
    """Per fixed test sample, the output followed over training: the probability of the
    given class (cross-entropy), the output at the given class (MSE on one-hot), the mean
    probability of its own yes/no answers (multilabel), or the prediction itself
    (regression). Keys name the sample: ``"row 17 (label 3)"``."""
    from nncheck.checks._stats import probabilities

    ds = ctx.dataset
    test = ds.test
    cfg = ctx.engine_config
    loss = cfg.loss if cfg is not None else "cross_entropy"
    series: dict[str, list[float]] = {}
    for j, pos in enumerate(run.fixed_rows):
        row = int(test.indices[pos])
        if ds.has_classes:
            label = int(test.y[pos])
            name = ds.classes[label] if ds.classes and 0 <= label < len(ds.classes) else label
            values = [
                float(probabilities(out[j : j + 1], loss)[0, label])
                if 0 <= label < out.shape[1]
                else float("nan")
                for out in run.fixed_outputs
            ]
            key = f"row {row} (label {name})"
        elif ds.is_multilabel:  # the mean probability given to the sample's own 0/1 labels
            target = np.asarray(test.y[pos], dtype=np.float64)
            values = [
                float(np.mean(np.where(target > 0.5, p, 1.0 - p)))
                for p in (probabilities(out[j : j + 1], loss)[0] for out in run.fixed_outputs)
            ]
            on = [ds.classes[i] for i in np.flatnonzero(target > 0.5)] if ds.classes else []
            key = f"row {row} ({', '.join(on) or 'no label'})"
        else:
            values = [float(out[j, 0]) for out in run.fixed_outputs]
            key = f"row {row} (target {float(test.y[pos]):.4g})"
        series[key] = values
    return series
