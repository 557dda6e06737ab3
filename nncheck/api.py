"""``nncheck.audit(...)``: the same audit as ``nncheck run``, on the user's Python objects.

The call is a second door into one pipeline: it builds the same ``Recipe`` (validated by
the same pydantic models, its pieces carried as objects instead of ``"module:name"``
strings), then ``nncheck.run`` selects the checks, builds the context and runs them, and
the same writers write the report when a directory is given. Nothing is written otherwise.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nncheck.errors import RecipeError, UsageError
from nncheck.results import CheckResult, RunResult

_BUILTIN_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
_BUILTIN_LOSSES = ("cross_entropy", "mse")


class Audit:
    """What ``nncheck.audit`` found: the checks, a verdict, a summary, and ``write(dir)``.

    ``audit["skeleton.init_loss"]`` is one check's result (status, message, hint, metrics);
    ``audit.passed`` is True when no check failed or crashed (nor warned, with
    ``fail_on="warn"``), as ``nncheck run``'s exit code 0.
    """

    def __init__(self, run: RunResult, docs: dict[str, str]) -> None:
        self.run = run
        self._docs = docs
        self._by_id = {c.id: c for c in run.checks}
        self.report_dir: Path | None = None

    @property
    def checks(self) -> list[CheckResult]:
        return list(self.run.checks)

    @property
    def passed(self) -> bool:
        return self.run.exit_code == 0

    @property
    def failed(self) -> list[CheckResult]:
        """Checks that failed or crashed (and warned, with ``fail_on="warn"``)."""
        bad = {"fail", "error"} | ({"warn"} if self.run.fail_on == "warn" else set())
        return [c for c in self.run.checks if c.status in bad]

    @property
    def warned(self) -> list[CheckResult]:
        return [c for c in self.run.checks if c.status == "warn"]

    @property
    def counts(self) -> dict[str, int]:
        return self.run.counts()

    def __getitem__(self, check_id: str) -> CheckResult:
        if check_id not in self._by_id:
            close = difflib.get_close_matches(check_id, list(self._by_id), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise KeyError(f"no check {check_id!r} in this audit{hint}")
        return self._by_id[check_id]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._by_id

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.run.checks)

    def __len__(self) -> int:
        return len(self.run.checks)

    def summary(self) -> str:
        """One line per check (status, id, message), then each failing check's hint."""
        counts = self.counts
        said = ", ".join(f"{counts[s]} {s}" for s in counts if counts[s])
        lines = [f"nncheck audit {self.run.recipe.get('name')}: {self.run.verdict} ({said})"]
        width = max((len(c.id) for c in self.run.checks), default=0)
        for c in self.run.checks:
            lines.append(f"  {c.status:<5} {c.id:<{width}}  {c.message}")
        for c in self.failed + [w for w in self.warned if w not in self.failed]:
            if c.hint:
                lines.append(f"  hint for {c.id}: {c.hint}")
        return "\n".join(lines)

    def write(self, directory: str | Path) -> Path:
        """Write the report (index.html, results.json, junit.xml, summary.md,
        tensorboard/) into ``directory``, as ``nncheck run`` does; returns its path."""
        from nncheck.run import write_report
        from nncheck.writers.report_dir import check_report_dir

        path = check_report_dir(directory)
        self.run.recipe["report"]["dir"] = str(path)
        write_report(self.run, path, self._docs)
        self.report_dir = path
        return path

    def __repr__(self) -> str:
        return f"<Audit {self.run.verdict}: {self.counts}>"


def audit(
    model: Any = None,
    train: Any = None,
    test: Any = None,
    *,
    loss: Any = None,
    optimizer: Any = None,
    scheduler: Any = None,
    step: Any = None,
    task: str | None = None,
    classes: int | Sequence[str | int] | None = None,
    target: str | None = None,
    input_key: str | None = None,
    seed: int = 0,
    steps: int = 500,
    batch_size: int = 32,
    lr: float = 1e-3,
    normalize: str = "none",
    max_samples: int = 60_000,
    test_fraction: float = 0.2,
    model_kwargs: Mapping[str, Any] | None = None,
    output_bias: str = "prior",
    device: str = "auto",
    checks: Mapping[str, Any] | None = None,
    only: Sequence[str] | None = None,
    skip: Sequence[str] | None = None,
    report_dir: str | Path | None = None,
    name: str = "audit",
    fail_on: str = "fail",
    progress: bool = False,
) -> Audit:
    """Audit the user's own model, data pipeline, loss, optimizer, schedule and step.

    - ``model``: a factory ``build(input_shape, n_outputs, **model_kwargs)`` returning an
      ``nn.Module``, a module (every check starts from a copy of its weights), a
      ``"module:function"`` string, or None for nncheck's numpy MLP.
    - ``train`` / ``test``: numpy ``(x, y)``, a pandas DataFrame (``target`` names its
      column), a torch ``Dataset`` or ``DataLoader``; batches may be tuples or dicts
      (``input_key`` and ``target`` name the keys). ``test=None`` holds out
      ``test_fraction`` of train (seeded, stratified).
    - ``loss(outputs, targets)``, ``optimizer(model)``, ``scheduler(optimizer)`` (stepped
      once per training step) and ``step(model, batch, optimizer, loss) -> loss``: the
      user's own, each optional (``optimizer`` may also be a builtin name with ``lr``).
    - ``checks``: thresholds per check id, as in a recipe; ``only`` / ``skip``: check ids
      or stages. ``report_dir``: where to write the report (None: nothing is written).

    Unusable input raises ``nncheck.UsageError`` (a ``RecipeError`` or ``DataError``) with
    the message ``nncheck run`` would print, naming the argument or the user's own code.
    """
    from pydantic import ValidationError

    from nncheck.objects import UserObjects
    from nncheck.recipe.load import format_validation_error
    from nncheck.recipe.schema import Recipe
    from nncheck.run import audit_recipe, select_checks
    from nncheck.writers.report_dir import check_report_dir
    from nncheck.writers.terminal import Terminal

    start = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if train is None:
        raise UsageError("nncheck.audit: train is required (numpy (x, y), a DataFrame, a Dataset)")
    names: dict[str, str] = {}
    pieces: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for key, value, builtins in (
        ("loss", loss, _BUILTIN_LOSSES),
        ("optimizer", optimizer, _BUILTIN_OPTIMIZERS),
        ("scheduler", scheduler, ()),
        ("step", step, ()),
    ):
        if value is None:
            continue
        if isinstance(value, str):
            if value not in builtins:
                listed = ", ".join(builtins) if builtins else "none"
                raise UsageError(
                    f"nncheck.audit: {key}={value!r}: pass the {key} itself (builtin names: "
                    f"{listed})"
                )
            fields[key] = value
            continue
        if not callable(value):
            raise UsageError(f"nncheck.audit: {key} is a {type(value).__name__}, not callable")
        pieces[key] = value
        names[f"train.{key}"] = _describe(value)
        fields[key] = f"{names[f'train.{key}']} (Python object)"
    model_obj = None if model is None or isinstance(model, str) else model
    if model_obj is not None:
        names["model.factory"] = f"{_describe(model_obj)} (Python object)"
    section = dict(checks or {})
    if only:
        section["only"] = list(only)
    if skip:
        section["skip"] = list(skip)
    raw: dict[str, Any] = {
        "name": name,
        "seed": seed,
        "data": {
            "train": _describe_data(train),
            "test": _describe_data(test) if test is not None else {"fraction": test_fraction},
            "task": task,
            "classes": list(classes) if isinstance(classes, (list, tuple)) else classes,
            "target": target,
            "normalize": normalize,
            "max_samples": max_samples,
        },
        "model": {
            "engine": "numpy" if model is None else "torch",
            "output_bias": output_bias,
            **(
                {}
                if model is None
                else {
                    "factory": model if isinstance(model, str) else names["model.factory"],
                    "kwargs": dict(model_kwargs or {}),
                    "device": device,
                }
            ),
        },
        "train": {"lr": lr, "batch_size": batch_size, "steps": steps, **fields},
        "checks": section,
        "report": {"dir": str(report_dir) if report_dir is not None else None},
    }
    if input_key is not None:
        raw["data"]["input_key"] = input_key
    try:
        recipe = Recipe.model_validate(raw, context={"python_objects": True})
    except ValidationError as exc:
        raise RecipeError(f"nncheck.audit: {format_validation_error(exc, raw)}") from None
    recipe.name = name or "audit"
    recipe._base_dir = str(Path.cwd())
    recipe._objects = UserObjects(
        train=train,
        test=test,
        has_data=True,
        model=model_obj,
        folder=None,
        names=names,
        **pieces,
    )
    selection = select_checks(recipe, [], [])
    report = check_report_dir(report_dir) if report_dir is not None else None
    term = Terminal(quiet=not progress, fail_on=fail_on)
    run = audit_recipe(
        recipe, selection, term, fail_on, str(report) if report else None, start, started
    )
    result = Audit(run, selection.docs)
    if report is not None:
        result.write(report)
    run.duration_s = time.perf_counter() - start
    if progress:
        term.finish(run, str(report) if report else None)
    return result


def _describe(obj: Any) -> str:
    from nncheck.engines.torch_engine.user_code import describe_callable

    return describe_callable(obj)


def _describe_data(obj: Any) -> str:
    """How a data object is named in the report ("what was audited")."""
    import sys

    if "torch" in sys.modules:
        from torch.utils.data import DataLoader, Dataset

        if isinstance(obj, (Dataset, DataLoader)):
            from nncheck.data.torch_data import describe_data

            return describe_data(obj)
    if hasattr(obj, "columns") and hasattr(obj, "iloc"):
        return f"pandas DataFrame ({len(obj)} rows)"
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        shapes = " and ".join(str(tuple(getattr(a, "shape", (len(a),)))) for a in obj)
        return f"numpy arrays {shapes}"
    return f"{type(obj).__name__} (Python object)"
