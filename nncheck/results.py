"""What checks return and writers read.

A result holds numbers and words only; rendering lives in the writers (deepchecks keeps its
HTML inside result objects, which is exactly what we avoid). Artifacts are plain data —
curves as lists, small images as arrays — that the writers turn into plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "warn", "fail", "skip", "error"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skip", "error")
STAGES: tuple[str, ...] = ("data", "skeleton", "overfit", "evaluate")


@dataclass(frozen=True)
class CheckResult:
    id: str
    stage: str
    status: Status
    message: str
    hint: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    examples: list[Any] = field(default_factory=list)
    # Plain data for the report/TensorBoard (curves, arrays); never written to results.json
    # verbatim: the json writer keeps only its JSON-able summary.
    artifacts: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    traceback: str | None = None
    # The id of another finding that probably explains this one (nncheck.root_causes);
    # set after all checks ran, never changes the status.
    consequence_of: str | None = None

    @property
    def not_applicable(self) -> bool:
        """A skip because the check is written for another kind of setup (another task,
        the user's own pieces or Dataset): the terminal and the report list these apart."""
        return self.status == "skip" and bool(self.metrics.get("not_applicable"))


def result(
    status: Status,
    message: str,
    *,
    hint: str = "",
    metrics: dict[str, Any] | None = None,
    examples: list[Any] | None = None,
    artifacts: dict[str, Any] | None = None,
) -> CheckOutcome:
    """What a check function returns; the runner adds id, stage and timing."""
    return CheckOutcome(status, message, hint, metrics or {}, examples or [], artifacts or {})


@dataclass(frozen=True)
class CheckOutcome:
    status: Status
    message: str
    hint: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    examples: list[Any] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """Everything one `nncheck run` produced, in check order."""

    recipe: dict[str, Any]
    started: str
    duration_s: float
    checks: list[CheckResult]
    nncheck_version: str
    dataset_summary: dict[str, Any] = field(default_factory=dict)
    fail_on: str = "fail"

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for c in self.checks:
            out[c.status] += 1
        return out

    @property
    def exit_code(self) -> int:
        counts = self.counts()
        failing = counts["fail"] + counts["error"]
        if self.fail_on == "warn":
            failing += counts["warn"]
        return 1 if failing else 0

    @property
    def verdict(self) -> str:
        counts = self.counts()
        if counts["fail"] or counts["error"]:
            return "fail"
        if counts["warn"]:
            return "warn"
        return "pass"
