"""Small statistics shared by the model-stage checks: intervals, digits, per-sample losses.

Every metric a model check reports comes with its uncertainty, so that a reader knows how
many digits mean something: 97.31% on 10,000 test samples is "97.3%", on 44 samples it
is "98%". The helpers here are plain NumPy (float64), vectorized, and know nothing about
engines or contexts.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Z95 = 1.959963984540054  # two-sided 95% normal quantile


# --------------------------------------------------------------------------- intervals


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k / n`` (well-behaved near 0 and 1)."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, center - half), min(1.0, center + half))


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error (sample std / sqrt(n)); SE is 0 for n < 2."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return (float("nan"), float("nan"))
    if v.size < 2:
        return (float(v.mean()), 0.0)
    return (float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)))


def ratio_se(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """``mean(a) / mean(b)`` and its delta-method standard error (paired samples)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = a.size
    ma, mb = float(a.mean()), float(b.mean())
    if n < 2 or mb == 0:
        return (ma / mb if mb else float("nan"), float("nan") if mb == 0 else 0.0)
    cov = np.cov(a, b, ddof=1)
    var = cov[0, 0] / mb**2 + ma**2 * cov[1, 1] / mb**4 - 2 * ma * cov[0, 1] / mb**3
    return (ma / mb, float(math.sqrt(max(var, 0.0) / n)))


# --------------------------------------------------------------------------- digits


def decimals_for(err: float, *, max_decimals: int = 6) -> int:
    """Decimal places to show for a value whose uncertainty is ``err``.

    The value is rounded at the position of the uncertainty's first significant digit:
    err 0.32 -> 1 decimal, err 6 -> 0, err 300 -> -2 (round to hundreds).
    """
    if not math.isfinite(err) or err <= 0:
        return max_decimals
    return min(max_decimals, -math.floor(math.log10(err)))


def fmt_value(value: float, err: float) -> str:
    """``value`` with only the digits its uncertainty ``err`` supports."""
    if not math.isfinite(value):
        return str(value)
    if not math.isfinite(err) or err <= 0:
        return f"{value:.4g}"
    d = decimals_for(err)
    if d >= 0:
        return f"{value:.{d}f}"
    return f"{round(value, d):.0f}"


def fmt_pm(value: float, err: float) -> str:
    """``"0.089 ± 0.004"``: value and one significant digit of its standard error (an
    error that is zero up to rounding, e.g. on balanced classes, is left out)."""
    if not math.isfinite(err) or err <= 1e-9 * abs(value):
        return fmt_value(value, 0.0)
    return f"{fmt_value(value, err)} ± {fmt_value(err, err)}"


def fmt_pct(p: float, lo: float, hi: float) -> str:
    """An accuracy with its interval: ``"97.3% (95% CI 96.9-97.6%)"``; the digits shown
    follow the interval's half-width."""
    half = 100.0 * (hi - lo) / 2
    d = max(0, decimals_for(half, max_decimals=3))
    return f"{100 * p:.{d}f}% (95% CI {100 * lo:.{d}f}-{100 * hi:.{d}f}%)"


def significant_digits(value: float, err: float) -> int:
    """How many significant digits of ``value`` its uncertainty supports (at least 1)."""
    if not math.isfinite(value) or value == 0 or not math.isfinite(err) or err <= 0:
        return 4
    lead = math.floor(math.log10(abs(value)))
    return max(1, lead + decimals_for(err, max_decimals=12) + 1)


# --------------------------------------------------------------------------- losses


def per_sample_loss(outputs: np.ndarray, y: np.ndarray, loss: str, task: str) -> np.ndarray:
    """Each sample's loss under the engine conventions of ``engines/base.py``.

    ``outputs`` are raw (logits for softmax cross-entropy, predictions for MSE); MSE is
    averaged over the outputs (on one-hot targets for classification). float64.
    """
    out = np.asarray(outputs, dtype=np.float64)
    out = out.reshape(out.shape[0], -1)
    with np.errstate(all="ignore"):  # inf/NaN outputs give inf/NaN losses, not warnings
        return _per_sample_loss(out, y, loss, task)


def _per_sample_loss(out: np.ndarray, y: np.ndarray, loss: str, task: str) -> np.ndarray:
    n = out.shape[0]
    if loss == "bce":  # multilabel: binary cross-entropy per label, summed over labels
        t = np.asarray(y, dtype=np.float64).reshape(n, -1)
        return np.sum(np.maximum(out, 0) - out * t + np.log1p(np.exp(-np.abs(out))), axis=1)
    if task == "regression":
        diff = out - np.asarray(y, dtype=np.float64).reshape(n, 1)
        return np.mean(diff * diff, axis=1)
    labels = np.asarray(y, dtype=np.int64)
    rows = np.arange(n)
    if loss == "cross_entropy":
        m = out.max(axis=1, keepdims=True)
        lse = np.log(np.exp(out - m).sum(axis=1)) + m[:, 0]
        return lse - out[rows, labels]
    diff = out.copy()
    diff[rows, labels] -= 1.0
    return np.mean(diff * diff, axis=1)


def constant_losses(
    y: np.ndarray, prior: np.ndarray | list[float] | tuple[float, ...], task: str, loss: str
) -> np.ndarray:
    """Per-sample loss of the best constant prediction: the class frequencies ``prior``
    (as log-priors for cross-entropy, as they are for MSE on one-hot targets) or, for
    regression, ``prior[0]`` = the training mean. float64.

    What a model that ignores its inputs can score: a trained model whose loss is above
    it has learned less than nothing about the samples it is scored on.
    """
    p = np.asarray(prior, dtype=np.float64)
    if task == "regression":
        return (np.asarray(y, dtype=np.float64) - (p[0] if p.size else 0.0)) ** 2
    if task == "multilabel":  # each label's train rate, under binary cross-entropy
        q = np.clip(p, 1e-6, 1.0 - 1e-6)
        t = np.asarray(y, dtype=np.float64).reshape(-1, p.size)
        return -np.sum(t * np.log(q) + (1.0 - t) * np.log1p(-q), axis=1)
    labels = np.asarray(y, dtype=np.int64)
    if loss == "cross_entropy":
        q = np.clip(p, 1e-6, None)
        return -np.log((q / q.sum())[labels])
    return (1.0 - 2.0 * p[labels] + np.sum(p**2)) / max(p.size, 1)


def probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """Class scores in [0, 1]: softmax for cross-entropy; MSE outputs clipped as they are."""
    out = np.asarray(outputs, dtype=np.float64)
    if loss == "cross_entropy":
        with np.errstate(all="ignore"):  # NaN outputs of a diverged run stay NaN
            e = np.exp(out - out.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
    if loss == "bce":  # one independent probability per label
        with np.errstate(all="ignore"):
            return 1.0 / (1.0 + np.exp(-out))
    return np.clip(out, 0.0, 1.0)


# --------------------------------------------------------------------------- classification


def confusion_matrix(y: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """``k x k`` int64 counts, rows = given label, columns = prediction (bincount, no loop)."""
    yy = np.asarray(y, dtype=np.int64)
    pp = np.asarray(pred, dtype=np.int64)
    ok = (yy >= 0) & (yy < k) & (pp >= 0) & (pp < k)
    return np.bincount(yy[ok] * k + pp[ok], minlength=k * k).reshape(k, k)


def per_class(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class from a confusion matrix (0 where
    undefined, e.g. a class never predicted has precision 0)."""
    cm = confusion.astype(np.float64)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / denom, 0.0)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": support.astype(np.int64),
        "predicted": predicted.astype(np.int64),
    }


def cohen_kappa(confusion: np.ndarray) -> tuple[float, float]:
    """Cohen's kappa of two labelings and its large-sample standard error."""
    cm = confusion.astype(np.float64)
    n = cm.sum()
    if n == 0:
        return (float("nan"), float("nan"))
    po = np.trace(cm) / n
    pe = float(np.sum(cm.sum(axis=0) * cm.sum(axis=1)) / n**2)
    if pe >= 1.0:
        return (float("nan"), float("nan"))
    kappa = (po - pe) / (1 - pe)
    se = math.sqrt(max(po * (1 - po), 0.0) / (n * (1 - pe) ** 2))
    return (float(kappa), float(se))


def correlation_ci(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Pearson r and its 95% interval (Fisher z)."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.size < 3 or a.std() == 0 or b.std() == 0:
        return (float("nan"), float("nan"), float("nan"))
    r = float(np.corrcoef(a, b)[0, 1])
    if abs(r) >= 1.0:
        return (r, r, r)
    z = math.atanh(r)
    half = Z95 / math.sqrt(a.size - 3)
    return (r, math.tanh(z - half), math.tanh(z + half))


# --------------------------------------------------------------------------- baselines


def dumb_baseline(
    y_train: np.ndarray, y_test: np.ndarray, task: str, n_classes: int
) -> dict[str, Any]:
    """What a model that ignores its inputs scores on the test set.

    Classification: always predict the train majority class (accuracy with its Wilson
    interval), and predict the train class frequencies (cross-entropy, the loss a prior-
    initialized output bias starts at). Regression: predict the train mean (MSE, MAE, and
    their standard errors; R² is 0 by construction up to the train/test mean shift).
    """
    if task == "multilabel":
        return _multilabel_baseline(y_train, y_test)
    if task in ("classification", "sequence_classification"):
        tr = np.asarray(y_train, dtype=np.int64)
        te = np.asarray(y_test, dtype=np.int64)
        tr, te = tr[tr >= 0], te[te >= 0]
        counts = np.bincount(tr, minlength=n_classes).astype(np.float64)
        prior = counts / max(counts.sum(), 1.0)
        majority = int(np.argmax(counts))
        hits = int(np.count_nonzero(te == majority))
        lo, hi = wilson(hits, te.size)
        ce = -np.log(np.clip(prior, 1e-6, None)[te])
        ce_mean, ce_se = mean_se(ce)
        test_counts = np.bincount(te, minlength=n_classes)
        return {
            "majority_class": majority,
            "majority_accuracy": hits / max(te.size, 1),
            "majority_accuracy_ci": [lo, hi],
            "prior_cross_entropy": ce_mean,
            "prior_cross_entropy_se": ce_se,
            "chance_accuracy": float(np.sum(prior * test_counts) / max(te.size, 1)),
            "n_test": int(te.size),
            "test_classes_present": int(np.count_nonzero(test_counts)),
        }
    tr = np.asarray(y_train, dtype=np.float64)
    te = np.asarray(y_test, dtype=np.float64)
    tr, te = tr[np.isfinite(tr)], te[np.isfinite(te)]
    mean = float(tr.mean()) if tr.size else 0.0
    median = float(np.median(tr)) if tr.size else 0.0
    sq = (te - mean) ** 2
    mse, mse_se = mean_se(sq)
    mae, mae_se = mean_se(np.abs(te - median))
    return {
        "mean_prediction": mean,
        "mse": mse,
        "mse_se": mse_se,
        "median_prediction": median,
        "mae": mae,
        "mae_se": mae_se,
        "test_variance": float(te.var()) if te.size else float("nan"),
        "n_test": int(te.size),
    }


def _multilabel_baseline(y_train: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """Multilabel: predict each label's train rate (binary cross-entropy summed over the
    labels, the loss a prior bias starts at) and answer "no" to every label that is set in
    fewer than half the train rows (per-label accuracy, exact-match accuracy)."""
    tr = np.asarray(y_train, dtype=np.float64)
    te = np.asarray(y_test, dtype=np.float64)
    te = te[np.all(np.isfinite(te), axis=1)]
    rates = np.nan_to_num(np.nanmean(tr, axis=0), nan=0.5) if len(tr) else np.zeros(te.shape[1])
    bce_mean, bce_se = mean_se(constant_losses(te, rates, "multilabel", "bce"))
    guess = (rates >= 0.5).astype(np.float64)
    label_acc = (te == guess).mean(axis=0) if len(te) else np.zeros(len(rates))
    exact = int(np.all(te == guess, axis=1).sum())
    return {
        "label_rates": [float(r) for r in rates],
        "prior_cross_entropy": bce_mean,
        "prior_cross_entropy_se": bce_se,
        "majority_label_accuracy": [float(a) for a in label_acc],
        "majority_exact_match": exact / max(len(te), 1),
        "n_test": int(len(te)),
    }


def bernoulli_entropy(rates: np.ndarray) -> np.ndarray:
    """H(p) in nats for each rate p (0 at p = 0 or 1): the binary cross-entropy of
    predicting p for a label set at rate p, the least a constant can score on it."""
    p = np.clip(np.asarray(rates, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(p * np.log(p) + (1 - p) * np.log1p(-p))
    return np.nan_to_num(h, nan=0.0)


def named_list(names: list[str], idx: np.ndarray, what: Any, shown: int = 5) -> str:
    """``'a' (what(j)), 'b' (...) and 3 more``: the first ``shown`` of ``names[idx]``."""
    out = ", ".join(f"{names[j]!r} ({what(j)})" for j in idx[:shown])
    more = len(idx) - shown
    return out + (f" and {more} more" if more > 0 else "")
