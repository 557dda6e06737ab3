"""pytest plugin: ``pytest --nncheck recipes/`` runs each recipe's audit as test items.

Registered through the ``pytest11`` entry point, so installing nncheck is enough. Each
recipe (a ``.yaml`` / ``.yml`` file whose top level has ``data:``) becomes one test item
per check, with ids like ``wine.yaml::data.leakage``: pytest's ``-k``, ``--junitxml`` and
``-x`` work on checks as on any test. The audit runs once per recipe, when its first item
runs, through the same pipeline as ``nncheck run`` (nothing is written). A failed or
crashed check fails its item with the check's message and hint; a skipped one is skipped
with its reason; a warning passes (``--nncheck-fail-on warn`` fails it).

Without ``--nncheck`` the plugin does nothing: its hooks return at once and it imports
nothing beyond this module (no numpy, no torch), so it costs other test suites nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from nncheck.results import CheckResult, RunResult

RECIPE_SUFFIXES = (".yaml", ".yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nncheck", "nncheck: audit training recipes as tests")
    group.addoption(
        "--nncheck",
        action="store_true",
        default=False,
        help="collect nncheck recipes (*.yaml with a data: section): one test per check",
    )
    group.addoption(
        "--nncheck-fail-on",
        choices=("fail", "warn"),
        default="fail",
        help="fail a check's test on its failure (default) or on a warning too",
    )


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if not parent.config.getoption("nncheck"):
        return None
    if file_path.suffix not in RECIPE_SUFFIXES or not _looks_like_recipe(file_path):
        return None
    return RecipeFile.from_parent(parent, path=file_path)


def _looks_like_recipe(path: Path) -> bool:
    """A mapping with a ``data`` key at the top (CI configs and other YAML are left alone);
    an unreadable or invalid file is collected, so its error is reported, not hidden."""
    from nncheck.recipe.yaml_loader import read_yaml

    try:
        doc = read_yaml(path)
    except Exception:  # noqa: BLE001 - reported when the recipe is loaded for real
        return True
    return isinstance(doc, dict) and "data" in doc


class RecipeFile(pytest.File):
    """One recipe: its checks as items; the audit itself runs once, on first use."""

    _run: RunResult | None = None
    _error: BaseException | None = None

    def collect(self) -> Any:
        from nncheck.errors import UsageError
        from nncheck.recipe.load import read_recipe
        from nncheck.run import select_checks

        try:
            recipe = read_recipe(self.path)
            self.selection = select_checks(recipe, [], [])
        except UsageError as exc:
            raise RecipeCollectError(str(exc)) from None
        self.recipe = recipe
        for check_id in self.selection.specs:
            yield CheckItem.from_parent(self, name=check_id)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        if isinstance(excinfo.value, RecipeCollectError):
            return f"nncheck could not run the recipe: {excinfo.value}"
        return super().repr_failure(excinfo)

    def audit(self) -> RunResult:
        if self._run is None and self._error is None:
            self._run_audit()
        if self._error is not None:
            raise self._error
        assert self._run is not None
        return self._run

    def _run_audit(self) -> None:
        import time
        from datetime import datetime, timezone

        from nncheck.errors import UsageError
        from nncheck.run import audit_recipe
        from nncheck.writers.terminal import Terminal

        fail_on = self.config.getoption("nncheck_fail_on")
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            self._run = audit_recipe(
                self.recipe,
                self.selection,
                Terminal(quiet=True, fail_on=fail_on),
                fail_on,
                None,
                time.perf_counter(),
                started,
            )
        except UsageError as exc:
            self._error = RecipeCollectError(str(exc))


class RecipeCollectError(Exception):
    """A recipe nncheck cannot run (exit 2 for ``nncheck run``): shown as its message."""


class CheckFailedError(Exception):
    def __init__(self, check: CheckResult) -> None:
        super().__init__(check.message)
        self.check = check


class CheckItem(pytest.Item):
    """One check of one recipe."""

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, RecipeFile)
        run = parent.audit()
        found = [c for c in run.checks if c.id == self.name]
        if not found:
            pytest.skip(f"{self.name} did not run in this audit")
        check = found[0]
        if check.status == "skip":
            pytest.skip(check.message)
        bad = {"fail", "error"} | ({"warn"} if run.fail_on == "warn" else set())
        if check.status in bad:
            raise CheckFailedError(check)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailedError):
            c = excinfo.value.check
            lines = [f"{c.id} [{c.status}]: {c.message}"]
            if c.hint:
                lines.append(f"hint: {c.hint}")
            return "\n".join(lines)
        if isinstance(excinfo.value, RecipeCollectError):
            return f"nncheck could not run the recipe: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # the failure's headline; not the node id's tail, so `-v` keeps the id as it is
        # (pytest rewrites a tail's dots as `::`)
        return self.path, None, f"nncheck {self.path.name}::{self.name}"
