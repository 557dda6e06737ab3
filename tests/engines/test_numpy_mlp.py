"""Tests for the numpy MLP engine and its optimizers.

The gradients are checked twice, independently: against central finite differences on the
float64 copy, and (when torch is installed) against torch autograd on the same network.
The optimizers are checked step by step against ``torch.optim``.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from nncheck.engines.base import Engine, EngineConfig, Gradients, TrainCurve
from nncheck.engines.numpy_mlp import NumpyMLP

ACTIVATIONS = ("relu", "tanh", "sigmoid")
TASK_LOSS = (
    ("classification", "cross_entropy"),
    ("classification", "mse"),
    ("regression", "mse"),
)
BIASES = ("prior", "zero")
CASES = list(itertools.product(ACTIVATIONS, TASK_LOSS, BIASES))
CASE_IDS = [f"{a}-{t}-{lo}-{b}" for a, (t, lo), b in CASES]
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")

N_CLASSES = 3
INPUT_SHAPE = (3, 2)  # image-like, so the engine's flattening is exercised


def make_config(activation: str, task: str, loss: str, bias: str, **kw) -> EngineConfig:
    classification = task == "classification"
    base = dict(
        input_shape=INPUT_SHAPE,
        n_outputs=N_CLASSES if classification else 1,
        task=task,
        hidden=(5, 4),
        activation=activation,
        init="xavier",
        output_bias=bias,
        loss=loss,
        prior=(0.5, 0.3, 0.2) if classification else (0.7,),
    )
    base.update(kw)
    return EngineConfig(**base)


def make_data(task: str, n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *INPUT_SHAPE)).astype(np.float32)
    if task == "classification":
        y = rng.integers(0, N_CLASSES, n).astype(np.int64)
    else:
        y = rng.standard_normal(n).astype(np.float32)
    return x, y


def rel_close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float = 1e-9) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + atol))


def assert_rel_close(a, b, rtol: float, what: str, atol: float = 1e-9) -> None:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    err = np.abs(a - b) / (np.maximum(np.abs(a), np.abs(b)) + atol)
    assert rel_close(a, b, rtol, atol), f"{what}: max rel err {err.max():.3g}\n{a}\n{b}"


# ---- finite differences ----------------------------------------------------------------


def weighted_loss(eng: NumpyMLP, x: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> float:
    if w is None:
        return eng.loss(x, y)
    return eng.gradients(x, y, weights=w).loss


def numeric_grads(eng: NumpyMLP, x, y, w, eps: float = 1e-6):
    params = {k: p.copy() for k, p in eng.parameters().items()}
    out = {}
    for k, p in params.items():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            for sign in (+1, -1):
                q = p.copy()
                q[idx] += sign * eps
                eng.set_parameters({k: q})
                g[idx] += sign * weighted_loss(eng, x, y, w)
            g[idx] /= 2 * eps
        eng.set_parameters({k: p})
        out[k] = g
    gx = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        for sign in (+1, -1):
            xx = x.copy()
            xx[idx] += sign * eps
            gx[idx] += sign * weighted_loss(eng, xx, y, w)
        gx[idx] /= 2 * eps
    return out, gx


@pytest.mark.parametrize(("activation", "task_loss", "bias"), CASES, ids=CASE_IDS)
def test_gradients_match_finite_differences(activation, task_loss, bias):
    task, loss = task_loss
    eng = NumpyMLP(make_config(activation, task, loss, bias), seed=3).astype(np.float64)
    x, y = make_data(task)
    x = x.astype(np.float64)
    w = np.random.default_rng(1).uniform(0.2, 2.0, len(x))
    for weights in (None, w):
        g = eng.gradients(x, y, inputs=True, weights=weights)
        num, num_x = numeric_grads(eng, x, y, weights)
        assert set(g.params) == set(num)
        for k in num:
            assert_rel_close(g.params[k], num[k], 1e-4, f"{k} (weights={weights is not None})")
        assert g.inputs is not None and g.inputs.shape == x.shape
        assert_rel_close(g.inputs, num_x, 1e-4, "inputs")


def test_weights_single_sample_equals_that_samples_gradient():
    eng = NumpyMLP(make_config("tanh", "classification", "cross_entropy", "prior"), seed=0)
    x, y = make_data("classification")
    w = np.zeros(len(x), np.float32)
    w[2] = 1.0
    g_w = eng.gradients(x, y, weights=w)
    g_1 = eng.gradients(x[2:3], y[2:3])
    assert g_w.loss == pytest.approx(g_1.loss, rel=1e-5)
    for k in g_1.params:
        np.testing.assert_allclose(g_w.params[k], g_1.params[k], rtol=1e-4, atol=1e-6)


# ---- torch as an independent reference -------------------------------------------------


def torch_loss_and_grads(eng: NumpyMLP, x, y, weights=None):
    """The same network written with torch ops and differentiated by autograd (float64)."""
    torch = pytest.importorskip("torch")
    cfg = eng.config
    params = {
        k: torch.tensor(p, dtype=torch.float64, requires_grad=True) for k, p in eng.params.items()
    }
    xt = torch.tensor(x.reshape(len(x), -1), dtype=torch.float64, requires_grad=True)
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[cfg.activation]
    h = xt
    n_layers = len(cfg.hidden) + 1
    for i in range(n_layers):
        h = h @ params[f"layer{i}.weight"] + params[f"layer{i}.bias"]
        if i < n_layers - 1:
            h = act(h)
    if cfg.loss == "cross_entropy":
        per = torch.nn.functional.cross_entropy(h, torch.tensor(y), reduction="none")
    elif cfg.task == "classification":
        onehot = torch.nn.functional.one_hot(torch.tensor(y), cfg.n_outputs).double()
        per = ((h - onehot) ** 2).mean(dim=1)
    else:
        per = ((h - torch.tensor(y, dtype=torch.float64)[:, None]) ** 2).mean(dim=1)
    if weights is None:
        loss = per.mean()
    else:
        loss = (per * torch.tensor(weights, dtype=torch.float64)).sum()
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in params.items()}
    return float(loss.detach()), grads, xt.grad.numpy().reshape(x.shape)


@pytest.mark.parametrize(("activation", "task_loss", "bias"), CASES, ids=CASE_IDS)
def test_gradients_match_torch(activation, task_loss, bias):
    pytest.importorskip("torch")
    task, loss = task_loss
    eng = NumpyMLP(make_config(activation, task, loss, bias), seed=5).astype(np.float64)
    x, y = make_data(task, n=8, seed=2)
    x = x.astype(np.float64)
    w = np.random.default_rng(4).uniform(0.1, 1.0, len(x))
    for weights in (None, w):
        g = eng.gradients(x, y, inputs=True, weights=weights)
        t_loss, t_grads, t_gx = torch_loss_and_grads(eng, x, y, weights)
        assert g.loss == pytest.approx(t_loss, rel=1e-5)
        for k, tg in t_grads.items():
            assert_rel_close(g.params[k], tg, 1e-5, k)
        assert_rel_close(g.inputs, t_gx, 1e-5, "inputs")


def torch_optimizer(name: str, params, lr: float):
    torch = pytest.importorskip("torch")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adam(params, lr=lr)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_optimizer_steps_match_torch(optimizer, dtype):
    torch = pytest.importorskip("torch")
    cfg = make_config(
        "tanh", "classification", "cross_entropy", "prior", optimizer=optimizer, lr=0.01
    )
    eng = NumpyMLP(cfg, seed=1).astype(dtype)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    tparams = {k: torch.tensor(p, dtype=tdtype, requires_grad=True) for k, p in eng.params.items()}
    opt = torch_optimizer(optimizer, list(tparams.values()), 0.01)
    x, y = make_data("classification", n=10, seed=7)
    x = x.astype(dtype)
    xt = torch.tensor(x.reshape(len(x), -1))
    for _ in range(6):
        loss_np = eng.step(x, y)
        opt.zero_grad()
        h = xt
        for i in range(3):
            h = h @ tparams[f"layer{i}.weight"] + tparams[f"layer{i}.bias"]
            if i < 2:
                h = torch.tanh(h)
        loss_t = torch.nn.functional.cross_entropy(h, torch.tensor(y))
        loss_t.backward()
        opt.step()
        assert loss_np == pytest.approx(float(loss_t.detach()), rel=1e-5)
    rtol = 1e-5 if dtype == np.float64 else 1e-4
    for k, p in eng.params.items():
        assert p.dtype == dtype
        assert_rel_close(p, tparams[k].detach().numpy(), rtol, k, atol=1e-6)


# ---- init ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("init", "expected"),
    [
        ("he", lambda fi, fo: math.sqrt(2 / fi)),
        ("xavier", lambda fi, fo: math.sqrt(2 / (fi + fo))),
        ("normal", lambda fi, fo: 0.05),
    ],
)
def test_init_std(init, expected):
    cfg = EngineConfig(
        input_shape=(400,),
        n_outputs=10,
        task="classification",
        hidden=(300,),
        init=init,
        init_std=0.05,
        output_bias="zero",
    )
    eng = NumpyMLP(cfg, seed=0)
    for i, (fi, fo) in enumerate([(400, 300), (300, 10)]):
        w = eng.parameters()[f"layer{i}.weight"]
        assert w.shape == (fi, fo) and w.dtype == np.float32
        assert w.std() == pytest.approx(expected(fi, fo), rel=0.05)
        assert abs(w.mean()) < 0.1 * expected(fi, fo)
    assert not eng.parameters()["layer0.bias"].any()
    assert not eng.parameters()["layer1.bias"].any()


def test_prior_bias_gives_prior_entropy_at_init():
    prior = (0.5, 0.3, 0.2)
    cfg = make_config("relu", "classification", "cross_entropy", "prior", init="normal")
    cfg = EngineConfig(**{**cfg.__dict__, "init_std": 1e-6})
    eng = NumpyMLP(cfg, seed=0)
    np.testing.assert_allclose(eng.parameters()["layer2.bias"], np.log(prior), rtol=1e-6)
    x, _ = make_data("classification", n=10)
    y = np.array([0] * 5 + [1] * 3 + [2] * 2)  # labels in the prior's proportions
    entropy = -sum(p * math.log(p) for p in prior)
    assert eng.loss(x, y) == pytest.approx(entropy, rel=1e-4)
    zero = NumpyMLP(EngineConfig(**{**cfg.__dict__, "output_bias": "zero"}), seed=0)
    assert zero.loss(x, y) == pytest.approx(math.log(3), rel=1e-4)


def test_prior_bias_for_mse_and_regression():
    cls = make_config("relu", "classification", "mse", "prior", init="normal", init_std=1e-6)
    np.testing.assert_allclose(NumpyMLP(cls).parameters()["layer2.bias"], (0.5, 0.3, 0.2))
    reg = make_config("relu", "regression", "mse", "prior", init="normal", init_std=1e-6)
    y = np.array([0.2, 0.7, 1.2, 0.7], np.float32)  # mean 0.7, the configured prior
    eng = NumpyMLP(reg)
    np.testing.assert_allclose(eng.parameters()["layer2.bias"], [0.7])
    x, _ = make_data("regression", n=4)
    assert eng.loss(x, y) == pytest.approx(float(np.var(y)), rel=1e-4)
    empty = make_config("relu", "classification", "cross_entropy", "prior", prior=())
    assert not NumpyMLP(empty).parameters()["layer2.bias"].any()


def test_prior_clipped_before_log():
    cfg = make_config("relu", "classification", "cross_entropy", "prior", prior=(0.0, 0.5, 0.5))
    b = NumpyMLP(cfg).parameters()["layer2.bias"]
    assert np.all(np.isfinite(b)) and b[0] == pytest.approx(math.log(1e-6), rel=1e-5)


# ---- interface, dtypes, determinism ----------------------------------------------------


def test_protocol_shapes_and_float32():
    cfg = make_config("tanh", "classification", "cross_entropy", "prior")
    eng = NumpyMLP(cfg, seed=0)
    assert isinstance(eng, Engine)
    x, y = make_data("classification", n=7)
    out = eng.forward(x)
    assert out.shape == (7, 3) and out.dtype == np.float32
    out2, acts = eng.forward(x, activations=True)
    np.testing.assert_array_equal(out, out2)
    assert [a.name for a in acts] == ["layer0 (tanh)", "layer1 (tanh)", "layer2 (linear)"]
    assert [a.kind for a in acts] == ["tanh", "tanh", "linear"]
    assert acts[0].pre.shape == acts[0].post.shape == (7, 5)
    np.testing.assert_allclose(acts[0].post, np.tanh(acts[0].pre), rtol=1e-6)
    assert all(a.post.dtype == np.float32 for a in acts)
    g = eng.gradients(x, y, inputs=True)
    assert isinstance(g, Gradients) and isinstance(g.loss, float)
    assert list(g.params) == [f"layer{i}.{p}" for i in range(3) for p in ("weight", "bias")]
    assert g.params["layer2.weight"].shape == (4, 3)
    assert all(v.dtype == np.float32 for v in g.params.values())
    assert g.inputs.shape == x.shape and g.inputs.dtype == np.float32
    assert eng.gradients(x, y).inputs is None
    assert g.loss == pytest.approx(eng.loss(x, y), rel=1e-6)
    # Returned arrays are not the engine's reusable buffers.
    before = g.params["layer0.weight"].copy()
    eng.gradients(x[:3], y[:3])
    np.testing.assert_array_equal(g.params["layer0.weight"], before)
    assert isinstance(eng.step(x, y), float)
    assert all(p.dtype == np.float32 for p in eng.parameters().values())


def test_astype_float64_is_independent():
    eng = NumpyMLP(make_config("relu", "classification", "cross_entropy", "prior"), seed=0)
    x, y = make_data("classification")
    eng.step(x, y)
    e64 = eng.astype(np.float64)
    assert all(p.dtype == np.float64 for p in e64.parameters().values())
    assert e64.forward(x).dtype == np.float64
    assert e64.gradients(x, y, inputs=True).inputs.dtype == np.float64
    for k, p in eng.parameters().items():
        np.testing.assert_array_equal(e64.parameters()[k], p.astype(np.float64))
    before = {k: p.copy() for k, p in eng.parameters().items()}
    e64.step(x, y)
    for k, p in eng.parameters().items():
        np.testing.assert_array_equal(p, before[k])
    assert eng.loss(x, y) == pytest.approx(e64.astype(np.float32).loss(x, y), rel=1e-2)


def train_data(n: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n)
    centers = rng.standard_normal((N_CLASSES, *INPUT_SHAPE)) * 3
    x = (centers[y] + rng.standard_normal((n, *INPUT_SHAPE))).astype(np.float32)
    return x, y.astype(np.int64)


def test_same_seed_same_curve_different_seed_differs():
    cfg = make_config("relu", "classification", "cross_entropy", "prior", lr=0.01)
    x, y = train_data()
    c1 = NumpyMLP(cfg, seed=0).train(x, y, steps=30, batch_size=8, seed=1)
    c2 = NumpyMLP(cfg, seed=0).train(x, y, steps=30, batch_size=8, seed=1)
    assert isinstance(c1, TrainCurve)
    assert c1.loss == c2.loss and c1.accuracy == c2.accuracy and c1.steps == c2.steps
    assert c1.steps == list(range(30)) and c1.seed == 1 and not c1.diverged
    assert all(0.0 <= a <= 1.0 for a in c1.accuracy)
    assert NumpyMLP(cfg, seed=0).train(x, y, steps=30, batch_size=8, seed=2).loss != c1.loss
    assert NumpyMLP(cfg, seed=9).train(x, y, steps=30, batch_size=8, seed=1).loss != c1.loss


def test_state_restore_round_trip():
    cfg = make_config("tanh", "classification", "mse", "prior", optimizer="adam", lr=0.01)
    x, y = train_data()
    eng = NumpyMLP(cfg, seed=0)
    eng.train(x, y, steps=10, batch_size=16, seed=0)
    saved = eng.state()
    saved_w = saved["params"]["layer0.weight"].copy()
    saved_m = saved["optimizer"]["buffers"]["exp_avg_scaled"]["layer0.weight"].copy()
    c1 = eng.train(x, y, steps=20, batch_size=16, seed=3)
    after = {k: p.copy() for k, p in eng.parameters().items()}
    eng.restore(saved)
    c2 = eng.train(x, y, steps=20, batch_size=16, seed=3)
    assert c1.loss == c2.loss
    for k, p in eng.parameters().items():
        np.testing.assert_array_equal(p, after[k])
    # state() is a deep copy: training did not change what was saved.
    np.testing.assert_array_equal(saved["params"]["layer0.weight"], saved_w)
    np.testing.assert_array_equal(
        saved["optimizer"]["buffers"]["exp_avg_scaled"]["layer0.weight"], saved_m
    )
    assert saved["n_steps"] == 10


def test_reset_is_reproducible():
    cfg = make_config("relu", "classification", "cross_entropy", "prior")
    eng = NumpyMLP(cfg, seed=4)
    first = {k: p.copy() for k, p in eng.parameters().items()}
    eng.train(*train_data(), steps=5, batch_size=8, seed=0)
    eng.reset(4)
    for k, p in eng.parameters().items():
        np.testing.assert_array_equal(p, first[k])


def test_train_callback_and_large_batch():
    cfg = make_config("relu", "regression", "mse", "prior", lr=0.01)
    x, _ = train_data(n=10)
    y = np.linspace(-1, 1, 10).astype(np.float32)
    seen = []
    curve = NumpyMLP(cfg).train(
        x, y, steps=7, batch_size=100, seed=0, callback=lambda s, lo: seen.append((s, lo))
    )
    assert seen == list(zip(curve.steps, curve.loss))
    assert len(curve.loss) == 7 and curve.accuracy == []


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_each_optimizer_decreases_loss(optimizer):
    lr = {"sgd": 0.1, "momentum": 0.05, "rmsprop": 0.01, "adam": 0.01}[optimizer]
    cfg = make_config(
        "relu", "classification", "cross_entropy", "prior", optimizer=optimizer, lr=lr
    )
    x, y = train_data()
    eng = NumpyMLP(cfg, seed=0)
    start = eng.loss(x, y)
    curve = eng.train(x, y, steps=150, batch_size=16, seed=0)
    assert not curve.diverged
    assert eng.loss(x, y) < 0.3 * start
    assert np.mean(curve.accuracy[-10:]) > 0.9


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_lr_zero_leaves_parameters(optimizer):
    cfg = make_config(
        "sigmoid", "classification", "cross_entropy", "prior", optimizer=optimizer, lr=0.0
    )
    eng = NumpyMLP(cfg, seed=0)
    before = {k: p.copy() for k, p in eng.parameters().items()}
    eng.train(*train_data(), steps=10, batch_size=16, seed=0)
    for k, p in eng.parameters().items():
        np.testing.assert_array_equal(p, before[k])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("task_loss", TASK_LOSS)
def test_huge_lr_diverges_quietly(optimizer, task_loss):
    task, loss = task_loss
    cfg = make_config(
        "relu", task, loss, "zero", init="normal", init_std=10.0, optimizer=optimizer, lr=1e6
    )
    x, y = train_data()
    if task == "regression":
        y = y.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy overflow warnings must not escape the engine
        curve = NumpyMLP(cfg, seed=0).train(x, y, steps=200, batch_size=16, seed=0)
    assert curve.diverged or max(curve.loss) > 1e6
    if curve.diverged:
        assert not math.isfinite(curve.loss[-1])
        assert len(curve.loss) <= 200


def test_bad_config_rejected():
    with pytest.raises(ValueError):
        NumpyMLP(make_config("relu", "regression", "cross_entropy", "zero"))
    with pytest.raises(ValueError):
        NumpyMLP(make_config("relu", "classification", "cross_entropy", "prior", prior=(1.0,)))


def test_no_hidden_layer_is_a_linear_model():
    cfg = make_config("relu", "classification", "cross_entropy", "zero", hidden=())
    eng = NumpyMLP(cfg, seed=0).astype(np.float64)
    x, y = make_data("classification")
    x = x.astype(np.float64)
    out, acts = eng.forward(x, activations=True)
    assert [a.name for a in acts] == ["layer0 (linear)"]
    g = eng.gradients(x, y, inputs=True)
    num, num_x = numeric_grads(eng, x, y, None)
    for k in num:
        assert_rel_close(g.params[k], num[k], 1e-4, k)
    assert_rel_close(g.inputs, num_x, 1e-4, "inputs")
