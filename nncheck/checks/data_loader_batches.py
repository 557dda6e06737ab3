"""data.loader_batches: the user's training DataLoader mixes classes within its batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import FRACTION, Range, check
from nncheck.results import CheckOutcome, result

SIMULATED = 2000  # random batches drawn to know how pure a shuffled batch would be


@check(
    "data.loader_batches",
    stage="data",
    defaults={"batches": 20, "purity": 0.95, "max_pure_share": 0.5},
    ranges={"batches": Range(ge=2, le=1000), "purity": FRACTION, "max_pure_share": FRACTION},
    requires=("labels", "loader"),
)
def loader_batches(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The batches the user's training DataLoader serves hold a mix of classes, as shuffled
    batches of this data would.

    Why: a loader over data stored sorted by class (``shuffle=False``, a sampler walking the
    index in order, a Subset of one class after another) serves one class per batch. Every
    step then pushes the model towards the current class only: the loss swings from batch
    to batch, BatchNorm statistics are those of one class, and the model ends up predicting
    whatever class came last.

    Draws the first `batches` batches the loader yields (its own sampler, collate and
    workers, seeded) and counts the batches in which one class holds at least `purity` of
    the samples. Fails when more than `max_pure_share` of them are that pure while batches
    drawn at random from the same class frequencies almost never are (below 5% of them).

    Fix: ``DataLoader(..., shuffle=True)`` for training (or a random / weighted sampler).
    """
    from nncheck.data.build import encode_with_classes
    from nncheck.data.torch_data import loader_batches as read_batches

    assert ctx.pipeline is not None
    ds = ctx.dataset
    batches = read_batches(ctx.pipeline, int(t["batches"]), salt=331)
    classes = ds.classes or ()
    ys = [encode_with_classes(y, classes, ctx.recipe.data.classes) for _, y in batches]
    sizes = np.array([len(y) for y in ys])
    if len(ys) < 2 or int(np.median(sizes)) < 2:
        return result("skip", "the loader serves batches of one sample (or a single batch)")
    k = int(ds.n_classes)
    counts = np.stack([np.bincount(np.clip(y, 0, k - 1), minlength=k) for y in ys])
    majority = counts.max(axis=1) / np.maximum(counts.sum(axis=1), 1)
    purity = float(t["purity"])
    pure = int((majority >= purity).sum())
    expected = _random_pure_share(ds.train.y, k, int(np.median(sizes)), purity, ctx.seed)
    classes_per_batch = (counts > 0).sum(axis=1)
    metrics: dict[str, Any] = {
        "batches": len(ys),
        "batch_size": int(np.median(sizes)),
        "pure_batches": pure,
        "mean_majority_share": float(majority.mean()),
        "mean_classes_per_batch": float(classes_per_batch.mean()),
        "random_pure_share": expected,
        "majority_class_per_batch": [int(c) for c in counts.argmax(axis=1)],
    }
    share = pure / len(ys)
    if share > float(t["max_pure_share"]) and expected < 0.05:
        order = [classes[int(c)] for c in counts.argmax(axis=1)[:8]]
        return result(
            "fail",
            f"{pure} of the first {len(ys)} batches your DataLoader serves are "
            f"{purity:.0%}+ one class (classes of batches 1-{len(order)}: "
            f"{', '.join(order)}); shuffled batches of this data would be that pure "
            f"{expected:.1%} of the time: the loader serves the data in class order",
            hint="The training loader does not shuffle and the data are sorted by class: "
            "use DataLoader(..., shuffle=True) (or a random sampler) for training.",
            metrics=metrics,
        )
    return result(
        "pass",
        f"the first {len(ys)} batches hold {classes_per_batch.mean():.1f} classes each on "
        f"average; {pure} are {purity:.0%}+ one class",
        metrics=metrics,
    )


def _random_pure_share(y: np.ndarray, k: int, size: int, purity: float, seed: int) -> float:
    """How often a batch drawn at random from these class frequencies is that pure."""
    labels = y[y >= 0]
    p = np.bincount(labels, minlength=k) / max(len(labels), 1)
    rng = np.random.default_rng([seed, 332])
    draws = rng.multinomial(size, p, size=SIMULATED)
    return float((draws.max(axis=1) / size >= purity).mean())
