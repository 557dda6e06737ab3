"""Language models end to end: the bundled Shakespeare recipe is green, and the sequence
engine, loaders and checks behave as a user meets them (CLI runs, results.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import ROOT, check_by_id, read_results, run_cli, write_recipe
from tests.usage_errors import assert_exit2

torch = pytest.importorskip("torch")

MODEL = '''
import torch
from torch import nn


class Model(nn.Module):
    """Embedding + unidirectional GRU + head; optionally peeks at the next token."""

    def __init__(self, vocab, peek):
        super().__init__()
        self.peek = peek
        self.emb = nn.Embedding(vocab, 16)
        self.rnn = nn.GRU(16, 16, batch_first=True)
        self.head = nn.Linear(16, vocab)
        nn.init.normal_(self.head.weight, std=0.02)

    def forward(self, ids):
        h, _ = self.rnn(self.emb(ids))
        if self.peek:  # a leak from the future: position t sees token t + 1
            h = h + torch.roll(self.emb(ids), -1, dims=1)
        return self.head(h)


def build(input_shape, n_outputs, peek=False):
    return Model(n_outputs, peek)
'''


def _lm_recipe(tmp_path: Path, data: dict[str, Any], **model: Any) -> Path:
    (tmp_path / "lm.py").write_text(MODEL)
    return write_recipe(
        tmp_path,
        {
            "seed": 0,
            "data": {"task": "language_model", "test": {"fraction": 0.2}, **data},
            "model": {"engine": "torch", "factory": "lm:build", "device": "cpu", **model},
            "train": {"steps": 40, "batch_size": 16, "lr": 0.01},
        },
    )


def _audit(recipe: Path, *only: str) -> tuple[int, dict[str, Any]]:
    """`nncheck run RECIPE --only ...` in this process (torch imported once for all)."""
    from nncheck.cli import main as cli_main

    code = cli_main(["run", str(recipe), "--quiet", "--only", *only])
    return code, read_results(recipe.parent / "recipe-report")


def _ids(n: int = 120, length: int = 17, vocab: int = 12, seed: int = 0) -> np.ndarray:
    """Sequences of a simple rule (each token the previous + 1, mod vocab), learnable."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, vocab, size=(n, 1))
    return ((start + np.arange(length)) % vocab).astype(np.int32)


@pytest.fixture(scope="module")
def shakespeare(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    out = tmp_path_factory.mktemp("lm")
    recipe = ROOT / "recipes" / "shakespeare_char.yaml"
    proc = run_cli("run", str(recipe), "--report-dir", str(out), timeout=300)
    return proc, read_results(out)


@pytest.mark.slow
def test_bundled_shakespeare_is_green(shakespeare) -> None:
    proc, results = shakespeare
    assert proc.returncode == 0, proc.stdout + proc.stderr
    statuses = {c["id"]: c["status"] for c in results["checks"]}
    assert not {k: v for k, v in statuses.items() if v in ("warn", "fail", "error")}
    for check_id in (
        "skeleton.causal",
        "skeleton.lm_init_loss",
        "skeleton.sequence_independence",
        "data.sequence_targets",
        "data.sequence_overlap",
        "data.padding",
        "overfit.lm_one_batch",
        "evaluate.lm_test_set",
        "skeleton.determinism",
        "skeleton.gradient_check",
    ):
        assert statuses[check_id] == "pass", check_id
    # checks written for one target per sample say why they skip
    skip = check_by_id(results, "skeleton.init_loss")
    assert skip["status"] == "skip" and "one per token" in skip["message"]


@pytest.mark.slow
def test_shakespeare_numbers_are_the_expected_ones(shakespeare) -> None:
    _, results = shakespeare
    init = check_by_id(results, "skeleton.lm_init_loss")["metrics"]
    assert init["vocab"] == 65 and init["log_vocab"] == pytest.approx(math.log(65))
    assert init["prior_bias"] and abs(init["loss"] - init["unigram_entropy"]) < 0.2
    ev = check_by_id(results, "evaluate.lm_test_set")["metrics"]
    assert ev["loss"] < ev["unigram_loss"] - 0.3
    assert ev["loss_ci95"][0] < ev["loss"] < ev["loss_ci95"][1]
    notes = " | ".join(results["dataset"]["notes"])
    assert "65 distinct characters" in notes and "contiguous tail" in notes


def test_npz_ids_without_targets_are_shifted_by_one(tmp_path: Path) -> None:
    np.savez(tmp_path / "ids.npz", x=_ids())
    recipe = _lm_recipe(tmp_path, {"train": "ids.npz"})
    code, results = _audit(recipe, "data.sequence_targets", "skeleton.causal")
    assert code == 0
    assert results["dataset"]["input_shape"] == [16]
    assert any("shifted by one token" in n for n in results["dataset"]["notes"])
    assert check_by_id(results, "data.sequence_targets")["metrics"]["equal_to_next_input"] == 1.0


def test_a_model_that_peeks_at_the_next_token_fails_causal(tmp_path: Path) -> None:
    np.savez(tmp_path / "ids.npz", x=_ids())
    recipe = _lm_recipe(tmp_path, {"train": "ids.npz"}, kwargs={"peek": True})
    code, results = _audit(recipe, "skeleton.causal")
    res = check_by_id(results, "skeleton.causal")
    assert code == 1
    assert res["status"] == "fail" and "sees the future" in res["message"]


def test_test_sequences_copied_from_train_are_named(tmp_path: Path) -> None:
    ids = _ids(n=100, seed=1)
    np.savez(tmp_path / "train.npz", x=ids)
    np.savez(tmp_path / "test.npz", x=ids[:30])
    recipe = _lm_recipe(tmp_path, {"train": "train.npz", "test": "test.npz"})
    code, results = _audit(recipe, "data.sequence_overlap")
    res = check_by_id(results, "data.sequence_overlap")
    assert code == 1 and res["status"] == "fail", res["message"]
    assert res["metrics"]["whole_sequences"] == 1.0 and res["examples"]


def test_padding_is_left_out_of_the_loss_when_named(tmp_path: Path) -> None:
    """With data.pad_token the engine's loss is the mean over real tokens only."""
    from nncheck.recipe.load import read_recipe
    from nncheck.run import build_context

    ids = _ids(n=60, length=17) + 1  # 0 is free for padding
    ids[:, 10:] = 0
    np.savez(tmp_path / "ids.npz", x=ids)
    recipe = read_recipe(_lm_recipe(tmp_path, {"train": "ids.npz", "pad_token": 0}))
    ctx = build_context(recipe)
    engine = ctx.make_engine()
    x, y = ctx.dataset.train.x[:8], ctx.dataset.train.y[:8]
    logits = torch.from_numpy(np.asarray(engine.forward(x)).astype(np.float64))
    per_token = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1), reduction="none"
    ).reshape(y.shape)
    keep = torch.from_numpy(y != 0)
    expected = float(((per_token * keep).sum(1) / keep.sum(1)).mean())
    assert engine.loss(x, y) == pytest.approx(expected, rel=1e-5)
    counted = float(per_token.mean())
    assert abs(counted - expected) > 1e-3  # the padding would have changed the number


def test_padding_without_pad_token_fails_and_names_the_token(tmp_path: Path) -> None:
    ids = _ids(n=60, length=17) + 1
    ids[:, 8:] = 0
    np.savez(tmp_path / "ids.npz", x=ids)
    recipe = _lm_recipe(tmp_path, {"train": "ids.npz"})
    code, results = _audit(recipe, "data.padding")
    res = check_by_id(results, "data.padding")
    assert code == 1 and res["status"] == "fail"
    assert "pad_token: 0" in res["hint"]


def test_numpy_engine_cannot_run_a_language_model(tmp_path: Path) -> None:
    np.savez(tmp_path / "ids.npz", x=_ids())
    recipe = write_recipe(tmp_path, {"data": {"train": "ids.npz", "task": "language_model"}})
    assert_exit2(run_cli("run", str(recipe)), "model.engine", "torch")


def test_wrong_output_shape_is_exit_2_naming_the_expected_one(tmp_path: Path) -> None:
    np.savez(tmp_path / "ids.npz", x=_ids())
    (tmp_path / "flat.py").write_text(
        "from torch import nn\n"
        "def build(input_shape, n_outputs):\n"
        "    return nn.Sequential(nn.Embedding(n_outputs, 4), nn.Flatten(),"
        " nn.Linear(4 * input_shape[0], n_outputs))\n"
    )
    recipe = write_recipe(
        tmp_path,
        {
            "data": {"train": "ids.npz", "task": "language_model"},
            "model": {"engine": "torch", "factory": "flat:build", "device": "cpu"},
        },
    )
    assert_exit2(run_cli("run", str(recipe)), "(N, T, vocab)")


def test_float_token_ids_are_exit_2(tmp_path: Path) -> None:
    np.savez(tmp_path / "ids.npz", x=_ids().astype(np.float32))
    recipe = _lm_recipe(tmp_path, {"train": "ids.npz"})
    assert_exit2(run_cli("run", str(recipe)), "ids.npz", "integers")


def test_results_are_bit_identical_across_runs(tmp_path: Path) -> None:
    np.savez(tmp_path / "ids.npz", x=_ids())
    recipe = _lm_recipe(tmp_path, {"train": "ids.npz"})
    only = ["skeleton.lm_init_loss", "overfit.lm_one_batch", "evaluate.lm_test_set"]
    metrics = []
    for _ in range(2):
        _, results = _audit(recipe, *only)
        metrics.append(json.dumps([c["metrics"] for c in results["checks"]], sort_keys=True))
    assert metrics[0] == metrics[1]


def test_training_curves_reach_the_report_and_tensorboard(tmp_path: Path) -> None:
    reader = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    np.savez(tmp_path / "ids.npz", x=_ids())
    recipe = _lm_recipe(tmp_path, {"train": "ids.npz"})
    code, _ = _audit(recipe, "overfit.lm_one_batch", "evaluate.lm_test_set")
    assert code == 0
    acc = reader.EventAccumulator(str(tmp_path / "recipe-report"), size_guidance={"scalars": 0})
    acc.Reload()
    batch = [
        e.value for e in acc.Scalars("evaluate.lm_test_set/training_batch_loss_nats_token/loss")
    ]
    assert len(batch) == 40 and batch[-1] < batch[0]  # one point per training step
    one = [e.value for e in acc.Scalars("overfit.lm_one_batch/one_batch_loss_nats_token/loss")]
    assert len(one) >= 2 and one[-1] < one[0]
    html = (tmp_path / "recipe-report" / "index.html").read_text()
    assert "training: batch loss (nats/token)" in html
