"""`nncheck checks`: every check with its stage, what it catches and its thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nncheck.checks.registry import CheckSpec


def print_checks(verbose: bool = False) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from nncheck.checks.registry import load_all

    console = Console(highlight=False)
    specs = load_all()
    if verbose:
        for spec in specs.values():
            console.rule(f"{spec.id}  [dim]({spec.stage})[/dim]")
            console.print(escape(spec.doc))
            console.print(
                f"catches: {spec.catches or '-'}; requires: {', '.join(spec.requires) or '-'}"
            )
            console.print("thresholds: " + escape(_thresholds(spec)) + "\n")
        return
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("check", no_wrap=True)
    table.add_column("catches", no_wrap=True)
    table.add_column("what it checks", overflow="fold")
    table.add_column("thresholds: default (valid values)", overflow="fold")
    for spec in specs.values():
        table.add_row(spec.id, spec.catches or "-", escape(spec.summary), escape(_thresholds(spec)))
    console.print(table)
    console.print(
        f"{len(specs)} checks. Set thresholds in a recipe under `checks:`, e.g. "
        "checks: {overfit.one_batch: {max_loss: 0.01}}; `nncheck checks -v` for docs."
    )


def _thresholds(spec: CheckSpec) -> str:
    """``name=default (valid values)`` for each threshold, as the recipe may set it."""
    parts = []
    for name, default in spec.defaults.items():
        valid = spec.ranges.get(name)
        parts.append(f"{name}={default!r}" + (f" ({valid})" if valid is not None else ""))
    return ", ".join(parts) or "-"
