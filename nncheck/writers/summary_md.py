"""summary.md: a Markdown table fit for a CI job summary (e.g. $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import html
from pathlib import Path

from nncheck.results import RunResult
from nncheck.root_causes import look_first
from nncheck.writers.report_dir import write_text

ICONS = {
    "pass": "✅ pass",
    "warn": "⚠️ warn",
    "fail": "❌ fail",
    "skip": "⏭️ skip",
    "error": "💥 error",
}


def cell(text: str) -> str:
    """Escape a user string for a Markdown table cell (pipes, HTML, newlines)."""
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def render(run: RunResult) -> str:
    counts = run.counts()
    name = cell(str(run.recipe.get("name", "run")))
    lines = [
        f"## nncheck: {name} — {run.verdict.upper()}",
        "",
        " · ".join(f"{counts[s]} {s}" for s in counts) + f" · {run.duration_s:.1f} s",
        "",
        "| check | status | message |",
        "|---|---|---|",
    ]
    for c in run.checks:
        cause = f"probably a consequence of `{c.consequence_of}`: " if c.consequence_of else ""
        lines.append(f"| `{c.id}` | {ICONS[c.status]} | {cause}{cell(c.message)} |")
    # Hints in "look at these first" order: a cause's hint first, its consequences' not
    # repeated (fixing the cause is what to try).
    hints = [c for c, _ in look_first(run.checks) if c.hint]
    if hints:
        lines += ["", "### What to try", ""]
        lines += [f"- **{c.id}**: {cell(c.hint)}" for c in hints]
    return "\n".join(lines) + "\n"


def write(run: RunResult, directory: Path) -> Path:
    path = Path(directory) / "summary.md"
    write_text(path, render(run))
    return path
