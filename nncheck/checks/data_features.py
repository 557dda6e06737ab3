"""data.features: what the network will actually see, feature by feature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nncheck.checks._artifacts import target_histogram
from nncheck.checks.context import Context
from nncheck.checks.registry import EXAMPLES, FRACTION, NON_NEGATIVE, POSITIVE, RATIO, check
from nncheck.data.dataset import Dataset, Split
from nncheck.data.encode import indicator_mask
from nncheck.results import CheckOutcome, result

CHUNK_ELEMENTS = 1 << 21  # values per chunk of rows (8 MB of float32)


@check(
    "data.features",
    stage="data",
    defaults={
        "warn_rms": 3.0,
        "fail_rms": 20.0,
        "warn_rms_low": 0.05,
        "fail_rms_low": 0.005,
        "warn_scale_ratio": 100.0,
        "fail_scale_ratio": 1000.0,
        "wiped_zero_share": 0.99,
        "warn_constant_samples": 0.1,
        "fail_constant_samples": 0.5,
        "fail_constant_features": 0.5,
        "warn_shift": 0.5,
        "fail_shift": 2.0,
        "shift_z": 4.0,
        "max_examples": 20,
    },
    ranges={
        "warn_rms": POSITIVE,
        "fail_rms": POSITIVE,
        "warn_rms_low": NON_NEGATIVE,
        "fail_rms_low": NON_NEGATIVE,
        "warn_scale_ratio": RATIO,
        "fail_scale_ratio": RATIO,
        "wiped_zero_share": FRACTION,
        "warn_constant_samples": FRACTION,
        "fail_constant_samples": FRACTION,
        "fail_constant_features": FRACTION,
        "warn_shift": NON_NEGATIVE,
        "fail_shift": NON_NEGATIVE,
        "shift_z": NON_NEGATIVE,
        "max_examples": EXAMPLES,
    },
    requires=("trainable", "any_target", "numeric_inputs"),
)
def features(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Inputs as the network sees them: scale, constant and wiped inputs, train/test shift.

    Why: initializations (Xavier, He) and learning rates assume inputs of roughly zero
    mean and unit scale. Raw 0-255 pixels or a feature in the thousands next to one in
    thousandths saturate units and make one direction of the loss thousands of times
    steeper than another; inputs wiped by a dtype mistake (uint8 // 255 is almost all
    zeros) leave nothing to learn; a test set whose features sit elsewhere than train's
    measures something else.
    Judged on the normalized inputs (the recipe's `normalize`), with raw values for
    context. RMS of all inputs: healthy recipes give 1.0 (standardize) and 0.34 (MNIST
    scaled to 0..1); warns above `warn_rms` (3) or below `warn_rms_low`, fails above
    `fail_rms` (20: 0-255 pixels give 85) or below `fail_rms_low` (pixels divided by 255
    twice give 0.001). Tables only (images share one scale): the ratio of the largest to
    the smallest per-feature std warns from `warn_scale_ratio` (100) and fails from
    `fail_scale_ratio` (1000; un-normalized wine gives 2,400, breast cancer 240,000).
    Wiped inputs: fails when at least `wiped_zero_share` of the raw image values are exactly
    zero (MNIST has 81%; uint8 // 255 gives 99.3%; tables only warn, as one-hot columns can
    be mostly zero), when `fail_constant_samples` of the
    samples have all features equal (warns from `warn_constant_samples`), or when
    `fail_constant_features` of the features are constant. Constant features alone are
    reported, not judged: the network ignores them (digits has 3 blank pixels, MNIST 67),
    unless a table's feature is constant in train but varies in test (warn).
    Shift: per feature, |mean_test - mean_train| / std_train; warns from `warn_shift` (0.5)
    and fails from `fail_shift` (2.0) when the difference is also `shift_z` standard errors
    (healthy splits of the five datasets stay below 0.3).
    Fix: normalize (`data.normalize: standardize`, or scale255 for 8-bit images), convert
    to float before dividing, drop constant columns, draw train and test alike.
    """
    ds = ctx.dataset
    limit = int(t["max_examples"])
    names = feature_names(ds)
    d = len(names)
    n_train, n_test = len(ds.train), len(ds.test)
    tr = column_stats(ds.train.x)
    te = column_stats(ds.test.x) if n_test else None
    raw_tr = raw_stats(ds.train)
    raw_te = raw_stats(ds.test) if n_test else None

    fails: list[str] = []
    warns: list[str] = []
    hints: list[str] = []
    examples: list[dict[str, Any]] = []
    flagged: dict[int, str] = {}  # feature index -> problem, for examples and the table

    # Overall scale of what the network sees.
    second_moment = tr.std**2 + tr.mean**2
    rms = float(np.sqrt(second_moment.mean()))
    g_mean = float(tr.mean.mean())
    g_std = float(np.sqrt(max(second_moment.mean() - g_mean**2, 0.0)))
    scale_said = f"inputs have mean {_fmt(g_mean)}, std {_fmt(g_std)} (RMS {_fmt(rms)})"
    raw_said = f"raw {raw_tr.dtype} {raw_tr.lo:.6g}..{raw_tr.hi:.6g}"
    norm_said = f"normalize: {ds.normalize}"
    if rms >= float(t["warn_rms"]):
        (fails if rms >= float(t["fail_rms"]) else warns).append(
            f"{scale_said}, far from unit scale ({raw_said}, {norm_said})"
        )
        hints.append(
            "Normalize the inputs: `data.normalize: standardize` (or scale255 for 8-bit "
            "images) so they have roughly zero mean and unit scale."
        )
    elif rms <= float(t["warn_rms_low"]):
        (fails if rms <= float(t["fail_rms_low"]) else warns).append(
            f"{scale_said}: the inputs are nearly all zero ({raw_said}, {norm_said})"
        )
        hints.append(
            "The inputs were scaled down too far: normalized twice (e.g. /255 applied "
            "twice) or an integer division wiped them; normalize once, in float."
        )

    # Constant features (raw min == max in train).
    constant = raw_tr.lo_col == raw_tr.hi_col
    n_const = int(constant.sum())
    varies_in_test = np.zeros(d, dtype=bool)
    if raw_te is not None:
        varies_in_test = constant & (
            (raw_te.lo_col != raw_tr.lo_col) | (raw_te.hi_col != raw_tr.hi_col)
        )
    const_share = n_const / max(d, 1)
    if d >= 2 and const_share >= float(t["fail_constant_features"]):
        fails.append(
            f"{n_const} of {d} features ({100 * const_share:.0f}%) are constant in train: "
            "the inputs carry almost no information"
        )
        hints.append(
            "Most inputs are constant: check the preprocessing (an integer division or a "
            "cast that wiped the values, a join that filled defaults)."
        )
    if not ds.is_image and varies_in_test.any():
        cols = np.flatnonzero(varies_in_test)
        warns.append(
            f"{len(cols)} feature(s) constant in train vary in test: "
            + ", ".join(names[j] for j in cols[:5])
        )
        hints.append("The network never learned a weight for these features; drop them or resplit.")
        for j in cols:
            flagged.setdefault(int(j), "constant in train, varies in test")

    # Per-feature scales (tables only: images share one scale by design). One-hot and
    # missing-indicator features are 0/1 by construction, not on a scale to be fixed: a
    # rare value's column has a small std and is not a normalization mistake.
    ok = ~constant
    scaled = ok & ~_indicators(ds, d)
    scale_ratio = 1.0
    if not ds.is_image and scaled.sum() >= 2:
        stds = tr.std[scaled]
        scale_ratio = float(stds.max() / max(stds.min(), 1e-300))
        if scale_ratio >= float(t["warn_scale_ratio"]):
            big = np.flatnonzero(scaled)[np.argmax(stds)]
            small = np.flatnonzero(scaled)[np.argmin(stds)]
            (fails if scale_ratio >= float(t["fail_scale_ratio"]) else warns).append(
                f"feature scales differ {scale_ratio:.3g}x: std {_num(tr.std[big])} "
                f"({names[big]}) vs {_num(tr.std[small])} ({names[small]})"
            )
            hints.append(
                "Standardize each feature (`data.normalize: standardize`): the largest "
                "features dominate the first layer and the loss surface becomes ill-conditioned."
            )
            order = np.argsort(tr.std[scaled])
            for j in np.flatnonzero(scaled)[np.concatenate([order[::-1][:5], order[:5]])]:
                flagged.setdefault(int(j), f"std {_num(tr.std[j])}")

    # Wiped inputs: exactly-zero values and samples whose features are all equal.
    zero_share = raw_tr.zeros / max(raw_tr.values, 1)
    const_rows = raw_tr.constant_rows
    const_row_share = len(const_rows) / max(n_train, 1)
    if zero_share >= float(t["wiped_zero_share"]):
        target = fails if ds.is_image else warns
        target.append(
            f"{100 * zero_share:.1f}% of the raw train values are exactly 0"
            + (" (healthy MNIST: 81%)" if ds.is_image else "")
        )
        hints.append(
            "Inputs look wiped: an integer division (uint8 // 255) or a cast to an integer "
            "type before scaling sets almost everything to 0; divide in float."
        )
    if const_row_share >= float(t["warn_constant_samples"]):
        (fails if const_row_share >= float(t["fail_constant_samples"]) else warns).append(
            f"{len(const_rows)} train samples ({100 * const_row_share:.1f}%) have all "
            "features equal (blank inputs)"
        )
        hints.append(
            "Many samples are blank: check decoding and preprocessing (an integer division, a "
            "failed image read); data.outliers lists individual blank samples."
        )
        for i in const_rows[:5]:
            examples.append(
                {
                    "split": "train",
                    "row": int(ds.train.indices[i]),
                    "problem": "all features equal",
                    "value": _num(float(np.asarray(ds.train.x_raw[i]).reshape(-1)[0])),
                }
            )

    # Train/test shift per feature, standardized by the train std.
    smd = np.zeros(d)
    z = np.zeros(d)
    if te is not None:
        diff = np.abs(te.mean - tr.mean)
        with np.errstate(divide="ignore", invalid="ignore"):
            smd = np.where(ok & (tr.std > 0), diff / np.where(tr.std > 0, tr.std, 1.0), 0.0)
            se = np.sqrt(tr.std**2 / max(n_train, 1) + te.std**2 / max(n_test, 1))
            z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), 0.0)
    shifted = (smd >= float(t["warn_shift"])) & (z >= float(t["shift_z"]))
    top_shift = int(np.argmax(smd)) if d else 0
    if shifted.any():
        cols = np.flatnonzero(shifted)
        cols = cols[np.argsort(-smd[cols], kind="stable")]
        worst = float(smd[cols[0]])
        (fails if worst >= float(t["fail_shift"]) else warns).append(
            f"{len(cols)} feature(s) shifted between train and test by >= "
            f"{float(t['warn_shift']):g} train std: "
            + ", ".join(f"{names[j]} {smd[j]:.2f}" for j in cols[:5])
        )
        hints.append(
            "Train and test come from different distributions (another source, period or "
            "unit): resplit at random, or fix the source whose values differ."
        )
        for j in cols:
            flagged.setdefault(int(j), f"shift {smd[j]:.2f} std")

    for j, problem in list(flagged.items())[: max(limit - len(examples), 0)]:
        examples.append(
            {
                "feature": names[j],
                "index": j,
                "problem": problem,
                "train_mean": _num(tr.mean[j]),
                "train_std": _num(tr.std[j]),
                "test_mean": _num(te.mean[j]) if te is not None else None,
                "shift_std": round(float(smd[j]), 4),
            }
        )

    metrics: dict[str, Any] = {
        "n_features": d,
        "normalize": ds.normalize,
        "raw_dtype": raw_tr.dtype,
        "raw_min": _num(raw_tr.lo),
        "raw_max": _num(raw_tr.hi),
        "input_mean": g_mean,
        "input_std": g_std,
        "input_rms": rms,
        "scale_ratio": scale_ratio if not ds.is_image else None,
        "constant_features": n_const,
        "constant_feature_names": [names[j] for j in np.flatnonzero(constant)[:20]],
        "constant_in_train_varying_in_test": int(varies_in_test.sum()),
        "raw_zero_share": zero_share,
        "constant_samples_train": len(const_rows),
        "constant_samples_share": const_row_share,
        # Inputs wiped, blank or mostly constant: nncheck.root_causes files the duplicate,
        # conflict, leakage and outlier findings this causes under this check.
        "inputs_degenerate": bool(
            zero_share >= float(t["wiped_zero_share"])
            or const_row_share >= float(t["warn_constant_samples"])
            or (d >= 2 and const_share >= float(t["fail_constant_features"]))
        ),
        "max_shift_std": float(smd.max()) if d else 0.0,
        "max_shift_feature": names[top_shift] if d else None,
        "shifted_features": int(shifted.sum()),
    }
    artifacts = {"tables": {"features": _table(names, tr, te, raw_tr, smd, constant, flagged)}}
    if ds.task == "regression":
        artifacts["histograms"] = target_histogram(ds.train.y, ds.test.y)

    kind = "pixels" if ds.is_image else "features"
    summary = f"{d} {kind}, {norm_said}: {scale_said}"
    if not ds.is_image:
        summary += f"; per-feature std ratio {scale_ratio:.3g}"
    if n_const:
        shown = ", ".join(names[j] for j in np.flatnonzero(constant)[:3])
        summary += f"; {n_const} constant in train ({shown}{', ...' if n_const > 3 else ''})"
    if te is not None and d:
        summary += f"; largest train/test shift {smd[top_shift]:.2f} std ({names[top_shift]})"
    status = "fail" if fails else "warn" if warns else "pass"
    if status == "pass":
        return result(status, summary, metrics=metrics, examples=examples, artifacts=artifacts)
    return result(
        status,
        "; ".join(fails + warns),
        hint=" ".join(dict.fromkeys(hints)),
        metrics=metrics,
        examples=examples[:limit],
        artifacts=artifacts,
    )


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class ColumnStats:
    """Per-feature mean and (population) std over the rows, float64."""

    mean: np.ndarray
    std: np.ndarray


def column_stats(x: np.ndarray) -> ColumnStats:
    """Mean and std of every feature over row chunks, merged pairwise (Chan et al.), so
    memory stays at one chunk; each chunk is centered on its own float64 mean before
    squaring, so a large offset (a year column) does not cancel the variance away."""
    flat = x.reshape(x.shape[0], -1)
    n, d = flat.shape
    mean = np.zeros(d)
    m2 = np.zeros(d)
    seen = 0
    rows = max(1, CHUNK_ELEMENTS // max(d, 1))
    for start in range(0, n, rows):
        chunk = flat[start : start + rows]
        c = chunk.shape[0]
        c_mean = chunk.mean(axis=0, dtype=np.float64)
        centered = chunk - c_mean.astype(chunk.dtype)
        c_m2 = np.einsum("ij,ij->j", centered, centered, dtype=np.float64)
        delta = c_mean - mean
        total = seen + c
        mean += delta * (c / total)
        m2 += c_m2 + delta**2 * (seen * c / total)
        seen = total
    return ColumnStats(mean, np.sqrt(m2 / max(seen, 1)))


@dataclass(frozen=True)
class RawStats:
    """Raw (as loaded) values: per-feature min/max, zero count, blank rows."""

    dtype: str
    lo_col: np.ndarray
    hi_col: np.ndarray
    zeros: int
    values: int
    constant_rows: np.ndarray  # positions of rows whose features are all equal

    @property
    def lo(self) -> float:
        return float(self.lo_col.min()) if self.lo_col.size else 0.0

    @property
    def hi(self) -> float:
        return float(self.hi_col.max()) if self.hi_col.size else 0.0


def raw_stats(split: Split) -> RawStats:
    raw = split.x_raw
    flat = raw.reshape(raw.shape[0], -1)
    n, d = flat.shape
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    zeros = 0
    blank = []
    rows = max(1, CHUNK_ELEMENTS // max(d, 1))
    for start in range(0, n, rows):
        chunk = flat[start : start + rows]
        c_lo, c_hi = chunk.min(axis=1), chunk.max(axis=1)
        blank.append(np.flatnonzero(c_lo == c_hi) + start)
        lo = np.minimum(lo, chunk.min(axis=0))
        hi = np.maximum(hi, chunk.max(axis=0))
        zeros += int(np.count_nonzero(chunk == 0))
    return RawStats(
        str(raw.dtype),
        lo,
        hi,
        zeros,
        n * d,
        np.concatenate(blank) if blank else np.zeros(0, dtype=np.int64),
    )


def _indicators(ds: Dataset, d: int) -> np.ndarray:
    """Which features are 0/1 indicators of a table's encoding (one-hot, missing)."""
    kinds = ds.feature_kinds
    if kinds is None or len(kinds) != d:
        return np.zeros(d, dtype=bool)
    return indicator_mask(kinds)


def feature_names(ds: Dataset) -> list[str]:
    """Column names for tables; pixel coordinates for images."""
    d = ds.n_features
    if ds.feature_names is not None and len(ds.feature_names) == d:
        return [str(n) for n in ds.feature_names]
    if ds.is_image and len(ds.input_shape) >= 2:
        return ["px(" + ",".join(map(str, ix)) + ")" for ix in np.ndindex(*ds.input_shape)]
    return [f"x{j}" for j in range(d)]


def _table(
    names: list[str],
    tr: ColumnStats,
    te: ColumnStats | None,
    raw: RawStats,
    smd: np.ndarray,
    constant: np.ndarray,
    flagged: dict[int, str],
    limit: int = 20,
) -> dict[str, Any]:
    """Per-feature stats for the report: flagged features first, then by shift."""
    order = sorted(range(len(names)), key=lambda j: (j not in flagged, -smd[j], j))[:limit]
    return {
        "columns": [
            "feature",
            "raw min",
            "raw max",
            "train mean",
            "train std",
            "test mean",
            "test std",
            "shift (train std)",
            "note",
        ],
        "rows": [
            [
                names[j],
                _num(raw.lo_col[j]),
                _num(raw.hi_col[j]),
                _num(tr.mean[j]),
                _num(tr.std[j]),
                _num(te.mean[j]) if te is not None else None,
                _num(te.std[j]) if te is not None else None,
                round(float(smd[j]), 3),
                flagged.get(j, "constant" if constant[j] else ""),
            ]
            for j in order
        ],
    }


def _num(v: float) -> float:
    """A number rounded to 4 significant digits, for messages and tables."""
    v = float(v)
    return float(f"{v:.4g}") if np.isfinite(v) else v


def _fmt(v: float) -> str:
    """3 significant digits; values within 1e-6 of zero print as 0."""
    return "0" if abs(v) < 1e-6 else f"{v:.3g}"
