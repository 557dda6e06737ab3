"""``nncheck.audit``: the user's Python objects through the same pipeline as ``nncheck run``.

Fast cases on the numpy engine (arrays, DataFrames) and tiny torch Datasets, restricted to a
few checks with ``only=``; the full audits of the example projects are in test_projects.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nncheck
from nncheck.errors import RecipeError, UsageError
from nncheck.testing import assert_audit_passes
from tests.conftest import ROOT, read_results, run_cli

DATA_CHECKS = ["data.integrity", "data.duplicates", "data.leakage", "data.class_balance"]


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "wine.csv")


def test_a_dataframe_audit_equals_the_recipe_run(wine: pd.DataFrame, tmp_path: Path) -> None:
    """One pipeline: the same data through the API and through a recipe give the same
    results (the split, the dataset summary and every selected check's message)."""
    result = nncheck.audit(
        train=wine, target="label", normalize="standardize", only=DATA_CHECKS, name="wine"
    )
    recipe = tmp_path / "wine.yaml"
    recipe.write_text(
        f"name: wine\ndata:\n  train: {ROOT / 'data' / 'wine.csv'}\n  target: label\n"
    )
    report = tmp_path / "report"
    proc = run_cli("run", str(recipe), "--quiet", "--report-dir", str(report), "--only",
                   *DATA_CHECKS)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    by_cli = {c["id"]: (c["status"], c["message"]) for c in read_results(report)["checks"]}
    by_api = {c.id: (c.status, c.message) for c in result.checks}
    assert by_api == by_cli
    summary = read_results(report)["dataset"]
    for key in ("n_train", "n_test", "classes", "normalize", "feature_names"):
        assert result.run.dataset_summary[key] == summary[key], key


def test_the_audit_object(wine: pd.DataFrame, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = nncheck.audit(train=wine, target="label", only=DATA_CHECKS)
    assert result.passed and not result.failed
    assert result["data.integrity"].status == "pass"
    assert result["data.near_duplicates"].status == "skip"
    with pytest.raises(KeyError, match="did you mean 'data.leakage'"):
        result["data.leakge"]
    summary = result.summary()
    assert "data.class_balance" in summary and summary.startswith("nncheck audit audit: pass")
    assert list(tmp_path.iterdir()) == [], "an audit without report_dir writes nothing"
    out = result.write(tmp_path / "report")
    written = json.loads((out / "results.json").read_text())
    assert {c["id"]: c["status"] for c in written["checks"]} == {
        c.id: c.status for c in result.checks
    }
    assert (out / "index.html").is_file() and (out / "junit.xml").is_file()


def test_numpy_arrays_and_a_failing_audit_message(wine: pd.DataFrame) -> None:
    x = wine.drop(columns="label").to_numpy(np.float32)
    y = wine["label"].to_numpy()
    with pytest.raises(AssertionError) as err:
        assert_audit_passes(train=(x, y), test=(x[:40], y[:40]), only=["data.leakage"])
    text = str(err.value)
    assert "- data.leakage [fail]: 40 test samples" in text
    assert "  hint: " in text


def test_bad_arguments_are_usage_errors(wine: pd.DataFrame) -> None:
    with pytest.raises(RecipeError, match="steps"):
        nncheck.audit(train=wine, target="label", steps=0)
    with pytest.raises(UsageError, match="only"):
        nncheck.audit(train=wine, target="label", only=["data.nonsense"])


torch = pytest.importorskip("torch")


class DictItems(torch.utils.data.Dataset):
    """Items as dicts, with a random flip on the inputs (a transform nncheck must read
    through, seeded)."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.y = torch.arange(n) % 3
        self.x = torch.randn(n, 6, generator=g) + self.y[:, None].float()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        sign = 1.0 if torch.rand(()) < 0.5 else -1.0
        return {"features": self.x[i] * sign, "label": self.y[i]}


def test_a_dict_dataset_is_read_through_its_transforms_and_sampled() -> None:
    def build(input_shape: tuple[int, ...], n_outputs: int) -> torch.nn.Module:
        return torch.nn.Linear(input_shape[0], n_outputs)

    kwargs = dict(
        model=build,
        train=DictItems(300, 0),
        test=DictItems(60, 1),
        input_key="features",
        target="label",
        max_samples=200,
        only=["data.integrity", "data.test_augmentation", "skeleton.init_loss"],
    )
    first, second = nncheck.audit(**kwargs), nncheck.audit(**kwargs)
    assert first["data.integrity"].message == second["data.integrity"].message
    assert "200 train" in first["data.integrity"].message
    notes = first.run.dataset_summary["notes"]
    assert any("seeded sample of 200 of 300 items" in n for n in notes), notes
    # the random flip on the test Dataset is random augmentation on the test set
    assert first["data.test_augmentation"].status == "fail"
    assert first["skeleton.init_loss"].status == "pass"


def test_a_loss_that_raises_is_a_usage_error_with_the_users_frame() -> None:
    def build(input_shape: tuple[int, ...], n_outputs: int) -> torch.nn.Module:
        return torch.nn.Linear(input_shape[0], n_outputs)

    def broken_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise ValueError("my loss is broken")

    with pytest.raises(UsageError) as err:
        nncheck.audit(
            model=build,
            train=DictItems(60, 0),
            input_key="features",
            target="label",
            loss=broken_loss,
            only=["skeleton.init_loss"],
        )
    text = str(err.value)
    assert "my loss is broken" in text and "broken_loss" in text
    assert "nncheck/engines" not in text, "only the user's own frames are shown"
