"""The terminal: what a run is doing while it works, one line per finished check, the
verdict and where the report is.

Three audiences:

- a person at a terminal sees a live line (the stage, check k of N, the check, the elapsed
  time) with a step bar for each training, and above it one line per finished check with
  its coloured status, message and time; the live part disappears when the run ends;
- a CI log (no terminal) gets each check once, as it finishes, one plain line each;
- ``--quiet`` prints only the failures (with their hints) and the verdict line.

Every user string (messages quote class labels and column names; the recipe name, the
report path) goes into rich as ``Text``, never as markup: a label such as ``[/x]`` or
``[bold]`` prints as it is instead of raising MarkupError or restyling the line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nncheck.results import CheckResult, RunResult

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim", "error": "magenta"}
MARK = {"pass": "✓", "warn": "!", "fail": "✗", "skip": "-", "error": "E"}
ID_WIDTH = 28  # the longest check id, skeleton.batch_independence, is 27


class Terminal:
    def __init__(self, quiet: bool = False, fail_on: str = "fail") -> None:
        from rich.console import Console

        self.quiet = quiet
        self.fail_on = fail_on
        self.out = Console(highlight=False)
        # CI logs (no terminal): one line per check, never wrapped (log viewers wrap)
        self.out.soft_wrap = not self.out.is_terminal
        self.live = self.out.is_terminal and not quiet
        self.err = Console(stderr=True, highlight=False, soft_wrap=not self.out.is_terminal)
        self._progress: Any = None
        self._overall: Any = None
        self._steps: Any = None
        self._stage = ""
        self._started = time.perf_counter()
        self._done = 0
        self._total = 0

    def note(self, text: str) -> None:
        """A dataset note ("task inferred: classification"), before the checks run."""
        from rich.text import Text

        if not self.quiet:
            self.err.print(Text(text, style="dim"))

    @contextmanager
    def running(self, total: int) -> Iterator[Terminal]:
        """While the checks run: the live line at a terminal, nothing extra elsewhere."""
        self._total, self._done = total, 0
        if not self.live:
            yield self
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.out,
            transient=True,
        ) as progress:
            self._progress = progress
            self._overall = progress.add_task("starting", total=total)
            try:
                yield self
            finally:
                self._progress = self._overall = self._steps = None

    def check_started(self, check_id: str, stage: str) -> None:
        if stage != self._stage:
            self._stage = stage
            if not self.quiet:
                self._print(_stage_header(stage))
        if self._progress is not None:
            self._progress.update(
                self._overall,
                description=f"{stage} · check {self._done + 1} of {self._total} · {check_id}",
                completed=self._done,
                refresh=True,  # each check is seen, however fast
            )

    def steps(self, label: str, step: int, total: int) -> None:
        """Training progress (called every 10 steps by the checks' trainings)."""
        if self._progress is None:
            return
        description = f"  training {label}"
        if self._steps is None:
            self._steps = self._progress.add_task(description, total=total)
        self._progress.update(self._steps, description=description, completed=step, total=total)

    def check_done(self, res: CheckResult) -> None:
        self._done += 1
        if self._progress is not None:
            if self._steps is not None:
                self._progress.remove_task(self._steps)
                self._steps = None
            self._progress.update(self._overall, completed=self._done)
        if not self.quiet and not res.not_applicable:
            self._print(self._line(res))

    def finish(self, run: RunResult, report_dir: str | None) -> None:
        """After the report is written: (quiet) the failures, then the verdict line."""
        from rich.text import Text

        from nncheck.root_causes import look_first

        if self.quiet:
            for c in run.checks:
                if self._failing(c.status):
                    self._print(self._line(c))
        else:
            elsewhere = [c for c in run.checks if c.not_applicable]
            if elsewhere:
                self._print(
                    Text.assemble(
                        ("  -  skip  ", STYLE["skip"]),
                        f"{len(elsewhere)} checks do not apply to this setup "
                        f"({_setup(run)}): " + ", ".join(c.id for c in elsewhere),
                        style="dim",
                    )
                )
            unselected = [c for c in run.checks if c.status == "skip" and _by_request(c)]
            if unselected:
                self._print(
                    Text.assemble(
                        ("  -  skip  ", STYLE["skip"]),
                        f"{len(unselected)} checks by request: "
                        + ", ".join(c.id for c in unselected),
                        style="dim",
                    )
                )
        for cause, follow in look_first(run.checks):
            if follow:
                self._print(
                    Text.assemble(
                        ("  ↳ ", STYLE[cause.status] if cause.status in STYLE else ""),
                        f"probably consequences of {cause.id}: " + ", ".join(c.id for c in follow),
                        style="dim",
                    )
                )
        counts = ", ".join(f"{n} {s}" for s, n in run.counts().items() if n)
        verdict = Text.assemble(
            (run.verdict.upper(), STYLE[run.verdict]),
            " ",
            str(run.recipe.get("name", "run")),
            f": {counts} in {run.duration_s:.1f} s",
        )
        if report_dir:
            verdict.append(" -> ")
            verdict.append(f"{report_dir}/index.html", style="bold" if self.live else "")
        self._print(verdict)

    def _failing(self, status: str) -> bool:
        return status in ("fail", "error") or (status == "warn" and self.fail_on == "warn")

    def _print(self, renderable: Any) -> None:
        (self._progress.console if self._progress is not None else self.out).print(renderable)

    def _line(self, res: CheckResult) -> Any:
        """One finished check: mark and status in its colour, id, message, time; the hint
        under it when the check did not pass."""
        from rich.table import Table
        from rich.text import Text

        head = Text.assemble((f"  {MARK[res.status]} {res.status:5s} ", STYLE[res.status]))
        hint = res.hint if res.status in ("warn", "fail", "error") else ""
        took = Text(f"{res.duration_s:.2f} s", style="dim")
        if not self.out.is_terminal:  # a log line: nothing aligned, nothing wrapped
            line = Text.assemble(head, res.id.ljust(ID_WIDTH), " ", res.message, " (", took, ")")
            if hint:
                line.append("\n    → " + hint, style="dim")
            return line
        message = Text(res.message)
        if hint:
            message.append("\n→ " + hint, style="dim")
        grid = Table.grid(padding=(0, 1), expand=True)  # times in one right-hand column
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, min_width=ID_WIDTH)
        grid.add_column(ratio=1, overflow="fold")
        grid.add_column(no_wrap=True, justify="right")
        grid.add_row(head, Text(res.id), message, took)
        return grid


def _stage_header(stage: str) -> Any:
    from rich.text import Text

    from nncheck.writers.stage_titles import STAGE_TITLES

    return Text(STAGE_TITLES.get(stage, stage), style="bold")


def _setup(run: RunResult) -> str:
    """The kind of setup in a few words: the task and whether the user's pieces came in."""
    task = str(run.dataset_summary.get("task") or "").replace("_", " ")
    engine = str((run.recipe.get("model") or {}).get("engine") or "")
    return ", ".join(p for p in (task and f"a {task} task", engine and f"{engine} engine") if p)


def _by_request(check: CheckResult) -> bool:
    """Skipped by --only/--skip or the recipe's skip list, not by the runner."""
    return check.message.startswith(("not selected", "skipped by request"))
