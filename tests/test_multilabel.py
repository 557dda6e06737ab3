"""Multilabel targets: one 0/1 column per label, a sigmoid and binary cross-entropy each.

Run as a user meets them: the CLI on the bundled recipes/digits_multilabel.yaml (four
properties of each digit, derived from data/digits.csv), and on tables and npz files
written here with one thing wrong each.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nncheck.checks._stats import constant_losses, per_sample_loss
from nncheck.data.multilabel import encode_multilabel
from tests.conftest import DATA, ROOT, check_by_id, read_results, run_cli, write_recipe

LABELS = ["even", "prime", "above_4", "closed_loop"]


def _recipe(tmp_path: Path, train: Path | str, **data: Any) -> dict[str, Any]:
    return {
        "name": "ml",
        "seed": 0,
        "data": {"train": str(train), "target": LABELS, "test": {"fraction": 0.2}, **data},
        "model": {"hidden": [64], "activation": "relu", "init": "he", "output_bias": "prior"},
        "train": {"optimizer": "adam", "lr": 0.003, "batch_size": 64, "steps": 600},
        "report": {"dir": str(tmp_path / "report")},
    }


def _run(tmp_path: Path, recipe: dict[str, Any], *only: str) -> tuple[int, dict[str, Any]]:
    path = write_recipe(tmp_path, recipe)
    args = ["run", str(path), "--quiet"] + (["--only", *only] if only else [])
    proc = run_cli(*args)
    assert "Traceback" not in proc.stderr, proc.stderr
    results = read_results(tmp_path / "report") if proc.returncode in (0, 1) else {}
    return proc.returncode, results if results else {"stderr": proc.stderr}


def _digits(tmp_path: Path, change: str = "") -> Path:
    df = pd.read_csv(DATA / "digits_multilabel.csv")
    if change == "shuffle":
        perm = np.random.default_rng(3).permutation(len(df))
        df[LABELS] = df[LABELS].to_numpy()[perm]
    elif change == "constant":
        df["prime"] = 0
    elif change == "bad_cell":
        df["even"] = df["even"].astype(object)
        df.loc[[4, 9], "even"] = ["2", "maybe"]
    path = tmp_path / f"digits_ml_{change or 'ok'}.csv"
    df.to_csv(path, index=False)
    return path


def test_bundled_recipe_is_healthy_and_reports_every_label(tmp_path: Path) -> None:
    report = tmp_path / "report"
    proc = run_cli(
        "run",
        str(ROOT / "recipes" / "digits_multilabel.yaml"),
        "--quiet",
        "--report-dir",
        str(report),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = read_results(report)
    statuses = {c["id"]: c["status"] for c in res["checks"]}
    assert not [k for k, v in statuses.items() if v in ("warn", "fail", "error")]
    for ran in (
        "data.label_balance",
        "skeleton.multilabel_init",
        "overfit.one_batch",
        "overfit.loss_decreases",
        "evaluate.multilabel_test_set",
        "data.leakage",
        "skeleton.gradient_check",
        "skeleton.determinism",
    ):
        assert statuses[ran] == "pass", ran
    # checks written for one label per sample say why they do not run
    skipped = check_by_id(res, "data.class_balance")
    assert skipped["status"] == "skip" and "multilabel" in skipped["message"]
    init = check_by_id(res, "skeleton.multilabel_init")["metrics"]
    rates = np.array(
        list(check_by_id(res, "data.label_balance")["metrics"]["label_rates_train"].values())
    )
    entropies = -(rates * np.log(rates) + (1 - rates) * np.log1p(-rates))
    assert init["prior_bias"] is True
    assert init["summed_entropy"] == pytest.approx(entropies.sum(), rel=1e-6)
    assert init["expected"] == pytest.approx(entropies.sum(), rel=0.05)  # batch labels
    ev = check_by_id(res, "evaluate.multilabel_test_set")
    assert set(ev["metrics"]["per_label"]) == set(LABELS)
    assert ev["metrics"]["micro_f1"] > 0.9 and ev["metrics"]["loss"] < 0.5
    html = (report / "index.html").read_text()
    assert ev["artifacts"] == ["tables"]
    assert "per-label metrics (test set)" in html and "label rates (positives" in html
    assert html.count("closed_loop") >= 2
    assert "multilabel, 4 labels (even, prime, above_4, closed_loop)" in html


def test_shuffled_labels_fail_the_test_set_check(tmp_path: Path) -> None:
    code, res = _run(
        tmp_path, _recipe(tmp_path, _digits(tmp_path, "shuffle")), "evaluate.multilabel_test_set"
    )
    ev = check_by_id(res, "evaluate.multilabel_test_set")
    assert code == 1 and ev["status"] == "fail"
    assert "not clearly better than predicting each label's train rate" in ev["message"]


def test_a_label_never_set_fails_label_balance(tmp_path: Path) -> None:
    code, res = _run(
        tmp_path, _recipe(tmp_path, _digits(tmp_path, "constant")), "data.label_balance"
    )
    bal = check_by_id(res, "data.label_balance")
    assert code == 1 and bal["status"] == "fail"
    assert "'prime' (0 of" in bal["message"] and bal["metrics"]["constant_labels"] == ["prime"]


def test_label_cells_that_are_not_0_or_1_are_named(tmp_path: Path) -> None:
    code, res = _run(tmp_path, _recipe(tmp_path, _digits(tmp_path, "bad_cell")), "data.integrity")
    integrity = check_by_id(res, "data.integrity")
    assert code == 1 and integrity["status"] == "fail"
    assert "label cells that are not 0/1" in integrity["message"]
    assert "'even'" in integrity["message"] and "maybe" in integrity["message"]


def test_zero_bias_on_rare_labels_warns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=(n, 6))
    y = np.stack([(x[:, j] > 1.8).astype(int) for j in range(3)], axis=1)  # ~4% each
    df = pd.DataFrame(x, columns=[f"f{j}" for j in range(6)])
    for j in range(3):
        df[f"tag{j}"] = y[:, j]
    df.to_csv(tmp_path / "tags.csv", index=False)
    recipe = _recipe(tmp_path, tmp_path / "tags.csv")
    recipe["data"]["target"] = ["tag0", "tag1", "tag2"]
    recipe["model"]["output_bias"] = "zero"
    code, res = _run(tmp_path, recipe, "skeleton.multilabel_init")
    init = check_by_id(res, "skeleton.multilabel_init")
    assert init["status"] == "warn" and "output_bias: prior" in init["hint"]
    assert init["metrics"]["zero_bias_cost"] > 1.0  # 3 log 2 - sum H(0.04) = 1.58


def test_npz_label_matrix_and_wrong_declarations(tmp_path: Path) -> None:
    df = pd.read_csv(DATA / "digits_multilabel.csv")
    x = df.drop(columns=LABELS).to_numpy(np.float32)
    y = df[LABELS].to_numpy(np.int64)
    np.savez(tmp_path / "ml.npz", x=x, y=y)
    recipe = _recipe(tmp_path, tmp_path / "ml.npz", task="multilabel")
    recipe["data"]["target"] = "y"
    code, res = _run(tmp_path, recipe, "data.integrity", "data.label_balance")
    assert code == 0
    assert check_by_id(res, "data.label_balance")["metrics"]["n_labels"] == 4
    assert "label_0" in check_by_id(res, "data.label_balance")["metrics"]["label_rates_train"]
    # the same matrix declared as a classification target is exit 2, saying why
    recipe["data"]["task"] = "classification"
    code, res = _run(tmp_path, recipe)
    assert code == 2 and "task: multilabel" in res["stderr"]
    # a list of columns on an npz is exit 2 as well
    recipe["data"].update(task=None, target=["a", "b"])
    code, res = _run(tmp_path, recipe)
    assert code == 2 and "needs a table" in res["stderr"]
    # softmax cross-entropy on multilabel targets is refused before any check
    recipe["data"].update(task="multilabel", target="y")
    recipe["model"]["loss"] = "cross_entropy"
    code, res = _run(tmp_path, recipe)
    assert code == 2 and "model.loss: cross_entropy on a multilabel target" in res["stderr"]


def test_bce_helpers_agree_with_the_formula() -> None:
    out = np.array([[2.0, -1.0, 0.0], [-30.0, 40.0, 0.5]])
    y = np.array([[1, 0, 1], [0, 1, 0]], dtype=np.float64)
    sig = 1 / (1 + np.exp(-out))
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = -(y * np.log(sig) + (1 - y) * np.log1p(-sig)).sum(axis=1)
    got = per_sample_loss(out, y, "bce", "multilabel")
    assert got[0] == pytest.approx(direct[0]) and np.isfinite(got).all()
    rates = np.array([0.5, 0.25, 0.1])
    const = constant_losses(np.array([[1, 0, 0]]), rates, "multilabel", "bce")
    assert const[0] == pytest.approx(math.log(2) - math.log(0.75) - math.log(0.9))
    cells = np.array([["1", "no", True], ["yes", "0", "2"]], dtype=object)
    enc = encode_multilabel(cells)
    assert enc[0].tolist() == [1.0, 0.0, 1.0] and enc[1, :2].tolist() == [1.0, 0.0]
    assert np.isnan(enc[1, 2])


def test_engines_agree_on_the_loss_and_its_gradient() -> None:
    torch = pytest.importorskip("torch")
    from nncheck.engines.base import EngineConfig
    from nncheck.engines.numpy_mlp import NumpyMLP

    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 5)).astype(np.float32)
    y = (rng.random((16, 3)) < 0.3).astype(np.float32)
    cfg = EngineConfig(
        input_shape=(5,),
        n_outputs=3,
        task="multilabel",
        hidden=(4,),
        loss="bce",
        prior=(0.3, 0.2, 0.5),
    )
    engine = NumpyMLP(cfg, seed=0, dtype=np.float64)
    out = engine.forward(x)
    bias = engine.parameters()["layer1.bias"]
    assert bias == pytest.approx(np.log(np.array([0.3, 0.2, 0.5]) / np.array([0.7, 0.8, 0.5])))
    t_out = torch.tensor(out, requires_grad=True)
    t_loss = (
        torch.nn.functional.binary_cross_entropy_with_logits(
            t_out, torch.tensor(y, dtype=torch.float64), reduction="none"
        )
        .sum(1)
        .mean()
    )
    assert engine.loss(x, y) == pytest.approx(float(t_loss.detach()))
    t_loss.backward()
    grads = engine.gradients(x, y)
    h = np.maximum(
        x.astype(np.float64) @ engine.parameters()["layer0.weight"]
        + engine.parameters()["layer0.bias"],
        0,
    )
    expected_w = h.T @ t_out.grad.numpy()
    assert grads.params["layer1.weight"] == pytest.approx(expected_w, rel=1e-6, abs=1e-9)


def test_cross_entropy_as_the_users_loss_is_named_as_a_softmax(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import shutil

    shutil.copy(ROOT / "recipes" / "models.py", tmp_path / "models.py")
    recipe = _recipe(tmp_path, DATA / "digits_multilabel.csv")
    recipe["model"] = {
        "engine": "torch",
        "factory": "models:mlp",
        "kwargs": {"hidden": [32]},
        "device": "cpu",
    }
    recipe["train"]["loss"] = "torch.nn:CrossEntropyLoss"
    code, res = _run(tmp_path, recipe, "skeleton.multilabel_init")
    init = check_by_id(res, "skeleton.multilabel_init")
    assert init["status"] == "fail" and "softmax cross-entropy over the labels" in init["message"]
    assert init["metrics"]["loss_shift_invariant"] is True
    # the same model with BCEWithLogitsLoss passes
    recipe["train"]["loss"] = "torch.nn:BCEWithLogitsLoss"
    code, res = _run(tmp_path, recipe, "skeleton.multilabel_init", "evaluate.multilabel_test_set")
    assert code == 0, res
    assert check_by_id(res, "skeleton.multilabel_init")["status"] == "pass"


def test_python_api_takes_an_n_by_l_label_matrix() -> None:
    pytest.importorskip("torch")
    import torch

    import nncheck

    df = pd.read_csv(DATA / "digits_multilabel.csv")
    x = df.drop(columns=LABELS).to_numpy(np.float32)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    y = df[LABELS].to_numpy(np.float32)

    def model(input_shape: tuple[int, ...], n_outputs: int) -> torch.nn.Module:
        torch.manual_seed(0)
        return torch.nn.Sequential(
            torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_outputs)
        )

    audit = nncheck.audit(
        model,
        train=(x[:1400], y[:1400]),
        test=(x[1400:], y[1400:]),
        task="multilabel",
        steps=300,
        only=["data.label_balance", "skeleton.multilabel_init", "evaluate.multilabel_test_set"],
    )
    assert audit.passed, audit.summary()
    assert audit["evaluate.multilabel_test_set"].metrics["n_labels"] == 4


def test_a_torch_dataset_of_label_vectors_with_the_users_bce_loss() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import TensorDataset

    import nncheck

    df = pd.read_csv(DATA / "digits_multilabel.csv")
    x = torch.from_numpy(df.drop(columns=LABELS).to_numpy(np.float32) / 16)
    y = torch.from_numpy(df[LABELS].to_numpy(np.float32))  # float32 targets, as usual

    def model(input_shape: tuple[int, ...], n_outputs: int) -> torch.nn.Module:
        return torch.nn.Sequential(
            torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, n_outputs)
        )

    audit = nncheck.audit(
        model,
        train=TensorDataset(x[:1400], y[:1400]),
        test=TensorDataset(x[1400:], y[1400:]),
        task="multilabel",
        loss=torch.nn.BCEWithLogitsLoss(),
        steps=200,
        only=[
            "data.label_balance",
            "skeleton.multilabel_init",
            "skeleton.gradient_check",
            "evaluate.multilabel_test_set",
        ],
    )
    assert audit.passed, audit.summary()
    # the float32 targets do not pull the float64 gradient check down to float32
    assert audit["skeleton.gradient_check"].metrics["max_error"] < 1e-5
