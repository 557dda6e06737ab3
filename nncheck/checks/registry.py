"""The check registry: a check is one decorated function with a stable id.

Adding a check means adding one module under ``nncheck/checks/`` (found automatically by
``load_all``) plus its test. Its docstring feeds both ``nncheck checks`` and the report, and
its ``defaults`` are the only threshold names the recipe may set for it (a misspelled
threshold is an error, never silently ignored).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nncheck.results import STAGES, CheckOutcome

# Requirements a check may declare; the runner turns an unmet one into `skip` with a reason.
#   labels      - classification labels (not regression)
#   regression  - a regression target
#   engine      - a model engine could be built
#   trainable   - data.integrity did not fail (the data can be fed to a model)
#   second_annotation - the recipe names a second annotation column
#   table       - the data is a table (csv/parquet) with columns the data layer reports on
REQUIREMENTS = (
    "labels",
    "regression",
    "engine",
    "trainable",
    "second_annotation",
    "images",
    "table",
)


@dataclass(frozen=True)
class CheckSpec:
    id: str
    stage: str
    func: Callable[..., CheckOutcome]
    defaults: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    catches: str = ""  # bug classes, e.g. "D6, M8"

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n", 1)[0].replace("\n", " ")


_REGISTRY: dict[str, CheckSpec] = {}


def check(
    id: str,
    *,
    stage: str,
    defaults: dict[str, Any] | None = None,
    requires: tuple[str, ...] = (),
    catches: str = "",
) -> Callable[[Callable[..., CheckOutcome]], Callable[..., CheckOutcome]]:
    """Register ``func(ctx, thresholds) -> CheckOutcome`` under ``id`` (``stage.name``)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} for check {id!r}")
    if not id.startswith(stage + "."):
        raise ValueError(f"check id {id!r} must start with its stage {stage!r}")
    unknown = set(requires) - set(REQUIREMENTS)
    if unknown:
        raise ValueError(f"check {id!r} requires unknown {sorted(unknown)}")

    def register(func: Callable[..., CheckOutcome]) -> Callable[..., CheckOutcome]:
        if id in _REGISTRY and _REGISTRY[id].func.__qualname__ != func.__qualname__:
            raise ValueError(f"check id {id!r} registered twice")
        _REGISTRY[id] = CheckSpec(id, stage, func, dict(defaults or {}), tuple(requires), catches)
        return func

    return register


def load_all() -> dict[str, CheckSpec]:
    """Import every module of this package once, so their decorators register the checks."""
    import nncheck.checks as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in {"registry", "runner", "context"} and not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    return all_checks()


def all_checks() -> dict[str, CheckSpec]:
    """Registered checks in run order: by stage, then by registration order within a stage."""
    order = {s: i for i, s in enumerate(STAGES)}
    specs = sorted(_REGISTRY.values(), key=lambda s: (order[s.stage], _check_order(s.id)))
    return {s.id: s for s in specs}


def _check_order(check_id: str) -> int:
    # Within a stage, SPEC.md's order; checks not listed there come after, alphabetically.
    try:
        return SPEC_ORDER.index(check_id)
    except ValueError:
        return len(SPEC_ORDER)


SPEC_ORDER = [
    "data.integrity",
    "data.identifiers",
    "data.missing_values",
    "data.categories",
    "data.duplicates",
    "data.leakage",
    "data.label_conflicts",
    "data.near_duplicates",
    "data.outliers",
    "data.label_errors",
    "data.class_balance",
    "data.features",
    "skeleton.determinism",
    "skeleton.init_loss",
    "skeleton.output_bias",
    "skeleton.init_scale",
    "skeleton.gradient_check",
    "skeleton.batch_independence",
    "skeleton.input_independent",
    "skeleton.dumb_baseline",
    "overfit.one_batch",
    "overfit.loss_decreases",
    "evaluate.full_test_set",
    "evaluate.human_baseline",
]


def select(
    specs: dict[str, CheckSpec], only: list[str] | None, skip: list[str] | None
) -> tuple[list[CheckSpec], dict[str, str]]:
    """Apply ``--only``/``--skip`` (ids or stage names). Returns (to run, skipped id -> reason)."""

    def matches(spec: CheckSpec, names: list[str]) -> bool:
        return spec.id in names or spec.stage in names

    chosen, skipped = [], {}
    for spec in specs.values():
        if only and not matches(spec, only):
            skipped[spec.id] = "not selected (--only)"
        elif skip and matches(spec, skip):
            skipped[spec.id] = "skipped by request"
        else:
            chosen.append(spec)
    return chosen, skipped
