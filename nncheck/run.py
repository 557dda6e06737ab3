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
    from nncheck.checks.registry import CheckSpec
    from nncheck.recipe.schema import Recipe


@dataclass
class RunOptions:
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    fail_on: str = "fail"
    report_dir: str | None = None
    quiet: bool = False
    # --dask [ADDRESS]: data.engine dask ("" for $NNCHECK_DASK_SCHEDULER or a LocalCluster)
    dask: str | None = None


@dataclass
class Selection:
    """Which checks run, with which thresholds (validated against the registry)."""

    specs: dict[str, CheckSpec]
    thresholds: dict[str, dict[str, Any]]
    chosen: list[CheckSpec]
    skipped: dict[str, str]

    @property
    def docs(self) -> dict[str, str]:
        return {s.id: s.doc for s in self.specs.values()}


def run_recipe(recipe_path: str, options: RunOptions) -> tuple[RunResult, Path]:
    """Run every selected check of a recipe and write the report; returns (result, dir)."""
    from nncheck.recipe.load import read_recipe
    from nncheck.writers.report_dir import check_report_dir
    from nncheck.writers.terminal import Terminal

    start = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    term = Terminal(quiet=options.quiet, fail_on=options.fail_on)
    recipe = read_recipe(recipe_path)
    if options.dask is not None:
        recipe = on_dask(recipe, options.dask or None)
    selection = select_checks(recipe, options.only, options.skip)
    report_dir = check_report_dir(
        options.report_dir or recipe.report.dir or "reports/run",
        protected=[str(recipe_path), *data_files(recipe)],
    )
    run = audit_recipe(recipe, selection, term, options.fail_on, str(report_dir), start, started)
    write_report(run, report_dir, selection.docs)
    run.duration_s = time.perf_counter() - start
    term.finish(run, str(report_dir))
    return run, report_dir


def on_dask(recipe: Recipe, scheduler: str | None) -> Recipe:
    """The recipe with ``data.engine: dask`` (``--dask``), at ``scheduler`` when given."""
    if recipe.data.factory is not None:
        raise UsageError(
            "--dask streams data files ({images: ..., labels: ...}); this recipe's"
            " data.factory gives Python objects, which are read in memory"
        )
    data = recipe.data.model_copy(
        update={"engine": "dask", "scheduler": scheduler or recipe.data.scheduler}
    )
    return recipe.model_copy(update={"data": data})


def select_checks(recipe: Recipe, only: list[str], skip: list[str]) -> Selection:
    """The recipe's `checks:` section and --only/--skip, validated (exit 2 on a bad name)."""
    from nncheck.checks.registry import load_all, select
    from nncheck.recipe.checks_section import check_name, parse_checks_section

    specs = load_all()
    thresholds, recipe_only, recipe_skip = parse_checks_section(recipe.checks, specs)
    for flag, names in (("--only", only), ("--skip", skip)):
        for name in names:
            check_name(name, specs, flag)
    chosen, skipped = select(specs, only or recipe_only, skip + recipe_skip)
    return Selection(specs, thresholds, chosen, skipped)


def audit_recipe(
    recipe: Recipe,
    selection: Selection,
    term: Any,
    fail_on: str,
    report_dir: str | None,
    start: float,
    started: str,
) -> RunResult:
    """recipe -> context -> checks -> RunResult: what `nncheck run` and `nncheck.audit`
    both do (the report is written by the caller, or not at all)."""
    from nncheck.checks.runner import run_checks
    from nncheck.root_causes import attribute as attribute_root_causes

    ctx = build_context(recipe, progress=term.steps)
    if report_dir is not None:
        # Everything that can make the run exit 2 is behind us (matplotlib's import creates
        # its cache folders in the user's home: not for a run that writes nothing), and a
        # report will be written: its imports overlap the checks.
        from nncheck.writers.charts import prefetch

        prefetch()
    for note in ctx.dataset.notes:
        term.note(note)
    dataset, config = ctx.dataset, ctx.engine_config
    with term.running(total=len(selection.chosen)), blas_threads():
        checks = run_checks(
            ctx,
            selection.chosen,
            selection.thresholds,
            skipped=selection.skipped,
            all_ids=list(selection.specs),
            on_start=lambda spec: term.check_started(spec.id, spec.stage),
            on_done=term.check_done,
        )
    checks = attribute_root_causes(checks)  # consequence_of: which finding explains which
    resolved = resolved_recipe(recipe, config.loss, dataset.task, report_dir)
    return RunResult(
        recipe=resolved,
        started=started,
        duration_s=time.perf_counter() - start,
        checks=checks,
        nncheck_version=__version__,
        dataset_summary=dataset_summary(dataset),
        fail_on=fail_on,
    )


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

    One place for the recipe -> dataset -> engine step, shared by `nncheck run`,
    `nncheck.audit`, the benchmarks and the tests, so they all audit exactly what a user's
    run audits. The user's pieces (Python objects from `nncheck.audit`, or the recipe's
    "module:name" strings) are resolved here, and each is tried once before any check, so
    a piece that raises or returns the wrong thing is exit 2 with its cause.
    """
    from nncheck.checks.context import Context, usability_problem
    from nncheck.data.build import load_dataset
    from nncheck.engines import engine_config, engine_factory
    from nncheck.objects import resolve_objects

    objects = resolve_objects(recipe)
    pipeline = None
    if objects.has_data:
        from nncheck.data.python_data import load_python_data

        dataset, pipeline = load_python_data(objects, recipe.data, recipe.seed)
    else:
        dataset = load_dataset(recipe.data, recipe.seed)
    config = engine_config(recipe, dataset, objects, pipeline.batch if pipeline else None)
    factory = engine_factory(recipe, objects)
    if recipe.model.engine == "torch":
        # Build the user's model once before any check: a factory that raises, or a model
        # whose output does not fit the data (M8), is exit 2 with its cause instead of an
        # error in every model check. Their own train step is tried on one real batch.
        engine = factory(config, recipe.seed)
        if objects.step is not None and usability_problem(dataset) is None:
            n = min(int(config.batch_size), len(dataset.train))
            engine.step(dataset.train.x[:n], dataset.train.y[:n])
    return Context(
        recipe=recipe,
        dataset=dataset,
        engine_config=config,
        engine_factory=factory,
        progress=progress,
        pipeline=pipeline,
    )


def resolved_recipe(recipe: Any, loss: str, task: str, report_dir: str | None) -> dict[str, Any]:
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
    if recipe.objects is not None and recipe.objects.has_data:
        return files
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
        exports,
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
                exports.write(run, tmp)  # tables checks export as files (label_issues.csv)
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
