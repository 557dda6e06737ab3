"""data.sequence_targets: next-token targets are the inputs shifted by one."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, check
from nncheck.results import CheckOutcome, result


@check(
    "data.sequence_targets",
    stage="data",
    defaults={"fail_same": 0.5, "warn_unshifted": 0.5},
    ranges={"fail_same": FRACTION, "warn_unshifted": FRACTION},
    requires=("sequences",),
)
def sequence_targets(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The target at position t is the input at t + 1, not the input at t.

    Why: targets equal to the inputs (the shift forgotten) teach the model to copy its
    input, a loss that drops to ~0 in a few steps and a model that predicts nothing. A
    shift in the wrong direction teaches it to repeat the previous token.

    On train (padding left out): the share of positions where y[t] == x[t] (fail above
    `fail_same`) and where y[t] == x[t + 1] (warn when below `warn_unshifted`: the targets
    are something else than the next input).

    Fix: inputs ``ids[:, :-1]``, targets ``ids[:, 1:]`` (or leave ``y`` out of the npz and
    nncheck shifts ``x`` itself).
    """
    ds = ctx.dataset
    x, y = ds.train.x, ds.train.y
    pad = ds.pad_token
    keep = np.ones(y.shape, bool) if pad is None else (y != pad)
    same = float((x == y)[keep].mean()) if keep.any() else 0.0
    k = keep[:, :-1]
    shifted = float((y[:, :-1] == x[:, 1:])[k].mean()) if k.any() else 1.0
    metrics = {"same_as_input": same, "equal_to_next_input": shifted}
    if same > t["fail_same"]:
        return result(
            "fail",
            f"targets equal the inputs at {same:.0%} of positions: they are not shifted by"
            " one token",
            hint="Targets are the next tokens: inputs ids[:, :-1], targets ids[:, 1:].",
            metrics=metrics,
        )
    if shifted < t["warn_unshifted"]:
        return result(
            "warn",
            f"targets are the next input at only {shifted:.0%} of positions (and the same"
            f" token at {same:.0%}): they are not the inputs shifted by one",
            hint="Targets are the next tokens: inputs ids[:, :-1], targets ids[:, 1:].",
            metrics=metrics,
        )
    return result(
        "pass",
        f"targets are the inputs shifted by one token at {shifted:.0%} of positions"
        f" (equal to the input at {same:.1%}, as often as the text repeats a token)",
        metrics=metrics,
    )
