"""task: sequence_classification: token ids (N, T) in an npz, one class per sequence.

Run through the CLI on the bundled recipes/digits_sequences.yaml (each 8 x 8 digit read
as 64 grey-level tokens, through a GRU) and on variants with one thing wrong each.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import DATA, ROOT, check_by_id, read_results, run_cli, write_recipe

pytest.importorskip("torch")

MIXING_GRU = '''
import torch
from torch import nn


class Mixed(nn.Module):
    """BUG: a GRU without batch_first reads the batch axis as time."""

    def __init__(self, vocab_size, n_outputs):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 16)
        self.gru = nn.GRU(16, 16)
        self.head = nn.Linear(16, n_outputs)

    def forward(self, ids):
        out, _ = self.gru(self.embed(ids))  # (N, T, 16) taken as (T=N, batch=T, 16)
        return self.head(out.mean(dim=1))


def build(input_shape, n_outputs, vocab_size):
    return Mixed(vocab_size, n_outputs)


def no_vocab(input_shape, n_outputs):
    return nn.Linear(input_shape[0], n_outputs)
'''


def _recipe(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    shutil.copy(ROOT / "recipes" / "char_models.py", tmp_path / "char_models.py")
    recipe: dict[str, Any] = {
        "name": "seqcls",
        "seed": 0,
        "data": {
            "train": str(DATA / "digits_sequences.npz"),
            "task": "sequence_classification",
            "test": {"fraction": 0.2},
        },
        "model": {
            "engine": "torch",
            "factory": "char_models:gru_classifier",
            "kwargs": {"width": 16},
            "device": "cpu",
        },
        "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 64, "steps": 100},
        "report": {"dir": str(tmp_path / "report")},
    }
    for section, values in changes.items():
        recipe[section] = {**recipe[section], **values}
    return recipe


def _run(tmp_path: Path, recipe: dict[str, Any], *only: str):
    proc = run_cli(
        "run", str(write_recipe(tmp_path, recipe)), "--quiet", *(["--only", *only] if only else [])
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_bundled_recipe_passes_and_says_which_checks_do_not_apply(tmp_path: Path) -> None:
    proc = run_cli(
        "run", str(ROOT / "recipes" / "digits_sequences.yaml"), "--report-dir", str(tmp_path)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = read_results(tmp_path)
    status = {c["id"]: c["status"] for c in res["checks"]}
    assert not [k for k, v in status.items() if v in ("warn", "fail", "error")]
    for ran in (
        "data.integrity",
        "data.duplicates",
        "data.class_balance",
        "data.sequence_overlap",
        "skeleton.init_loss",
        "skeleton.sequence_independence",
        "skeleton.input_independent",
        "overfit.one_batch",
        "evaluate.full_test_set",
    ):
        assert status[ran] == "pass", ran
    outliers = check_by_id(res, "data.outliers")
    assert outliers["metrics"]["not_applicable"] and "token ids" in outliers["message"]
    assert "sequences of 64 tokens" in check_by_id(res, "data.integrity")["message"]
    assert res["dataset"]["task"] == "sequence_classification"
    assert "the factory receives vocab_size=17" in " ".join(res["dataset"]["notes"])
    assert "checks do not apply to this setup (a sequence classification task" in proc.stdout


def test_test_sequences_copied_from_train_fail_the_overlap_check(tmp_path: Path) -> None:
    with np.load(DATA / "digits_sequences.npz") as f:
        x, y = f["x"], f["y"]
    np.savez(tmp_path / "train.npz", x=x[:1400], y=y[:1400])
    test_x = np.concatenate([x[1400:1600], x[:100]])  # 100 of 300 test sequences from train
    np.savez(tmp_path / "test.npz", x=test_x, y=np.concatenate([y[1400:1600], y[:100]]))
    recipe = _recipe(
        tmp_path, data={"train": str(tmp_path / "train.npz"), "test": str(tmp_path / "test.npz")}
    )
    proc = _run(tmp_path, recipe, "data.sequence_overlap")
    overlap = check_by_id(read_results(tmp_path / "report"), "data.sequence_overlap")
    assert proc.returncode == 1 and overlap["status"] == "fail"
    assert overlap["metrics"]["whole_sequences"] == pytest.approx(100 / 300)


def test_a_gru_that_reads_the_batch_as_time_fails_sequence_independence(tmp_path: Path) -> None:
    (tmp_path / "mixing.py").write_text(MIXING_GRU)
    recipe = _recipe(tmp_path, model={"factory": "mixing:build", "kwargs": {}})
    proc = _run(tmp_path, recipe, "skeleton.sequence_independence")
    check = check_by_id(read_results(tmp_path / "report"), "skeleton.sequence_independence")
    assert proc.returncode == 1 and check["status"] == "fail"
    assert "sequences leak into each other" in check["message"]


def test_wrong_engine_and_a_factory_without_vocab_size_are_exit_2(tmp_path: Path) -> None:
    proc = _run(tmp_path, _recipe(tmp_path, model={"engine": "numpy", "factory": None}))
    assert proc.returncode == 2 and "a sequence classifier needs engine: torch" in proc.stderr
    (tmp_path / "mixing.py").write_text(MIXING_GRU)
    proc = _run(tmp_path, _recipe(tmp_path, model={"factory": "mixing:no_vocab", "kwargs": {}}))
    assert proc.returncode == 2 and "vocab_size=17" in proc.stderr
    labels_2d = tmp_path / "bad.npz"
    np.savez(labels_2d, x=np.zeros((10, 4), np.int64), y=np.zeros((10, 4), np.int64))
    proc = _run(tmp_path, _recipe(tmp_path, data={"train": str(labels_2d)}))
    assert proc.returncode == 2 and "one label per sequence" in proc.stderr
