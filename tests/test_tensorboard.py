"""The TensorBoard run read back with TensorBoard's own reader (EventAccumulator) and
its hparams plugin's data format.

What an engineer opening ``tensorboard --logdir reports/`` must find: one run per report,
named after it; the scalar curves of each training a check ran, named by check, with the
values the run computed; the final test metrics as scalars and the recipe as hparams; the
report's charts; the init histograms; readable prediction dynamics; the check table.
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
    event_files = list(report.glob("events.out.tfevents.*"))
    assert len(event_files) == 1  # one run per report: `--logdir reports/` compares runs
    return read_results(report), load(report)


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


def test_batch_and_prediction_dynamics_from_artifacts(tmp_path: Path) -> None:
    """Written from a run in memory: the batch as fed (the report's chart) and one
    readable prediction table per evaluation step."""
    from PIL import Image

    from nncheck.results import CheckResult, RunResult
    from nncheck.writers import tensorboard_writer
    from nncheck.writers.images import PredictionTable

    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 28, 28)).astype(np.float32)
    logits = rng.normal(size=(3, 5, 4))
    given = [0, 1, 2, 3, 0]
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
                    "targets": given,
                    "outputs": [o.tolist() for o in logits],
                }
            },
        ),
    ]
    recipe = {"name": "mem", "model": {"loss": "cross_entropy"}}
    classes = ["cat", "dog", "eel", "fox"]
    run = RunResult(recipe, "2024-01-01T00:00:00", 1.0, checks, "0.0.test", {"classes": classes})
    acc = load(tensorboard_writer.write(run, tmp_path))
    (batch,) = acc.Images("overfit.one_batch/batch_as_fed")
    assert batch.width >= 600  # the report's chart, with its colour bar
    dyn = acc.Images("overfit.loss_decreases/prediction_dynamics")
    assert [e.step for e in dyn] == [0, 5, 10]
    last = np.asarray(Image.open(io.BytesIO(dyn[-1].encoded_image_string)).convert("RGB"))
    assert last.shape[1] >= 300 and last.shape[0] >= 150  # was 48 x 80 px
    layout = PredictionTable(given, [3, 1, 4, 1, 5], classes)
    probs = np.exp(logits[-1]) / np.exp(logits[-1]).sum(axis=1, keepdims=True)
    for i in range(5):
        for j in range(4):  # a cell's corner holds its shade: 255 - 200 p (no text there)
            y = layout.top + i * layout.cell_h + 3
            x = layout.left + j * layout.cell_w + 3
            assert abs(int(last[y, x, 0]) - (255 - 200 * probs[i, j])) <= 1.5, (i, j)
        y = layout.top + i * layout.cell_h  # the given label's cell is boxed in black
        assert (last[y, layout.left + given[i] * layout.cell_w + 5] == 0).all()


def test_logdir_over_several_reports_lists_one_run_per_recipe(tmp_path: Path) -> None:
    """`tensorboard --logdir reports/` sees each report as a run named after it (the
    recipe's name by default), with the same tags, so the curves of recipes overlay."""
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
    assert sorted(mux.Runs()) == ["wine-mlp", "wine-wide"]
    finals = {run: mux.Scalars(run, "overfit.one_batch/one/loss")[-1].value for run in mux.Runs()}
    assert finals == {"wine-mlp": 0.25, "wine-wide": 0.125}


def test_final_metrics_are_scalars_and_the_recipe_is_hparams(wine_run: tuple[dict, Any]) -> None:
    """Read back as TensorBoard's HParams tab reads it: the plugin's experiment names the
    final metrics, the session holds the recipe's fields, the metrics are scalars."""
    from tensorboard.plugins.hparams import metadata

    results, acc = wine_run
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    session = metadata.parse_session_start_info_plugin_data(
        content[metadata.SESSION_START_INFO_TAG]
    )
    hp = session.hparams
    recipe = results["recipe"]
    assert hp["name"].string_value == "wine-mlp"
    assert hp["train.lr"].number_value == pytest.approx(recipe["train"]["lr"])
    assert hp["train.optimizer"].string_value == recipe["train"]["optimizer"]
    assert hp["train.steps"].number_value == recipe["train"]["steps"]
    assert hp["model.activation"].string_value == "tanh"
    assert hp["model.hidden"].string_value == "[8, 5]"
    assert hp["seed"].number_value == 0
    assert {h.name for h in experiment.hparam_infos} == set(hp)
    metric_tags = {m.name.tag for m in experiment.metric_infos}
    evaluate = next(c for c in results["checks"] if c["id"] == "evaluate.full_test_set")
    for key in ("accuracy", "loss", "macro_f1"):
        tag = f"final/evaluate.full_test_set/{key}"
        assert tag in metric_tags, sorted(metric_tags)
        (event,) = acc.Scalars(tag)
        assert event.value == pytest.approx(evaluate["metrics"][key], rel=1e-6)
        assert event.step == recipe["train"]["steps"]  # beside the training curves' end
    assert not [t for t in metric_tags if t.endswith(("_significant_digits", "train_steps"))]
    for status, n in results["summary"].items():
        assert acc.Scalars(f"final/checks/{status}")[0].value == n


def test_the_reports_charts_go_to_tensorboard_as_they_are(tmp_path: Path) -> None:
    """The same PNG bytes as index.html's charts: drawn once, shown in both."""
    import base64
    import re

    from nncheck.writers import figures, html_report, tensorboard_writer
    from tests.test_report_html import every_artifact_run

    run = every_artifact_run()
    drawn = figures.for_run(run)
    html = html_report.render(run, drawn=drawn)
    acc = load(tensorboard_writer.write(run, tmp_path, drawn))
    page_pngs = {
        base64.b64decode(u)
        for u in re.findall(r'class="chart" src="data:image/png;base64,([^"]+)"', html)
    }
    board_pngs = {e.encoded_image_string for t in acc.Tags()["images"] for e in acc.Images(t)}
    assert len(page_pngs) == 9 and page_pngs <= board_pngs
    assert "evaluate.synthetic_confusion/confusion_matrix" in acc.Tags()["images"]


def test_empty_tables_are_left_out(tmp_path: Path) -> None:
    from nncheck.results import CheckResult, RunResult
    from nncheck.writers import html_report, tensorboard_writer

    tables = {
        "nothing found": {"columns": ["row", "label"], "rows": []},
        "found": {"columns": ["row", "label"], "rows": [[3, "a"]]},
    }
    check = CheckResult("data.x", "data", "pass", "ok", artifacts={"tables": tables})
    run = RunResult({"name": "t"}, "2024-01-01T00:00:00", 1.0, [check], "0.0.test")
    texts = load(tensorboard_writer.write(run, tmp_path)).Tags()["tensors"]
    assert "data.x/found/text_summary" in texts
    assert not any("nothing" in t for t in texts)
    html = html_report.render(run)
    assert "found" in html and "nothing found" not in html
