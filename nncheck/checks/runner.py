"""Runs the selected checks stage by stage.

The runner owns everything a check should not have to think about: timing, turning an
exception into an `error` result (with the traceback) so that one broken check never hides
the others, and turning unmet requirements into `skip` with a reason.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from nncheck.checks.context import Context, usability_problem
from nncheck.checks.registry import CheckSpec
from nncheck.results import CheckResult

CheckStarted = Callable[[CheckSpec], None]
CheckDone = Callable[[CheckResult], None]
# The metrics of a skip for a check that does not apply to this kind of setup.
NOT_APPLICABLE: dict[str, Any] = {"not_applicable": True}


def unmet_requirement(spec: CheckSpec, ctx: Context) -> str | None:
    """The reason ``spec`` cannot run in this context, or None."""
    ds = ctx.dataset
    task = ds.task.replace("_", " ")
    if ds.is_sequence and not {"sequences", "tokens", "any_task"} & set(spec.requires):
        return "judges one target per sample; a language model has one per token"
    if "multilabel" in spec.requires and not ds.is_multilabel:
        return f"needs a multilabel target (task: multilabel); this is a {task} task"
    if "sequences" in spec.requires and not ds.is_sequence:
        return f"needs token sequences (task: language_model); this is a {task} task"
    for need in spec.requires:
        if need == "tokens" and not ds.token_inputs:
            return f"needs token sequences; this is a {task} task"
        if need == "numeric_inputs" and ds.token_inputs:
            return "judges inputs as numbers (statistics, distances); these are token ids"
        if need == "labels" and not ds.has_classes:
            return f"needs class labels; this is a {task} task"
        if need == "regression" and ds.task != "regression":
            return f"needs a regression target; this is a {task} task"
        if need == "images" and not ds.is_image:
            return "needs image data"
        if need == "image_shaped" and len(ds.input_shape) != 3:
            return "needs samples with three axes (images C x H x W or H x W x C)"
        if need == "table" and ds.table is None:
            return "needs a table (csv or parquet); this data is an array file"
        if need == "second_annotation" and not ctx.recipe.data.second_annotation:
            return "the recipe names no data.second_annotation"
        if need == "engine" and ctx.engine_config is None:
            return ctx.engine_problem or "no model engine could be built"
        if need in _PIECES:
            cfg = ctx.engine_config
            if cfg is None or not getattr(cfg, need):
                return _PIECES[need]
        if need in ("pipeline", "pipeline_test", "loader"):
            reason = _pipeline_missing(need, ctx)
            if reason:
                return reason
        if need == "trainable":
            problem = ctx.memo("usability_problem", lambda: usability_problem(ds))
            if problem:
                return f"the data cannot be fed to a model: {problem} (see data.integrity)"
    if ds.is_multilabel and not {"multilabel", "any_target", "any_task"} & set(spec.requires):
        return "judges one label per sample; a multilabel target has one 0/1 value per label"
    return None


_PIECES = {
    "user_optimizer": "the audit uses nncheck's builtin optimizer; give your own "
    '(optimizer=, or train.optimizer: "module:function") to check it',
    "user_scheduler": "the audit was given no LR scheduler (scheduler=, or train.scheduler)",
    "user_step": "the audit uses nncheck's own train step; give yours (step=, or train.step) "
    "to check it",
}


def _pipeline_missing(need: str, ctx: Context) -> str | None:
    pipe = ctx.pipeline
    if pipe is None:
        return "the data are arrays or files, not a torch Dataset or DataLoader of yours"
    if need == "loader":
        return None if pipe.train.loader is not None else "the training data is no DataLoader"
    if need == "pipeline_test":
        if pipe.test is None:
            return "the test split was cut from the training data by nncheck, not given"
        return None if pipe.readable("test") else "the test split is no torch Dataset"
    readable = pipe.readable("train") or pipe.readable("test")
    return None if readable else "neither split is a torch Dataset read by index"


def run_checks(
    ctx: Context,
    specs: list[CheckSpec],
    thresholds: dict[str, dict[str, Any]],
    *,
    skipped: dict[str, str] | None = None,
    all_ids: list[str] | None = None,
    on_start: CheckStarted | None = None,
    on_done: CheckDone | None = None,
) -> list[CheckResult]:
    """Run ``specs`` in order; ``skipped`` ids (with reasons) are reported as `skip`.

    ``all_ids`` fixes the order of the returned results (selected and skipped interleaved
    as registered), so reports always list checks the same way.
    """
    skipped = skipped or {}
    by_id: dict[str, CheckResult] = {}
    for spec in specs:
        if on_start:
            on_start(spec)
        res = run_one(spec, ctx, {**spec.defaults, **thresholds.get(spec.id, {})})
        by_id[spec.id] = res
        ctx.results[spec.id] = res
        if on_done:
            on_done(res)
    stage_of = {s.id: s.stage for s in specs}
    for check_id, reason in skipped.items():
        stage = stage_of.get(check_id, check_id.split(".", 1)[0])
        by_id[check_id] = CheckResult(check_id, stage, "skip", reason)
    order = all_ids or [s.id for s in specs]
    return [by_id[i] for i in order if i in by_id]


# Requirements whose absence is a problem of this run (no engine could be built, the data
# cannot be fed to a model), not a check written for another kind of setup.
_PROBLEMS = ("engine", "trainable")


def not_applicable(spec: CheckSpec, ctx: Context) -> str | None:
    """Why ``spec`` does not apply to this kind of setup (another task, no torch Dataset
    of the user's, no second annotation...), or None. Such skips say nothing about the
    run, so the terminal and the report collapse them into one line."""
    from dataclasses import replace

    shape_only = tuple(r for r in spec.requires if r not in _PROBLEMS)
    return unmet_requirement(replace(spec, requires=shape_only), ctx)


def run_one(spec: CheckSpec, ctx: Context, thresholds: dict[str, Any]) -> CheckResult:
    start = time.perf_counter()
    elsewhere = not_applicable(spec, ctx)
    if elsewhere:
        return CheckResult(spec.id, spec.stage, "skip", elsewhere, metrics=dict(NOT_APPLICABLE))
    reason = unmet_requirement(spec, ctx)
    if reason:
        return CheckResult(spec.id, spec.stage, "skip", reason)
    try:
        out = spec.func(ctx, thresholds)
    except Exception as exc:  # noqa: BLE001 - a crashing check must not hide the others
        return CheckResult(
            spec.id,
            spec.stage,
            "error",
            f"the check crashed: {type(exc).__name__}: {exc}",
            hint="This is a bug in nncheck or an engine; the traceback is in results.json.",
            traceback=traceback.format_exc(),
            duration_s=time.perf_counter() - start,
        )
    return CheckResult(
        id=spec.id,
        stage=spec.stage,
        status=out.status,
        message=out.message,
        hint=out.hint,
        metrics=out.metrics,
        examples=out.examples,
        artifacts=out.artifacts,
        duration_s=time.perf_counter() - start,
    )
