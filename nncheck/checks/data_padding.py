"""data.padding: padding at the ends of sequences is excluded from the loss."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, check
from nncheck.results import CheckOutcome, result


@check(
    "data.padding",
    stage="data",
    defaults={"min_sequences": 0.1, "fail_tokens": 0.05},
    ranges={"min_sequences": FRACTION, "fail_tokens": FRACTION},
    requires=("sequences",),
)
def padding(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Sequences that end in runs of one token (padding) name it in ``data.pad_token``.

    Why: a loss that counts padding rewards the model for predicting "more padding" —
    the easiest tokens of all — so the loss looks better than the model is, and short
    sequences weigh less than long ones. The fix is one recipe line.

    On train targets, without ``data.pad_token``: the token that ends the most sequences
    in a run of at least 2, the share of sequences it pads (at least `min_sequences`) and
    the share of all target tokens in those runs; fail above `fail_tokens`. With a
    pad_token: how many target tokens it removes from the loss.

    Fix: set ``data.pad_token`` to the padding id (the hint names it).
    """
    ds = ctx.dataset
    y = ds.train.y
    n, length = y.shape
    if ds.pad_token is not None:
        share = float((y == ds.pad_token).mean())
        return result(
            "pass",
            f"padding token {ds.pad_token} is {share:.1%} of the target tokens, left out of"
            " the loss",
            metrics={"pad_token": ds.pad_token, "pad_share": share},
        )
    last = y[:, -1]
    # Length of the run of the last token at each sequence's end (vectorized: the first
    # position from the end where the token differs).
    differs = y[:, ::-1] != last[:, None]
    run = np.where(differs.any(axis=1), differs.argmax(axis=1), length)
    padded = run >= 2
    if not padded.any():
        return result("pass", "no sequence ends in a run of one token: no padding seen")
    counts = np.bincount(last[padded], minlength=ds.n_outputs)
    token = int(counts.argmax())
    rows = padded & (last == token)
    seq_share = float(rows.mean())
    tok_share = float(run[rows].sum() / y.size)
    name = ds.classes[token] if ds.classes else str(token)
    metrics = {"token": token, "sequences": seq_share, "tokens": tok_share}
    if seq_share >= t["min_sequences"] and tok_share > t["fail_tokens"]:
        return result(
            "fail",
            f"the loss counts padding: token {token} ({name!r}) fills the end of"
            f" {seq_share:.0%} of the sequences, {tok_share:.0%} of all target tokens",
            hint=f"Set data.pad_token: {token} so the loss leaves padding out.",
            metrics=metrics,
        )
    return result(
        "pass",
        f"no padding: the most common run at sequence ends (token {token}) covers"
        f" {tok_share:.1%} of the target tokens in {seq_share:.1%} of the sequences",
        metrics=metrics,
    )
