"""data.sequence_overlap: test sequences that occur in train, whole or in long windows."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, Range, check
from nncheck.data.hashing import exact_matches
from nncheck.results import CheckOutcome, result

_MIX = np.uint64(0x9E3779B97F4A7C15)


def window_hashes(x: np.ndarray, width: int, stride: int) -> np.ndarray:
    """64-bit hashes of every ``width``-token window of each row, every ``stride`` tokens.

    A polynomial hash (wrapping uint64 arithmetic), vectorized over a sliding-window view;
    a collision needs two different windows with equal 64-bit sums, about 2^-64 a pair.
    """
    windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=1)[:, ::stride]
    powers = np.cumprod(np.full(width, _MIX, dtype=np.uint64))[::-1]
    with np.errstate(over="ignore"):
        return ((windows.astype(np.uint64) + np.uint64(1)) * powers).sum(axis=-1).ravel()


@check(
    "data.sequence_overlap",
    stage="data",
    defaults={"window": 24, "warn_fraction": 0.01, "fail_fraction": 0.05, "warn_windows": 0.3},
    ranges={
        "window": Range(ge=2, le=65_536),
        "warn_fraction": FRACTION,
        "fail_fraction": FRACTION,
        "warn_windows": FRACTION,
    },
    requires=("tokens",),
)
def sequence_overlap(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Test sequences identical to a train sequence, and test windows found in train.

    Why: overlapping blocks cut from one text, a corpus concatenated with itself, or a
    random split of sliding windows put the test text into train; the test loss then
    measures memory. Whole-sequence matches are leakage outright; long shared windows
    (`window` tokens) say that the same passages sit on both sides.

    Whole sequences: exact matches (hash groups, then compared); warn above
    `warn_fraction` of the test sequences, fail above `fail_fraction`. Windows: every
    `window`-token window of train (stride 1) is hashed; the non-overlapping windows of
    test are looked up; warn when more than `warn_windows` of them occur in train.

    Fix: split by document or by contiguous ranges of the text (a .txt file's test
    fraction is its tail), and remove repeated copies of the corpus.
    """
    ds = ctx.dataset
    tr, te = ds.train.x, ds.test.x
    matches = exact_matches(te, tr)
    whole = float((matches >= 0).mean()) if len(te) else 0.0
    width = min(int(t["window"]), tr.shape[1])
    train_h = np.unique(window_hashes(tr, width, 1))
    test_h = window_hashes(te, width, width)
    windows = float(np.isin(test_h, train_h).mean()) if test_h.size else 0.0
    metrics = {"whole_sequences": whole, "windows": windows, "window": width}
    rows = np.flatnonzero(matches >= 0)[:10]
    examples = [
        {"test_row": int(ds.test.indices[i]), "train_row": int(ds.train.indices[matches[i]])}
        for i in rows
    ]
    said = (
        f"{whole:.1%} of the {len(te)} test sequences occur whole in train; {windows:.1%} of"
        f" the test's {width}-token windows occur in train"
    )
    hint = (
        "Split by document or by contiguous ranges of the text, not by random overlapping"
        " windows; remove repeated copies of the corpus."
    )
    if whole > t["fail_fraction"]:
        return result("fail", said, hint=hint, metrics=metrics, examples=examples)
    if whole > t["warn_fraction"] or windows > t["warn_windows"]:
        return result("warn", said, hint=hint, metrics=metrics, examples=examples)
    return result("pass", said, metrics=metrics, examples=examples)
