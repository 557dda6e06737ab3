"""TensorBoard event files: every curve of every stage, the report's charts, the init
histograms, predictions over training, the final metrics with the recipe as hparams, and
the check table.

The event file sits in the report folder itself, so ``tensorboard --logdir reports/``
lists each report as one run named after its folder (by default the recipe's name:
``reports/wine-mlp`` is the run ``wine-mlp``) and overlays their curves, and its HParams
tab compares the audited recipes. Tags are named by check, then artifact, then series,
with anything but letters, digits, ``.`` and ``-`` turned into ``_``:

- scalars ``<check>/<curve>/<series>`` against the curve's ``step`` (e.g.
  ``overfit.one_batch/overfit_one_batch/loss``);
- scalars ``final/<check>/<metric>``: every number the evaluate stage measured on the
  test set (``final/evaluate.full_test_set/accuracy``), and ``final/checks/<status>``,
  the number of checks per status, at the recipe's last training step;
- hparams: the recipe's ``name``, ``seed`` and every ``model.*`` and ``train.*`` field,
  with the ``final/`` scalars as its metrics;
- images ``<check>/<chart>``: the same charts as index.html (``figures``), e.g.
  ``overfit.one_batch/batch_as_fed`` or ``evaluate.full_test_set/confusion_matrix``;
  ``<check>/prediction_dynamics``: the class probabilities of the fixed test samples at
  each evaluation step, one image per step, so the step slider replays the training;
- histograms ``<check>/<histogram>`` at step 0 (per-layer activations, gradients and
  weights at init);
- text ``nncheck/checks`` (the check table, Markdown), ``nncheck/recipe`` (the resolved
  recipe) and ``<check>/<table>`` for each table a check left (empty ones left out).

Writers read results and compute no metric. tensorboardX is imported only here, inside
``write``; it would import torch (2-3 s) when torch is installed, which nothing here
needs, so that import is blocked unless torch is already loaded.
"""

from __future__ import annotations

import json
import math
import re
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

from nncheck.results import STATUSES, RunResult
from nncheck.writers.figures import Picture, Problem, for_run, series_of

_UNSAFE = re.compile(r"[^\w.\-]+")
FINAL_STAGE = "evaluate"
# bookkeeping, not results: how many digits to print a metric with, its step count
NOT_A_RESULT = ("_significant_digits", "train_steps")


def tag(*parts: str) -> str:
    """``a/b/c`` from free-text names: what tensorboardX would keep, made readable."""
    return "/".join(_UNSAFE.sub("_", str(p)).strip("_") or "_" for p in parts)


def _summary_writer(logdir: Path) -> Any:
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        from tensorboardX import SummaryWriter
    finally:
        if blocked and sys.modules.get("torch", False) is None:
            del sys.modules["torch"]
    return SummaryWriter(logdir=str(logdir), flush_secs=3600, max_queue=100_000)


def write(
    run: RunResult, directory: Path, drawn: dict[str, list[Picture | Problem]] | None = None
) -> Path:
    """Write the event file into ``directory``; returns it (the run's log directory).

    ``drawn`` (``figures.for_run``) are the charts index.html shows, drawn once for both.
    """
    logdir = Path(directory)
    drawn = for_run(run) if drawn is None else drawn
    loss = str((run.recipe.get("model") or {}).get("loss") or "cross_entropy")
    classes = [str(c) for c in (run.dataset_summary or {}).get("classes") or []]
    writer = _summary_writer(logdir)
    try:
        add = writer._get_file_writer().add_summary
        problems = []
        for check in run.checks:
            art = check.artifacts or {}
            try:
                _curves(add, check.id, art.get("curves"))
                _histograms(writer, check.id, art.get("histograms"))
                _prediction_dynamics(add, check.id, art.get("predictions"), loss, classes)
                _tables(writer, check.id, art.get("tables"), art.get("confusion"))
            except Exception as exc:  # noqa: BLE001 - one malformed artifact, not the run
                problems.append(f"- `{check.id}`: {type(exc).__name__}: {exc}")
            for item in drawn.get(check.id, []):
                if isinstance(item, Picture):
                    add(_image(tag(check.id, picture_name(item)), item.png), 0)
                else:
                    problems.append(f"- `{check.id}` {item.name}: {item.reason}")
        if problems:
            writer.add_text("nncheck/not_written", "\n".join(problems), 0)
        _final_metrics_and_hparams(add, run)
        writer.add_text("nncheck/checks", check_table(run), 0)
        writer.add_text("nncheck/recipe", _recipe_text(run), 0)
    finally:
        writer.close()
    return logdir


def picture_name(picture: Picture) -> str:
    """``curves:main training: batch loss`` -> ``main training: batch loss``."""
    return picture.name.split(":", 1)[1] if picture.name.startswith(("curves:",)) else picture.name


def _image(name: str, png: bytes) -> Any:
    """An image summary from PNG bytes as they are (no decode and re-encode)."""
    from tensorboardX.proto.summary_pb2 import Summary

    width, height = struct.unpack(">II", png[16:24])  # the PNG header (IHDR) says
    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=png)
    return Summary(value=[Summary.Value(tag=name, image=image)])


def _scalars(values: list[tuple[str, float]]) -> Any:
    from tensorboardX.proto.summary_pb2 import Summary

    return Summary(value=[Summary.Value(tag=t, simple_value=v) for t, v in values])


def _curves(add: Any, check_id: str, curves: Any) -> None:
    """One event per curve and step holding every series' value at that step (what
    ``add_scalar`` would write one by one, about 3x faster for long curves)."""
    if not isinstance(curves, dict):
        return
    for name, art in curves.items():
        if not isinstance(art, dict):
            continue
        steps = [int(s) for s in art.get("step", [])]
        series = {tag(check_id, name, key): v for key, v in series_of(art).items()}
        length = max((len(v) for v in series.values()), default=0)
        for i in range(length):
            step = steps[i] if i < len(steps) else i
            values = [
                (t, float(v[i])) for t, v in series.items() if i < len(v) and math.isfinite(v[i])
            ]
            if values:
                add(_scalars(values), step)


def _histograms(writer: Any, check_id: str, histograms: Any) -> None:
    if not isinstance(histograms, dict):
        return
    for name, art in histograms.items():
        if isinstance(art, dict) and "edges" in art:
            edges = np.asarray(art["edges"], dtype=np.float64)
            counts = np.asarray(art["counts"], dtype=np.float64)
        else:
            values = np.asarray(art, dtype=np.float64).ravel()
            values = values[np.isfinite(values)]
            if not values.size:
                continue
            c, edges = np.histogram(values, bins=40)
            counts = c.astype(np.float64)
        if len(edges) != len(counts) + 1 or counts.sum() <= 0:
            continue
        centers = (edges[:-1] + edges[1:]) / 2
        writer.add_histogram_raw(
            tag(check_id, name),
            min=float(edges[0]),
            max=float(edges[-1]),
            num=int(counts.sum()),
            sum=float((centers * counts).sum()),
            sum_squares=float((centers**2 * counts).sum()),
            bucket_limits=[float(e) for e in edges[1:]],
            bucket_counts=[float(c) for c in counts],
            global_step=0,
        )


# ---- final metrics and hparams --------------------------------------------------------------


def final_metrics(run: RunResult) -> dict[str, float]:
    """``final/<check>/<metric>`` for every finite number the evaluate stage measured
    (not how many digits to print it with), and ``final/checks/<status>``: what the
    HParams tab compares recipes by."""
    out: dict[str, float] = {}
    for check in run.checks:
        if check.stage != FINAL_STAGE or check.status in ("skip", "error"):
            continue
        for key, value in (check.metrics or {}).items():
            if key.endswith(NOT_A_RESULT):
                continue
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                continue
            if math.isfinite(float(value)):
                out[tag("final", check.id, key)] = float(value)
    counts = run.counts()
    out.update({tag("final", "checks", s): float(counts[s]) for s in STATUSES})
    return out


def hparams(run: RunResult) -> dict[str, str | float | bool]:
    """The recipe's name, seed and every model and training field, as TensorBoard
    takes them: numbers, booleans and strings (lists and mappings as JSON)."""
    recipe = run.recipe or {}
    out: dict[str, str | float | bool] = {"name": str(recipe.get("name", "run"))}
    if isinstance(recipe.get("seed"), (int, float)):
        out["seed"] = float(recipe["seed"])
    for section in ("model", "train"):
        for key, value in (recipe.get(section) or {}).items():
            if value is None:
                continue
            name = f"{section}.{key}"
            if isinstance(value, bool):
                out[name] = value
            elif isinstance(value, (int, float)):
                out[name] = float(value)
            elif isinstance(value, str):
                out[name] = value
            else:
                out[name] = json.dumps(value, sort_keys=True, default=str)
    return out


def _final_metrics_and_hparams(add: Any, run: RunResult) -> None:
    """The final metrics as scalars at the last training step, and the hparams session
    that names them as its metrics (written into this run, not a sub-run as
    ``SummaryWriter.add_hparams`` would)."""
    from tensorboardX.summary import hparams as hparams_summaries

    metrics = final_metrics(run)
    steps = (run.recipe.get("train") or {}).get("steps")
    step = int(steps) if isinstance(steps, int) else 0
    add(_scalars(list(metrics.items())), step)
    experiment, start, end = hparams_summaries(hparams(run), metrics)
    for summary in (experiment, start, end):
        add(summary, step)


# ---- prediction dynamics --------------------------------------------------------------------


def prediction_probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """What the network's raw outputs say per class, for display: softmax for a
    cross-entropy model, the outputs clipped to 0..1 for an MSE-on-one-hot one."""
    out = np.asarray(outputs, dtype=np.float64)
    if loss == "cross_entropy":
        z = np.exp(out - np.nanmax(out, axis=-1, keepdims=True))
        return z / np.sum(z, axis=-1, keepdims=True)
    return np.clip(out, 0.0, 1.0)


def _prediction_dynamics(add: Any, check_id: str, pred: Any, loss: str, classes: list[str]) -> None:
    """Class probabilities of a fixed batch over training, one table-like heatmap per
    evaluation step: TensorBoard's step slider replays how the predictions move."""
    from nncheck.writers.images import PredictionTable, png_bytes

    if not isinstance(pred, dict) or "outputs" not in pred:
        return
    try:
        out = np.asarray(pred["outputs"], dtype=np.float64)
    except ValueError:
        return
    if out.ndim != 3 or out.shape[2] < 2 or not out.shape[1]:
        return  # regression: the prediction-dynamics chart shows them against their targets
    steps = [int(s) for s in pred.get("steps", range(len(out)))]
    given = [int(v) for v in pred.get("targets", [])]
    rows = [int(r) for r in pred.get("rows", range(out.shape[1]))]
    if len(classes) != out.shape[2]:
        classes = [str(k) for k in range(out.shape[2])]

    table = PredictionTable(given, rows[: out.shape[1]], classes)
    for i, probs in enumerate(prediction_probabilities(out, loss)):
        step = steps[i] if i < len(steps) else i
        img = table.at(probs, step)
        add(_image(tag(check_id, "prediction_dynamics"), png_bytes(img, compress_level=1)), step)


# ---- text -----------------------------------------------------------------------------------


def _md(value: Any) -> str:
    from nncheck.writers.summary_md import cell

    if isinstance(value, float):
        value = f"{value:.4g}"
    return cell(str(value))


def markdown_table(columns: list[Any], rows: list[list[Any]]) -> str:
    head = "| " + " | ".join(_md(c) for c in columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(_md(v) for v in r) + " |" for r in rows[:200]]
    return "\n".join([head, rule, *body])


def _tables(writer: Any, check_id: str, tables: Any, confusion: Any) -> None:
    for name, tab in (tables or {}).items() if isinstance(tables, dict) else []:
        if isinstance(tab, dict) and tab.get("columns") and tab.get("rows"):
            text = markdown_table(list(tab["columns"]), [list(r) for r in tab["rows"]])
            writer.add_text(tag(check_id, name), text, 0)
    if isinstance(confusion, dict) and confusion.get("matrix"):
        labels = [str(v) for v in confusion.get("labels", [])]
        matrix = [list(r) for r in confusion["matrix"]]
        if len(labels) != len(matrix):
            labels = [str(i) for i in range(len(matrix))]
        corner = f"{confusion.get('rows', 'true')} \\ {confusion.get('columns', 'predicted')}"
        rows = [[labels[i], *row] for i, row in enumerate(matrix)]
        writer.add_text(
            tag(check_id, "confusion_matrix"), markdown_table([corner, *labels], rows), 0
        )


def check_table(run: RunResult) -> str:
    """The check table in Markdown (TensorBoard's text tab renders it)."""
    from nncheck.writers.summary_md import ICONS, cell

    counts = run.counts()
    head = (
        f"**{cell(str(run.recipe.get('name', 'run')))}: {run.verdict.upper()}** — "
        + ", ".join(f"{counts[s]} {s}" for s in counts)
        + f" (nncheck {run.nncheck_version}, {run.started})"
    )
    rows = [
        f"| {ICONS[c.status]} | `{c.id}` | {cell(c.message)} | {cell(c.hint)} |" for c in run.checks
    ]
    return "\n".join([head, "", "| status | check | message | hint |", "|---|---|---|---|", *rows])


def _recipe_text(run: RunResult) -> str:
    import yaml

    from nncheck.writers.jsonable import jsonable

    text = yaml.safe_dump(jsonable(run.recipe), sort_keys=False, allow_unicode=True)
    return "\n".join("    " + line for line in text.splitlines())  # a Markdown code block
