"""tensorboard/: every curve of every stage, the init histograms, the batch as the network
sees it, predictions over training and the check table, as TensorBoard event files.

One run directory per report (``<report>/tensorboard``), so ``tensorboard --logdir
reports/`` lists each audited recipe as a run and overlays their curves. Tags are named by
check, then artifact, then series, with anything but letters, digits, ``.`` and ``-``
turned into ``_``:

- scalars ``<check>/<curve>/<series>`` against the curve's ``step`` (e.g.
  ``overfit.one_batch/overfit_one_batch/loss``, ``overfit.loss_decreases/
  main_training_loss_on_fixed_subsets/test``);
- histograms ``<check>/<histogram>`` at step 0 (per-layer activations, gradients and
  weights at init: ``skeleton.init_scale/layer0_relu_activations``);
- images ``<check>/batch_as_fed`` (``artifacts["batch"]``: the normalized batch, one
  gray scale for the whole batch, or a samples x features heatmap for tabular data) and
  ``<check>/prediction_dynamics`` (``artifacts["predictions"]``: the raw outputs on a
  fixed batch of test samples at each evaluation step, shown as class probabilities, one
  image per step, so the step slider replays the training);
- text ``nncheck/checks`` (the check table, Markdown), ``nncheck/recipe`` (the resolved
  recipe) and ``<check>/<table>`` for each table a check left.

Writers read results and compute no metric. tensorboardX is imported only here, inside
``write``; it would import torch (2-3 s) when torch is installed, which nothing here
needs, so that import is blocked unless torch is already loaded.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from nncheck.results import RunResult
from nncheck.writers import png

_UNSAFE = re.compile(r"[^\w.\-]+")


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


def write(run: RunResult, directory: Path) -> Path:
    """Write the event files under ``directory/tensorboard``; returns that folder."""
    logdir = Path(directory) / "tensorboard"
    loss = str((run.recipe.get("model") or {}).get("loss") or "cross_entropy")
    writer = _summary_writer(logdir)
    try:
        problems = []
        for check in run.checks:
            art = check.artifacts or {}
            try:
                _curves(writer, check.id, art.get("curves"))
                _histograms(writer, check.id, art.get("histograms"))
                _batch(writer, check.id, art.get("batch"))
                _prediction_dynamics(writer, check.id, art.get("predictions"), loss)
                _tables(writer, check.id, art.get("tables"), art.get("confusion"))
            except Exception as exc:  # noqa: BLE001 - one malformed artifact, not the run
                problems.append(f"- `{check.id}`: {type(exc).__name__}: {exc}")
        if problems:
            writer.add_text("nncheck/not_written", "\n".join(problems), 0)
        writer.add_text("nncheck/checks", check_table(run), 0)
        writer.add_text("nncheck/recipe", _recipe_text(run), 0)
    finally:
        writer.close()
    return logdir


def _curves(writer: Any, check_id: str, curves: Any) -> None:
    """One event per curve and step holding every series' value at that step (what
    ``add_scalar`` would write one by one, about 3x faster for long curves)."""
    from tensorboardX.proto.summary_pb2 import Summary

    if not isinstance(curves, dict):
        return
    file_writer = getattr(writer, "_get_file_writer", None)
    for name, art in curves.items():
        if not isinstance(art, dict):
            continue
        steps = [int(s) for s in art.get("step", [])]
        series = {
            tag(check_id, name, key): np.asarray(values, dtype=np.float64).ravel()
            for key, values in art.items()
            if key != "step"
        }
        length = max((len(v) for v in series.values()), default=0)
        for i in range(length):
            step = steps[i] if i < len(steps) else i
            values = [
                (t, float(v[i])) for t, v in series.items() if i < len(v) and math.isfinite(v[i])
            ]
            if not values:
                continue
            if file_writer is None:
                for t, v in values:
                    writer.add_scalar(t, v, step)
                continue
            summary = Summary(value=[Summary.Value(tag=t, simple_value=v) for t, v in values])
            file_writer().add_summary(summary, step)


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


def batch_image(x: np.ndarray) -> np.ndarray:
    """The batch as one uint8 picture: images tiled on one shared scale (as the network
    sees them: relative intensities kept), tabular rows as a blue-white-red heatmap."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim >= 3:
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        tiles = [png.to_uint8(img, lo, hi) for img in x[:64]]
        tiles = [t[0] if t.ndim == 3 and t.shape[0] == 1 else t for t in tiles]
        return png.grid(tiles, columns=8)
    flat = x.reshape(len(x), -1)[:64]
    limit = float(np.nanpercentile(np.abs(flat), 99)) if flat.size else 1.0
    cell = max(2, min(16, 640 // max(1, flat.shape[1])))
    return np.repeat(np.repeat(png.diverging(flat, limit or 1.0), cell, 0), cell, 1)


def _batch(writer: Any, check_id: str, batch: Any) -> None:
    if not isinstance(batch, dict) or "x" not in batch:
        return
    x = np.asarray(batch["x"], dtype=np.float32)
    if x.ndim < 2 or not len(x):
        return
    img = batch_image(x)
    writer.add_image(
        tag(check_id, "batch_as_fed"), img, 0, dataformats="HWC" if img.ndim == 3 else "HW"
    )
    finite = x[np.isfinite(x)]
    lines = [
        f"{len(x)} samples of shape {list(x.shape[1:])}, as fed to the network: values "
        f"{finite.min():.4g} … {finite.max():.4g}, mean {finite.mean():.4g}, "
        f"std {finite.std():.4g}"
        if finite.size
        else f"{len(x)} samples, no finite values",
    ]
    if batch.get("y") is not None:
        y = np.asarray(batch["y"]).ravel().tolist()
        lines.append("labels (row by row, 8 per row): " + ", ".join(str(v) for v in y[:64]))
    writer.add_text(tag(check_id, "batch_as_fed"), "\n\n".join(lines), 0)


def prediction_probabilities(outputs: np.ndarray, loss: str) -> np.ndarray:
    """What the network's raw outputs say per class, for display: softmax for a
    cross-entropy model, the outputs clipped to 0..1 for an MSE-on-one-hot one."""
    out = np.asarray(outputs, dtype=np.float64)
    if loss == "cross_entropy":
        z = np.exp(out - np.nanmax(out, axis=-1, keepdims=True))
        return z / np.sum(z, axis=-1, keepdims=True)
    return np.clip(out, 0.0, 1.0)


def _prediction_dynamics(writer: Any, check_id: str, pred: Any, loss: str) -> None:
    """Class probabilities of a fixed batch over training, one heatmap per evaluation step
    (rows samples, columns classes, darker = more probable, the given class boxed in
    black): TensorBoard's step slider replays how the predictions move."""
    if not isinstance(pred, dict) or "outputs" not in pred:
        return
    try:
        out = np.asarray(pred["outputs"], dtype=np.float64)
    except ValueError:
        return
    if out.ndim != 3 or out.shape[2] < 2 or not out.shape[1]:
        return  # regression: the per-sample scalars of the curves say it all
    steps = [int(s) for s in pred.get("steps", range(len(out)))]
    given = [int(v) for v in pred.get("targets", [])]
    probs_all = prediction_probabilities(out, loss)
    cell = 16
    for i, probs in enumerate(probs_all):
        shade = 255 - np.clip(np.nan_to_num(probs), 0, 1) * 215
        rgb = np.stack([shade, shade, np.full_like(shade, 255)], axis=-1)
        img = np.repeat(np.repeat(rgb, cell, 0), cell, 1).astype(np.uint8)
        for r, c in enumerate(given[: len(probs)]):
            if 0 <= c < probs.shape[1]:
                y, x = r * cell, c * cell
                img[y : y + cell, x : x + 2] = 0
                img[y : y + cell, x + cell - 2 : x + cell] = 0
                img[y : y + 2, x : x + cell] = 0
                img[y + cell - 2 : y + cell, x : x + cell] = 0
        step = steps[i] if i < len(steps) else i
        writer.add_image(tag(check_id, "prediction_dynamics"), img, step, dataformats="HWC")


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
        if isinstance(tab, dict) and tab.get("columns"):
            text = markdown_table(list(tab["columns"]), [list(r) for r in tab.get("rows", [])])
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
