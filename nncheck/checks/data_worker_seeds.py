"""data.worker_seeds: the DataLoader's workers draw different random augmentations."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._pipeline import image_pairs
from nncheck.checks.context import Context
from nncheck.checks.registry import NON_NEGATIVE, Range, check
from nncheck.results import CheckOutcome, result


@check(
    "data.worker_seeds",
    stage="data",
    defaults={"reads": 3, "tolerance": 1e-6},
    ranges={"reads": Range(ge=2, le=100), "tolerance": NON_NEGATIVE},
    requires=("loader",),
)
def worker_seeds(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """The training DataLoader's worker processes draw different random augmentations.

    Why: each worker is a copy of the main process. A random generator the Dataset made in
    ``__init__`` (``self.rng = np.random.default_rng(0)``), or a ``worker_init_fn`` that
    seeds every worker alike, gives every worker the same random stream: with 4 workers,
    4 consecutive batches get the very same crops and flips, and the augmentation is 4
    times less diverse than it looks.

    Builds a loader like the user's (same Dataset, num_workers, worker_init_fn, collate)
    that serves one item `reads` times from each worker. Passes when the item reads the
    same every time (no random augmentation to share); fails when the workers' reads repeat
    one another (each worker's k-th read equal across workers, within `tolerance`) while a
    worker's own reads differ.

    Fix: make the generator per worker, e.g. create it lazily from
    ``torch.utils.data.get_worker_info().seed`` or draw from torch's generator (which
    torch seeds per worker); a worker_init_fn should seed with ``torch.initial_seed()``.
    """
    from nncheck.data.torch_data import worker_reads

    assert ctx.pipeline is not None
    src = ctx.pipeline.train
    workers = int(src.loader.num_workers)
    if workers < 2:
        return result("skip", f"the training DataLoader uses {workers} worker processes (< 2)")
    assert src.positions is not None
    reads = int(t["reads"])
    position = int(src.positions[0])
    got = np.stack(worker_reads(ctx.pipeline, position, reads, salt=341))
    grid = got.reshape(reads, workers, -1).astype(np.float64)  # [read, worker, values]
    scale = max(float(np.abs(grid).max(initial=0.0)), 1e-12)
    tol = float(t["tolerance"]) * scale
    within = np.abs(grid - grid[:1]).max(axis=(0, 2))  # per worker: own reads vs its first
    across = np.abs(grid - grid[:, :1]).max(axis=(0, 2))  # per worker: vs worker 0's reads
    random_aug = bool((within > tol).any())
    shared = [w for w in range(1, workers) if across[w] <= tol]
    metrics: dict[str, Any] = {
        "workers": workers,
        "reads_per_worker": reads,
        "item": position,
        "random_augmentation": random_aug,
        "workers_repeating_worker_0": shared,
    }
    if not random_aug:
        return result(
            "pass",
            f"item {position} reads the same in every one of {workers} workers: no random "
            "augmentation to share",
            metrics=metrics,
        )
    if shared:
        art = image_pairs(
            [(got[0], got[w], f"item {position}, worker 0 vs {w}") for w in shared[:3]],
            title="the same item as two workers augment it",
        )
        return result(
            "fail",
            f"{len(shared) + 1} of {workers} DataLoader workers draw the same random "
            f"augmentations (item {position}, {reads} reads each: worker 0's k-th read equals "
            f"worker {shared[0]}'s): the workers share one random stream",
            hint="A generator made in the Dataset's __init__ (or a worker_init_fn seeding "
            "every worker alike) is copied into every worker: seed it per worker, from "
            "torch.utils.data.get_worker_info().seed, or use torch's random functions.",
            metrics=metrics,
            artifacts={"images": art} if art else {},
        )
    return result(
        "pass",
        f"{workers} DataLoader workers draw different augmentations of item {position}",
        metrics=metrics,
    )
