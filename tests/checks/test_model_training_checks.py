"""The trained-model checks as a user meets them: skeleton.input_independent,
skeleton.dumb_baseline, overfit.one_batch, overfit.loss_decreases, evaluate.full_test_set
and evaluate.human_baseline.

Bugs that live in the data or the recipe (M1, M2, D4, D8) are injected through files and
recipes and run through the CLI; bugs that live in model code (M4, M7) through small engine
doubles in a directly built Context.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nncheck.checks import _stats
from nncheck.checks._trainings import best_constant_outputs, main_training, zeroed_training
from nncheck.checks.context import Context
from nncheck.checks.registry import load_all
from nncheck.checks.runner import run_checks
from nncheck.data.build import load_dataset
from nncheck.engines import engine_config, engine_factory
from nncheck.engines.base import EngineConfig, Gradients, TrainCurve
from nncheck.engines.numpy_mlp import NumpyMLP
from nncheck.engines.optim import make_optimizer
from nncheck.recipe.load import parse_recipe
from tests.conftest import ROOT, WINE, read_results, run_cli, wine_recipe, write_recipe

MINE = [
    "skeleton.input_independent",
    "skeleton.dumb_baseline",
    "overfit.one_batch",
    "overfit.loss_decreases",
    "evaluate.full_test_set",
    "evaluate.human_baseline",
]


def _run(tmp_path: Path, recipe: dict[str, Any], *ids: str) -> dict[str, dict[str, Any]]:
    path = write_recipe(tmp_path, recipe)
    proc = run_cli("run", str(path), "--quiet", "--only", *(ids or MINE))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    res = read_results(Path(recipe["report"]["dir"]))
    return {c["id"]: c for c in res["checks"]}


def _starter_recipe(tmp_path: Path, csv: Path, target: str, task: str) -> dict[str, Any]:
    """What `nncheck init` writes for a csv: the healthy reference setup."""
    return {
        "name": csv.stem,
        "seed": 0,
        "data": {"train": str(csv), "target": target, "test": {"fraction": 0.2}, "task": task},
        "model": {"hidden": [64], "activation": "relu", "init": "he", "output_bias": "prior"},
        "train": {"optimizer": "adam", "lr": 0.001, "batch_size": 64, "steps": 500},
        "report": {"dir": str(tmp_path / "report")},
    }


def _context(recipe: dict[str, Any], factory: Any = None) -> Context:
    parsed = parse_recipe(recipe, base_dir=ROOT)
    ds = load_dataset(parsed.data, parsed.seed)
    return Context(parsed, ds, engine_config(parsed, ds), factory or engine_factory(parsed))


def _run_in(ctx: Context, *ids: str) -> dict[str, Any]:
    specs = load_all()
    out = run_checks(ctx, [specs[i] for i in ids], {})
    return {r.id: r for r in out}


# --------------------------------------------------------------------------- healthy


def test_healthy_wine_passes_every_training_check_with_numbers(tmp_path: Path) -> None:
    checks = _run(tmp_path, wine_recipe(tmp_path))
    for check_id in MINE[:-1]:
        assert checks[check_id]["status"] == "pass", checks[check_id]["message"]
    assert checks["evaluate.human_baseline"]["status"] == "skip"  # no second annotation
    ev = checks["evaluate.full_test_set"]["metrics"]
    assert ev["n_test"] == 44  # the whole test set (25% of 178), never a batch
    lo, hi = ev["accuracy_ci"]
    assert lo < ev["accuracy"] <= hi and ev["accuracy"] > 0.9
    assert lo > ev["majority_accuracy"]
    assert "confusion" in checks["evaluate.full_test_set"]["artifacts"]
    ii = checks["skeleton.input_independent"]["metrics"]
    assert ii["loss_gain"] > 0.5 and ii["zeroed_accuracy"] == pytest.approx(17 / 44)
    dumb = checks["skeleton.dumb_baseline"]["metrics"]
    assert dumb["majority_accuracy"] == pytest.approx(17 / 44)  # class 1: 71 of 178
    assert "39%" in checks["skeleton.dumb_baseline"]["message"]
    ld = checks["overfit.loss_decreases"]["metrics"]
    assert ld["relative_drop"] > 0.9 and ld["steps"] == 500


@pytest.mark.parametrize(
    ("name", "target", "task"),
    [
        ("breast_cancer", "label", "classification"),
        ("digits", "label", "classification"),
        ("diabetes", "target", "regression"),
    ],
)
def test_healthy_datasets_pass(
    tmp_path: Path, data_dir: Path, name: str, target: str, task: str
) -> None:
    recipe = _starter_recipe(tmp_path, data_dir / f"{name}.csv", target, task)
    checks = _run(tmp_path, recipe)
    for check_id in MINE[:-1]:
        assert checks[check_id]["status"] == "pass", (check_id, checks[check_id]["message"])
    if task == "regression":
        ev = checks["evaluate.full_test_set"]["metrics"]
        assert 0.2 < ev["r2"] < 0.8 and ev["mse"] < ev["baseline_mse"]
        assert "R²" in checks["evaluate.full_test_set"]["message"]


# --------------------------------------------------------------------------- no contradictions


def test_init_std_10_loss_and_accuracy_disagree_and_every_check_says_so(tmp_path: Path) -> None:
    # wine with init_std 10: 59% accurate, but a test loss 3-4x the constant predictor's
    recipe = wine_recipe(tmp_path, model={"init": "normal", "init_std": 10.0})
    checks = _run(tmp_path, recipe, *MINE[:-1])
    ii = checks["skeleton.input_independent"]
    assert ii["status"] == "warn", ii["message"]
    assert ii["message"].startswith(
        "the accuracy says real inputs help but the test loss says they hurt: accuracy"
    )
    m = ii["metrics"]
    assert m["loss_and_accuracy_disagree"] and m["real_test_loss"] > m["zeroed_test_loss"]
    assert m["real_accuracy"] > m["zeroed_accuracy"]
    ld = checks["overfit.loss_decreases"]
    assert ld["status"] == "warn" and "ends worse than a constant predictor" in ld["message"]
    assert ld["metrics"]["final_loss"] > ld["metrics"]["constant_predictor_loss"]
    ev = checks["evaluate.full_test_set"]
    assert ev["status"] == "warn" and "worse than a constant predictor" in ev["message"]
    ratio = ev["metrics"]["loss"] / ev["metrics"]["constant_predictor_loss"]
    assert f"{ratio:.2g}× the" in ev["message"]


def test_headline_leads_with_the_figure_the_verdict_rests_on(tmp_path: Path) -> None:
    checks = _run(tmp_path, wine_recipe(tmp_path), "skeleton.input_independent")
    ii = checks["skeleton.input_independent"]
    assert ii["status"] == "pass" and ii["metrics"]["verdict_rests_on"] == "loss"
    assert ii["message"].startswith("real inputs help: test loss")


def test_linear_model_at_100_percent_with_the_loss_still_falling_warns_crawled(
    tmp_path: Path,
) -> None:
    recipe = wine_recipe(tmp_path, seed=2, model={"hidden": []}, train={"lr": 0.001})
    path = write_recipe(tmp_path, recipe)
    proc = run_cli("run", str(path), "--quiet", "--only", "overfit.one_batch")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a warning, not a failure
    check = read_results(tmp_path / "report")["checks"]
    one = next(c for c in check if c["id"] == "overfit.one_batch")
    assert one["status"] == "warn" and one["message"].startswith("crawled: 8 samples at 100%")
    m = one["metrics"]
    assert m["failure_mode"] == "crawled" and m["train_accuracy"] == 1.0
    assert m["target_loss"] < m["final_loss"] < m["initial_loss"]


# --------------------------------------------------------------------------- M1, M2


def test_m2_lr_zero_fails_both_overfit_checks(tmp_path: Path) -> None:
    checks = _run(
        tmp_path,
        wine_recipe(tmp_path, train={"lr": 0.0}),
        "overfit.one_batch",
        "overfit.loss_decreases",
    )
    one, dec = checks["overfit.one_batch"], checks["overfit.loss_decreases"]
    assert one["status"] == "fail" and one["metrics"]["failure_mode"] == "stalled"
    assert dec["status"] == "fail" and "did not decrease" in dec["message"]
    assert dec["metrics"]["relative_drop"] == 0.0  # lr 0: the parameters never move
    assert "adam lr 0," in dec["message"] and "learning rate" in dec["hint"]


def test_m1_lr_far_too_high_fails_loss_decreases_as_diverged(tmp_path: Path) -> None:
    checks = _run(tmp_path, wine_recipe(tmp_path, train={"lr": 10.0}), "overfit.loss_decreases")
    dec = checks["overfit.loss_decreases"]
    assert dec["status"] == "fail" and "diverged" in dec["message"]
    m = dec["metrics"]
    assert m["final_loss"] > 2 * m["initial_loss"]
    assert f"{m['initial_loss']:.3g} -> {m['final_loss']:.3g}" in dec["message"]
    assert "lower" in dec["hint"].lower()


def test_m1_sgd_lr_100_fails_both_overfit_checks(tmp_path: Path) -> None:
    recipe = wine_recipe(
        tmp_path, model={"activation": "relu"}, train={"optimizer": "sgd", "lr": 100.0}
    )
    checks = _run(tmp_path, recipe, "overfit.one_batch", "overfit.loss_decreases")
    assert checks["overfit.one_batch"]["metrics"]["failure_mode"] in ("nan", "diverged")
    dec = checks["overfit.loss_decreases"]
    assert dec["status"] == "fail"
    assert "NaN" in dec["message"] or "diverged" in dec["message"]


# --------------------------------------------------------------------------- D4, D8


def _wine_variant(tmp_path: Path, change: str) -> Path:
    df = pd.read_csv(WINE)
    if change == "shuffle":
        df["label"] = np.random.default_rng(0).permutation(df["label"].to_numpy())
    elif change == "zero":
        features = [c for c in df.columns if c != "label"]
        df[features] = 0  # e.g. uint8 // 255
    path = tmp_path / f"wine_{change}.csv"
    df.to_csv(path, index=False)
    return path


def test_d4_shuffled_labels_fail_input_independent_and_evaluate(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, data={"train": str(_wine_variant(tmp_path, "shuffle"))})
    checks = _run(tmp_path, recipe, "skeleton.input_independent", "evaluate.full_test_set")
    ii = checks["skeleton.input_independent"]
    assert ii["status"] == "fail"
    assert "fits the training labels better than zeros" in ii["message"]
    assert "misaligned" in ii["hint"] or "belong to their inputs" in ii["hint"]
    assert ii["metrics"]["loss_gain"] < 0  # real inputs make the test loss *worse*
    ev = checks["evaluate.full_test_set"]
    assert ev["status"] == "fail" and "majority class" in ev["message"]
    assert ev["metrics"]["accuracy_ci"][0] <= ev["metrics"]["majority_accuracy"]


def test_d4_shuffled_digits_fail_input_independent(tmp_path: Path, data_dir: Path) -> None:
    df = pd.read_csv(data_dir / "digits.csv")
    df["label"] = np.random.default_rng(1).permutation(df["label"].to_numpy())
    df.to_csv(tmp_path / "digits.csv", index=False)
    recipe = _starter_recipe(tmp_path, tmp_path / "digits.csv", "label", "classification")
    checks = _run(tmp_path, recipe, "skeleton.input_independent", "evaluate.full_test_set")
    assert checks["skeleton.input_independent"]["status"] == "fail"
    assert checks["evaluate.full_test_set"]["status"] == "fail"
    acc = checks["evaluate.full_test_set"]["metrics"]["accuracy"]
    assert acc < 0.2  # chance is 10%


def test_d8_wiped_inputs_fail_input_independent(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, data={"train": str(_wine_variant(tmp_path, "zero"))})
    checks = _run(tmp_path, recipe, "skeleton.input_independent", "overfit.one_batch")
    ii = checks["skeleton.input_independent"]
    assert ii["status"] == "fail"
    assert "training inputs are constant" in ii["message"] and "134 samples" in ii["message"]
    assert ii["metrics"]["loss_gain"] == 0.0  # real and zeroed runs are the same run
    assert "(+0.0% ± 0.0%)" in ii["message"]
    assert "division" in ii["hint"]
    one = checks["overfit.one_batch"]
    assert one["status"] == "fail" and "only 1 distinct input among the 8" in one["message"]


# --------------------------------------------------------------------------- engine doubles


class IgnoresInput:
    """M7: a model whose forward pass uses a zero buffer instead of x."""

    def __init__(self, config: EngineConfig, seed: int) -> None:
        self.inner = NumpyMLP(config, seed)
        self.config = config

    def _z(self, x: np.ndarray) -> np.ndarray:
        return np.zeros_like(x)

    def reset(self, seed: int) -> None:
        self.inner.reset(seed)

    def forward(self, x: np.ndarray, *, activations: bool = False) -> Any:
        return self.inner.forward(self._z(x), activations=activations)

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.inner.loss(self._z(x), y)

    def gradients(self, x: np.ndarray, y: np.ndarray, **kw: Any) -> Gradients:
        return self.inner.gradients(self._z(x), y, **kw)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        return self.inner.step(self._z(x), y)

    def train(self, x: np.ndarray, y: np.ndarray, **kw: Any) -> TrainCurve:
        return self.inner.train(self._z(x), y, **kw)

    def parameters(self) -> dict[str, np.ndarray]:
        return self.inner.parameters()

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        self.inner.set_parameters(params)

    def state(self) -> dict[str, Any]:
        return self.inner.state()

    def restore(self, state: dict[str, Any]) -> None:
        self.inner.restore(state)

    def astype(self, dtype: Any) -> IgnoresInput:
        return self


def test_m7_model_that_ignores_its_input_fails_input_independent() -> None:
    recipe = {"data": {"train": str(WINE), "target": "label"}, "train": {"lr": 0.01}}
    ctx = _context(recipe, factory=IgnoresInput)
    res = _run_in(ctx, "skeleton.input_independent", "evaluate.full_test_set")
    ii = res["skeleton.input_independent"]
    assert ii.status == "fail"
    assert "outputs are the same for every test sample" in ii.message
    assert ii.metrics["output_spread"] == 0.0 and ii.metrics["input_spread"] > 0.5
    assert "does not use its input" in ii.hint
    assert res["evaluate.full_test_set"].status == "fail"


class SoftmaxTwice:
    """M4: softmax regression whose forward already applies softmax, so the loss (softmax
    cross-entropy) applies it a second time; backprop through both is exact."""

    def __init__(self, config: EngineConfig, seed: int) -> None:
        self.config = config
        self.reset(seed)

    def reset(self, seed: int) -> None:
        d, k = int(np.prod(self.config.input_shape)), self.config.n_outputs
        rng = np.random.default_rng(seed)
        self.params = {
            "w": (rng.standard_normal((d, k)) * np.sqrt(1 / d)).astype(np.float32),
            "b": np.zeros(k, np.float32),
        }
        self.opt = make_optimizer(self.config.optimizer, self.params, self.config.lr)

    @staticmethod
    def _softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def forward(self, x: np.ndarray, *, activations: bool = False) -> Any:
        return self._softmax(x.reshape(len(x), -1) @ self.params["w"] + self.params["b"])

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        q = self._softmax(self.forward(x))
        return float(-np.mean(np.log(q[np.arange(len(y)), y])))

    def gradients(self, x: np.ndarray, y: np.ndarray, **kw: Any) -> Gradients:
        x2 = x.reshape(len(x), -1)
        p = self.forward(x)
        q = self._softmax(p)
        dp = q.copy()
        dp[np.arange(len(y)), y] -= 1
        dp /= len(y)
        dz = p * (dp - np.sum(dp * p, axis=1, keepdims=True))
        loss = float(-np.mean(np.log(q[np.arange(len(y)), y])))
        return Gradients(loss, {"w": (x2.T @ dz).astype(np.float32), "b": dz.sum(0)})

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        g = self.gradients(x, y)
        self.opt.step({k: v.astype(np.float32) for k, v in g.params.items()})
        return g.loss

    def train(self, x: np.ndarray, y: np.ndarray, **kw: Any) -> TrainCurve:
        raise NotImplementedError

    def parameters(self) -> dict[str, np.ndarray]:
        return self.params

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        for k, v in params.items():
            self.params[k][...] = v

    def state(self) -> dict[str, Any]:
        return {k: v.copy() for k, v in self.params.items()}

    def restore(self, state: dict[str, Any]) -> None:
        self.set_parameters(state)

    def astype(self, dtype: Any) -> SoftmaxTwice:
        return self


def test_m4_softmax_twice_plateaus_in_overfit_one_batch() -> None:
    recipe = {"data": {"train": str(WINE), "target": "label"}, "train": {"lr": 0.1}}
    ctx = _context(recipe, factory=SoftmaxTwice)
    one = _run_in(ctx, "overfit.one_batch")["overfit.one_batch"]
    assert one.status == "fail"
    assert one.metrics["failure_mode"] == "plateaued"
    floor = math.log(1 + 2 / math.e)  # CE of softmax(one-hot) for 3 classes: 0.551
    assert one.metrics["final_loss"] == pytest.approx(floor, abs=0.05)
    assert "plateaued" in one.message and "softmax applied twice" in one.hint


# --------------------------------------------------------------------------- shared training


def test_one_training_serves_three_checks_and_matches_a_plain_run() -> None:
    calls = []

    def counting(config: EngineConfig, seed: int) -> NumpyMLP:
        engine = NumpyMLP(config, seed)
        train = engine.train

        def counted(*a: Any, **kw: Any) -> TrainCurve:
            calls.append(kw["steps"])
            return train(*a, **kw)

        engine.train = counted  # type: ignore[method-assign]
        return engine

    recipe = {"data": {"train": str(WINE), "target": "label"}, "train": {"steps": 200}}
    ctx = _context(recipe, factory=counting)
    res = _run_in(
        ctx, "skeleton.input_independent", "overfit.loss_decreases", "evaluate.full_test_set"
    )
    assert all(r.status == "pass" for r in res.values()), {k: r.message for k, r in res.items()}
    # the main training, once; its zeroed twin is not trained: the real inputs clearly beat
    # even the best constant for the test labels, which bounds what the twin can reach
    assert calls == [200]
    assert "twin was not trained" in res["skeleton.input_independent"].message
    run = main_training(ctx)
    # evaluating along the way (monitor losses, fixed-batch predictions) changes nothing
    plain = NumpyMLP(ctx.engine_config, ctx.seed).train(
        ctx.dataset.train.x, ctx.dataset.train.y, steps=200, batch_size=32, seed=ctx.seed
    )
    assert run.curve.loss == plain.loss
    assert run.eval_steps == [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200]
    assert run.fixed_outputs[0].shape == (5, 3)
    zero = zeroed_training(ctx)
    assert calls == [200, 200]  # asked for, the twin trains with the recipe's schedule
    assert np.ptp(zero.test_outputs, axis=0).max() == 0.0  # zeros in, one answer out
    bound = _stats.per_sample_loss(
        best_constant_outputs(ctx), ctx.dataset.test.y, "cross_entropy", "classification"
    ).mean()
    twin = _stats.per_sample_loss(
        zero.test_outputs, ctx.dataset.test.y, "cross_entropy", "classification"
    ).mean()
    assert twin >= bound  # the bound the shortcut relies on holds for the real twin
    curves = res["overfit.loss_decreases"].artifacts["curves"]
    assert any(name.startswith("prediction dynamics") for name in curves)


def test_evaluate_reports_whole_test_set_tables_and_confusion() -> None:
    ctx = _context({"data": {"train": str(WINE), "target": "label"}, "train": {"lr": 0.01}})
    ev = _run_in(ctx, "evaluate.full_test_set")["evaluate.full_test_set"]
    n = len(ctx.dataset.test)
    cm = np.array(ev.artifacts["confusion"]["matrix"])
    assert cm.shape == (3, 3) and cm.sum() == n
    assert ev.artifacts["confusion"]["labels"] == ["0", "1", "2"]
    assert np.trace(cm) / n == pytest.approx(ev.metrics["accuracy"])
    assert cm.sum(axis=1).tolist() == np.bincount(ctx.dataset.test.y, minlength=3).tolist()
    table = ev.artifacts["tables"]["per-class metrics (test set)"]
    assert table["columns"] == [
        "class",
        "support",
        "precision",
        "precision 95% CI",
        "recall",
        "recall 95% CI",
        "F1",
    ]
    assert [row[1] for row in table["rows"]] == cm.sum(axis=1).tolist()
    for row in table["rows"]:  # each rate lies inside its Wilson interval
        for rate, interval in ((row[2], row[3]), (row[4], row[5])):
            lo, hi = (float(v) for v in interval.split("-"))
            assert lo - 1e-3 <= rate <= hi + 1e-3
    for name, pc in ev.metrics["per_class"].items():
        c = int(name)
        assert pc["recall"] == pytest.approx(cm[c, c] / cm[c].sum())
    # the loss's standard error matches the engine's own loss
    run = main_training(ctx)
    engine_loss = run.engine.loss(ctx.dataset.test.x, ctx.dataset.test.y)
    assert ev.metrics["loss"] == pytest.approx(engine_loss, rel=1e-4)


# --------------------------------------------------------------------------- human baseline


def test_human_baseline_agreement_matches_injected_disagreement(tmp_path: Path) -> None:
    df = pd.read_csv(WINE)
    rng = np.random.default_rng(3)
    flip = rng.choice(len(df), size=18, replace=False)  # ~10% of 178
    second = df["label"].to_numpy().copy()
    second[flip] = (second[flip] + 1) % 3
    df["label_b"] = second
    df.to_csv(tmp_path / "wine_b.csv", index=False)
    recipe = wine_recipe(
        tmp_path, data={"train": str(tmp_path / "wine_b.csv"), "second_annotation": "label_b"}
    )
    checks = _run(tmp_path, recipe, "evaluate.full_test_set", "evaluate.human_baseline")
    hb = checks["evaluate.human_baseline"]
    assert hb["status"] == "pass", hb["message"]
    m = hb["metrics"]
    assert m["n_compared"] == 178 and m["agreement"] == pytest.approx(160 / 178)
    lo, hi = m["agreement_ci"]
    assert lo < 0.9 < hi
    assert 0.7 < m["kappa"] < 0.95
    assert "90% (95% CI" in hb["message"] and "of 178 samples" in hb["message"]
    assert m["model_accuracy"] == checks["evaluate.full_test_set"]["metrics"]["accuracy"]
    assert "model" in hb["message"]
    assert {e["row"] for e in hb["examples"]} <= set(flip.tolist())


def test_human_baseline_warns_on_a_copy_of_the_labels(tmp_path: Path) -> None:
    df = pd.read_csv(WINE)
    df["label_copy"] = df["label"]
    df.to_csv(tmp_path / "wine_c.csv", index=False)
    recipe = wine_recipe(
        tmp_path, data={"train": str(tmp_path / "wine_c.csv"), "second_annotation": "label_copy"}
    )
    hb = _run(tmp_path, recipe, "evaluate.human_baseline")["evaluate.human_baseline"]
    assert hb["status"] == "warn" and "identical to the labels on all 178" in hb["message"]


# --------------------------------------------------------------------------- statistics


def test_wilson_interval_and_significant_digits() -> None:
    lo, hi = _stats.wilson(9731, 10000)
    # the roots of (0.9731 - p)^2 = z^2 p (1 - p) / n
    assert (lo, hi) == pytest.approx((0.969743, 0.976094), abs=1e-6)
    assert _stats.fmt_pct(0.9731, lo, hi) == "97.3% (95% CI 97.0-97.6%)"
    lo, hi = _stats.wilson(43, 44)
    assert _stats.fmt_pct(43 / 44, lo, hi).startswith("98% (95% CI 88-100%)")
    assert _stats.wilson(0, 10)[0] == 0.0 and _stats.wilson(10, 10)[1] == pytest.approx(1.0)
    assert _stats.fmt_pm(0.08913, 0.0041) == "0.089 ± 0.004"
    assert _stats.fmt_pm(3212.0, 290.0) == "3200 ± 300"
    assert _stats.significant_digits(0.9731, 0.0032) == 3


def test_per_sample_loss_matches_the_engine() -> None:
    for task, loss in (("classification", "cross_entropy"), ("classification", "mse")):
        cfg = EngineConfig(input_shape=(4,), n_outputs=3, task=task, loss=loss, hidden=(5,))
        engine = NumpyMLP(cfg, 0)
        x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
        y = np.arange(32) % 3
        ours = _stats.per_sample_loss(engine.forward(x), y, loss, task).mean()
        assert ours == pytest.approx(engine.loss(x, y), rel=1e-5)
    cfg = EngineConfig(input_shape=(4,), n_outputs=1, task="regression", loss="mse")
    engine = NumpyMLP(cfg, 0)
    yr = np.linspace(-1, 1, 32).astype(np.float32)
    ours = _stats.per_sample_loss(engine.forward(x), yr, "mse", "regression").mean()
    assert ours == pytest.approx(engine.loss(x, yr), rel=1e-5)


@pytest.mark.slow
def test_mnist_passes_every_training_check_quickly(tmp_path: Path) -> None:
    import time

    recipe: dict[str, Any] = {
        **__import__("yaml").safe_load((ROOT / "recipes" / "mnist.yaml").read_text()),
        "report": {"dir": str(tmp_path / "report")},
    }
    for split in ("train", "test"):
        for key in ("images", "labels"):
            recipe["data"][split][key] = str(ROOT / "recipes" / recipe["data"][split][key])
    start = time.perf_counter()
    checks = _run(tmp_path, recipe)
    assert time.perf_counter() - start < 60
    for check_id in MINE[:-1]:
        assert checks[check_id]["status"] == "pass", (check_id, checks[check_id]["message"])
    ev = checks["evaluate.full_test_set"]["metrics"]
    assert ev["n_test"] == 10000 and ev["accuracy"] > 0.95
    assert ev["accuracy_significant_digits"] == 3  # e.g. 96.7%, not 96.71%


def test_human_baseline_for_regression_reports_mse_and_correlation(
    tmp_path: Path, data_dir: Path
) -> None:
    df = pd.read_csv(data_dir / "diabetes.csv")
    df["target_b"] = df["target"] + np.random.default_rng(0).normal(0.0, 20.0, len(df))
    df.to_csv(tmp_path / "diabetes_b.csv", index=False)
    recipe = _starter_recipe(tmp_path, tmp_path / "diabetes_b.csv", "target", "regression")
    recipe["data"]["second_annotation"] = "target_b"
    ctx = _context(recipe)
    hb = _run_in(ctx, "evaluate.human_baseline")["evaluate.human_baseline"]
    assert hb.status == "pass", hb.message
    assert hb.metrics["n_compared"] == 442
    assert hb.metrics["mse"] == pytest.approx(400, rel=0.2)  # noise std 20
    assert hb.metrics["correlation"] > 0.95
    assert "MSE" in hb.message and "correlation" in hb.message


def test_a_test_set_too_small_for_any_model_to_pass_warns_instead_of_failing(
    tmp_path: Path,
) -> None:
    # statsmodels' spector shape: 32 rows, 6 of them test, 2 in 3 of one class. Even 6 of 6
    # right has a Wilson lower bound (61%) below the majority's 67%: no model could pass.
    rng = np.random.default_rng(0)
    n = 32
    y = (np.arange(n) % 3 == 0).astype(int)
    df = pd.DataFrame({"gpa": y + rng.normal(0, 0.3, n), "tuce": rng.normal(20, 3, n), "y": y})
    df.to_csv(tmp_path / "small.csv", index=False)
    recipe = _starter_recipe(tmp_path, tmp_path / "small.csv", "y", "classification")
    ev = _run(tmp_path, recipe, "evaluate.full_test_set")["evaluate.full_test_set"]
    assert ev["metrics"]["n_test"] <= 8
    assert ev["status"] == "warn" and ev["metrics"]["test_set_too_small"] is True
    assert "too small to show a gain over the majority class" in ev["message"]
    assert "even 100% accuracy on" in ev["message"] and "data.test.fraction" in ev["hint"]
