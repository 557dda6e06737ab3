"""index.html: one self-contained file a reviewer can open anywhere.

All CSS is inline, charts are inline SVG and thumbnails PNG ``data:`` URIs, and there is no
JavaScript: the file works mailed around, offline, and makes no network request. Jinja2's
autoescape escapes every user string (recipe name, column and class names, paths, messages
that quote data); only the SVG that ``svg.py`` draws (which escapes its own text) is
marked safe.

Pictures come from the artifact conventions of ``nncheck/checks/_artifacts.py``, never
from a check's id, so a new check gets its charts without touching this file:

- ``curves``: ``{name: {"step": [...], series: [...]}}`` -> line charts (curves of a check
  that each hold one series of the same name, e.g. three "loss" runs, share one chart);
- ``bars``: ``{name: {"labels": [...], series: [...]}}`` -> grouped bar charts;
- ``scatter``: ``{name: {"x": [...], "y": [...], "x_label", "y_label", "diagonal": bool}}``
  -> a scatter plot (e.g. predicted vs true target, with the y = x line);
- ``histograms``: ``{name: {"edges": [...], "counts": [...]}}`` (or a raw array) -> small
  multiples;
- ``images``: ``{"title", "items": [{"image": uint8, "caption"}]}`` -> a thumbnail grid;
- ``batch``: ``{"x": array as fed to the network, "y": labels}`` -> the batch as pictures
  (image data) or as a samples x features heatmap (tabular data);
- ``confusion``: ``{"labels", "matrix", "rows"?, "columns"?}`` -> a heatmap;
- ``tables``: ``{name: {"columns", "rows", "chart"?}}`` -> tables; ``"chart": {"label":
  column, "values": [columns], "log": bool?}`` adds a bar chart of those columns,
  ``{"kind": "range", "label", "low", "high"}`` a range chart (see ``table_chart`` for the
  charts implied by column names).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nncheck.results import STAGES, CheckResult, RunResult
from nncheck.writers import png, svg
from nncheck.writers.jsonable import jsonable
from nncheck.writers.report_dir import write_text

MAX_TABLE_ROWS = 60
MAX_EXAMPLES = 20
MAX_THUMBS = 48
STAGE_TITLES = {
    "data": "Data — become one with the data",
    "skeleton": "Skeleton — seeded end-to-end skeleton and dumb baselines",
    "overfit": "Overfit — can the model learn at all",
    "evaluate": "Evaluate — the whole test set, with uncertainty",
}


# ---- numbers and values as a person reads them ------------------------------------------


def fmt(value: Any) -> str:
    """A metric value for a table cell: 4 significant digits, thousands separators."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 1_000_000 else str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0:
            return "0"
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        if abs(v) >= 1e6:
            return f"{v:.3e}"
        return f"{v:.4g}"
    if value is None:
        return "—"
    if isinstance(value, np.ndarray):
        return fmt(value.tolist())
    if isinstance(value, (list, tuple)):
        if not value:
            return "—"
        if all(isinstance(v, str) for v in value):
            return ", ".join(value)
        if len(value) > 12 and all(isinstance(v, (int, float)) for v in value):
            nums = [float(v) for v in value]
            return (
                f"{len(nums)} values, {fmt(min(nums))} … {fmt(max(nums))}: "
                + ", ".join(fmt(v) for v in value[:6])
                + ", …"
            )
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v)}" for k, v in value.items())
    return str(value)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def metric_blocks(metrics: dict[str, Any]) -> tuple[list[tuple[str, str]], list[dict]]:
    """Scalar-ish metrics as (name, text) rows, and nested records as small tables.

    A dict of dicts (``per_class``) or a list of dicts (``layers``) reads as a table; a
    dict of numbers (``grad_norms``) as one row of ``key: value`` pairs.
    """
    rows: list[tuple[str, str]] = []
    tables: list[dict] = []
    for key, value in metrics.items():
        records: list[tuple[str, dict]] | None = None
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            records = [(str(k), v) for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            records = [("", v) for v in value]
        if records is None:
            rows.append((str(key), fmt(value)))
            continue
        cols: list[str] = []
        for _, rec in records:
            cols += [str(c) for c in rec if str(c) not in cols]
        head = [""] if any(name for name, _ in records) else []
        tables.append(
            table_block(
                str(key),
                head + cols,
                [([name] if head else []) + [rec.get(c) for c in cols] for name, rec in records],
            )
        )
    return rows, tables


def table_block(title: str, columns: Sequence[Any], rows: Sequence[Sequence[Any]]) -> dict:
    """A table ready for the template: formatted cells, numeric columns right-aligned."""
    shown = list(rows)[:MAX_TABLE_ROWS]
    numeric = [
        bool(shown) and all(_is_number(r[i]) or r[i] in ("", None) for r in shown if i < len(r))
        for i in range(len(columns))
    ]
    return {
        "kind": "table",
        "title": title,
        "columns": [str(c) for c in columns],
        "numeric": numeric,
        "rows": [[fmt(v) if not isinstance(v, str) else v for v in r] for r in shown],
        "more": max(0, len(rows) - len(shown)),
    }


def examples_block(examples: Sequence[Any]) -> dict | None:
    """Examples (dicts with source rows) as a table; anything else as JSON lines."""
    shown = list(examples)[:MAX_EXAMPLES]
    if not shown:
        return None
    if all(isinstance(e, dict) for e in shown):
        cols: list[str] = []
        for e in shown:
            cols += [str(k) for k in e if str(k) not in cols]
        block = table_block("", cols, [[e.get(c) for c in cols] for e in shown])
    else:
        block = {"kind": "pre", "text": "\n".join(json.dumps(jsonable(e)) for e in shown)}
    block["more"] = max(0, len(examples) - len(shown))
    return block


# ---- pictures from artifacts ----------------------------------------------------------------


def _numbers(values: Any) -> list[float]:
    try:
        return [float(v) for v in np.asarray(values, dtype=np.float64).ravel()]
    except (TypeError, ValueError):
        return []


def curve_charts(curves: dict[str, Any]) -> list[str]:
    """Line charts; single-series curves that share a series name share one chart."""
    charts: list[str] = []
    groups: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for name, art in curves.items():
        if not isinstance(art, dict):
            continue
        series = {k: _numbers(v) for k, v in art.items() if k != "step"}
        series = {k: v for k, v in series.items() if v}
        steps = _numbers(art.get("step", []))
        if len(series) == 1:
            ((sname, values),) = series.items()
            groups.setdefault(sname, {})[name] = (steps, values)
            continue
        if series:
            charts.append(svg.line_chart(series, steps=steps or None, title=name))
    for sname, members in groups.items():
        if len(members) == 1:
            ((name, (steps, values)),) = members.items()
            title = name if sname.lower() in name.lower() else f"{name}: {sname}"
            charts.append(
                svg.line_chart({sname: values}, steps=steps or None, title=title, legend=False)
            )
            continue
        charts.append(
            svg.line_chart(
                {n: v for n, (_, v) in members.items()},
                steps={n: s for n, (s, _) in members.items()},
                title=f"{sname}: " + ", ".join(members),
                dashed=True,
            )
        )
    return [c for c in charts if c]


def bar_charts(bars: dict[str, Any]) -> list[str]:
    out = []
    for name, art in bars.items():
        if not isinstance(art, dict) or "labels" not in art:
            continue
        series = {k: _numbers(v) for k, v in art.items() if k not in ("labels", "log")}
        labels = [str(x) for x in art["labels"]]
        out.append(svg.bar_chart(labels, series, title=name, log_x=art.get("log")))
    return [c for c in out if c]


def scatter_charts(scatters: dict[str, Any]) -> list[str]:
    out = []
    for name, art in scatters.items():
        if isinstance(art, dict) and "x" in art and "y" in art:
            out.append(
                svg.scatter(
                    _numbers(art["x"]),
                    _numbers(art["y"]),
                    title=str(name),
                    x_label=str(art.get("x_label", "")),
                    y_label=str(art.get("y_label", "")),
                    diagonal=bool(art.get("diagonal", False)),
                )
            )
    return [c for c in out if c]


def _hist_color(name: str) -> str:
    low = name.lower()
    if "grad" in low:
        return "#dc2626"
    if "weight" in low or "param" in low:
        return "#16a34a"
    return "#2563eb"


def histogram_charts(histograms: dict[str, Any]) -> list[str]:
    out = []
    for name, art in histograms.items():
        if isinstance(art, dict) and "edges" in art:
            edges, counts = _numbers(art["edges"]), _numbers(art["counts"])
        else:
            values = np.asarray(art, dtype=np.float64).ravel()
            values = values[np.isfinite(values)]
            if not values.size:
                continue
            c, e = np.histogram(values, bins=40)
            edges, counts = e.tolist(), c.tolist()
        out.append(svg.histogram(edges, counts, title=name, color=_hist_color(name)))
    return [c for c in out if c]


def thumbs_block(images: dict[str, Any]) -> dict | None:
    items = []
    for item in list(images.get("items", []))[:MAX_THUMBS]:
        try:
            src = png.data_uri(png.shrink(item["image"]))
        except (KeyError, ValueError, TypeError):
            continue
        caption = str(item.get("caption", "")).replace(" -> ", " → ")  # wraps better
        items.append({"src": src, "caption": caption})
    if not items:
        return None
    return {"kind": "thumbs", "title": str(images.get("title", "")), "items": items}


def batch_block(batch: dict[str, Any], is_image: bool) -> dict | None:
    """The batch exactly as fed to the network (after normalization)."""
    x = np.asarray(batch.get("x", []), dtype=np.float32)
    if x.ndim < 2 or not len(x):
        return None
    y = batch.get("y")
    labels = [] if y is None else [str(v) for v in np.asarray(y).ravel().tolist()]
    finite = x[np.isfinite(x)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    stats = (
        f"{len(x)} samples, shape {list(x.shape[1:])}, values {fmt(lo)} … {fmt(hi)}, "
        f"mean {fmt(float(finite.mean()) if finite.size else 0.0)}, "
        f"std {fmt(float(finite.std()) if finite.size else 0.0)}"
    )
    title = str(batch.get("title", "the batch as fed to the network"))
    if is_image and x.ndim >= 3:
        shared = png.to_uint8(x, lo, hi)  # one scale for the whole batch, as the net sees it
        items = [
            {"src": png.data_uri(png.shrink(img)), "caption": labels[i] if i < len(labels) else ""}
            for i, img in enumerate(shared[:MAX_THUMBS])
        ]
        return {"kind": "thumbs", "title": f"{title} ({stats})", "items": items}
    flat = x.reshape(len(x), -1)[:64]
    limit = float(np.nanpercentile(np.abs(flat), 99)) if flat.size else 1.0
    cell = max(3, min(14, 560 // max(1, flat.shape[1])))
    rgb = np.repeat(np.repeat(png.diverging(flat, limit or 1.0), cell, 0), cell, 1)
    return {
        "kind": "figure",
        "title": f"{title} ({stats})",
        "src": png.data_uri(rgb),
        "caption": f"rows = samples, columns = features; blue < 0 < red, clipped at ±{fmt(limit)}",
    }


def table_chart(tab: dict[str, Any]) -> dict[str, Any] | None:
    """The chart a table asks for (``"chart"``), or the default one its columns imply.

    Defaults, by column name, never by check: per-split shares (``train %``/``test %``,
    e.g. class counts) as grouped bars; raw ranges (``raw min``/``raw max``, e.g. the
    features table) as a range chart, the feature-scale overview.
    """
    columns = [str(c) for c in tab.get("columns", [])]
    chart = tab.get("chart")
    if isinstance(chart, dict):
        return chart
    if not columns:
        return None
    split_cols = [c for c in ("train %", "test %") if c in columns]
    if len(split_cols) == 2:
        return {"kind": "bar", "label": columns[0], "values": split_cols}
    if "raw min" in columns and "raw max" in columns:
        return {"kind": "range", "label": columns[0], "low": "raw min", "high": "raw max"}
    return None


def _chart_svg(name: str, tab: dict[str, Any], chart: dict[str, Any]) -> str:
    columns = [str(c) for c in tab.get("columns", [])]
    rows = list(tab.get("rows", []))
    if chart.get("label") not in columns:
        return ""

    def col(name: str) -> list[float]:
        i = columns.index(name)
        return [float(r[i]) if _is_number(r[i]) else float("nan") for r in rows]

    labels = [str(r[columns.index(chart["label"])]) for r in rows]
    if chart.get("kind") == "range":
        if chart.get("low") not in columns or chart.get("high") not in columns:
            return ""
        return svg.range_chart(
            labels,
            col(chart["low"]),
            col(chart["high"]),
            title=f"{name}: {chart['low']} … {chart['high']}",
            log_x=chart.get("log"),
        )
    series = {c: col(c) for c in chart.get("values", []) if c in columns}
    return svg.bar_chart(labels, series, title=name, log_x=chart.get("log")) if series else ""


def table_blocks(tables: dict[str, Any]) -> list[dict]:
    out: list[dict] = []
    for name, tab in tables.items():
        if not isinstance(tab, dict):
            continue
        chart = table_chart(tab)
        drawn = _chart_svg(str(name), tab, chart) if chart else ""
        if drawn:
            out.append({"kind": "charts", "charts": [drawn]})
        out.append(table_block(str(name), list(tab.get("columns", [])), list(tab.get("rows", []))))
    return out


def confusion_chart(conf: dict[str, Any]) -> list[str]:
    matrix = np.asarray(conf.get("matrix", []), dtype=np.float64)
    if matrix.ndim != 2 or not matrix.size:
        return []
    labels = [str(v) for v in conf.get("labels", range(len(matrix)))]
    if len(labels) != len(matrix):
        labels = [str(i) for i in range(len(matrix))]
    drawn = svg.heatmap(
        matrix.tolist(),
        labels,
        labels,
        title=str(conf.get("title", "confusion matrix")),
        row_title=str(conf.get("rows", "true")),
        col_title=str(conf.get("columns", "predicted")),
    )
    return [drawn] if drawn else []


def safe_figure_blocks(check: CheckResult, is_image: bool) -> list[dict]:
    """``figure_blocks``, but an artifact the writer cannot draw costs that check its
    pictures (with a note saying why), never the report."""
    try:
        return figure_blocks(check, is_image)
    except Exception as exc:  # noqa: BLE001 - a malformed artifact must not lose the report
        return [{"kind": "caption", "text": f"pictures not drawn: {type(exc).__name__}: {exc}"}]


def figure_blocks(check: CheckResult, is_image: bool) -> list[dict]:
    """Every picture a check's artifacts allow, in a reading order: curves first."""
    from markupsafe import Markup

    art = check.artifacts or {}
    blocks: list[dict] = []

    def charts(svgs: list[str], caption: str = "") -> None:
        if svgs:
            blocks.append({"kind": "charts", "charts": [Markup(s) for s in svgs]})
            if caption:
                blocks.append({"kind": "caption", "text": caption})

    charts(curve_charts(art.get("curves") or {}))
    charts(bar_charts(art.get("bars") or {}))
    charts(scatter_charts(art.get("scatter") or {}))
    charts(
        histogram_charts(art.get("histograms") or {}),
        "blue: activations, red: gradients, green: weights; dashed line at 0",
    )
    if isinstance(art.get("confusion"), dict):
        charts(confusion_chart(art["confusion"]))
    for block in table_blocks(art.get("tables") or {}):
        if block["kind"] == "charts":
            block["charts"] = [Markup(s) for s in block["charts"]]
        blocks.append(block)
    if isinstance(art.get("images"), dict):
        block = thumbs_block(art["images"])
        if block:
            blocks.append(block)
    if isinstance(art.get("batch"), dict):
        block = batch_block(art["batch"], is_image)
        if block:
            blocks.append(block)
    return blocks


# ---- the page ----------------------------------------------------------------------------


def _model_text(recipe: dict[str, Any], dataset: dict[str, Any]) -> str:
    model = recipe.get("model", {}) or {}
    if model.get("engine") == "torch":
        kwargs = model.get("kwargs") or {}
        args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        return f"torch module {model.get('factory')}({args}), device {model.get('device')}"
    shape = dataset.get("input_shape") or []
    n_in = int(np.prod(shape)) if shape else "?"
    n_out = dataset.get("n_classes") or (1 if dataset.get("task") == "regression" else "?")
    layers = " → ".join(str(v) for v in [n_in, *model.get("hidden", []), n_out])
    return (
        f"numpy MLP {layers}, {model.get('activation')}, init {model.get('init')}, "
        f"output bias {model.get('output_bias')}, loss {model.get('loss')}"
    )


def _doc_parts(doc: str) -> tuple[str, list[str]]:
    paras = [p.strip().replace("\n", " ") for p in doc.split("\n\n") if p.strip()]
    return (paras[0] if paras else ""), paras[1:]


def context(run: RunResult, docs: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything the template shows, as plain strings, numbers and blocks."""
    import yaml

    dataset = jsonable(run.dataset_summary or {})
    recipe = run.recipe or {}
    is_image = bool(dataset.get("is_image"))
    checks: list[dict[str, Any]] = []
    for c in run.checks:
        summary, doc = _doc_parts((docs or {}).get(c.id, ""))
        metric_rows, metric_tables = metric_blocks(jsonable(c.metrics))
        checks.append(
            {
                "id": c.id,
                "anchor": "check-" + c.id.replace(".", "-"),
                "stage": c.stage,
                "status": c.status,
                "message": c.message,
                "hint": c.hint,
                "summary": summary,
                "doc": doc,
                "metrics": metric_rows,
                "metric_tables": metric_tables,
                "examples": examples_block(c.examples),
                "figures": safe_figure_blocks(c, is_image),
                "duration": c.duration_s,
                "traceback": c.traceback,
            }
        )
    stages = [s for s in STAGES if any(c["stage"] == s for c in checks)]
    stages += sorted({c["stage"] for c in checks} - set(stages))
    train = recipe.get("train", {}) or {}
    return {
        "run": run,
        "name": str(recipe.get("name") or "run"),
        "counts": run.counts(),
        "stages": [
            {
                "id": s,
                "title": STAGE_TITLES.get(s, s),
                "checks": [c for c in checks if c["stage"] == s],
            }
            for s in stages
        ],
        "attention": [c for c in checks if c["status"] in ("fail", "error", "warn")],
        "dataset": dataset,
        "model": _model_text(recipe, dataset),
        "engine": (recipe.get("model", {}) or {}).get("engine", ""),
        "training": (
            f"{train.get('optimizer')}, lr {train.get('lr')}, batch {train.get('batch_size')}, "
            f"{train.get('steps')} steps"
        ),
        "recipe_text": yaml.safe_dump(jsonable(recipe), sort_keys=False, allow_unicode=True),
    }


def render(run: RunResult, docs: dict[str, str] | None = None) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("nncheck.writers", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env.get_template("report.html.j2").render(**context(run, docs))


def write(run: RunResult, directory: Path, docs: dict[str, str] | None = None) -> Path:
    path = Path(directory) / "index.html"
    write_text(path, render(run, docs))
    return path
