"""index.html: one self-contained file a reviewer can open anywhere.

All CSS is inline, charts and thumbnails are PNG ``data:`` URIs, and there is no
JavaScript: the file works mailed around, offline, and makes no network request. Jinja2's
autoescape escapes every user string (recipe name, column and class names, paths, messages
that quote data); nothing is marked safe.

The charts come from ``figures`` (matplotlib, drawn once and shared with TensorBoard);
this module adds what only a page has: thumbnails with captions (``images``:
``{"title", "items": [{"image": uint8, "caption"}]}``), tables (``tables``: ``{name:
{"columns", "rows"}}``, each under its chart, empty ones left out), metrics and examples
as tables, and the check's documentation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nncheck.results import STAGES, CheckResult, RunResult
from nncheck.writers import figures
from nncheck.writers.figures import Picture, Problem
from nncheck.writers.images import data_uri, thumbnail
from nncheck.writers.jsonable import jsonable
from nncheck.writers.report_dir import write_text
from nncheck.writers.stage_titles import STAGE_TITLES

MAX_TABLE_ROWS = 60
MAX_EXAMPLES = 20
MAX_THUMBS = 48


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


def thumbs_block(images: dict[str, Any]) -> dict | None:
    items = []
    for item in list(images.get("items", []))[:MAX_THUMBS]:
        try:
            src = data_uri(thumbnail(item["image"]))
        except (KeyError, ValueError, TypeError):
            continue
        caption = str(item.get("caption", "")).replace(" -> ", " → ")  # wraps better
        items.append({"src": src, "caption": caption})
    if not items:
        return None
    return {"kind": "thumbs", "title": str(images.get("title", "")), "items": items}


def picture_block(picture: Picture) -> dict[str, Any]:
    return {
        "kind": "picture",
        "title": picture.title,
        "src": data_uri(picture.png),
        "width": picture.width,
        "height": picture.height,
        "caption": picture.caption,
        "wide": picture.width > 620,
    }


def figure_blocks(check: CheckResult, drawn: list[Picture | Problem]) -> list[dict]:
    """Every picture of a check in reading order: charts, each table under its own chart,
    thumbnails; an artifact that could not be drawn says so instead of its picture."""
    art = check.artifacts or {}
    blocks: list[dict] = []
    by_table = {p.table: p for p in drawn if isinstance(p, Picture) and p.table}
    for item in drawn:
        if isinstance(item, Problem):
            blocks.append({"kind": "caption", "text": f"{item.name}: not drawn ({item.reason})"})
        elif not item.table:
            blocks.append(picture_block(item))
    for name, tab in (
        (art.get("tables") or {}).items() if isinstance(art.get("tables"), dict) else []
    ):
        if not isinstance(tab, dict) or not tab.get("rows"):
            continue  # a table with nothing in it says nothing
        if str(name) in by_table:
            blocks.append(picture_block(by_table[str(name)]))
        blocks.append(table_block(str(name), list(tab.get("columns", [])), list(tab["rows"])))
    if isinstance(art.get("images"), dict):
        block = thumbs_block(art["images"])
        if block:
            blocks.append(block)
    return blocks


def confusion_table(conf: dict[str, Any]) -> dict | None:
    """The confusion matrix's counts as a table (the heatmap shows shares), up to 30
    classes."""
    matrix = [list(r) for r in conf.get("matrix", [])]
    if not matrix or len(matrix) > 30 or any(len(r) != len(matrix) for r in matrix):
        return None
    labels = [str(v) for v in conf.get("labels", [])]
    if len(labels) != len(matrix):
        labels = [str(i) for i in range(len(matrix))]
    corner = f"{conf.get('rows', 'true')} \\ {conf.get('columns', 'predicted')}"
    rows = [[labels[i], *row] for i, row in enumerate(matrix)]
    return table_block("confusion matrix (counts)", [corner, *labels], rows)


def safe_figure_blocks(check: CheckResult, drawn: list[Picture | Problem]) -> list[dict]:
    """``figure_blocks``, but artifacts the writer cannot read cost that check its
    pictures (with a note saying why), never the report."""
    try:
        return figure_blocks(check, drawn)
    except Exception as exc:  # noqa: BLE001 - a malformed artifact must not lose the report
        return [{"kind": "caption", "text": f"pictures not drawn: {type(exc).__name__}: {exc}"}]


# ---- the page ----------------------------------------------------------------------------


def _look_first(run: RunResult, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The "look at these first" list: each cause first, its consequences under it."""
    from nncheck.root_causes import look_first

    by_id = {c["id"]: c for c in checks}
    return [
        {**by_id[cause.id], "consequences": [by_id[c.id] for c in follow]}
        for cause, follow in look_first(run.checks)
    ]


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


def context(
    run: RunResult,
    docs: dict[str, str] | None = None,
    drawn: dict[str, list[Picture | Problem]] | None = None,
) -> dict[str, Any]:
    """Everything the template shows, as plain strings, numbers and blocks."""
    import yaml

    dataset = jsonable(run.dataset_summary or {})
    recipe = run.recipe or {}
    drawn = figures.for_run(run) if drawn is None else drawn
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
                "figures": safe_figure_blocks(c, drawn.get(c.id, [])),
                "duration": c.duration_s,
                "traceback": c.traceback,
                "consequence_of": c.consequence_of,
                "not_applicable": c.not_applicable,
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
                "checks": [c for c in checks if c["stage"] == s and not c["not_applicable"]],
            }
            for s in stages
        ],
        # checks written for another kind of setup: one collapsed list, with their reasons
        "elsewhere": [c for c in checks if c["not_applicable"]],
        "attention": _look_first(run, checks),
        "dataset": dataset,
        "model": _model_text(recipe, dataset),
        "engine": (recipe.get("model", {}) or {}).get("engine", ""),
        "training": (
            f"{train.get('optimizer')}, lr {train.get('lr')}, batch {train.get('batch_size')}, "
            f"{train.get('steps')} steps"
        ),
        "recipe_text": yaml.safe_dump(jsonable(recipe), sort_keys=False, allow_unicode=True),
    }


def render(
    run: RunResult,
    docs: dict[str, str] | None = None,
    drawn: dict[str, list[Picture | Problem]] | None = None,
) -> str:
    """The page; ``drawn`` (``figures.for_run``) lets TensorBoard reuse the same pictures."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("nncheck.writers", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env.get_template("report.html.j2").render(**context(run, docs, drawn))


def write(
    run: RunResult,
    directory: Path,
    docs: dict[str, str] | None = None,
    drawn: dict[str, list[Picture | Problem]] | None = None,
) -> Path:
    path = Path(directory) / "index.html"
    write_text(path, render(run, docs, drawn))
    return path
