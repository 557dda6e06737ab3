"""data.test_augmentation: the test set reads the same every time (no random transforms)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._pipeline import image_pairs, probe_positions, read_twice
from nncheck.checks.context import Context
from nncheck.checks.registry import NON_NEGATIVE, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "data.test_augmentation",
    stage="data",
    defaults={"items": 32, "tolerance": 1e-6},
    requires=("pipeline_test",),
    ranges={"items": Range(ge=1, le=10_000), "tolerance": NON_NEGATIVE},
)
def test_augmentation(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Reading the same test items twice through the user's Dataset gives the same inputs.

    Why: a test set built with the training transforms (one ``transform=`` for both splits)
    is augmented at evaluation: random crops, flips or noise make every evaluation a
    different draw, the test metric is noisier and biased low, and model selection on it
    partly measures luck.

    Reads `items` test items (a seeded choice) twice, each read under its own seed, and
    fails when any input differs by more than `tolerance` (relative to the inputs' largest
    magnitude). Judged on the test split only: random augmentation belongs to training.

    Fix: give the test Dataset deterministic transforms (resize, center crop, normalize)
    and keep the random ones for training.
    """
    positions = probe_positions(ctx, "test", int(t["items"]), salt=301)
    (x1, _), (x2, _) = read_twice(ctx, "test", positions, salt=302)
    a, b = x1.reshape(len(x1), -1).astype(np.float64), x2.reshape(len(x2), -1).astype(np.float64)
    scale = max(float(np.abs(a).max(initial=0.0)), 1e-12)
    diff = np.abs(a - b).max(axis=1) / scale
    differ = np.flatnonzero(diff > float(t["tolerance"]))
    metrics: dict[str, Any] = {
        "items": int(len(positions)),
        "differing": int(differ.size),
        "max_relative_difference": float(diff.max(initial=0.0)),
        "differing_items": [int(positions[i]) for i in differ[:20]],
    }
    if differ.size:
        first = int(differ[0])
        art = image_pairs(
            [(x1[i], x2[i], f"test item {int(positions[i])}") for i in differ[:6]],
            title="test items read twice through your Dataset",
        )
        return result(
            "fail",
            f"{differ.size} of {len(positions)} test items differ between two reads through "
            f"your Dataset (item {int(positions[first])}: max difference "
            f"{diff[first]:.2g} of the inputs' range): the test pipeline applies random "
            "transforms",
            hint="The test set is augmented: build it with deterministic transforms (resize, "
            "center crop, normalize), and keep random crops/flips/noise for training.",
            metrics=metrics,
            artifacts={"images": art} if art else {},
        )
    return result(
        "pass",
        f"{len(positions)} test items read twice through your Dataset are identical: no "
        "random transforms on the test set",
        metrics=metrics,
    )
