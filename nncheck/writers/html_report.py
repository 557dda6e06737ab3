"""index.html: one self-contained file a reviewer can open anywhere.

All CSS is inline and pictures are inline SVG, so the file works mailed around and makes no
network request. Jinja2's autoescape escapes every user string (recipe name, column names,
messages that quote data); only our own generated SVG is marked safe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nncheck.results import CheckResult, RunResult
from nncheck.writers.jsonable import jsonable
from nncheck.writers.report_dir import write_text
from nncheck.writers.svg import line_chart


def _charts(check: CheckResult) -> list[str]:
    """Inline SVG for the curves a check left in its artifacts."""
    charts = []
    for name, art in check.artifacts.get("curves", {}).items():
        series = {k: v for k, v in art.items() if k != "step"}
        if not series:
            continue
        log_y = all(v > 0 for values in series.values() for v in values if v == v)
        svg = line_chart(series, title=name, log_y=log_y)
        if svg:
            charts.append(svg)
    return charts


def render(run: RunResult, docs: dict[str, str] | None = None) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(
        loader=PackageLoader("nncheck.writers", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
    )
    template = env.get_template("report.html.j2")
    checks: list[dict[str, Any]] = []
    for c in run.checks:
        checks.append(
            {
                "id": c.id,
                "anchor": "check-" + c.id.replace(".", "-"),
                "stage": c.stage,
                "status": c.status,
                "message": c.message,
                "hint": c.hint,
                "doc": (docs or {}).get(c.id, ""),
                "metrics": [
                    (k, json.dumps(jsonable(v)) if not isinstance(v, str) else v)
                    for k, v in c.metrics.items()
                ],
                "examples": [json.dumps(jsonable(e)) for e in c.examples[:20]],
                "charts": [Markup(svg) for svg in _charts(c)],
                "duration": c.duration_s,
                "traceback": c.traceback,
            }
        )
    return template.render(
        run=run,
        counts=run.counts(),
        checks=checks,
        dataset=jsonable(run.dataset_summary),
        recipe_text=json.dumps(jsonable(run.recipe), indent=2),
    )


def write(run: RunResult, directory: Path, docs: dict[str, str] | None = None) -> Path:
    path = Path(directory) / "index.html"
    write_text(path, render(run, docs))
    return path
