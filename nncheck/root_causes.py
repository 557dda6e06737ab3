"""Which findings are probably consequences of another one.

One broken thing upstream lights up several checks downstream: inputs wiped to zeros make
every sample a duplicate of every other, so data.duplicates, data.label_conflicts,
data.near_duplicates, data.leakage and data.outliers all fire; NaN inputs make every model
check skip. Listed side by side they read as six problems. This module, called once after
all checks ran, marks each such finding with ``consequence_of`` = the id of the finding
that explains it, so the reports can list the cause first and group the rest under it.

It never changes a status or the exit code: a consequence is still a real finding (a
duplicate is a duplicate), only probably not a separate bug.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from nncheck.results import CheckResult

FLAGGED = ("warn", "fail")

# Checks that compare samples with each other: degenerate inputs make them all fire.
SAMPLE_COMPARISONS = (
    "data.duplicates",
    "data.label_conflicts",
    "data.near_duplicates",
    "data.leakage",
    "data.outliers",
    "data.label_errors",
)


def degenerate_inputs(features: CheckResult) -> bool:
    """data.features flagged the inputs themselves as wiped, blank or constant."""
    return features.status in FLAGGED and bool(features.metrics.get("inputs_degenerate"))


def attribute(checks: Sequence[CheckResult]) -> list[CheckResult]:
    """``checks`` with ``consequence_of`` set on each finding another finding explains."""
    by_id = {c.id: c for c in checks}
    cause_of: dict[str, str] = {}
    features = by_id.get("data.features")
    if features is not None and degenerate_inputs(features):
        for c in _flagged(by_id, SAMPLE_COMPARISONS):
            cause_of[c.id] = features.id
    integrity = by_id.get("data.integrity")
    if integrity is not None and integrity.status == "fail":
        for c in checks:
            if c.status == "skip" and "(see data.integrity)" in c.message:
                cause_of[c.id] = integrity.id
    return [replace(c, consequence_of=cause_of[c.id]) if c.id in cause_of else c for c in checks]


def _flagged(by_id: dict[str, CheckResult], ids: Iterable[str]) -> list[CheckResult]:
    return [by_id[i] for i in ids if i in by_id and by_id[i].status in FLAGGED]


def look_first(checks: Sequence[CheckResult]) -> list[tuple[CheckResult, list[CheckResult]]]:
    """The findings to look at, each cause first with its probable consequences under it.

    Causes lead, then failures, errors and warnings, each in the order the checks ran; a
    consequence (skipped checks included) is listed only under its cause.
    """
    rank = {"fail": 0, "error": 1, "warn": 2}
    consequences: dict[str, list[CheckResult]] = {}
    for c in checks:
        if c.consequence_of:
            consequences.setdefault(c.consequence_of, []).append(c)
    heads = [c for c in checks if c.status in rank and not c.consequence_of]
    heads.sort(key=lambda c: (c.id not in consequences, rank[c.status]))
    return [(c, consequences.get(c.id, [])) for c in heads]
