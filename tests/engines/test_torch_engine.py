"""Tests for the torch engine: the user's nn.Module behind the Engine protocol.

Models are written as a small module into a temporary folder and named by a factory
string, exactly as a recipe names them, so factory resolution is exercised everywhere.
Gradients are checked against central finite differences (float64 copy) and against
``torch.autograd.gradcheck``; errors are checked through the CLI (exit 2, the cause in the
message); the bundled wine recipes are compared across the two engines.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402, N812

from nncheck.cli import main as cli_main  # noqa: E402
from nncheck.engines.base import Engine, EngineConfig, Gradients, TrainCurve  # noqa: E402
from nncheck.engines.torch_engine import TorchEngine  # noqa: E402
from nncheck.errors import UsageError  # noqa: E402
from tests.conftest import (  # noqa: E402
    ROOT,
    check_by_id,
    read_results,
    run_cli,
    wine_recipe,
    write_recipe,
)

MODELS = """
import math
import warnings

import torch
from torch import nn


def mlp(input_shape, n_outputs, hidden=(6,), act="tanh"):
    acts = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
    layers, fan_in = [nn.Flatten()], math.prod(input_shape)
    for h in hidden:
        layers += [nn.Linear(fan_in, h), acts[act]()]
        fan_in = h
    layers.append(nn.Linear(fan_in, n_outputs))
    return nn.Sequential(*layers)


def cnn(input_shape, n_outputs):
    c, h, w = input_shape
    return nn.Sequential(
        nn.Conv2d(c, 3, 3, padding=1), nn.ReLU(inplace=True), nn.Flatten(),
        nn.Linear(3 * h * w, n_outputs),
    )


class ViewingCNN(nn.Module):
    def __init__(self, c, h, w, k):
        super().__init__()
        self.conv = nn.Conv2d(c, 4, 3, padding=1)
        self.fc = nn.Linear(4 * h * w, k)

    def forward(self, x):
        z = torch.relu(self.conv(x))
        return self.fc(z.view(z.shape[0], -1))  # .view needs the standard memory order


def viewing_cnn(input_shape, n_outputs):
    return ViewingCNN(*input_shape, n_outputs)


def bn_mlp(input_shape, n_outputs):
    d = math.prod(input_shape)
    return nn.Sequential(nn.Linear(d, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, n_outputs))


def dropout_mlp(input_shape, n_outputs):
    d = math.prod(input_shape)
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, n_outputs))


class Pairs(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.k = k
        self.fc = nn.Linear(d, 2 * k)

    def forward(self, x):
        return self.fc(x).view(len(x), self.k, 2).sum(-1)


def no_final_linear(input_shape, n_outputs):
    return Pairs(math.prod(input_shape), n_outputs)


def no_bias(input_shape, n_outputs):
    return nn.Sequential(nn.Linear(math.prod(input_shape), n_outputs, bias=False))


def frozen_first(input_shape, n_outputs):
    model = mlp(input_shape, n_outputs)
    for p in model[1].parameters():
        p.requires_grad_(False)
    return model


class Warns(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.fc = nn.Linear(d, k)

    def forward(self, x):
        warnings.warn(
            "scatter_add_cuda_kernel does not have a deterministic implementation, but you "
            "set 'torch.use_deterministic_algorithms(True, warn_only=True)'"
        )
        return self.fc(x)


def warns(input_shape, n_outputs):
    return Warns(math.prod(input_shape), n_outputs)


class Doubled(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.fc = nn.Linear(d, k)

    def forward(self, x):
        return 2.0 * self.fc(x)


def doubled(input_shape, n_outputs):
    return Doubled(math.prod(input_shape), n_outputs)


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class BadSquare(Square):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -2 * x * g  # sign error


class SquareNet(nn.Module):
    def __init__(self, d, k, fn):
        super().__init__()
        self.fc1, self.fc2, self.fn = nn.Linear(d, 6), nn.Linear(6, k), fn

    def forward(self, x):
        return self.fc2(self.fn.apply(self.fc1(x)))


def square_net(input_shape, n_outputs):
    return SquareNet(math.prod(input_shape), n_outputs, Square)


def bad_square_net(input_shape, n_outputs):
    return SquareNet(math.prod(input_shape), n_outputs, BadSquare)


class Column(nn.Module):
    def __init__(self, d, k):
        super().__init__()
        self.fc = nn.Linear(d, k)

    def forward(self, x):
        return self.fc(x).unsqueeze(-1)


def column(input_shape, n_outputs):
    return Column(math.prod(input_shape), n_outputs)


def wrong_inputs(input_shape, n_outputs):
    return nn.Sequential(nn.Linear(math.prod(input_shape) + 1, n_outputs))


def _check_config(width):
    if width < 0:
        raise ValueError(f"width must be positive, got {width}")


def raises(input_shape, n_outputs, width=-1):
    _check_config(width)
    return mlp(input_shape, n_outputs)


def not_a_module(input_shape, n_outputs):
    return "a string"


NOT_CALLABLE = 3
"""

BROKEN_IMPORT = """
import math

VALUE = 1 / 0  # fails at import


def build(input_shape, n_outputs):
    return None
"""

MISSING_DEP = """
import not_a_real_package_nncheck  # noqa: F401


def build(input_shape, n_outputs):
    return None
"""

SYNTAX = "def build(input_shape, n_outputs)\n    return None\n"


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("user_models")
    (d / "tmodels.py").write_text(MODELS)
    return d


def make_config(
    models_dir: Path,
    factory: str = "mlp",
    *,
    input_shape: tuple[int, ...] = (5,),
    task: str = "classification",
    loss: str = "cross_entropy",
    kwargs: dict | None = None,
    **kw,
) -> EngineConfig:
    classification = task == "classification"
    base = dict(
        input_shape=input_shape,
        n_outputs=3 if classification else 1,
        task=task,
        loss=loss,
        prior=(0.5, 0.3, 0.2) if classification else (0.7,),
        lr=0.01,
        extra={
            "factory": f"tmodels:{factory}",
            "kwargs": kwargs or {},
            "device": "cpu",
            "recipe_dir": str(models_dir),
        },
    )
    base.update(kw)
    return EngineConfig(**base)


def make_data(
    n: int = 8, shape: tuple[int, ...] = (5,), task: str = "classification", seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    y = rng.integers(0, 3, n) if task == "classification" else rng.standard_normal(n)
    return x, y.astype(np.int64 if task == "classification" else np.float32)


def weighted_loss(eng: TorchEngine, x, y, w) -> float:
    return eng.loss(x, y) if w is None else eng.gradients(x, y, weights=w).loss


def assert_close(a, b, rtol: float, what: str, atol: float = 1e-10) -> None:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    err = np.abs(a - b) / (np.maximum(np.abs(a), np.abs(b)) + atol)
    assert np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + atol), (
        f"{what}: max rel err {err.max():.3g}\n{a}\n{b}"
    )


# ---- the protocol -----------------------------------------------------------------------


def test_engine_answers_the_protocol(models_dir: Path) -> None:
    eng = TorchEngine(make_config(models_dir), seed=0)
    assert isinstance(eng, Engine)
    x, y = make_data()
    out = eng.forward(x)
    assert isinstance(out, np.ndarray) and out.shape == (8, 3) and out.dtype == np.float32
    g = eng.gradients(x, y)
    assert isinstance(g, Gradients) and g.inputs is None
    assert set(g.params) == {"1.weight", "1.bias", "3.weight", "3.bias"}
    assert all(g.params[k].shape == v.shape for k, v in eng.parameters().items())
    curve = eng.train(x, y, steps=5, batch_size=4, seed=0)
    assert isinstance(curve, TrainCurve) and curve.steps == [0, 1, 2, 3, 4]
    assert len(curve.accuracy) == 5 and not curve.diverged


@pytest.mark.parametrize(
    ("factory", "task", "loss"),
    [
        ("mlp", "classification", "cross_entropy"),
        ("mlp", "classification", "mse"),
        ("mlp", "regression", "mse"),
        ("cnn", "classification", "cross_entropy"),
    ],
)
def test_gradients_match_finite_differences(models_dir, factory, task, loss) -> None:
    shape = (4, 4) if factory == "cnn" else (5,)
    eng = TorchEngine(
        make_config(models_dir, factory, input_shape=shape, task=task, loss=loss), seed=3
    ).astype(np.float64)
    x, y = make_data(6, shape, task)
    x = x.astype(np.float64)
    w = np.random.default_rng(1).uniform(0.2, 2.0, len(x))
    rng = np.random.default_rng(2)
    eps = 1e-6
    for weights in (None, w):
        g = eng.gradients(x, y, inputs=True, weights=weights)
        params = {k: v.copy() for k, v in eng.parameters().items()}
        for name, p in params.items():
            for flat in rng.choice(p.size, size=min(3, p.size), replace=False):
                idx = np.unravel_index(flat, p.shape)
                vals = []
                for sign in (1, -1):
                    q = p.copy()
                    q[idx] += sign * eps
                    eng.set_parameters({name: q})
                    vals.append(weighted_loss(eng, x, y, weights))
                eng.set_parameters({name: p})
                numeric = (vals[0] - vals[1]) / (2 * eps)
                assert_close(g.params[name][idx], numeric, 1e-5, f"{name}{idx}", atol=1e-9)
        assert g.inputs is not None and g.inputs.shape == x.shape  # dataset shape, no channel
        for flat in rng.choice(x.size, size=4, replace=False):
            idx = np.unravel_index(flat, x.shape)
            vals = []
            for sign in (1, -1):
                xx = x.copy()
                xx[idx] += sign * eps
                vals.append(weighted_loss(eng, xx, y, weights))
            assert_close(g.inputs[idx], (vals[0] - vals[1]) / (2 * eps), 1e-5, f"x{idx}", 1e-9)


@pytest.mark.parametrize("factory", ["mlp", "square_net"])
def test_gradients_agree_with_autograd_gradcheck(models_dir, factory) -> None:
    """``gradcheck`` validates the model's backward in float64 on a small batch, and the
    engine's gradients are exactly autograd's gradients of the same loss."""
    eng = TorchEngine(make_config(models_dir, factory), seed=1).astype(np.float64)
    x, y = make_data(4)
    x64 = x.astype(np.float64)
    names = list(eng.trainable)
    params = tuple(eng.trainable[n].detach().clone().requires_grad_(True) for n in names)
    xt, yt = torch.from_numpy(x64), torch.from_numpy(y)

    def loss_of(*ps):
        out = torch.func.functional_call(eng.model, dict(zip(names, ps)), (xt,))
        return F.cross_entropy(out, yt)

    assert torch.autograd.gradcheck(loss_of, params, eps=1e-6, atol=1e-7)
    expected = torch.autograd.grad(loss_of(*params), params)
    got = eng.gradients(x64, y).params
    for n, e in zip(names, expected):
        np.testing.assert_allclose(got[n], e.numpy(), rtol=1e-12, atol=1e-14)


def test_a_wrong_custom_backward_disagrees_with_finite_differences(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir, "bad_square_net"), seed=1).astype(np.float64)
    x, y = make_data(4)
    x = x.astype(np.float64)
    g = eng.gradients(x, y).params["fc1.bias"]
    p = eng.parameters()["fc1.bias"].copy()
    eps, numeric = 1e-6, np.zeros_like(p)
    for i in range(p.size):
        for sign in (1, -1):
            q = p.copy()
            q[i] += sign * eps
            eng.set_parameters({"fc1.bias": q})
            numeric[i] += sign * eng.loss(x, y) / (2 * eps)
    eng.set_parameters({"fc1.bias": p})
    assert np.allclose(g, -numeric, rtol=1e-5, atol=1e-9)  # exactly the sign error
    assert not np.allclose(g, numeric, rtol=1e-3)


def test_float32_is_float32_and_astype_is_independent(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir), seed=0)
    x, y = make_data()
    e64 = eng.astype(np.float64)
    assert e64.forward(x).dtype == np.float64
    assert all(v.dtype == np.float64 for v in e64.parameters().values())
    assert abs(e64.loss(x, y) - eng.loss(x, y)) < 1e-6
    before = {k: v.copy() for k, v in eng.parameters().items()}
    e64.train(x, y, steps=3, batch_size=4, seed=0)
    for k, v in eng.parameters().items():
        np.testing.assert_array_equal(v, before[k])


# ---- seeds, determinism, state ----------------------------------------------------------


@pytest.mark.parametrize("factory", ["mlp", "dropout_mlp", "bn_mlp"])
def test_same_seed_same_training_other_seed_differs(models_dir, factory) -> None:
    x, y = make_data(40)
    runs = []
    for seed in (0, 0, 1):
        eng = TorchEngine(make_config(models_dir, factory), seed=seed)
        curve = eng.train(x, y, steps=12, batch_size=8, seed=seed)
        runs.append((curve.loss, {k: v.copy() for k, v in eng.parameters().items()}))
    assert runs[0][0] == runs[1][0]
    for k in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][k], runs[1][1][k])
    assert runs[0][0] != runs[2][0]


def test_engine_leaves_the_global_generators_alone(models_dir) -> None:
    torch.manual_seed(123)
    np.random.seed(5)
    cpu, npstate = torch.get_rng_state(), np.random.get_state()[1].copy()
    eng = TorchEngine(make_config(models_dir, "dropout_mlp"), seed=0)
    x, y = make_data(16)
    eng.train(x, y, steps=3, batch_size=8, seed=0)
    eng.step(x, y)
    eng.gradients(x, y, inputs=True)
    eng.forward(x, activations=True)
    assert torch.equal(torch.get_rng_state(), cpu)
    np.testing.assert_array_equal(np.random.get_state()[1], npstate)


def test_dropout_is_seeded_per_step(models_dir) -> None:
    """Same seed: identical curves; another train seed (same init): other dropout masks."""
    x, y = make_data(32)
    curves = []
    for train_seed in (0, 0, 7):
        eng = TorchEngine(make_config(models_dir, "dropout_mlp"), seed=0)
        curves.append(eng.train(x, y, steps=1, batch_size=32, seed=train_seed).loss)
    assert curves[0] == curves[1] and curves[0] != curves[2]  # one batch = all: only masks


def test_state_restore_returns_exactly(models_dir) -> None:
    for factory in ("mlp", "bn_mlp"):
        eng = TorchEngine(make_config(models_dir, factory, optimizer="adam"), seed=0)
        x, y = make_data(24)
        eng.train(x, y, steps=4, batch_size=8, seed=0)
        saved = eng.state()
        a = eng.train(x, y, steps=6, batch_size=8, seed=1)
        after_a = {k: v.copy() for k, v in eng.parameters().items()}
        eng.restore(saved)
        b = eng.train(x, y, steps=6, batch_size=8, seed=1)
        assert a.loss == b.loss
        for k, v in eng.parameters().items():
            np.testing.assert_array_equal(v, after_a[k])
        eng.restore(saved)  # a state is reusable
        assert eng.train(x, y, steps=6, batch_size=8, seed=1).loss == a.loss
        assert eng.n_steps == 10


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
def test_optimizers_match_the_numpy_engines_hyperparameters(models_dir, optimizer) -> None:
    """Same network, same start, same batches: the torch engine and the numpy engine (whose
    optimizers follow torch.optim's formulas) take the same steps."""
    from nncheck.engines.numpy_mlp import NumpyMLP

    cfg = make_config(models_dir, optimizer=optimizer, hidden=(6,), activation="tanh")
    eng = TorchEngine(cfg, seed=0)
    ref = NumpyMLP(cfg, seed=0)
    params = eng.parameters()
    ref.set_parameters(
        {
            "layer0.weight": params["1.weight"].T,
            "layer0.bias": params["1.bias"],
            "layer1.weight": params["3.weight"].T,
            "layer1.bias": params["3.bias"],
        }
    )
    x, y = make_data(16)
    for _ in range(5):
        assert abs(eng.step(x, y) - ref.step(x, y)) < 1e-5
    assert_close(eng.parameters()["3.weight"].T, ref.parameters()["layer1.weight"], 1e-4, "W")


def test_train_stops_on_nan_with_diverged(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir, task="regression", loss="mse"), seed=0)
    x, y = make_data(16, task="regression")
    x[3, 0] = np.nan  # one bad sample, in the first (and only) batch of each epoch
    before = {k: v.copy() for k, v in eng.parameters().items()}
    curve = eng.train(x, y, steps=50, batch_size=16, seed=0)
    assert curve.diverged and len(curve.loss) == 1 and not np.isfinite(curve.loss[0])
    for k, v in eng.parameters().items():  # the NaN step was not applied
        np.testing.assert_array_equal(v, before[k])


# ---- shapes, activations, output bias ------------------------------------------------------


def test_images_get_a_channel_and_activations_are_per_layer(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir, "cnn", input_shape=(4, 4)), seed=0)
    assert eng.model_input_shape == (1, 4, 4)
    x, y = make_data(5, (4, 4))
    out, acts = eng.forward(x, activations=True)
    assert out.shape == (5, 3)
    assert [a.name for a in acts] == ["0 (Conv2d+ReLU)", "3 (Linear)"]
    conv = acts[0]
    assert conv.kind == "relu" and conv.pre is not None and conv.pre.shape == (5, 48)
    assert (conv.pre < 0).any() and (conv.post >= 0).all()  # in-place ReLU: pre kept
    np.testing.assert_array_equal(conv.post, np.maximum(conv.pre, 0))
    np.testing.assert_array_equal(acts[-1].post, out)
    g = eng.gradients(x, y, inputs=True)
    assert g.inputs is not None and g.inputs.shape == (5, 4, 4)


def test_activations_end_with_the_model_output(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir, "doubled"), seed=0)
    x, _ = make_data()
    out, acts = eng.forward(x, activations=True)
    assert [a.name for a in acts] == ["fc (Linear)", "output"]
    np.testing.assert_allclose(acts[0].post * 2, out, rtol=1e-6)
    np.testing.assert_array_equal(acts[-1].post, out)


@pytest.mark.parametrize(
    ("task", "loss", "bias", "expected"),
    [
        ("classification", "cross_entropy", "prior", np.log([0.5, 0.3, 0.2])),
        ("classification", "mse", "prior", [0.5, 0.3, 0.2]),
        ("classification", "cross_entropy", "zero", [0.0, 0.0, 0.0]),
        ("regression", "mse", "prior", [0.7]),
    ],
)
def test_output_bias_initialized_on_the_final_linear(models_dir, task, loss, bias, expected):
    eng = TorchEngine(make_config(models_dir, task=task, loss=loss, output_bias=bias), seed=0)
    assert eng.output_layer == "3" and eng.output_bias_problem is None
    np.testing.assert_allclose(eng.parameters()["3.bias"], expected, rtol=1e-6)


def test_loss_at_init_is_the_prior_entropy_when_outputs_are_the_bias(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir), seed=0)
    eng.set_parameters({"3.weight": np.zeros((3, 6), np.float32)})
    x, y = make_data(300)
    prior = np.array([0.5, 0.3, 0.2])
    expected = -np.mean(np.log(prior[y]))
    assert abs(eng.loss(x, y) - expected) < 1e-5


@pytest.mark.parametrize(
    ("factory", "problem"),
    [
        ("no_final_linear", "no final nn.Linear with 3 outputs found"),
        ("no_bias", "has no bias"),
    ],
)
def test_output_bias_problem_when_no_final_linear(models_dir, factory, problem) -> None:
    eng = TorchEngine(make_config(models_dir, factory), seed=0)
    assert eng.output_layer is None
    assert eng.output_bias_problem is not None and problem in eng.output_bias_problem


# ---- modes: BatchNorm and dropout ------------------------------------------------------------


def test_batchnorm_model_runs_eval_mode_without_side_effects(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir, "bn_mlp"), seed=0)
    assert eng.mixes_batch_in_train and eng.batch_mixing_modules == ["1"]
    assert any("BatchNorm mixes the samples" in n for n in eng.notes)
    assert eng.mode == "eval"
    x, y = make_data(16)
    buffers = {k: v.clone() for k, v in eng.model.state_dict().items()}
    eng.forward(x, activations=True)
    eng.loss(x, y)
    eng.gradients(x, y, inputs=True)
    with eng.train_mode():
        eng.gradients(x, y, inputs=True)
    for k, v in eng.model.state_dict().items():
        assert torch.equal(v, buffers[k]), k

    def leak(g: np.ndarray) -> float:
        norms = np.sqrt((g.reshape(len(g), -1) ** 2).sum(axis=1))
        return float(np.delete(norms, 0).max() / norms[0])

    w = np.zeros(16)
    w[0] = 1.0
    assert leak(eng.gradients(x, y, inputs=True, weights=w).inputs) == 0.0  # eval mode
    with eng.train_mode():
        assert eng.mode == "train"
        assert leak(eng.gradients(x, y, inputs=True, weights=w).inputs) > 1e-3  # batch stats
    assert eng.mode == "eval"
    # Training moves the running statistics, as it should.
    eng.train(x, y, steps=2, batch_size=8, seed=0)
    assert not torch.equal(eng.model.state_dict()["1.running_mean"], buffers["1.running_mean"])


def test_dropout_off_at_inference_and_consistent_in_train_mode(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir, "dropout_mlp"), seed=0)
    assert eng.stochastic_modules == ["2"] and not eng.mixes_batch_in_train
    x, y = make_data(16)
    np.testing.assert_array_equal(eng.forward(x), eng.forward(x))
    with eng.train_mode():
        # One dropout mask for the block: loss and gradients describe the same function.
        train_loss = eng.loss(x, y)
        assert train_loss == eng.gradients(x, y).loss
    assert eng.loss(x, y) != train_loss  # dropout was active in the block, not outside


def test_frozen_parameters_are_listed_but_get_no_gradient(models_dir) -> None:
    eng = TorchEngine(make_config(models_dir, "frozen_first"), seed=0)
    assert eng.frozen == ["1.weight", "1.bias"]
    assert set(eng.parameters()) == {"1.weight", "1.bias", "3.weight", "3.bias"}
    x, y = make_data()
    assert set(eng.gradients(x, y).params) == {"3.weight", "3.bias"}
    before = eng.parameters()["1.weight"].copy()
    eng.train(x, y, steps=3, batch_size=4, seed=0)
    np.testing.assert_array_equal(eng.parameters()["1.weight"], before)
    assert any("frozen" in n for n in eng.notes)


def test_non_deterministic_op_warnings_are_kept(models_dir) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the engine must capture, not leak, them
        eng = TorchEngine(make_config(models_dir, "warns"), seed=0)
    assert torch.are_deterministic_algorithms_enabled()
    assert eng.warnings and eng.warnings[0].startswith("non-deterministic op: scatter_add")
    assert TorchEngine(make_config(models_dir), seed=0).warnings == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU (torch.cuda.is_available)")
def test_cuda_matches_cpu(models_dir) -> None:
    x, y = make_data(16)
    cpu = TorchEngine(make_config(models_dir), seed=0)
    cfg = make_config(models_dir)
    gpu = TorchEngine(replace(cfg, extra={**cfg.extra, "device": "cuda"}), seed=0)
    assert gpu.device.type == "cuda"
    assert abs(gpu.loss(x, y) - cpu.loss(x, y)) < 1e-5
    a = gpu.train(x, y, steps=5, batch_size=8, seed=0)
    b = gpu.astype(np.float32)
    assert len(a.loss) == 5 and isinstance(gpu.forward(x), np.ndarray)
    assert b.device.type == "cuda"


def test_cuda_requested_without_gpu_is_a_usage_error(models_dir) -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    cfg = make_config(models_dir)
    cfg = replace(cfg, extra={**cfg.extra, "device": "cuda"})
    with pytest.raises(UsageError, match="model.device: cuda"):
        TorchEngine(cfg, seed=0)


# ---- errors through the CLI ------------------------------------------------------------


def torch_recipe(tmp_path: Path, factory: str, **model) -> Path:
    recipe = wine_recipe(
        tmp_path,
        model={"engine": "torch", "factory": factory, "device": "cpu", **model},
        train={"steps": 20},
    )
    return write_recipe(tmp_path, recipe)


def run_in_process(capsys, recipe: Path, *args: str) -> tuple[int, str]:
    code = cli_main(["run", str(recipe), "--quiet", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("files", "factory", "expected"),
    [
        ({}, "nosuchmodule_xyz:build", ["cannot find module 'nosuchmodule_xyz'"]),
        ({"umod.py": MODELS}, "umod:mpl", ["has no 'mpl'", "did you mean 'mlp'"]),
        ({"umod.py": MODELS}, "umod:NOT_CALLABLE", ["is a int, not a function"]),
        ({"umod.py": MODELS}, "umod", ['expected "module:function"']),
        (
            {"umod.py": BROKEN_IMPORT},
            "umod:build",
            ["importing 'umod' failed: ZeroDivisionError", 'umod.py", line 4', "VALUE = 1 / 0"],
        ),
        (
            {"umod.py": MISSING_DEP},
            "umod:build",
            ["No module named 'not_a_real_package_nncheck'", 'umod.py", line 2'],
        ),
        ({"umod.py": SYNTAX}, "umod:build", ["syntax error", 'umod.py", line 1']),
        (
            {"umod.py": MODELS},
            "umod:raises",
            ["raised ValueError: width must be positive, got -1", "in _check_config"],
        ),
        ({"umod.py": MODELS}, "umod:not_a_module", ["returned a str; expected a torch.nn.Module"]),
        (
            {"umod.py": MODELS},
            "umod:wrong_inputs",
            ["forward pass failed on a batch of shape (2, 13)", "mat1 and mat2"],
        ),
        ({"umod.py": MODELS}, "umod:column", ["returned shape (2, 3, 1)", "expected (2, 3)"]),
    ],
)
def test_unusable_models_exit_2_naming_the_cause(tmp_path, capsys, files, factory, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    code, err = run_in_process(capsys, torch_recipe(tmp_path, factory))
    assert code == 2, err
    for part in expected:
        assert part in err, err
    assert "Traceback" not in err
    assert "nncheck/engines" not in err and "site-packages/torch" not in err  # user frames only
    assert not (tmp_path / "report").exists()


def test_factory_kwargs_reach_the_factory_and_errors_show_them(tmp_path, capsys) -> None:
    (tmp_path / "umod.py").write_text(MODELS)
    code, err = run_in_process(capsys, torch_recipe(tmp_path, "umod:mlp", kwargs={"hiden": 3}))
    assert code == 2 and "unexpected keyword argument 'hiden'" in err
    assert "umod:mlp(input_shape=(13,), n_outputs=3, hiden=3)" in err


def test_factory_found_beside_the_recipe_not_the_working_directory(tmp_path) -> None:
    (tmp_path / "umod.py").write_text(MODELS)
    recipe = torch_recipe(tmp_path, "umod:mlp")
    proc = run_cli("run", str(recipe), "--quiet", "--only", "skeleton.init_loss", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert check_by_id(read_results(tmp_path / "report"), "skeleton.init_loss")["status"] == "pass"
    assert str(tmp_path) not in sys.path  # the recipe folder is on the path only while used


def test_without_torch_a_torch_recipe_says_install_the_extra(tmp_path) -> None:
    fake = tmp_path / "no_torch"
    (fake / "torch").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    (tmp_path / "umod.py").write_text(MODELS)
    recipe = torch_recipe(tmp_path, "umod:mlp")
    env = {**os.environ, "PYTHONPATH": f"{fake}{os.pathsep}{ROOT}"}
    proc = subprocess.run(
        [sys.executable, "-m", "nncheck", "run", str(recipe), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "install nncheck[torch]" in proc.stderr


def test_a_wrong_backward_fails_the_gradient_check(tmp_path, capsys) -> None:
    (tmp_path / "umod.py").write_text(MODELS)
    for factory, status in (("square_net", "pass"), ("bad_square_net", "fail")):
        report = tmp_path / factory
        recipe = torch_recipe(tmp_path, f"umod:{factory}")
        code, err = run_in_process(
            capsys, recipe, "--only", "skeleton.gradient_check", "--report-dir", str(report)
        )
        res = check_by_id(read_results(report), "skeleton.gradient_check")
        assert res["status"] == status, err + res["message"]
        if status == "fail":
            assert "fc1" in res["message"] and "opposite sign" in res["message"]


# ---- the bundled recipes: torch and numpy agree ---------------------------------------------


@pytest.mark.slow
def test_wine_torch_and_numpy_wine_agree_on_every_check(tmp_path: Path) -> None:
    results = {}
    for name in ("wine", "wine_torch"):
        report = tmp_path / name
        proc = run_cli(
            "run", str(ROOT / "recipes" / f"{name}.yaml"), "--quiet", "--report-dir", str(report),
            timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results[name] = read_results(report)
    numpy_checks = {c["id"]: c for c in results["wine"]["checks"]}
    torch_checks = {c["id"]: c for c in results["wine_torch"]["checks"]}
    assert set(numpy_checks) == set(torch_checks)
    assert {k: c["status"] for k, c in torch_checks.items()} == {
        k: c["status"] for k, c in numpy_checks.items()
    }
    assert all(c["status"] != "error" for c in torch_checks.values())
    a, b = (r["skeleton.init_loss"]["metrics"] for r in (numpy_checks, torch_checks))
    assert a["expected"] == pytest.approx(b["expected"], rel=1e-9)
    # Different random weights, same scale: both within the check's own tolerance band.
    assert abs(a["loss"] - b["loss"]) <= max(a["tolerance"], b["tolerance"])
    assert abs(a["loss"] - b["loss"]) < 0.3


def test_wine_torch_and_numpy_agree_at_init(tmp_path: Path, capsys) -> None:
    """The fast version (in-process): the skeleton checks at init on both engines."""
    only = ["skeleton.init_loss", "skeleton.output_bias", "skeleton.init_scale"]
    results = {}
    for name in ("wine", "wine_torch"):
        report = tmp_path / name
        recipe = ROOT / "recipes" / f"{name}.yaml"
        code, err = run_in_process(capsys, recipe, "--report-dir", str(report), "--only", *only)
        assert code == 0, err
        results[name] = {c["id"]: c for c in read_results(report)["checks"]}
    for check_id in only:
        assert results["wine"][check_id]["status"] == results["wine_torch"][check_id]["status"]
    a, b = (results[n]["skeleton.init_loss"]["metrics"] for n in ("wine", "wine_torch"))
    assert a["expected"] == pytest.approx(b["expected"], rel=1e-9)
    assert abs(a["loss"] - b["loss"]) <= max(a["tolerance"], b["tolerance"])


def test_cpu_convolutions_run_channels_last_with_the_standard_orders_outputs(
    models_dir: Path,
) -> None:
    """Conv models on CPU run in channels-last memory order (much faster kernels): the same
    outputs as the standard order, bit-identical between two engines of one seed."""
    import copy

    config = make_config(models_dir, "cnn", input_shape=(8, 8))
    eng = TorchEngine(config, seed=0)
    assert eng.channels_last
    assert any("channels-last" in n for n in eng.notes)
    x, y = make_data(6, (8, 8))
    standard = copy.deepcopy(eng.model).to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        ref = standard(torch.from_numpy(x).view(6, 1, 8, 8)).numpy()
    assert_close(eng.forward(x), ref, 1e-5, "outputs", atol=1e-6)
    other = TorchEngine(config, seed=0)
    for e in (eng, other):
        e.train(x, y, steps=5, batch_size=4, seed=0)
    assert np.array_equal(eng.forward(x), other.forward(x))
    assert eng.astype(np.float64).channels_last  # the float64 copy for gradient checks too


def test_cpu_evaluation_of_a_large_batch_runs_in_chunks_in_eval_mode_only(
    models_dir: Path,
) -> None:
    """forward/loss on CPU split a large batch into chunks of ``eval_rows`` (a conv layer's
    activations for thousands of images outgrow the caches): the outputs and loss of the
    whole batch, to float32 rounding. In train mode a batch stays one batch (BatchNorm's
    statistics are over all of it)."""
    eng = TorchEngine(make_config(models_dir, "bn_mlp", input_shape=(4096,)), seed=0)
    assert eng.eval_rows == 16  # 2**16 input values per chunk
    assert TorchEngine(make_config(models_dir), seed=0).eval_rows == 4096
    sizes: list[int] = []
    eng.model.register_forward_pre_hook(lambda _m, args: sizes.append(int(args[0].shape[0])))
    x, y = make_data(40, (4096,))
    out = eng.forward(x)
    assert sizes == [16, 16, 8]
    with torch.no_grad():
        eng.model.eval()
        whole = eng.model(torch.from_numpy(x)).numpy()
    assert_close(out, whole, 1e-5, "chunked outputs", atol=1e-6)
    sizes.clear()
    loss = eng.loss(x, y)
    assert sizes == [16, 16, 8]
    assert loss == pytest.approx(
        float(F.cross_entropy(torch.from_numpy(whole), torch.from_numpy(y))), rel=1e-5
    )
    sizes.clear()
    with eng.train_mode():
        eng.forward(x)
        eng.loss(x, y)
    assert sizes == [40, 40]


def test_a_model_that_views_its_conv_output_keeps_the_standard_order(models_dir: Path) -> None:
    eng = TorchEngine(make_config(models_dir, "viewing_cnn", input_shape=(8, 8)), seed=0)
    assert not eng.channels_last
    x, y = make_data(6, (8, 8))
    curve = eng.train(x, y, steps=3, batch_size=4, seed=0)
    assert np.all(np.isfinite(curve.loss))
