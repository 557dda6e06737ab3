"""The runner's promises: errors never hide other checks, requirements become skips."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nncheck.checks import registry
from nncheck.checks.context import Context
from nncheck.checks.registry import CheckSpec, all_checks, load_all, select
from nncheck.checks.runner import run_checks
from nncheck.recipe.load import parse_recipe
from nncheck.results import CheckOutcome, result
from nncheck.run import build_context
from tests.conftest import ROOT, WINE


@pytest.fixture(scope="module")
def wine_ctx() -> Context:
    return build_context(parse_recipe({"data": {"train": str(WINE)}}, base_dir=ROOT))


def _spec(check_id: str, func, requires: tuple[str, ...] = ()) -> CheckSpec:
    return CheckSpec(check_id, check_id.split(".")[0], func, {}, requires)


def test_a_crashing_check_becomes_error_and_the_next_still_runs(wine_ctx: Context) -> None:
    def boom(ctx, t) -> CheckOutcome:
        raise ZeroDivisionError("deliberate")

    def fine(ctx, t) -> CheckOutcome:
        return result("pass", "ok")

    out = run_checks(wine_ctx, [_spec("data.boom", boom), _spec("data.fine", fine)], {})
    assert [r.status for r in out] == ["error", "pass"]
    assert "ZeroDivisionError: deliberate" in out[0].message
    assert out[0].traceback and "deliberate" in out[0].traceback


def test_unmet_requirement_is_a_skip_with_reason(wine_ctx: Context) -> None:
    def never(ctx, t) -> CheckOutcome:
        raise AssertionError("must not run")

    out = run_checks(
        wine_ctx,
        [
            _spec("data.reg", never, ("regression",)),
            _spec("data.second", never, ("second_annotation",)),
            _spec("data.img", never, ("images",)),
        ],
        {},
    )
    assert [r.status for r in out] == ["skip"] * 3
    assert "classification" in out[0].message
    assert "second_annotation" in out[1].message


def test_thresholds_override_defaults(wine_ctx: Context) -> None:
    seen = {}

    def record(ctx, t) -> CheckOutcome:
        seen.update(t)
        return result("pass", "ok")

    spec = CheckSpec("data.rec", "data", record, {"a": 1, "b": 2.0})
    run_checks(wine_ctx, [spec], {"data.rec": {"b": 5.0}})
    assert seen == {"a": 1, "b": 5.0}


def test_select_by_stage_and_id() -> None:
    specs = load_all()
    chosen, skipped = select(specs, ["data", "overfit.one_batch"], None)
    data_ids = {i for i in specs if i.startswith("data.")}
    assert {s.id for s in chosen} == data_ids | {"overfit.one_batch"}
    assert skipped["skeleton.init_loss"] == "not selected (--only)"
    chosen, skipped = select(specs, None, ["skeleton"])
    assert "skeleton.init_loss" in skipped and "data.integrity" in {s.id for s in chosen}


def test_registry_contract_for_every_check() -> None:
    """Every registered check: stage prefix, docstring with a why and a fix, typed defaults."""
    for spec in load_all().values():
        assert spec.id.startswith(spec.stage + ".")
        assert "Why:" in spec.doc and "Fix:" in spec.doc, spec.id
        for name, value in spec.defaults.items():
            assert isinstance(value, (int, float, bool, str)), (spec.id, name)
    order = list(all_checks())
    assert order.index("data.integrity") < order.index("skeleton.init_loss")
    assert order.index("skeleton.init_loss") < order.index("overfit.one_batch")


def test_registering_a_bad_id_is_refused() -> None:
    with pytest.raises(ValueError, match="must start with its stage"):
        registry.check("skeleton.x", stage="data")
    with pytest.raises(ValueError, match="unknown stage"):
        registry.check("train.x", stage="train")


def test_every_check_is_deterministic_and_well_formed(wine_ctx: Context) -> None:
    """One contract test over all checks (scikit-learn's estimator_checks idea)."""
    specs = list(load_all().values())
    first = run_checks(wine_ctx, specs, {})
    wine_ctx.results.clear()
    wine_ctx._memo.clear()
    second = run_checks(wine_ctx, specs, {})
    for a, b in zip(first, second):
        assert a.status in ("pass", "warn", "fail", "skip"), (a.id, a.message, a.traceback)
        assert a.message, a.id
        assert (a.id, a.status, a.message, repr(a.metrics)) == (
            b.id,
            b.status,
            b.message,
            repr(b.metrics),
        )
        # a skip carries its reason in the message; anything that flags must say what to try
        assert a.status in ("pass", "skip") or a.hint, a.id


def test_import_nncheck_stays_light() -> None:
    """The CLI must start fast: importing nncheck or its CLI loads no heavy library."""
    code = (
        "import sys, nncheck, nncheck.cli; "
        "heavy = [m for m in ('numpy', 'pandas', 'matplotlib', 'torch', 'tensorboardX', "
        "'rich', 'pydantic') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == ""


def test_usability_problem_flags_nan_inputs(wine_ctx: Context) -> None:
    from dataclasses import replace

    from nncheck.checks.context import usability_problem

    assert usability_problem(wine_ctx.dataset) is None
    x = wine_ctx.dataset.train.x.copy()
    x[0, 0] = np.nan
    broken = replace(wine_ctx.dataset, train=replace(wine_ctx.dataset.train, x=x))
    assert "NaN" in (usability_problem(broken) or "")
