"""One `nncheck run`: recipe -> dataset -> engine -> checks -> results -> writers.

Data flows one way. Everything that can make the input unusable (recipe, data files,
selected check names) is validated before the report directory is touched, so exit 2
never destroys a previous report.
"""

from __future__ import annotations

import os
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nncheck import __version__
from nncheck.errors import UsageError
from nncheck.results import RunResult

if TYPE_CHECKING:
    from nncheck.checks.context import Context, StepProgress
    from nncheck.recipe.schema import Recipe


@dataclass
class RunOptions:
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    fail_on: str = "fail"
    report_dir: str | None = None
    quiet: bool = False


def run_recipe(recipe_path: str, options: RunOptions) -> tuple[RunResult, Path]:
    """Run every selected check of a recipe and write the report; returns (result, dir)."""
    from nncheck.checks.registry import load_all, select
    from nncheck.checks.runner import run_checks
    from nncheck.recipe.checks_section import check_name, parse_checks_section
    from nncheck.recipe.load import read_recipe
    from nncheck.writers.report_dir import check_report_dir
    from nncheck.writers.terminal import Terminal

    start = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    term = Terminal(quiet=options.quiet, fail_on=options.fail_on)
    recipe = read_recipe(recipe_path)
    specs = load_all()
    thresholds, recipe_only, recipe_skip = parse_checks_section(recipe.checks, specs)
    for flag, names in (("--only", options.only), ("--skip", options.skip)):
        for name in names:
            check_name(name, specs, flag)
    report_dir = check_report_dir(
        options.report_dir or recipe.report.dir or "reports/run",
        protected=[str(recipe_path), *data_files(recipe)],
    )

    ctx = build_context(recipe, progress=term.steps)
    for note in ctx.dataset.notes:
        term.note(note)
    dataset, config = ctx.dataset, ctx.engine_config
    chosen, skipped = select(specs, options.only or recipe_only, options.skip + recipe_skip)
    with term.running(total=len(chosen)), blas_threads():
        checks = run_checks(
            ctx,
            chosen,
            thresholds,
            skipped=skipped,
            all_ids=list(specs),
            on_start=lambda spec: term.check_started(spec.id, spec.stage),
            on_done=term.check_done,
        )

    resolved = resolved_recipe(recipe, config.loss, dataset.task, str(report_dir))
    run = RunResult(
        recipe=resolved,
        started=started,
        duration_s=time.perf_counter() - start,
        checks=checks,
        nncheck_version=__version__,
        dataset_summary=dataset_summary(dataset),
        fail_on=options.fail_on,
    )
    write_report(run, report_dir, {s.id: s.doc for s in specs.values()})
    run.duration_s = time.perf_counter() - start
    term.finish(run, str(report_dir))
    return run, report_dir


def blas_threads() -> AbstractContextManager[object]:
    """One BLAS thread for the checks unless NNCHECK_BLAS_THREADS says otherwise.

    The checks' products are small (a 784x512 layer on batches of 8-128): a second OpenBLAS
    thread gains ~5% on an idle 2-core machine, but when other work holds a core every
    product waits for a descheduled thread — the MNIST audit took 23-44 s instead of 7.7 s
    on a busy CI-sized machine. `NNCHECK_BLAS_THREADS=0` keeps the library's default.
    """
    from nncheck.blas import blas_thread_limit

    return blas_thread_limit(os.environ.get("NNCHECK_BLAS_THREADS", "1"))


def build_context(recipe: Recipe, progress: StepProgress | None = None) -> Context:
    """Load the recipe's data and prepare its engine: what every check reads.

    One place for the recipe -> dataset -> engine step, shared by `nncheck run`, the
    benchmarks and the tests, so they all audit exactly what a user's run audits.
    """
    from nncheck.checks.context import Context
    from nncheck.data.build import load_dataset
    from nncheck.engines import engine_config, engine_factory

    dataset = load_dataset(recipe.data, recipe.seed)
    config = engine_config(recipe, dataset)
    factory = engine_factory(recipe)
    if recipe.model.engine == "torch":
        # Build the user's model once before any check: a factory that raises, or a model
        # whose output does not fit the data (M8), is exit 2 with its cause instead of an
        # error in every model check.
        factory(config, recipe.seed)
    return Context(
        recipe=recipe,
        dataset=dataset,
        engine_config=config,
        engine_factory=factory,
        progress=progress,
    )


def resolved_recipe(recipe: Any, loss: str, task: str, report_dir: str) -> dict[str, Any]:
    """The recipe as it ran: defaults filled in, task and loss decided, absolute paths."""
    out = recipe.model_dump(mode="json")
    out["data"]["task"] = task
    out["model"]["loss"] = loss
    out["report"]["dir"] = report_dir
    return out


def dataset_summary(ds: Any) -> dict[str, Any]:
    return {
        "train_source": ds.train.source,
        "test_source": ds.test.source,
        "n_train": len(ds.train),
        "n_test": len(ds.test),
        "input_shape": list(ds.input_shape),
        "is_image": ds.is_image,
        "task": ds.task,
        "task_inferred": ds.task_inferred,
        "n_classes": ds.n_classes,
        "classes": list(ds.classes) if ds.classes else None,
        "normalize": ds.normalize,
        "feature_names": list(ds.feature_names) if ds.feature_names else None,
        "notes": list(ds.notes),
    }


def data_files(recipe: Recipe) -> list[str]:
    """The files a recipe reads (absolute), which its report directory must not hold."""
    files: list[str] = []
    for source in (recipe.data.train, recipe.data.test):
        if isinstance(source, str):
            files.append(source)
        elif hasattr(source, "images"):
            files.extend([source.images, source.labels])
    return files


def write_report(run: RunResult, directory: Path, docs: dict[str, str]) -> None:
    """All writers into a temporary folder, swapped into place only when all succeeded.

    The charts are drawn first (most of the time; an interrupt there simply stops the run).
    Signals then wait until the swap is done (see nncheck.interrupts): an interrupt reports
    truthfully that the report was written, and never stops tensorboardX mid-close.
    """
    from nncheck.interrupts import Interrupted, interrupts_deferred
    from nncheck.writers import (
        figures,
        html_report,
        json_results,
        junit,
        summary_md,
        tensorboard_writer,
    )
    from nncheck.writers.report_dir import atomic_directory

    drawn = figures.for_run(run)  # the charts, drawn once for index.html and TensorBoard

    written = False
    try:
        with interrupts_deferred():
            with atomic_directory(directory) as tmp:
                json_results.write(run, tmp)
                junit.write(run, tmp)
                summary_md.write(run, tmp)
                html_report.write(run, tmp, docs, drawn)
                tensorboard_writer.write(run, tmp, drawn)  # one TensorBoard run: the report
            written = True
    except Interrupted as exc:
        exc.report_dir = str(directory) if written else None
        raise
    except OSError as exc:
        raise UsageError(f"cannot write the report to {directory}: {exc.strerror}") from None
