"""data.pipeline_targets: the user's pipeline yields each item's own, valid target."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._pipeline import probe_positions, read_twice
from nncheck.checks.context import Context
from nncheck.checks.registry import Range, check
from nncheck.results import CheckOutcome, result

_TARGET_ATTRS = ("targets", "labels")


@check(
    "data.pipeline_targets",
    stage="data",
    defaults={"items": 64},
    requires=("pipeline",),
    ranges={"items": Range(ge=1, le=10_000)},
)
def pipeline_targets(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The targets that come out of the user's Dataset are the items' own and valid.

    Why: a transform that touches the target (a ``target_transform`` that shifts labels by
    one, a mix-up or label-noise step left on, a dict transform that rewrites the wrong key)
    corrupts what the model learns from, silently: the loss still goes down.

    For each split that is a torch Dataset: reads `items` items twice (each read under its
    own seed) and fails when a target differs between the reads; compares the targets with
    the Dataset's own ``targets`` / ``labels`` attribute when it has one (torchvision-style)
    and fails on any mismatch; and fails when targets lie outside the classes after the
    pipeline (labels of a declared class count that are not 0..K-1, or, with none declared,
    integer labels that are not 0..K-1).

    Fix: apply transforms to the inputs only, or check the target transform by hand on a
    few items; labels must be class indices 0..K-1.
    """
    pipe = ctx.pipeline
    assert pipe is not None
    ds = ctx.dataset
    problems: list[str] = []
    metrics: dict[str, Any] = {}
    for split in ("train", "test"):
        if not pipe.readable(split):
            continue
        src = pipe.split(split)
        assert src is not None
        positions = probe_positions(ctx, split, int(t["items"]), salt=311)
        (_, y1), (_, y2) = read_twice(ctx, split, positions, salt=312)
        changed = np.flatnonzero(~_same(y1, y2))
        m: dict[str, Any] = {"items": int(len(positions)), "changed": int(changed.size)}
        if changed.size:
            i = int(changed[0])
            problems.append(
                f"{split}: {changed.size} of {len(positions)} items yield a different target "
                f"on a second read (item {int(positions[i])}: {_v(y1[i])} then {_v(y2[i])})"
            )
        own = _own_targets(src.dataset, src.n_items)
        if own is not None:
            mismatch = np.flatnonzero(~_same(np.asarray(own)[positions], y1))
            m["differ_from_dataset_targets"] = int(mismatch.size)
            if mismatch.size:
                i = int(mismatch[0])
                problems.append(
                    f"{split}: {mismatch.size} of {len(positions)} items yield a target other "
                    f"than the Dataset's own .targets (item {int(positions[i])}: "
                    f"{_v(own[int(positions[i])])} in .targets, {_v(y1[i])} out of the pipeline)"
                )
        metrics[split] = m
    if ds.has_classes:
        bad = _outside_classes(ctx)
        if bad:
            problems.append(bad)
    if problems:
        return result(
            "fail",
            "the pipeline changes targets: " + "; ".join(problems),
            hint="Something in the Dataset rewrites targets (a target_transform, a random "
            "label step, a transform that edits the wrong key). Apply random transforms to "
            "the inputs only, and keep labels as class indices 0..K-1.",
            metrics=metrics,
        )
    read = ", ".join(f"{s} {v['items']}" for s, v in metrics.items())
    return result(
        "pass",
        f"targets are stable across reads ({read} items read twice) and match the Dataset's "
        "own labels where it has them",
        metrics=metrics,
    )


def _v(value: Any) -> str:
    """A label as the user wrote it (``3``, not ``np.int64(3)``)."""
    return repr(np.asarray(value).tolist())


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return np.isclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-6, atol=1e-9)
    return a == b


def _own_targets(dataset: Any, n: int) -> np.ndarray | None:
    """The Dataset's own label array (``.targets`` / ``.labels``), when it has one of its
    length and numeric values."""
    for attr in _TARGET_ATTRS:
        value = getattr(dataset, attr, None)
        if value is None or callable(value):
            continue
        try:
            arr = np.asarray(value.cpu() if hasattr(value, "cpu") else value).reshape(-1)
        except (TypeError, ValueError):
            continue
        if len(arr) == n and arr.dtype.kind in "biuf":
            return arr
    return None


def _outside_classes(ctx: Context) -> str:
    ds = ctx.dataset
    for name, split in (("train", ds.train), ("test", ds.test)):
        bad = int((split.y < 0).sum())
        if bad:
            values = np.unique(np.asarray(split.y_raw)[split.y < 0])[:5].tolist()
            return f"{name}: {bad} targets are not among the {ds.n_classes} classes ({values})"
    names = ds.classes or ()
    if names and not ds.classes_declared and all(c.lstrip("-").isdigit() for c in names):
        ints = sorted(int(c) for c in names)
        if ints != list(range(len(ints))):
            return (
                f"the pipeline yields labels {ints[0]}..{ints[-1]} for {len(ints)} classes; "
                f"class indices are 0..{len(ints) - 1}"
            )
    return ""
