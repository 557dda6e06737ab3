"""data.label_errors: randomly flipped labels come out on top of the suspect list."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nncheck.checks.context import Context
from nncheck.checks.data_label_errors import find_label_issues
from nncheck.checks.registry import load_all
from nncheck.checks.runner import run_one
from nncheck.data.build import load_dataset
from nncheck.recipe.load import parse_recipe
from tests.conftest import ROOT, check_by_id, read_results, run_cli, write_recipe


def _flip(labels: np.ndarray, fraction: float, n_classes: int, seed: int) -> np.ndarray:
    """Indices of ``fraction`` of the samples, whose labels are moved to another class."""
    rng = np.random.default_rng(seed)
    flipped = np.sort(rng.choice(len(labels), int(round(fraction * len(labels))), replace=False))
    labels[flipped] = (labels[flipped] + rng.integers(1, n_classes, len(flipped))) % n_classes
    return flipped


def _run_csv(tmp_path: Path, frame: pd.DataFrame, cli: bool = False, **checks) -> dict:
    """The check on ``frame`` (25% test split), in process or through the CLI, as the dict
    results.json holds."""
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    recipe = {
        "data": {"train": str(csv), "target": "label", "test": {"fraction": 0.25}},
        "checks": {"data.label_errors": checks} if checks else {},
        "report": {"dir": str(tmp_path / "report")},
    }
    if not cli:
        ctx = _context(recipe["data"])
        spec = load_all()["data.label_errors"]
        res = run_one(spec, ctx, {**spec.defaults, **checks})
        return {k: getattr(res, k) for k in ("status", "message", "hint", "metrics", "examples")}
    proc = run_cli(
        "run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", "data.label_errors"
    )
    assert proc.returncode in (0, 1), proc.stderr
    return check_by_id(read_results(tmp_path / "report"), "data.label_errors")


def test_flipped_digits_labels_top_the_suspect_list(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "digits.csv")
    labels = frame["label"].to_numpy().copy()
    flipped = _flip(labels, 0.02, 10, seed=1)
    frame["label"] = labels
    top = len(flipped)  # the top 2% of the ranking
    check = _run_csv(tmp_path, frame, cli=True, max_examples=top)
    found = {e["row"] for e in check["examples"]}
    recall = len(found & set(flipped.tolist())) / len(flipped)
    assert recall >= 0.8, (recall, check["message"])
    m = check["metrics"]
    assert m["n_checked"] == len(frame) and m["n_train_checked"] + m["n_test_checked"] == len(frame)
    # The estimated error rate is close to what was injected (2%).
    assert 0.01 <= m["estimated_error_rate"] <= 0.04, m
    assert f"{m['suspects']} of {len(frame)} labels" in check["message"]
    # Every example says where it lives and what the model would call it.
    first = check["examples"][0]
    assert {"split", "row", "given", "suggested", "p_given", "p_suggested"} <= set(first)
    assert first["given"] != first["suggested"]
    assert str(int(labels[first["row"]])) == first["given"]


def test_healthy_digits_pass_and_still_list_suspects(tmp_path: Path, data_dir: Path) -> None:
    check = _run_csv(tmp_path, pd.read_csv(data_dir / "digits.csv"))
    assert check["status"] == "pass", check["message"]
    assert check["metrics"]["estimated_error_rate"] < 0.01
    assert check["metrics"]["model_accuracy"] > 0.95
    assert len(check["examples"]) == 20  # always listed for a person to look at


def test_heavy_label_noise_warns(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "breast_cancer.csv")
    labels = frame["label"].to_numpy().copy()
    flipped = _flip(labels, 0.10, 2, seed=2)
    frame["label"] = labels
    check = _run_csv(tmp_path, frame)
    assert check["status"] == "warn", check["message"]
    assert check["hint"]
    rate = check["metrics"]["estimated_error_rate"]
    assert 0.05 <= rate <= 0.15, rate  # 10% injected
    found = {e["row"] for e in check["examples"]}
    assert len(found & set(flipped.tolist())) >= 15  # of the top 20


def test_shuffled_labels_warn_and_point_at_misalignment(tmp_path: Path, data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "wine.csv")
    frame["label"] = np.random.default_rng(0).permutation(frame["label"].to_numpy())
    check = _run_csv(tmp_path, frame, cli=True)
    assert check["status"] == "warn", check["message"]
    assert check["metrics"]["estimated_error_rate"] > 0.3
    assert "labels look unrelated to the inputs" in check["message"]
    assert "aligned" in check["hint"]


def test_past_max_samples_a_seeded_sample_is_checked() -> None:
    ctx = _context({"train": str(ROOT / "data" / "wine.csv"), "target": "label"})
    issues = find_label_issues(ctx.dataset, seed=0, max_samples=100)
    assert issues is not None and len(issues.given) == 100 and issues.n_available == 178
    assert find_label_issues(ctx.dataset, seed=0, max_samples=10) is None  # < 4 per fold


def test_same_seed_same_suspects() -> None:
    ctx = _context({"train": str(ROOT / "data" / "wine.csv"), "target": "label"})
    a = find_label_issues(ctx.dataset, seed=0)
    b = find_label_issues(ctx.dataset, seed=0)
    assert a is not None and b is not None
    assert np.array_equal(a.probs, b.probs) and np.array_equal(a.ranking, b.ranking)


def test_regression_is_skipped(tmp_path: Path, data_dir: Path) -> None:
    recipe = {
        "data": {"train": str(data_dir / "diabetes.csv"), "target": "target"},
        "report": {"dir": str(tmp_path / "report")},
    }
    proc = run_cli(
        "run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", "data.label_errors"
    )
    assert proc.returncode == 0, proc.stderr
    check = check_by_id(read_results(tmp_path / "report"), "data.label_errors")
    assert check["status"] == "skip" and "regression" in check["message"]


def _context(data: dict) -> Context:
    recipe = parse_recipe({"data": data}, base_dir=ROOT)
    return Context(recipe, load_dataset(recipe.data, recipe.seed), None, None)


def _write_idx_labels(path: Path, labels: np.ndarray) -> None:
    head = bytes([0, 0, 0x08, 1]) + len(labels).to_bytes(4, "big")
    path.write_bytes(gzip.compress(head + labels.astype(np.uint8).tobytes(), compresslevel=1))


@pytest.mark.slow
def test_flipped_mnist_labels_top_the_suspect_list(tmp_path: Path, data_dir: Path) -> None:
    mnist = data_dir / "mnist"
    flipped_rows = {}
    files = {}
    for split, stem, seed in (("train", "train", 3), ("test", "t10k", 4)):
        with gzip.open(mnist / f"{stem}-labels-idx1-ubyte.gz") as fh:
            labels = np.frombuffer(fh.read()[8:], dtype=np.uint8).astype(np.int64)
        flipped_rows[split] = _flip(labels, 0.02, 10, seed=seed)
        files[split] = tmp_path / f"{stem}-labels-flipped.gz"
        _write_idx_labels(files[split], labels)
    data = {
        split: {"images": str(mnist / f"{stem}-images-idx3-ubyte.gz"), "labels": str(files[split])}
        for split, stem in (("train", "train"), ("test", "t10k"))
    }
    ctx = _context({**data, "classes": 10, "normalize": "scale255"})
    issues = find_label_issues(ctx.dataset, seed=0)
    assert issues is not None
    n_flipped = sum(len(v) for v in flipped_rows.values())
    top = issues.ranking[:n_flipped]  # the top 2%
    # positions in the splits are the source rows for IDX files
    found = {(int(issues.split[i]), int(issues.pos[i])) for i in top}
    truth = {(s, int(r)) for s, name in enumerate(("train", "test")) for r in flipped_rows[name]}
    recall = len(found & truth) / len(truth)
    assert recall >= 0.8, recall
    assert 0.01 <= issues.rate <= 0.03, issues.rate


def _wine_with_flips(fraction: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.read_csv(ROOT / "data" / "wine.csv")
    labels = frame["label"].to_numpy().copy()
    flipped = _flip(labels, fraction, 3, seed=seed)
    frame["label"] = labels
    return frame, flipped


def test_every_suspect_is_in_results_json_and_label_issues_csv(tmp_path: Path) -> None:
    frame, flipped = _wine_with_flips(0.10, seed=5)
    check = _run_csv(tmp_path, frame, cli=True)
    m = check["metrics"]
    flagged = [e for e in check["examples"] if e["flagged"]]
    assert m["suspects"] >= 10 and len(flagged) == m["suspects"]
    assert m["suspects_train"] + m["suspects_test"] == m["suspects"]
    assert f"{m['suspects_train']} in train, {m['suspects_test']} in test" in check["message"]
    assert "every suspect, ranked, is in label_issues.csv" in check["message"]
    # Ranked by the given label's out-of-fold probability, lowest first.
    p_given = [e["p_given"] for e in flagged]
    assert p_given == sorted(p_given)
    assert [e["rank"] for e in check["examples"]] == list(range(1, len(check["examples"]) + 1))
    # The CSV in the report holds the same samples in the same order, with probabilities.
    csv = pd.read_csv(tmp_path / "report" / "label_issues.csv", dtype={"given": str})
    assert list(csv.columns[:5]) == ["rank", "split", "row", "given", "suggested"]
    assert "probabilities" in csv.columns
    assert len(csv) == len(check["examples"])
    assert csv["row"].tolist() == [e["row"] for e in check["examples"]]
    assert set(csv["split"]) <= {"train", "test"}
    first = csv.iloc[0]
    shares = dict(item.split("=") for item in first["probabilities"].split())
    assert set(shares) <= {"0", "1", "2"}
    assert abs(float(shares[str(first["suggested"])]) - first["p_suggested"]) < 1e-3
    # Most of the planted flips are among the suspects (wine: 18 flipped labels).
    found = {e["row"] for e in flagged}
    assert len(found & set(flipped.tolist())) >= 0.7 * len(flipped)


def test_the_listing_is_capped_and_says_so(tmp_path: Path) -> None:
    frame, _ = _wine_with_flips(0.10, seed=5)
    check = _run_csv(tmp_path, frame, max_examples=4, min_listed=0)
    assert len(check["examples"]) == 4 and all(e["flagged"] for e in check["examples"])
    assert check["metrics"]["suspects"] > 4
    assert "the first 4 suspects, ranked, are in label_issues.csv" in check["message"]


def test_clean_data_still_lists_the_least_trusted_labels(tmp_path: Path) -> None:
    check = _run_csv(tmp_path, pd.read_csv(ROOT / "data" / "wine.csv"), min_listed=7)
    assert check["status"] == "pass"
    suspects = check["metrics"]["suspects"]
    assert len(check["examples"]) == max(7, suspects)
    assert sum(e["flagged"] for e in check["examples"]) == suspects
    flags = [e["flagged"] for e in check["examples"]]
    assert flags == sorted(flags, reverse=True)  # suspects first, then the others


def _bar_images(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8 x 8 images of three classes (a horizontal, a vertical or a diagonal bar) + noise."""
    rng = np.random.default_rng(seed)
    base = np.zeros((3, 8, 8))
    base[0, 3:5, :] = 1.0
    base[1, :, 3:5] = 1.0
    base[2][np.eye(8, dtype=bool)] = 1.0
    y = np.repeat(np.arange(3), n_per_class)
    x = base[y] + rng.normal(0, 0.25, (len(y), 8, 8))
    return np.clip(x * 200 + 20, 0, 255).astype(np.uint8), y


def test_image_suspects_get_thumbnails_up_to_max_thumbnails(tmp_path: Path) -> None:
    x, y = _bar_images(60, seed=0)
    flipped = _flip(y, 0.1, 3, seed=1)
    np.savez(tmp_path / "bars.npz", x=x, y=y)
    ctx = _context({"train": str(tmp_path / "bars.npz"), "target": "y", "normalize": "scale255"})
    spec = load_all()["data.label_errors"]
    res = run_one(spec, ctx, {**spec.defaults, "max_thumbnails": 5})
    assert res.metrics["suspects"] >= len(flipped) * 0.8
    items = res.artifacts["images"]["items"]
    assert len(items) == 5
    assert items[0]["caption"].startswith("#1 ")
    assert items[0]["image"].shape == (8, 8)
    table = res.artifacts["tables"]["suspects per split"]
    assert [r[0] for r in table["rows"]] == ["train", "test"]
    assert sum(r[2] for r in table["rows"]) == res.metrics["suspects"]


@pytest.mark.slow
def test_quick_model_is_98_percent_accurate_on_mnist(data_dir: Path) -> None:
    mnist = data_dir / "mnist"
    data = {
        split: {
            "images": str(mnist / f"{stem}-images-idx3-ubyte.gz"),
            "labels": str(mnist / f"{stem}-labels-idx1-ubyte.gz"),
        }
        for split, stem in (("train", "train"), ("test", "t10k"))
    }
    ctx = _context({**data, "classes": 10, "normalize": "scale255"})
    issues = find_label_issues(ctx.dataset, seed=0)
    assert issues is not None and len(issues.given) == 70_000
    assert float((issues.model.predicted == issues.given).mean()) >= 0.98


def test_fold_models_on_threads_give_the_sequential_probabilities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fold models train in two groups on threads; they share no gradient, so the
    probabilities must be bit-identical to training the same groups one after the other
    (and so the same on a machine with any number of cores)."""
    from nncheck.checks import _quick_model

    frame = pd.read_csv(ROOT / "data" / "digits.csv")
    y = frame.pop("label").to_numpy(np.int64)
    z = (frame.to_numpy(np.float32) - 8.0) / 8.0
    monkeypatch.setattr(_quick_model, "PARALLEL_MIN_ROWS", 0)
    threaded = _quick_model.out_of_fold_probs(z, y, 10, seed=3, epochs=3)
    monkeypatch.setattr(_quick_model, "PARALLEL_MIN_ROWS", 10**9)
    sequential = _quick_model.out_of_fold_probs(z, y, 10, seed=3, epochs=3)
    assert np.array_equal(threaded.probs, sequential.probs)
    accuracy = float((threaded.probs.argmax(1) == y).mean())
    assert accuracy > 0.9  # a trained model, not two empty groups
