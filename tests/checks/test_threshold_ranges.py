"""Every threshold of every check declares its valid values beside the check, the recipe is
held to them at load (exit 2 naming the key), and every value inside them runs the check
without a crash."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nncheck.checks.context import Context
from nncheck.checks.registry import CheckSpec, Range, load_all
from nncheck.checks.runner import run_one
from nncheck.errors import RecipeError
from nncheck.recipe.checks_section import parse_checks_section
from nncheck.recipe.load import parse_recipe
from nncheck.run import build_context
from tests.conftest import ROOT, WINE, run_cli, wine_recipe, write_recipe

SPECS = load_all()
NUMERIC = [
    (spec.id, name)
    for spec in SPECS.values()
    for name, default in spec.defaults.items()
    if not isinstance(default, bool)
]


def _is_int(spec: CheckSpec, name: str) -> bool:
    return isinstance(spec.defaults[name], int)


@pytest.mark.parametrize("check_id, name", NUMERIC, ids=[f"{c}.{n}" for c, n in NUMERIC])
def test_every_threshold_declares_a_range_holding_its_default(check_id: str, name: str) -> None:
    spec = SPECS[check_id]
    assert name in spec.ranges, f"{check_id}.{name} has no declared range"
    assert spec.defaults[name] in spec.ranges[name]
    assert spec.ranges[name].outside(), f"{check_id}.{name}: a range needs a bound"


@pytest.mark.parametrize("check_id, name", NUMERIC, ids=[f"{c}.{n}" for c, n in NUMERIC])
def test_values_just_outside_the_range_are_refused(check_id: str, name: str) -> None:
    spec = SPECS[check_id]
    valid = spec.ranges[name]
    bad: list[float] = list(valid.outside(integer=_is_int(spec, name)))
    if not _is_int(spec, name):
        bad += [math.nan, math.inf, -math.inf]
    for value in bad:
        with pytest.raises(RecipeError) as err:
            parse_checks_section({check_id: {name: value}}, SPECS)
        assert str(err.value) == f"checks.{check_id}.{name}: must be {valid}, got {value!r}"


def test_range_wording() -> None:
    assert str(Range(ge=1)) == ">= 1"
    assert str(Range(gt=0, le=0.5)) == "in (0, 0.5]"
    assert str(Range(ge=2, le=16)) == "in [2, 16]"
    assert 0 not in Range(ge=1) and True not in Range(ge=0) and 1 in Range(ge=1)


def test_registering_a_default_outside_its_range_is_refused() -> None:
    from nncheck.checks import registry

    with pytest.raises(ValueError, match="is not >= 1"):
        registry.check("data.x", stage="data", defaults={"n": 0}, ranges={"n": Range(ge=1)})
    with pytest.raises(ValueError, match="unknown threshold 'm'"):
        registry.check("data.x", stage="data", defaults={"n": 1}, ranges={"m": Range(ge=1)})


def _edge(valid: Range, integer: bool, upper: bool) -> float | None:
    """The value at one end of a range (just inside an open bound)."""
    if upper:
        bound, closed = (valid.le, True) if valid.le is not None else (valid.lt, False)
    else:
        bound, closed = (valid.ge, True) if valid.ge is not None else (valid.gt, False)
    if bound is None:
        return None
    if closed:
        return int(bound) if integer else float(bound)
    step = 1 if integer else 1e-6
    return bound - step if upper else bound + step


# Upper ends that cost minutes (100,000 training steps, 10,000 finite differences) are
# judged by the lower ends alone; every other threshold is run at both ends.
SLOW_UPPER = {"max_steps", "steps", "other_seed_steps", "coordinates", "samples", "max_samples"}


@pytest.fixture(scope="module")
def contexts() -> dict[str, Context]:
    small = {"train": {"steps": 20}}
    wine = parse_recipe({"data": {"train": str(WINE)}, **small}, base_dir=ROOT)
    diabetes = parse_recipe(
        {"data": {"train": str(ROOT / "data" / "diabetes.csv")}, **small}, base_dir=ROOT
    )
    return {"wine": build_context(wine), "diabetes": build_context(diabetes)}


@pytest.mark.parametrize("upper", [False, True], ids=["low", "high"])
@pytest.mark.parametrize("check_id", list(SPECS))
def test_every_check_runs_at_the_ends_of_its_ranges(
    contexts: dict[str, Context], check_id: str, upper: bool
) -> None:
    spec = SPECS[check_id]
    thresholds = dict(spec.defaults)
    for name, valid in spec.ranges.items():
        if upper and name in SLOW_UPPER:
            continue
        value = _edge(valid, _is_int(spec, name), upper)
        if value is not None:
            thresholds[name] = value
    for ctx in contexts.values():
        ctx.results.clear()
        ctx._memo.clear()
        res = run_one(spec, ctx, thresholds)
        assert res.status != "error", (check_id, thresholds, res.message, res.traceback)


@pytest.mark.parametrize(
    "check_id, name, value, expected",
    [
        ("overfit.one_batch", "batch_size", 0, "must be in [2, 16], got 0"),
        ("skeleton.determinism", "steps", 0, "must be in [1, 100000], got 0"),
        ("skeleton.batch_independence", "samples", 0, "must be in [1, 1000], got 0"),
        ("skeleton.gradient_check", "eps", 0, "must be in (0, 0.1], got 0"),
        ("skeleton.init_loss", "batch_size", 0, "must be in [1, 100000], got 0"),
        ("data.label_errors", "folds", 1, "must be in [2, 20], got 1"),
    ],
)
def test_threshold_out_of_range_through_the_cli(
    tmp_path: Path, check_id: str, name: str, value: float, expected: str
) -> None:
    recipe = wine_recipe(tmp_path, checks={check_id: {name: value}})
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"nncheck: error: checks.{check_id}.{name}: {expected}"
    assert not (tmp_path / "report").exists()
