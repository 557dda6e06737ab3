"""`nncheck checks`: every check with its stage, the bug classes it points at, what it
checks and its thresholds; `--markdown` prints README's check table from the same data.

The layout reads at 80 columns: one block per check (id and tags, then the summary and
the thresholds indented under it), thresholds wrapped between ``name=value`` pairs, never
inside a number. Tags come from ``nncheck.bug_classes``, the one place README and this
command share.
"""

from __future__ import annotations

from typing import Any

from nncheck.bug_classes import CATALOGUE
from nncheck.writers.stage_titles import STAGE_TITLES


def print_checks(verbose: bool = False, markdown: bool = False) -> None:
    from rich.console import Console
    from rich.text import Text

    from nncheck.checks.registry import load_all

    specs = load_all()
    if markdown:
        print(markdown_table(specs.values()), end="")
        return
    console = Console(highlight=False)
    width = min(console.width, 100)
    for line in lines(specs.values(), verbose, width):
        console.print(line if isinstance(line, Text) else Text(line), soft_wrap=True)


def lines(specs: Any, verbose: bool, width: int) -> list[Any]:
    """A stage header, then per check its id and tags and, indented under them, what it
    checks and its thresholds, wrapped at ``width`` between words and ``name=value`` pairs
    (``textwrap`` never breaks inside a word)."""
    import textwrap

    from rich.text import Text

    def wrapped(text: str, first: str = "") -> list[str]:
        return textwrap.wrap(
            text,
            width,
            initial_indent="  " + first,
            subsequent_indent="    " if first else "  ",
            break_long_words=False,
            break_on_hyphens=False,
        )

    out: list[Any] = []
    stage = ""
    for spec in specs:
        if spec.stage != stage:
            if stage:
                out.append("")
            stage = spec.stage
            out.append(Text(STAGE_TITLES.get(stage, stage), style="bold underline"))
        out.append(Text.assemble((spec.id, "bold"), ("  " + (spec.catches or "—"), "cyan")))
        paragraphs = (
            [p.replace("\n", " ") for p in spec.doc.split("\n\n")] if verbose else [spec.summary]
        )
        for paragraph in paragraphs:
            out += wrapped(paragraph)
        out += wrapped(thresholds(spec.defaults, spec.ranges), "thresholds: ")
        if verbose:
            if spec.requires:
                out += wrapped(", ".join(spec.requires), "requires: ")
            out.append("")
    out += legend(width)
    return out


def thresholds(defaults: dict[str, Any], ranges: dict[str, Any] | None = None) -> str:
    """``a=1 (>= 1), b=0.005 (in [0, 1])``: a default and its valid values, pairs joined by
    ", " so lines break between them; no-break spaces keep each pair on one line."""
    ranges = ranges or {}
    parts = []
    for name, default in defaults.items():
        valid = f" ({ranges[name]})" if name in ranges else ""
        parts.append(f"{name}={default!r}{valid}".replace(" ", "\u00a0"))
    return ", ".join(parts) or "none"


def legend(width: int) -> list[str]:
    import textwrap

    out = ["", "bug classes (nncheck/bug_classes.py, the project's catalogue):"]
    out += [f"  {b.id}  {b.title}" for b in CATALOGUE]
    note = (
        "Set thresholds in a recipe under `checks:`, e.g. checks: {overfit.one_batch: "
        "{max_loss: 0.01}}; `nncheck checks -v` prints each check's documentation."
    )
    return [*out, "", *textwrap.wrap(note, width, break_long_words=False)]


def markdown_table(specs: Any) -> str:
    """README's check table: check, the bug classes it points at, what it checks."""
    rows = ["| check | catches | what it checks |", "|---|---|---|"]
    for spec in specs:
        what = spec.summary.replace("|", "\\|")
        rows.append(f"| `{spec.id}` | {spec.catches or '—'} | {what} |")
    return "\n".join(rows) + "\n"
