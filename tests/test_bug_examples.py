"""Every model and training-code bug in examples/bugs is caught by the check bug-classes.md names.

Each case runs `nncheck run examples/bugs/<bug>.yaml` (in-process through the CLI's
``main``, so torch is imported once for all cases; M8 in a subprocess), restricted with
``--only`` to the check that must flag the bug (to stay fast), and asserts that it warns or
fails with a message that points at the cause; a check that misses the bug, or is not
registered, fails the case. The healthy CNN
(recipes/mnist_cnn.yaml) passes the model checks (all checks: the slow test).
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from nncheck.checks.registry import load_all  # noqa: E402
from nncheck.cli import main as cli_main  # noqa: E402
from tests.conftest import ROOT, check_by_id, read_results, run_cli  # noqa: E402

BUGS = ROOT / "examples" / "bugs"

# bug recipe -> (class, check that must flag it, words its message must contain)
CASES = {
    "softmax_twice": ("M4", "skeleton.init_loss", ["already probabilities", "softmax"]),
    "unseeded_noise": ("M5", "skeleton.determinism", ["differ", "seed"]),
    "batch_mixing": ("M6", "skeleton.batch_independence", ["samples mix across the batch"]),
    "ignores_input": ("M7", "skeleton.input_independent", ["no better with its inputs"]),
    "frozen_layers": ("M2", "overfit.loss_decreases", ["did not decrease"]),
    "detached_forward": ("M2", "overfit.loss_decreases", ["did not decrease"]),
    "optimizer_missing_params": ("P1", "skeleton.optimizer_params", ["in no param group"]),
    "schedule_per_epoch": ("P1", "skeleton.lr_schedule", ["the lr falls from"]),
    "augmented_test_set": ("P2", "data.test_augmentation", ["random transforms"]),
    "shifted_targets": ("P2", "data.pipeline_targets", ["class indices are 0..2"]),
    "no_zero_grad": ("P3", "skeleton.grad_accumulation", ["never zeroes them"]),
    "sorted_loader": ("P3", "data.loader_batches", ["in class order"]),
    "worker_shared_rng": ("P3", "data.worker_seeds", ["share one random stream"]),
    "non_causal_lm": ("S1", "skeleton.causal", ["sees the future"]),
    "targets_not_shifted": ("S1", "data.sequence_targets", ["not shifted"]),
    "padding_in_loss": ("S1", "data.padding", ["counts padding"]),
    "softmax_multilabel": ("S2", "skeleton.multilabel_init", ["softmax over the labels"]),
    "channels_last_images": ("S2", "data.image_layout", ["8x8x3", "reads C x H x W"]),
}

MODEL_CHECKS = [
    "skeleton.determinism",
    "skeleton.init_loss",
    "skeleton.output_bias",
    "skeleton.init_scale",
    "skeleton.gradient_check",
    "skeleton.batch_independence",
]


def registered(check_id: str) -> bool:
    return check_id in load_all()


def run_nncheck(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`nncheck run ARGS --quiet` in this process; returns (exit code, stderr)."""
    code = cli_main(["run", *args, "--quiet"])
    return code, capsys.readouterr().err


def test_every_bug_module_has_a_recipe() -> None:
    modules = {p.stem for p in BUGS.glob("*.py")}
    recipes = {p.stem for p in BUGS.glob("*.yaml")}
    assert modules == recipes
    assert set(CASES) | {"wrong_output_size"} == recipes


@pytest.mark.parametrize("bug", sorted(CASES))
def test_bug_is_flagged_by_its_check(bug: str, tmp_path: Path, capsys) -> None:
    bug_class, check_id, words = CASES[bug]
    assert registered(check_id), f"{check_id} is not a registered check"
    report = tmp_path / "report"
    recipe = str(BUGS / f"{bug}.yaml")
    code, err = run_nncheck(capsys, recipe, "--only", check_id, "--report-dir", str(report))
    assert code == 1, f"{bug} ({bug_class}): exit {code}\n{err}"
    res = check_by_id(read_results(report), check_id)
    assert res["status"] in ("warn", "fail"), f"{check_id} missed {bug_class}: {res['message']}"
    for word in words:
        assert word in res["message"], res["message"]
    assert res["hint"], f"{check_id} gives no hint for {bug_class}"


def test_wrong_output_size_stops_before_any_check(tmp_path: Path) -> None:
    """M8: a usage error (exit 2) naming both sizes, and no report written."""
    report = tmp_path / "report"
    proc = run_cli(
        "run", str(BUGS / "wrong_output_size.yaml"), "--quiet", "--report-dir", str(report)
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "model outputs 2 values per sample, the data has 3 classes" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not report.exists()


def test_healthy_cnn_passes_the_model_checks(tmp_path: Path, capsys) -> None:
    assert all(registered(c) for c in MODEL_CHECKS), MODEL_CHECKS
    only = list(MODEL_CHECKS)
    report = tmp_path / "report"
    recipe = str(ROOT / "recipes" / "mnist_cnn.yaml")
    code, err = run_nncheck(capsys, recipe, "--only", *only, "--report-dir", str(report))
    assert code == 0, err
    statuses = {c["id"]: (c["status"], c["message"]) for c in read_results(report)["checks"]}
    for check_id in only:
        assert statuses[check_id][0] == "pass", f"{check_id}: {statuses[check_id]}"


@pytest.mark.slow
def test_healthy_cnn_passes_every_check(tmp_path: Path) -> None:
    report = tmp_path / "report"
    proc = run_cli(
        "run", str(ROOT / "recipes" / "mnist_cnn.yaml"), "--quiet", "--report-dir", str(report),
        timeout=3000,
    )  # fmt: skip
    results = read_results(report)
    bad = {c["id"]: c["message"] for c in results["checks"] if c["status"] in ("fail", "error")}
    warned = {c["id"]: c["message"] for c in results["checks"] if c["status"] == "warn"}
    assert proc.returncode == 0 and not bad, bad
    assert not warned, warned
