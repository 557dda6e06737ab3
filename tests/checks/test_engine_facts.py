"""Facts an engine knows and the checks report: BatchNorm in eval mode, non-deterministic ops."""

from __future__ import annotations

from pathlib import Path

import pytest

from nncheck.checks.context import Context
from nncheck.checks.registry import load_all
from nncheck.checks.runner import run_one
from nncheck.data.build import load_dataset
from nncheck.engines import engine_config
from nncheck.engines.numpy_mlp import NumpyMLP
from nncheck.recipe.load import parse_recipe
from tests.conftest import ROOT, WINE, check_by_id, read_results, run_cli, write_recipe

BN_MODEL = """
import torch.nn as nn

def build(input_shape, n_outputs):
    return nn.Sequential(nn.Linear(input_shape[0], 16), nn.BatchNorm1d(16), nn.Tanh(),
                         nn.Linear(16, n_outputs))
"""


def test_batchnorm_model_is_judged_in_eval_mode_and_says_so(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "bnmodel.py").write_text(BN_MODEL)
    recipe = {
        "data": {"train": str(WINE)},
        "model": {"engine": "torch", "factory": "bnmodel:build"},
        "report": {"dir": str(tmp_path / "report")},
    }
    proc = run_cli(
        "run",
        str(write_recipe(tmp_path, recipe)),
        "--quiet",
        "--only",
        "skeleton.batch_independence",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = check_by_id(read_results(tmp_path / "report"), "skeleton.batch_independence")
    assert check["status"] == "pass"
    assert "eval mode" in check["message"] and "training mode" in check["message"]
    assert check["metrics"]["batch_mixing_modules"] == ["1"]


class _WarnsNonDeterministic(NumpyMLP):
    """A numpy engine that reports what a torch engine reports for e.g. index_add_ on GPU."""

    warnings = ["non-deterministic op: index_add_cuda_ does not have a deterministic kernel"]


def test_non_deterministic_op_warning_turns_determinism_into_warn() -> None:
    recipe = parse_recipe({"data": {"train": str(WINE)}}, base_dir=ROOT)
    ds = load_dataset(recipe.data, recipe.seed)
    ctx = Context(recipe, ds, engine_config(recipe, ds), _WarnsNonDeterministic)
    spec = load_all()["skeleton.determinism"]
    res = run_one(spec, ctx, dict(spec.defaults))
    assert res.status == "warn"
    assert "non-deterministic" in res.message and "index_add" in res.message
    assert res.metrics["curves_identical"] is True


class _RandomLoss(NumpyMLP):
    """A forward pass with unseeded noise in its loss (M5 seen by the gradient check)."""

    def loss(self, x, y):  # noqa: ANN001, ANN201
        import random

        return super().loss(x, y) + random.random() * 1e-3


class _SpikyTraining(NumpyMLP):
    """Training whose batch loss blows up 1e5x mid-run before it comes back down."""

    def train(self, x, y, **kw):  # noqa: ANN001, ANN003, ANN201
        curve = super().train(x, y, **kw)
        n = len(curve.loss)
        for i in range(n // 3, n // 3 + max(1, n // 5)):
            curve.loss[i] *= 1.0e5
        return curve


def _wine_ctx(factory) -> Context:  # noqa: ANN001
    recipe = parse_recipe({"data": {"train": str(WINE)}}, base_dir=ROOT)
    ds = load_dataset(recipe.data, recipe.seed)
    return Context(recipe, ds, engine_config(recipe, ds), factory)


def test_gradient_check_says_the_loss_is_random_instead_of_blaming_backprop() -> None:
    spec = load_all()["skeleton.gradient_check"]
    res = run_one(spec, _wine_ctx(_RandomLoss), dict(spec.defaults))
    assert res.status == "fail"
    assert "the loss is random" in res.message and "determinism" in res.hint


def test_loss_that_blows_up_and_recovers_fails_loss_decreases() -> None:
    spec = load_all()["overfit.loss_decreases"]
    res = run_one(spec, _wine_ctx(_SpikyTraining), dict(spec.defaults))
    assert res.status == "fail", res.message
    assert (
        "blew up" in res.message
        and res.metrics["peak_smoothed_loss"] > 100 * res.metrics["initial_loss"]
    )
    healthy = run_one(spec, _wine_ctx(NumpyMLP), dict(spec.defaults))
    assert healthy.status == "pass", healthy.message
