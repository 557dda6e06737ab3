"""The terminal: live progress while a run works, then the check table and the verdict.

rich renders the table (it handles widths, wrapping and colours, and degrades to plain text
in CI logs); progress is transient so logs keep only the result.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nncheck.results import CheckResult, RunResult

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "error": "magenta"}


class Terminal:
    def __init__(self, quiet: bool = False) -> None:
        from rich.console import Console

        self.quiet = quiet
        self.out = Console(highlight=False, soft_wrap=False)
        if not self.out.is_terminal and "COLUMNS" not in os.environ:
            self.out.width = 120  # CI logs: rich would assume 80 columns and wrap every row
        self.err = Console(stderr=True, highlight=False)
        self._progress: Any = None
        self._task: Any = None

    def note(self, text: str) -> None:
        if not self.quiet:
            self.err.print(f"[dim]{text}[/dim]", markup=True, highlight=False)

    @contextmanager
    def running(self) -> Iterator[Terminal]:
        if self.quiet or not self.err.is_terminal:
            yield self
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.err,
            transient=True,
        ) as progress:
            self._progress = progress
            self._task = progress.add_task("starting", total=None)
            try:
                yield self
            finally:
                self._progress = None

    def check_started(self, check_id: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=check_id, completed=0, total=None)

    def steps(self, label: str, step: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(
                self._task, description=f"{label} (steps)", completed=step, total=total
            )

    def check_done(self, res: CheckResult) -> None:
        if not self.quiet and not self.err.is_terminal:
            # Plain logs (CI): one line per finished check is the progress.
            print(f"  {res.status:5s} {res.id}", file=sys.stderr, flush=True)

    def table(self, run: RunResult, report_dir: str | None) -> None:
        from rich.markup import escape
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False, expand=False)
        table.add_column("status", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("message", overflow="fold")
        for c in run.checks:
            style = STYLE[c.status]
            table.add_row(f"[{style}]{c.status}[/{style}]", c.id, escape(c.message))
        self.out.print(table)
        counts = run.counts()
        parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        style = STYLE[run.verdict]
        self.out.print(
            f"[{style}]{run.verdict.upper()}[/{style}] {escape(str(run.recipe.get('name')))}: "
            f"{parts} in {run.duration_s:.1f} s"
            + (f" -> {escape(report_dir)}/index.html" if report_dir else "")
        )
