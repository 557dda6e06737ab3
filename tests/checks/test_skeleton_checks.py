"""The skeleton checks that judge a model at init: determinism, init loss, output bias,
init scale, gradient check and batch independence.

Bugs that live in model code (M4, M5, M6, M9) are reproduced with small engine doubles that
wrap the real numpy engine and break one thing; bugs that a recipe can cause (M3, D5, D9,
a deep sigmoid net) are run through the CLI as a user would.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nncheck.checks.context import Context
from nncheck.checks.registry import load_all
from nncheck.checks.runner import run_one
from nncheck.data.build import load_dataset
from nncheck.engines import engine_config
from nncheck.engines.base import Engine, Gradients, TrainCurve
from nncheck.engines.numpy_mlp import NumpyMLP
from nncheck.recipe.load import parse_recipe
from nncheck.results import CheckResult
from tests.conftest import ROOT, WINE, check_by_id, read_results, run_cli, wine_recipe, write_recipe

MINE = (
    "skeleton.determinism",
    "skeleton.init_loss",
    "skeleton.output_bias",
    "skeleton.init_scale",
    "skeleton.gradient_check",
    "skeleton.batch_independence",
)


# --------------------------------------------------------------------------------------
# Contexts and engine doubles
# --------------------------------------------------------------------------------------


def make_ctx(double: type | None = None, model: dict[str, Any] | None = None, **kw: Any) -> Context:
    """The bundled wine recipe's context, its engine wrapped in ``double`` (or not)."""
    wine_model = {"hidden": [8, 5], "activation": "tanh", "init": "xavier"}
    raw = {
        "data": {"train": str(WINE), "target": "label"},
        "model": {**wine_model, **(model or {})},
    }
    recipe = parse_recipe(raw, base_dir=ROOT)
    ds = load_dataset(recipe.data, recipe.seed)
    cfg = engine_config(recipe, ds)

    def factory(config, seed: int) -> Engine:
        inner = NumpyMLP(config, seed)
        return double(inner, **kw) if double else inner

    return Context(recipe, ds, cfg, factory)


def run(check_id: str, ctx: Context, **thresholds: Any) -> CheckResult:
    spec = load_all()[check_id]
    return run_one(spec, ctx, {**spec.defaults, **thresholds})


class Wrapper:
    """Delegates the whole Engine protocol to a real engine; doubles override one thing."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def astype(self, dtype: Any) -> Engine:
        return type(self)(self.inner.astype(dtype))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxTwice(Wrapper):
    """M4: the model ends in a softmax, and the loss is softmax cross-entropy again."""

    def forward(self, x: np.ndarray, *, activations: bool = False):
        return _softmax(np.asarray(self.inner.forward(x), dtype=np.float64)).astype(np.float32)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        p = self.forward(x).astype(np.float64)
        lse = np.log(np.exp(p).sum(axis=1))
        return float(np.mean(lse - p[np.arange(len(y)), y]))


class NoisyForward(Wrapper):
    """M5: dropout-like noise at inference, drawn from an unseeded generator."""

    def forward(self, x: np.ndarray, *, activations: bool = False):
        out = np.asarray(self.inner.forward(x))
        return out + np.random.default_rng().normal(0, 1e-3, out.shape).astype(out.dtype)


class UnseededShuffle(Wrapper):
    """M5: training shuffles with a generator of its own instead of the given seed."""

    def train(self, x, y, *, steps, batch_size, seed, callback=None) -> TrainCurve:
        own = int(np.random.default_rng().integers(2**31))
        return self.inner.train(x, y, steps=steps, batch_size=batch_size, seed=own)


class SeedIgnored(Wrapper):
    """The seed is hard-coded: every run is the same whatever seed it is given."""

    def train(self, x, y, *, steps, batch_size, seed, callback=None) -> TrainCurve:
        self.inner.reset(0)
        return self.inner.train(x, y, steps=steps, batch_size=batch_size, seed=0)


class CentersBatch(Wrapper):
    """M6: subtracts the batch mean from the inputs (statistics across the batch)."""

    def forward(self, x: np.ndarray, *, activations: bool = False):
        return self.inner.forward(x - x.mean(axis=0), activations=activations)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.inner.loss(x - x.mean(axis=0), y)

    def gradients(self, x, y, *, inputs=False, weights=None) -> Gradients:
        g = self.inner.gradients(x - x.mean(axis=0), y, inputs=inputs, weights=weights)
        dx = None if g.inputs is None else g.inputs - g.inputs.mean(axis=0)
        return Gradients(loss=g.loss, params=g.params, inputs=dx)


class RollsBatch(Wrapper):
    """M6: a wrong reshape that hands sample i the input of sample i - 1."""

    def forward(self, x: np.ndarray, *, activations: bool = False):
        return self.inner.forward(np.roll(x, 1, axis=0), activations=activations)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.inner.loss(np.roll(x, 1, axis=0), y)

    def gradients(self, x, y, *, inputs=False, weights=None) -> Gradients:
        g = self.inner.gradients(np.roll(x, 1, axis=0), y, inputs=inputs, weights=weights)
        dx = None if g.inputs is None else np.roll(g.inputs, -1, axis=0)
        return Gradients(loss=g.loss, params=g.params, inputs=dx)


class FlippedGradient(Wrapper):
    """M9: a hand-written backward with a sign error in one layer's weight gradient."""

    def gradients(self, x, y, *, inputs=False, weights=None) -> Gradients:
        g = self.inner.gradients(x, y, inputs=inputs, weights=weights)
        params = dict(g.params, **{"layer1.weight": -g.params["layer1.weight"]})
        return Gradients(loss=g.loss, params=params, inputs=g.inputs)


class TransposedGradient(Wrapper):
    """M9: a square layer whose weight gradient is transposed."""

    def gradients(self, x, y, *, inputs=False, weights=None) -> Gradients:
        g = self.inner.gradients(x, y, inputs=inputs, weights=weights)
        params = dict(g.params, **{"layer1.weight": g.params["layer1.weight"].T.copy()})
        return Gradients(loss=g.loss, params=params, inputs=g.inputs)


class NoBias(Wrapper):
    """An output layer without a bias parameter (as a torch Linear(bias=False) would be)."""

    def parameters(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.inner.parameters().items() if not k.endswith("bias")}


# --------------------------------------------------------------------------------------
# Healthy engines pass
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wine_ctx() -> Context:
    return make_ctx()


@pytest.mark.parametrize("check_id", MINE)
def test_healthy_wine_engine_passes(wine_ctx: Context, check_id: str) -> None:
    res = run(check_id, wine_ctx)
    assert res.status == "pass", (res.message, res.traceback)


# --------------------------------------------------------------------------------------
# skeleton.determinism (M5)
# --------------------------------------------------------------------------------------


def test_determinism_reports_identical_curves_and_a_different_seed(wine_ctx: Context) -> None:
    res = run("skeleton.determinism", wine_ctx)
    assert res.metrics["curves_identical"] and res.metrics["param_max_rel_diff"] == 0.0
    assert res.metrics["other_seed_first_different_step"] == 0  # another init: differs at once
    assert "bit-identical" in res.message and "seed 1 differs from step 0" in res.message
    assert set(res.artifacts["curves"]) == {"seed 0 (run 1)", "seed 0 (run 2)", "seed 1"}


def test_determinism_flags_unseeded_shuffling() -> None:
    res = run("skeleton.determinism", make_ctx(UnseededShuffle))
    assert res.status == "fail"
    step = res.metrics["first_different_step"]
    assert step is not None and f"part at step {step}" in res.message
    first = res.metrics["first_difference"]
    assert first["run1"] != first["run2"] and "|Δ|" in res.message
    assert "final parameters differ" in res.message
    assert "seed" in res.hint


def test_determinism_flags_noise_at_inference() -> None:
    res = run("skeleton.determinism", make_ctx(NoisyForward))
    assert res.status == "fail"
    assert "two forward passes on the same 64 samples differ" in res.message
    assert res.metrics["forward_max_rel_diff"] > 0


def test_determinism_warns_when_the_seed_is_ignored() -> None:
    res = run("skeleton.determinism", make_ctx(SeedIgnored))
    assert res.status == "warn"
    assert "seed 1 gives exactly the same curve" in res.message


# --------------------------------------------------------------------------------------
# skeleton.init_loss (M3, M4, D9)
# --------------------------------------------------------------------------------------


def test_init_loss_expected_values_for_each_loss_and_bias() -> None:
    prior = make_ctx()
    res = run("skeleton.init_loss", prior)
    p = np.asarray(prior.engine_config.prior)
    # the whole wine train split is the batch: the expected value is the prior's entropy
    assert res.metrics["expected"] == pytest.approx(-np.sum(p * np.log(p)), rel=1e-9)
    assert res.metrics["standard_error"] == 0.0  # the batch is the whole split
    zero = run("skeleton.init_loss", make_ctx(model={"output_bias": "zero"}))
    assert zero.metrics["expected"] == pytest.approx(math.log(3))
    assert "log(3) for 3 classes" in zero.message
    mse = run("skeleton.init_loss", make_ctx(model={"loss": "mse", "output_bias": "zero"}))
    assert mse.metrics["expected"] == pytest.approx(1 / 3)  # (1 - 0 + 0) / K
    assert all(r.status == "pass" for r in (res, zero))


def test_init_loss_flags_softmax_applied_twice() -> None:
    res = run("skeleton.init_loss", make_ctx(SoftmaxTwice))
    assert res.status == "fail"
    assert res.metrics["outputs_are_probabilities"] is True
    assert "already probabilities" in res.message and "softmax is applied twice" in res.message
    # the floor a double softmax puts under the loss, for 3 classes
    assert f"{math.log(1 + 2 / math.e):.3g}" in res.message
    assert "logits" in res.hint


def test_init_loss_is_two_sided() -> None:
    class TenthLoss(Wrapper):  # a loss divided by an extra factor: far below expectation
        def loss(self, x, y):
            return self.inner.loss(x, y) / 10

    res = run("skeleton.init_loss", make_ctx(TenthLoss))
    assert res.status == "fail"
    assert "below" in res.message and res.metrics["loss"] < 0.2 * res.metrics["expected"]


def test_init_loss_tolerance_scales_with_the_batch() -> None:
    ctx = make_ctx()
    small = run("skeleton.init_loss", ctx, batch_size=16)
    full = run("skeleton.init_loss", ctx)
    assert small.metrics["standard_error"] > 0 == full.metrics["standard_error"]
    assert small.metrics["tolerance"] > full.metrics["tolerance"]
    assert f"± {small.metrics['tolerance']:.2g}" in small.message


INIT_LOSS_RULES = {"warn_rel": 0.3, "fail_rel": 1.0, "low_rel": 0.5}


@pytest.mark.parametrize(
    ("loss", "tol", "status"),
    [
        (1.2, 0.05, "pass"),  # 1.2x the correct init's 1.0
        (1.4, 0.05, "warn"),  # 1.4x: above 1.3x and beyond the tolerance
        (1.4, 0.6, "pass"),  # 1.4x but within the spread of a correct init
        (2.1, 0.05, "fail"),  # 2.1x
        (2.1, 1.5, "pass"),
        (0.7, 0.05, "warn"),  # below expected / 1.3
        (0.4, 0.05, "fail"),  # below half the expected value
        (0.4, 0.7, "pass"),
    ],
)
def test_init_loss_ratio_rules_need_the_tolerance_too(loss: float, tol: float, status: str) -> None:
    from nncheck.checks.skeleton_init_loss import judge

    assert judge(loss, 1.0, 1.0, tol, INIT_LOSS_RULES)[0] == status


def test_init_loss_holds_init_std_2_against_a_correct_init() -> None:
    # wine 13-8-5-3 tanh with init_std 2 starts at 2.6: 2.2x what xavier gives (the issue's
    # example, which passed as "1.085 ± 1.6"); the hint names the saturated layer
    res = run("skeleton.init_loss", make_ctx(model={"init": "normal", "init_std": 2.0}))
    m = res.metrics
    assert res.status == "fail", res.message
    assert m["correct_init"] == "xavier, 8 seeds" and len(m["correct_init_losses"]) == 8
    assert m["expected"] <= m["correct_init_loss"] < 1.3 * m["expected"]
    assert m["tolerance"] < m["expected"]  # was ± 1.6
    assert f"{m['ratio_to_correct_init']:.2g}× that (fails above 2×)" in res.message
    assert "skeleton.init_scale's statistics point at layer" in res.hint
    assert "saturated" in res.hint


def test_init_loss_tolerance_is_narrower_than_what_it_tests() -> None:
    # diabetes: the band was ± 6e3 around var(y) = 6e3; now a few percent of it
    raw = {
        "data": {"train": str(ROOT / "data" / "diabetes.csv"), "target": "target"},
        "model": {"hidden": [32], "activation": "relu", "init": "he"},
    }
    recipe = parse_recipe(raw, base_dir=ROOT)
    ds = load_dataset(recipe.data, recipe.seed)
    ctx = Context(recipe, ds, engine_config(recipe, ds), lambda c, seed: NumpyMLP(c, seed))
    res = run("skeleton.init_loss", ctx)
    assert res.status == "pass", res.message
    assert res.metrics["tolerance"] < 0.1 * res.metrics["expected"]
    assert res.metrics["correct_init"] == "he, 8 seeds"


# --------------------------------------------------------------------------------------
# skeleton.output_bias (D9)
# --------------------------------------------------------------------------------------


def test_output_bias_reports_prior_bias_and_zero_cost(wine_ctx: Context) -> None:
    res = run("skeleton.output_bias", wine_ctx)
    p = np.asarray(res.metrics["prior"])
    h = -np.sum(p * np.log(p))
    assert res.metrics["bias_cost"] == pytest.approx(0.0, abs=1e-9)
    assert res.metrics["zero_bias_cost"] == pytest.approx(math.log(3) - h)
    assert res.metrics["parameter"] == "layer2.bias"  # the output layer of 13-8-5-3
    table = res.artifacts["tables"]["output bias vs prior"]
    assert len(table["rows"]) == 3 and table["columns"][1] == "prior"
    assert sum(res.metrics["predicted_at_init"]) == pytest.approx(1.0)


def test_output_bias_skips_without_a_final_bias() -> None:
    res = run("skeleton.output_bias", make_ctx(NoBias))
    assert res.status == "skip" and "no parameter named '*bias'" in res.message


# --------------------------------------------------------------------------------------
# skeleton.gradient_check (M9)
# --------------------------------------------------------------------------------------


def test_gradient_check_float64_errors_are_tiny(wine_ctx: Context) -> None:
    res = run("skeleton.gradient_check", wine_ctx)
    assert res.metrics["max_error"] < 1e-7 and res.metrics["checked"] >= 18
    # every parameter tensor gets coordinates
    assert set(res.metrics["max_error_by_parameter"]) == set(wine_ctx.make_engine().parameters())


def test_gradient_check_flags_a_sign_error() -> None:
    res = run("skeleton.gradient_check", make_ctx(FlippedGradient))
    assert res.status == "fail"
    assert res.metrics["max_error_by_parameter"]["layer1.weight"] > 0.5
    assert "affected: layer1.weight" in res.message and "(opposite sign)" in res.message
    assert all(
        e < 1e-6 for k, e in res.metrics["max_error_by_parameter"].items() if k != "layer1.weight"
    )


def test_gradient_check_flags_a_transposed_gradient() -> None:
    res = run("skeleton.gradient_check", make_ctx(TransposedGradient, model={"hidden": [8, 8]}))
    assert res.status == "fail"
    assert res.metrics["max_error_by_parameter"]["layer1.weight"] > 1e-2
    assert "layer1.weight" in res.message


def test_gradient_check_tolerates_relu_kinks() -> None:
    ctx = make_ctx(model={"hidden": [32] * 6, "activation": "relu", "init": "he"})
    res = run("skeleton.gradient_check", ctx, coordinates=60)
    assert res.status == "pass", res.message


# --------------------------------------------------------------------------------------
# skeleton.batch_independence (M6)
# --------------------------------------------------------------------------------------


def test_batch_independence_leakage_is_exactly_zero(wine_ctx: Context) -> None:
    res = run("skeleton.batch_independence", wine_ctx)
    assert res.metrics["max_leak_ratio"] == 0.0 and res.metrics["samples_checked"] == 4
    assert all(e["own_gradient_norm"] > 0 for e in res.examples)


def test_batch_independence_flags_batch_statistics() -> None:
    res = run("skeleton.batch_independence", make_ctx(CentersBatch))
    assert res.status == "fail"
    # centering over n samples sends 1/n of the gradient to every other sample and keeps
    # (1 - 1/n) on the sample itself: a leak ratio of 1 / (n - 1)
    assert res.metrics["max_leak_ratio"] == pytest.approx(1 / 15, rel=1e-3)
    assert "samples mix across the batch" in res.message and "BatchNorm" in res.hint


def test_batch_independence_flags_a_batch_roll() -> None:
    res = run("skeleton.batch_independence", make_ctx(RollsBatch))
    assert res.status == "fail"
    assert math.isinf(res.metrics["max_leak_ratio"])
    assert "its own input gets none" in res.message
    for ex in res.examples:  # sample i was fed sample i - 1's input
        assert ex["leaks_to_sample"] == (ex["sample"] - 1) % 16


# --------------------------------------------------------------------------------------
# skeleton.init_scale (M3, D5) on engines
# --------------------------------------------------------------------------------------


def test_init_scale_table_and_histograms(wine_ctx: Context) -> None:
    res = run("skeleton.init_scale", wine_ctx)
    table = res.artifacts["tables"]["init scale per layer"]
    assert [r[0] for r in table["rows"]] == [
        "input",
        "layer0 (tanh)",
        "layer1 (tanh)",
        "layer2 (linear)",
    ]
    hist = res.artifacts["histograms"]["layer0 (tanh) activations"]
    assert len(hist["edges"]) == len(hist["counts"]) + 1
    n = len(wine_ctx.dataset.train)  # the batch is the whole (small) train split
    assert sum(hist["counts"]) == res.metrics["layers"][0]["units"] * n
    assert "layer0.weight gradients" in res.artifacts["histograms"]
    assert 0.3 < res.metrics["grad_ratio_first_last"] < 3


# --------------------------------------------------------------------------------------
# Through the CLI: recipes with the bug in them
# --------------------------------------------------------------------------------------


def _cli(tmp_path: Path, recipe: dict[str, Any], *ids: str) -> dict[str, Any]:
    path = write_recipe(tmp_path, recipe)
    proc = run_cli("run", str(path), "--quiet", "--only", *(ids or MINE))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return read_results(tmp_path / "report")


def test_cli_healthy_wine_passes_every_skeleton_check(tmp_path: Path) -> None:
    res = _cli(tmp_path, wine_recipe(tmp_path))
    for check_id in MINE:
        check = check_by_id(res, check_id)
        assert check["status"] == "pass", (check_id, check["message"])


def test_cli_init_std_far_too_large(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, model={"init": "normal", "init_std": 10.0})
    res = _cli(tmp_path, recipe, "skeleton.init_loss", "skeleton.init_scale")
    loss = check_by_id(res, "skeleton.init_loss")
    assert loss["status"] == "fail" and loss["metrics"]["loss"] > 5 * loss["metrics"]["expected"]
    assert f"loss at init {loss['metrics']['loss']:.4g}" in loss["message"]
    scale = check_by_id(res, "skeleton.init_scale")
    assert scale["status"] == "fail"
    assert "activations saturated" in scale["message"]
    assert max(layer["saturated"] for layer in scale["metrics"]["layers"][:-1]) > 0.5


def test_cli_init_std_far_too_small(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, model={"init": "normal", "init_std": 1e-4})
    res = _cli(tmp_path, recipe, "skeleton.init_loss", "skeleton.init_scale")
    assert check_by_id(res, "skeleton.init_loss")["status"] == "pass"  # outputs = bias: fine
    scale = check_by_id(res, "skeleton.init_scale")
    assert scale["status"] == "fail" and "signal vanishes" in scale["message"]
    assert scale["metrics"]["layers"][0]["pre_std"] < 1e-3


def test_cli_deep_sigmoid_net_has_vanishing_gradients(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, model={"hidden": [16] * 8, "activation": "sigmoid"})
    res = _cli(tmp_path, recipe, "skeleton.init_scale")
    scale = check_by_id(res, "skeleton.init_scale")
    assert scale["status"] == "fail"
    ratio = scale["metrics"]["grad_ratio_first_last"]
    assert ratio < 1e-3
    assert (
        f"vanishing gradients: layer0 gets a gradient {1 / ratio:.3g}x smaller" in scale["message"]
    )


def test_cli_unnormalized_pixels_are_flagged(tmp_path: Path, data_dir: Path) -> None:
    # digits (0..16) rescaled to 0..255 pixels, fed without normalization (D5)
    frame = pd.read_csv(data_dir / "digits.csv")
    pixels = [c for c in frame.columns if c.startswith("px")]
    frame[pixels] = (frame[pixels] * 255 / 16).round()
    frame.to_csv(tmp_path / "digits255.csv", index=False)
    recipe = wine_recipe(
        tmp_path,
        data={"train": str(tmp_path / "digits255.csv"), "target": "label", "normalize": "none"},
        model={"hidden": [32], "activation": "tanh", "init": "xavier"},
    )
    res = _cli(tmp_path, recipe, "skeleton.init_scale")
    scale = check_by_id(res, "skeleton.init_scale")
    assert scale["status"] == "fail"
    assert "inputs look un-normalized" in " ".join(scale["metrics"]["findings"])
    assert scale["metrics"]["input_max"] == 255
    assert "saturated" in scale["message"]


def test_cli_imbalance_1_to_20_with_zero_bias(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "breast_cancer.csv")
    kept = pd.concat([frame[frame.label == 1], frame[frame.label == 0].head(18)])
    kept.to_csv(tmp_path / "imbalanced.csv", index=False)
    data = {"train": str(tmp_path / "imbalanced.csv"), "target": "label"}
    recipe = wine_recipe(tmp_path, data=data, model={"output_bias": "zero", "hidden": [16]})
    res = _cli(tmp_path, recipe, "skeleton.output_bias", "skeleton.init_loss")
    bias = check_by_id(res, "skeleton.output_bias")
    assert bias["status"] == "fail"
    p = np.asarray(bias["metrics"]["prior"])
    assert 15 < p.max() / p.min() < 25  # the injected ~1:20
    h = -np.sum(p * np.log(p))
    assert bias["metrics"]["bias_cost"] == pytest.approx(math.log(2) - h, rel=1e-6)
    assert bias["metrics"]["bias_cost_rel"] > 2
    assert f"1:{p.max() / p.min():.3g}" in bias["message"]
    assert "output_bias: prior" in bias["hint"]
    init = check_by_id(res, "skeleton.init_loss")
    assert init["status"] == "warn" and "prior-initialized output bias" in init["message"]
    # with the prior bias both are quiet
    recipe["model"]["output_bias"] = "prior"
    res = _cli(tmp_path, recipe, "skeleton.output_bias", "skeleton.init_loss")
    assert check_by_id(res, "skeleton.output_bias")["status"] == "pass"
    assert check_by_id(res, "skeleton.init_loss")["status"] == "pass"


def test_cli_regression_bias_at_the_target_mean(tmp_path: Path, data_dir: Path) -> None:
    data = {
        "train": str(data_dir / "diabetes.csv"),
        "target": "target",
        "task": "regression",
    }
    model = {"hidden": [16], "loss": "mse"}
    res = _cli(tmp_path, wine_recipe(tmp_path, data=data, model=model))
    for check_id in MINE:
        check = check_by_id(res, check_id)
        assert check["status"] == "pass", (check_id, check["message"])
    recipe = wine_recipe(tmp_path, data=data, model={**model, "output_bias": "zero"})
    res = _cli(tmp_path, recipe, "skeleton.output_bias")
    bias = check_by_id(res, "skeleton.output_bias")
    assert bias["status"] == "fail" and "far from the target mean" in bias["message"]
    m = bias["metrics"]
    assert m["bias_cost_rel"] == pytest.approx(m["target_mean"] ** 2 / m["target_std"] ** 2)


@pytest.mark.slow
def test_mnist_skeleton_checks_pass_and_stay_fast(tmp_path: Path) -> None:
    proc = run_cli(
        "run",
        str(ROOT / "recipes" / "mnist.yaml"),
        "--quiet",
        "--only",
        *MINE,
        "--report-dir",
        str(tmp_path / "report"),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = read_results(tmp_path / "report")
    total = 0.0
    for check_id in MINE:
        check = check_by_id(res, check_id)
        assert check["status"] == "pass", (check_id, check["message"])
        total += check["duration_s"]
    assert total < 10  # ~1 s on an idle 2-core machine; generous for a loaded CI runner


@pytest.mark.parametrize("scale, warned", [(1, False), (100, True)])
def test_a_regression_target_far_beyond_the_outputs_scale_warns(
    tmp_path: Path, data_dir: Path, scale: int, warned: bool
) -> None:
    # diabetes (target std 77) is healthy; in hundredths (std 7.7e3) its net would spend
    # its first thousands of steps growing the output weights
    df = pd.read_csv(data_dir / "diabetes.csv")
    df["target"] = df["target"] * scale
    df.to_csv(tmp_path / "diabetes.csv", index=False)
    recipe = {
        "data": {"train": str(tmp_path / "diabetes.csv"), "target": "target"},
        "model": {"hidden": [32], "activation": "relu", "init": "he"},
        "train": {"lr": 0.01},
        "report": {"dir": str(tmp_path / "report")},
    }
    proc = run_cli(
        "run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", "skeleton.init_scale"
    )
    check = check_by_id(read_results(tmp_path / "report"), "skeleton.init_scale")
    assert (check["status"] == "warn") is warned, check["message"]
    assert (
        "target is far larger than what the untrained net outputs" in check["message"]
    ) is warned
    if warned:
        assert "Standardize the target" in check["hint"] and proc.returncode == 0
