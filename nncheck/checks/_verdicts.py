"""Verdict rules shared by a check's in-memory and streamed forms (data.engine stream |
dask), so that both judge the same numbers the same way."""

from __future__ import annotations

from typing import Any

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
