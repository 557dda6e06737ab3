"""Verdict rules shared by a check's in-memory and streamed forms (data.engine stream |
dask), so that both judge the same numbers the same way."""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks._neighbors_cache import pct, plural
from nncheck.results import Status

DUPLICATES_HINT = (
    "Drop exact duplicates before splitting (`df.drop_duplicates()`), or find the "
    "step that concatenates files or over-samples; if the copies are genuine repeated "
    "measurements, raise `warn_fraction`."
)
NEAR_DUPLICATES_HINT = (
    "De-duplicate near copies (rounded or perceptual hashes) before splitting, and "
    "run augmentation after the split, inside the training loop."
)
LEAKAGE_HINT = (
    "Split before augmenting or re-encoding, de-duplicate across sources by hashing "
    "rows, and drop the listed test samples from train (examples give both rows)."
)


def fraction_status(fraction: float, t: dict[str, Any]) -> Status:
    """fail above `fail_fraction`, warn above `warn_fraction`."""
    if fraction > t["fail_fraction"]:
        return "fail"
    return "warn" if fraction > t["warn_fraction"] else "pass"


def leak_status(leaked: int, n_test: int, t: dict[str, Any]) -> Status:
    """fail from `fail_count` leaked test samples that are `fail_fraction` of the test set
    (enough to move a metric, too many for a coincidence); warn from `warn_count`."""
    if leaked >= t["fail_count"] and n_test and leaked / n_test >= t["fail_fraction"]:
        return "fail"
    return "warn" if leaked >= t["warn_count"] else "pass"


LABEL_CONFLICTS_HINT = (
    "Look at the listed rows: relabel or drop them, and check how label sets were "
    "merged (class order, 0- vs 1-based ids)."
)


def conflict_status(conflicts: int, involved: int, n_total: int, t: dict[str, Any]) -> Status:
    """fail when the samples in conflicts are at least `fail_count` and `fail_fraction` of
    all samples (more than a stray coincidence in a coarse table); warn from `warn_count`
    conflicts (groups or pairs)."""
    if involved >= t["fail_count"] and n_total and involved / n_total >= t["fail_fraction"]:
        return "fail"
    return "warn" if conflicts >= t["warn_count"] else "pass"


def mixed_label_groups(groups: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ids of groups of identical rows that hold two or more valid labels (y >= 0),
    and the positions of the rows with a valid label in them."""
    valid = y >= 0
    k = max(int(y.max(initial=0)) + 1, 1)
    combos = np.unique(groups[valid] * k + y[valid])
    per_group = np.bincount(combos // k, minlength=int(groups.max(initial=-1)) + 1)
    bad = np.flatnonzero(per_group >= 2)
    return bad, np.flatnonzero(np.isin(groups, bad) & valid)


def conflict_message(groups: int, rows: int, near: int, involved: int, n_total: int) -> str:
    """One sentence for both forms, so a streamed and an in-memory run read alike."""
    if not groups + near:
        return (
            f"no identical or near-identical inputs with different labels among {n_total:,} samples"
        )
    parts = []
    if groups:
        parts.append(f"{plural(groups, 'group')} of identical inputs ({plural(rows, 'sample')})")
    if near:
        parts.append(plural(near, "near-identical pair"))
    verb = "carries" if groups + near == 1 else "carry"
    return (
        f"{' and '.join(parts)} {verb} different labels: {involved} samples"
        f" ({pct(involved, n_total)}) involved"
    )


OUTLIERS_HINT = (
    "Look at the listed samples: drop or repair corrupted ones (re-decode the file, "
    "fix the unit of the flagged feature) and find the step that produced them."
)


def corrupted_images(
    name: str, kinds: dict[str, np.ndarray], n: int, t: dict[str, Any]
) -> tuple[bool, bool, list[str], list[str], int]:
    """data.outliers' rule on one split's corrupted images (``image_stats.image_problems``):
    all-zero, constant and noise images warn from one, spikes above `spike_fraction`;
    fail when all of them reach `fail_fraction` of the split. Returns (warn, fail,
    problems, notes, count)."""
    problems, notes, warn = [], [], False
    hard = sum(len(kinds[kd]) for kd in ("all-zero", "constant", "noise"))
    spikes = len(kinds["spike"])
    if hard:
        warn = True
        parts = [f"{len(kinds[kd])} {kd}" for kd in ("all-zero", "constant", "noise")]
        problems.append(
            f"{plural(hard, f'corrupted {name} image')} ({pct(hard, n)}): "
            + ", ".join(p for p in parts if not p.startswith("0 "))
        )
    if spikes:
        text = f"{plural(spikes, name + ' image')} ({pct(spikes, n)}) with sensor spikes"
        if spikes / n >= t["spike_fraction"]:
            warn = True
            problems.append(text)
        else:
            notes.append(text + " (below the warning level)")
    corrupt = hard + spikes
    return warn, corrupt / n >= t["fail_fraction"], problems, notes, corrupt
