"""tensorboard/ read back with TensorBoard's own reader (EventAccumulator).

What an engineer opening ``tensorboard --logdir reports/`` must find: the scalar curves of
each training a check ran, named by check, with the values the run computed; the init
histograms; the batch as fed to the network; prediction dynamics; the check table.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import read_results, run_cli, wine_recipe, write_recipe

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="tensorboard (the reader) is a test dependency: pip install -e '.[test]'",
)


def load(logdir: Path) -> Any:
    acc = event_accumulator.EventAccumulator(
        str(logdir),
        size_guidance={"scalars": 0, "images": 0, "histograms": 0, "tensors": 0},
    )
    acc.Reload()
    return acc


def text(acc: Any, tag: str) -> str:
    (event,) = acc.Tensors(tag + "/text_summary")
    return event.tensor_proto.string_val[0].decode()


def scalars(acc: Any, tag: str) -> tuple[list[int], list[float]]:
    events = acc.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any]:
    tmp = tmp_path_factory.mktemp("tb")
    proc = run_cli("run", str(write_recipe(tmp, wine_recipe(tmp))), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = tmp / "report"
    event_files = list((report / "tensorboard").glob("events.out.tfevents.*"))
    assert len(event_files) == 1  # one run per report: `--logdir reports/` compares runs
    return read_results(report), load(report / "tensorboard")


def test_every_check_with_curves_has_its_scalars(wine_run: tuple[dict, Any]) -> None:
    results, acc = wine_run
    tags = acc.Tags()["scalars"]
    with_curves = [c["id"] for c in results["checks"] if "curves" in c["artifacts"]]
    assert {"overfit.one_batch", "overfit.loss_decreases", "skeleton.input_independent"} <= set(
        with_curves
    )
    for check_id in with_curves:
        assert any(t.startswith(check_id + "/") for t in tags), check_id


def test_overfit_one_batch_curve_has_the_values_the_run_computed(
    wine_run: tuple[dict, Any],
) -> None:
    results, acc = wine_run
    m = next(c for c in results["checks"] if c["id"] == "overfit.one_batch")["metrics"]
    steps, values = scalars(acc, "overfit.one_batch/overfit_one_batch/loss")
    assert steps == list(range(m["steps"]))  # the loss of each update, before it
    assert math.isclose(values[0], m["initial_loss"], rel_tol=1e-6)
    # the last update brings it from the curve's last point to the final loss
    assert m["final_loss"] <= m["target_loss"] < values[0]
    assert m["final_loss"] <= values[-1] * 1.01


def test_monitor_losses_match_results_json(wine_run: tuple[dict, Any]) -> None:
    results, acc = wine_run
    m = next(c for c in results["checks"] if c["id"] == "overfit.loss_decreases")["metrics"]
    base = "overfit.loss_decreases/main_training_loss_on_fixed_subsets"
    for series, key in (("train", "monitor_train_loss"), ("test", "monitor_test_loss")):
        steps, values = scalars(acc, f"{base}/{series}")
        assert steps == m["monitor_steps"]
        np.testing.assert_allclose(values, m[key], rtol=1e-6)  # stored as float32
    steps, _ = scalars(acc, "overfit.loss_decreases/main_training_batch_loss/loss")
    assert len(steps) == m["steps"]


def test_init_histograms_per_layer(wine_run: tuple[dict, Any]) -> None:
    results, acc = wine_run
    m = next(c for c in results["checks"] if c["id"] == "skeleton.init_scale")["metrics"]
    tags = set(acc.Tags()["histograms"])
    for layer in m["layers"]:
        name = layer["name"].replace(" (", "_").replace(")", "")  # "layer0 (tanh)" -> layer0_tanh
        tag = f"skeleton.init_scale/{name}_activations"
        assert tag in tags, (tag, sorted(tags))
        (event,) = acc.Histograms(tag)
        h = event.histogram_value
        assert h.num > 0 and sum(h.bucket) == h.num
        width = (h.max - h.min) / len(h.bucket)  # the mean from bin centres is this exact
        assert abs(h.sum / h.num - layer["mean"]) <= width
        assert h.min <= layer["mean"] <= h.max
    assert any(t.endswith("weight_gradients") for t in tags)


def test_prediction_dynamics_and_batches_become_images(wine_run: tuple[dict, Any]) -> None:
    results, acc = wine_run
    images = set(acc.Tags()["images"])
    checks = {c["id"]: c for c in results["checks"]}
    assert "predictions" in checks["overfit.loss_decreases"]["artifacts"]
    for check_id, c in checks.items():
        if "predictions" in c["artifacts"]:
            assert f"{check_id}/prediction_dynamics" in images
        if "batch" in c["artifacts"]:
            assert f"{check_id}/batch_as_fed" in images
    steps = [e.step for e in acc.Images("overfit.loss_decreases/prediction_dynamics")]
    assert steps == checks["overfit.loss_decreases"]["metrics"]["monitor_steps"]


def test_check_table_and_tables_as_text(wine_run: tuple[dict, Any]) -> None:
    results, acc = wine_run
    table = text(acc, "nncheck/checks")
    for c in results["checks"]:
        assert f"`{c['id']}`" in table
        assert c["status"] in table
    assert "wine-mlp" in table and results["verdict"].upper() in table
    recipe = text(acc, "nncheck/recipe")
    assert "normalize: standardize" in recipe and "lr: 0.01" in recipe
    per_class = text(acc, "evaluate.full_test_set/per-class_metrics_test_set")
    assert per_class.startswith("| class |")


def test_batch_grid_and_prediction_dynamics_from_artifacts(tmp_path: Path) -> None:
    """Written from a run in memory: the image grid of the batch exactly as fed, and one
    prediction heatmap per evaluation step."""
    from PIL import Image

    from nncheck.results import CheckResult, RunResult
    from nncheck.writers import tensorboard_writer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 28, 28)).astype(np.float32)
    logits = rng.normal(size=(3, 5, 4))
    checks = [
        CheckResult(
            "overfit.one_batch",
            "overfit",
            "pass",
            "ok",
            artifacts={"batch": {"x": x, "y": np.arange(10)}},
        ),
        CheckResult(
            "overfit.loss_decreases",
            "overfit",
            "pass",
            "ok",
            artifacts={
                "predictions": {
                    "steps": [0, 5, 10],
                    "rows": [3, 1, 4, 1, 5],
                    "targets": [0, 1, 2, 3, 0],
                    "outputs": [o.tolist() for o in logits],
                }
            },
        ),
    ]
    recipe = {"name": "mem", "model": {"loss": "cross_entropy"}}
    run = RunResult(recipe, "2024-01-01T00:00:00", 1.0, checks, "0.0.test")
    acc = load(tensorboard_writer.write(run, tmp_path))
    (grid,) = acc.Images("overfit.one_batch/batch_as_fed")
    img = np.asarray(Image.open(io.BytesIO(grid.encoded_image_string)))
    assert img.shape[:2] == (2 + 2 * 30, 2 + 8 * 30)  # 8 per row, 28 px + 2 px padding
    tile = img[2:30, 2:30]
    expect = tensorboard_writer.png.to_uint8(x[0], float(x.min()), float(x.max()))
    np.testing.assert_array_equal(tile if tile.ndim == 2 else tile[..., 0], expect)
    assert "labels (row by row" in text(acc, "overfit.one_batch/batch_as_fed")
    dyn = acc.Images("overfit.loss_decreases/prediction_dynamics")
    assert [e.step for e in dyn] == [0, 5, 10]
    last = np.asarray(Image.open(io.BytesIO(dyn[-1].encoded_image_string)))
    assert last.shape[:2] == (5 * 16, 4 * 16)  # samples x classes, 16 px cells
    probs = np.exp(logits[-1]) / np.exp(logits[-1]).sum(axis=1, keepdims=True)
    centre = last[8::16, 8::16, 0].astype(float)  # red channel: 255 - 215 * p
    np.testing.assert_allclose(centre, 255 - 215 * probs, atol=1.0)


def test_logdir_over_several_reports_lists_one_run_per_report(tmp_path: Path) -> None:
    """`tensorboard --logdir reports/` sees each report as a run, with the same tags, so
    the curves of different recipes overlay."""
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    from nncheck.results import CheckResult, RunResult
    from nncheck.writers import tensorboard_writer

    for name, scale in (("wine-mlp", 1.0), ("wine-wide", 0.5)):
        curve = {"step": [0, 1, 2], "loss": [scale * 1.0, scale * 0.5, scale * 0.25]}
        check = CheckResult(
            "overfit.one_batch", "overfit", "pass", "ok", artifacts={"curves": {"one": curve}}
        )
        run = RunResult({"name": name}, "2024-01-01T00:00:00", 1.0, [check], "0.0.test")
        tensorboard_writer.write(run, tmp_path / "reports" / name)
    mux = EventMultiplexer().AddRunsFromDirectory(str(tmp_path / "reports"))
    mux.Reload()
    assert sorted(mux.Runs()) == ["wine-mlp/tensorboard", "wine-wide/tensorboard"]
    finals = {run: mux.Scalars(run, "overfit.one_batch/one/loss")[-1].value for run in mux.Runs()}
    assert finals == {"wine-mlp/tensorboard": 0.25, "wine-wide/tensorboard": 0.125}
