"""The check registry: a check is one decorated function with a stable id.

Adding a check means adding one module under ``nncheck/checks/`` (found automatically by
``load_all``) plus its test. Its docstring feeds both ``nncheck checks`` and the report, and
its ``defaults`` are the only threshold names the recipe may set for it (a misspelled
threshold is an error, never silently ignored). Beside each numeric default, ``ranges``
declares the values it may take (``Range(ge=1)``): the recipe is checked against them at
load, so `batch_size: 0` is exit 2 naming the key instead of a crash inside the check.
"""

from __future__ import annotations

import importlib
import inspect
import math
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
#   user_optimizer / user_scheduler / user_step - the audit was given the user's own one
#   pipeline      - a split is the user's torch Dataset (or DataLoader), readable by index
#   pipeline_test - the test split is (not a fraction nncheck cut from train)
#   loader        - the training split is the user's DataLoader
#   tokens        - inputs are token id sequences (language model or sequence classifier)
#   numeric_inputs - inputs are numbers that statistics and distances apply to (not ids)
#   image_shaped  - each sample has three axes (colour images, in whichever layout)
#   table         - the data is a table (csv/parquet) with columns the data layer reports on
#   multilabel    - the target is one 0/1 column per label (task: multilabel)
#   any_target    - holds for every target of a table or array (a class, a value, or one
#                   0/1 per label), so it runs on multilabel targets too
REQUIREMENTS = (
    "multilabel",
    "any_target",
    "labels",
    "regression",
    "engine",
    "trainable",
    "second_annotation",
    "images",
    "image_shaped",
    "user_optimizer",
    "user_scheduler",
    "user_step",
    "pipeline",
    "pipeline_test",
    "loader",
    "table",
    # A language model's data (a target per token) runs only the checks that say they take
    # it: "sequences" (written for it) or "any_task" (meaningful for every task); a
    # multilabel target runs those written for it, "any_target" ones and "any_task" ones.
    "sequences",
    "tokens",
    "numeric_inputs",
    "any_task",
)


@dataclass(frozen=True)
class Range:
    """The values a numeric threshold may take, as bounds (pydantic's gt/ge/lt/le).

    Every bound is inclusive unless named ``gt``/``lt``; NaN and infinities are never in a
    range (a threshold compared against them would silently never, or always, trigger).
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value):
            return False
        return not (
            (self.ge is not None and value < self.ge)
            or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le)
            or (self.lt is not None and value >= self.lt)
        )

    def __str__(self) -> str:
        lo = self.ge if self.ge is not None else self.gt
        hi = self.le if self.le is not None else self.lt
        if lo is not None and hi is not None:
            left = "[" if self.ge is not None else "("
            right = "]" if self.le is not None else ")"
            return f"in {left}{_num(lo)}, {_num(hi)}{right}"
        if lo is not None:
            return f"{'>=' if self.ge is not None else '>'} {_num(lo)}"
        if hi is not None:
            return f"{'<=' if self.le is not None else '<'} {_num(hi)}"
        return "finite"

    def outside(self, integer: bool = False) -> list[float]:
        """The values just outside each bound (for an integer threshold, the nearest
        integers outside), for the contract test."""

        def beyond(bound: float, direction: int) -> float:
            if integer:
                return math.floor(bound) - 1 if direction < 0 else math.ceil(bound) + 1
            return bound + direction * max(abs(bound), 1.0) * 1e-9

        out: list[float] = []
        if self.ge is not None:
            out.append(beyond(self.ge, -1))
        if self.gt is not None:
            out.append(self.gt)
        if self.le is not None:
            out.append(beyond(self.le, 1))
        if self.lt is not None:
            out.append(self.lt)
        return out


# The ranges most thresholds share.
FRACTION = Range(ge=0, le=1)  # a share of samples, a probability, a distance on [0, 1]
NON_NEGATIVE = Range(ge=0)  # a z-score, a margin, a tolerance
POSITIVE = Range(gt=0)  # a scale or a loss that must be above zero
RATIO = Range(ge=1)  # max/min, or "how many times larger"
COUNT = Range(ge=1)  # a number of samples, steps or occurrences
EXAMPLES = Range(ge=0, le=10_000)  # how many examples a check lists
BATCH = Range(ge=1, le=100_000)  # a batch of training samples
STEPS = Range(ge=1, le=100_000)  # training steps: an audit trains briefly


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class CheckSpec:
    id: str
    stage: str
    func: Callable[..., CheckOutcome]
    defaults: dict[str, Any] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    ranges: dict[str, Range] = field(default_factory=dict)  # threshold -> valid values

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def catches(self) -> str:
        """The bug classes this check points at ("D6, M8"), from ``nncheck.bug_classes``."""
        from nncheck.bug_classes import tags

        return ", ".join(tags(self.id))

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
    ranges: dict[str, Range] | None = None,
) -> Callable[[Callable[..., CheckOutcome]], Callable[..., CheckOutcome]]:
    """Register ``func(ctx, thresholds) -> CheckOutcome`` under ``id`` (``stage.name``).

    ``ranges`` gives the valid values of each numeric threshold in ``defaults``; the
    recipe's values are checked against them when it is loaded.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} for check {id!r}")
    if not id.startswith(stage + "."):
        raise ValueError(f"check id {id!r} must start with its stage {stage!r}")
    unknown = set(requires) - set(REQUIREMENTS)
    if unknown:
        raise ValueError(f"check {id!r} requires unknown {sorted(unknown)}")
    defaults, ranges = dict(defaults or {}), dict(ranges or {})
    for name, valid in ranges.items():
        if name not in defaults:
            raise ValueError(f"check {id!r} declares a range for unknown threshold {name!r}")
        if defaults[name] not in valid:
            raise ValueError(f"check {id!r}: default {name}={defaults[name]!r} is not {valid}")

    def register(func: Callable[..., CheckOutcome]) -> Callable[..., CheckOutcome]:
        if id in _REGISTRY and _REGISTRY[id].func.__qualname__ != func.__qualname__:
            raise ValueError(f"check id {id!r} registered twice")
        _REGISTRY[id] = CheckSpec(id, stage, func, defaults, tuple(requires), ranges)
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
    "data.pipeline_targets",
    "data.test_augmentation",
    "data.loader_batches",
    "data.worker_seeds",
    "skeleton.determinism",
    "skeleton.init_loss",
    "skeleton.output_bias",
    "skeleton.init_scale",
    "skeleton.gradient_check",
    "skeleton.batch_independence",
    "skeleton.input_independent",
    "skeleton.dumb_baseline",
    "skeleton.optimizer_params",
    "skeleton.lr_schedule",
    "skeleton.grad_accumulation",
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
