"""Every chart a check's artifacts ask for, drawn once and shared by index.html and
TensorBoard.

The pictures come from the artifact conventions (``nncheck/checks/_artifacts.py``), never
from a check's id, so a new check gets its charts without touching a writer:

- ``curves``: ``{name: {"step": [...], series: [...], "targets"?: {series: value}}}`` ->
  line charts (curves of one check that each hold one series of the same name, e.g. three
  "loss" runs, share one chart; ``targets`` are drawn as dotted reference lines);
- ``bars``: ``{name: {"labels": [...], series: [...], "log"?}}`` -> grouped bars;
- ``scatter``: ``{name: {"x", "y", "x_label", "y_label", "diagonal"?, "zero_line"?}}``;
- ``histograms``: ``{name: {"edges", "counts", "note"?}}`` (or a raw array) -> small
  multiples; a ``note`` becomes the caption;
- ``confusion``: ``{"labels", "matrix", "rows"?, "columns"?}`` -> a heatmap;
- ``tables``: ``{name: {"columns", "rows", "chart"?}}`` -> the chart a table asks for (or
  the one its column names imply, see ``table_chart``), shown above the table;
- ``batch``: ``{"x": as fed, "y": labels}`` -> the batch as the network sees it.

One artifact that cannot be drawn costs its own picture (a caption says why), never the
check's other pictures or the report. Writers read results and compute no metric: what is
drawn here are the numbers the checks left, rescaled for display at most.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nncheck.results import CheckResult, RunResult
from nncheck.writers import charts

HISTOGRAM_CAPTION = "blue: activations, red: gradients, green: weights; dashed line at 0"


@dataclass(frozen=True)
class Picture:
    """One rendered chart: PNG bytes plus where it belongs."""

    name: str  # unique within its check: the TensorBoard tag's last part
    title: str  # alt text
    png: bytes
    width: int  # on the page, CSS pixels (the PNG has ``charts.SCALE`` times as many)
    height: int
    caption: str = ""
    table: str | None = None  # the table this chart draws (shown right above it)


@dataclass(frozen=True)
class Problem:
    """An artifact that could not be drawn, and why."""

    name: str
    reason: str


Drawn = list[Picture | Problem]


def for_run(run: RunResult) -> dict[str, Drawn]:
    """Pictures per check id, in the order the report shows them."""
    features = (run.dataset_summary or {}).get("feature_names") or []
    return {c.id: for_check(c, features) for c in run.checks}


def for_check(check: CheckResult, feature_names: list[str] | None = None) -> Drawn:
    art = check.artifacts or {}
    out: Drawn = []
    try:
        plans = _plans(art, feature_names or [])
    except Exception as exc:  # noqa: BLE001 - artifacts of an unexpected shape
        return [Problem("artifacts", f"{type(exc).__name__}: {exc}")]
    with charts.style():
        for name, build in plans:
            try:
                fig, caption, table = build()
            except Exception as exc:  # noqa: BLE001 - one odd artifact costs one picture
                out.append(Problem(name, f"{type(exc).__name__}: {exc}"))
                continue
            if fig is None:
                continue
            png, width, height = charts.render(fig)
            out.append(Picture(name, _alt(name), png, width, height, caption, table))
    return out


def _alt(name: str) -> str:
    return name.split(":", 1)[-1].strip() if name.startswith(("curves:", "tables:")) else name


Plan = tuple[str, Callable[[], tuple[Any, str, str | None]]]


def _plans(art: dict[str, Any], feature_names: list[str]) -> list[Plan]:
    """(name, build) per picture, without drawing anything yet."""
    plans: list[Plan] = []
    curves = art.get("curves")
    if isinstance(curves, dict):
        plans += _curve_plans(curves)
    for name, bar in _items(art.get("bars")):
        plans.append((name, lambda bar=bar, name=name: (_bars(name, bar), "", None)))
    for name, sc in _items(art.get("scatter")):
        plans.append((name, lambda sc=sc, name=name: (_scatter(name, sc), "", None)))
    hist = art.get("histograms")
    if isinstance(hist, dict) and hist:
        plans.append(("histograms", lambda: _histograms(hist)))
    conf = art.get("confusion")
    if isinstance(conf, dict):
        plans.append(("confusion_matrix", lambda: (_confusion(conf), "", None)))
    for name, tab in _items(art.get("tables")):
        if table_chart(tab):
            plans.append((name, lambda tab=tab, name=name: (_table_chart(name, tab), "", name)))
    batch = art.get("batch")
    if isinstance(batch, dict) and "x" in batch:
        plans.append(("batch_as_fed", lambda: _batch(batch, feature_names)))
    return plans


def _items(section: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(section, dict):
        return []
    return [(str(k), v) for k, v in section.items() if isinstance(v, dict)]


def numbers(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).ravel()


# ---- curves ---------------------------------------------------------------------------------

RESERVED = ("step", "targets")  # curve keys that are not series


def series_of(art: dict[str, Any]) -> dict[str, np.ndarray]:
    """A curve artifact's series (every key but ``step`` and ``targets``)."""
    return {str(k): numbers(v) for k, v in art.items() if k not in RESERVED}


def _curve_plans(curves: dict[str, Any]) -> list[Plan]:
    """Single-series curves that share their series' name share one chart (three runs'
    "loss"); every other curve is a chart of its own."""
    plans: list[Plan] = []
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for name, art in _items(curves):
        series = [str(k) for k in art if k not in RESERVED]  # values are read when drawn
        if len(series) == 1:
            groups.setdefault(series[0], {})[name] = art
        elif series:
            plans.append((f"curves:{name}", lambda name=name, art=art: _curve(name, art)))
    for sname, members in groups.items():
        if len(members) == 1:
            ((name, art),) = members.items()
            title = name if sname.lower() in name.lower() else f"{name}: {sname}"
            plans.append((f"curves:{name}", lambda title=title, art=art: _curve(title, art)))
            continue
        title = f"{sname}: " + ", ".join(members)

        def build(
            title: str = title, members: dict[str, dict[str, Any]] = members, sname: str = sname
        ) -> Any:
            series = {
                n: (numbers(a.get("step", [])), numbers(a[sname])) for n, a in members.items()
            }
            return charts.line_chart(title, series, dashed=True), "", None

        plans.append((f"curves:{sname}", build))
    return plans


def _curve(title: str, art: dict[str, Any]) -> tuple[Any, str, None]:
    steps = numbers(art.get("step", []))
    series = {name: (steps, values) for name, values in series_of(art).items()}
    if not any(v[np.isfinite(v)].size for _, v in series.values()):
        return None, "", None
    targets = art.get("targets") if isinstance(art.get("targets"), dict) else None
    targets = {str(k): float(v) for k, v in (targets or {}).items()}
    caption = "dotted lines: each sample's true target, in its colour" if targets else ""
    return charts.line_chart(title, series, targets=targets or None), caption, None


# ---- bars, scatter, histograms, confusion ---------------------------------------------------


def _bars(name: str, art: dict[str, Any]) -> Any:
    labels = [str(x) for x in art["labels"]]
    series = {str(k): numbers(v) for k, v in art.items() if k not in ("labels", "log")}
    if not labels or not series:
        return None
    return charts.bar_chart(name, labels, series, log=art.get("log"))


def _scatter(name: str, art: dict[str, Any]) -> Any:
    return charts.scatter(
        str(art.get("title") or name),
        numbers(art["x"]),
        numbers(art["y"]),
        x_label=str(art.get("x_label", "")),
        y_label=str(art.get("y_label", "")),
        diagonal=bool(art.get("diagonal", False)),
        zero_line=bool(art.get("zero_line", False)),
    )


def _histograms(hist: dict[str, Any]) -> tuple[Any, str, None]:
    panels, notes = [], []
    for name, art in hist.items():
        if isinstance(art, dict) and "edges" in art:
            edges, counts = numbers(art["edges"]), numbers(art["counts"])
            if art.get("note"):
                notes.append(str(art["note"]))
        else:
            values = numbers(art)
            values = values[np.isfinite(values)]
            if not values.size:
                continue
            c, edges = np.histogram(values, bins=40)
            counts = c.astype(np.float64)
        if len(edges) != len(counts) + 1 or not counts.size or not np.isfinite(edges).all():
            raise ValueError(f"histogram {name!r}: {len(edges)} edges for {len(counts)} counts")
        panels.append((str(name), edges, counts))
    if not panels:
        return None, "", None
    kinds = {charts.kind_of(n) for n, _, _ in panels}
    caption = " ".join(notes) or (HISTOGRAM_CAPTION if len(kinds) > 1 else "")
    return charts.histograms("", panels), caption, None


def _confusion(conf: dict[str, Any]) -> Any:
    matrix = np.asarray(conf.get("matrix", []), dtype=np.float64)
    if matrix.ndim != 2 or not matrix.size or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {matrix.shape}")
    labels = [str(v) for v in conf.get("labels", range(len(matrix)))]
    if len(labels) != len(matrix):
        labels = [str(i) for i in range(len(matrix))]
    return charts.heatmap(
        str(conf.get("title", "confusion matrix (test set)")),
        matrix,
        labels,
        row_title=str(conf.get("rows", "true")),
        col_title=str(conf.get("columns", "predicted")),
    )


# ---- tables ---------------------------------------------------------------------------------


def table_chart(tab: dict[str, Any]) -> dict[str, Any] | None:
    """The chart a table asks for (``"chart"``), or the default one its columns imply.

    Defaults, by column name, never by check: per-split shares (``train %``/``test %``,
    e.g. class counts) as grouped bars; raw ranges (``raw min``/``raw max``, e.g. the
    features table) as a range chart, the feature-scale overview.
    """
    chart = tab.get("chart")
    if isinstance(chart, dict):
        return chart
    columns = [str(c) for c in tab.get("columns", [])]
    if not columns or not tab.get("rows"):
        return None
    split_cols = [c for c in ("train %", "test %") if c in columns]
    if len(split_cols) == 2:
        return {"kind": "bar", "label": columns[0], "values": split_cols}
    if "raw min" in columns and "raw max" in columns:
        return {"kind": "range", "label": columns[0], "low": "raw min", "high": "raw max"}
    return None


def _table_chart(name: str, tab: dict[str, Any]) -> Any:
    chart = table_chart(tab) or {}
    columns = [str(c) for c in tab.get("columns", [])]
    rows = list(tab.get("rows", []))
    if chart.get("label") not in columns or not rows:
        return None

    def column(col: str) -> np.ndarray:
        i = columns.index(col)
        return np.array([_number(r[i]) if i < len(r) else np.nan for r in rows])

    labels = [str(r[columns.index(chart["label"])]) for r in rows]
    if chart.get("kind") == "range":
        if chart.get("low") not in columns or chart.get("high") not in columns:
            return None
        return charts.range_chart(
            f"{name}: {chart['low']} … {chart['high']}",
            labels,
            column(chart["low"]),
            column(chart["high"]),
            log=chart.get("log"),
        )
    series = {c: column(c) for c in chart.get("values", []) if c in columns}
    return charts.bar_chart(name, labels, series, log=chart.get("log")) if series else None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# ---- the batch as fed -----------------------------------------------------------------------


def _batch(batch: dict[str, Any], feature_names: list[str]) -> tuple[Any, str, None]:
    x = np.asarray(batch["x"], dtype=np.float64)
    if x.ndim < 2 or not len(x):
        return None, "", None
    y = batch.get("y")
    labels = [] if y is None else [str(v) for v in np.asarray(y).ravel().tolist()]
    ok = x[np.isfinite(x)]
    stats = (
        f"{len(x)} samples, shape {list(x.shape[1:])}, values {charts.tick_label(ok.min())} … "
        f"{charts.tick_label(ok.max())}, mean {charts.tick_label(ok.mean())}, "
        f"std {charts.tick_label(ok.std())}"
        if ok.size
        else f"{len(x)} samples, no finite values"
    )
    title = str(batch.get("title", "the batch as fed to the network"))
    if x.ndim >= 3:
        return charts.image_batch(title, x[:64], labels), stats, None
    flat = x.reshape(len(x), -1)[:64]
    names = feature_names if len(feature_names) == flat.shape[1] else []
    caption = f"{stats}; rows = samples (labelled), columns = features; blue < 0 < red"
    return charts.batch_heatmap(title, flat, labels, names), caption, None
