"""Helpers for a project's own test suite: ``assert_audit_passes``.

    from nncheck.testing import assert_audit_passes

    def test_training_setup():
        assert_audit_passes(model=build_model, train=train_ds, test=test_ds, loss=loss_fn)

A failing audit raises an ``AssertionError`` that lists each failed check with its message
and hint, which is what pytest prints: the reader sees what was wrong and what to try
without opening a report.
"""

from __future__ import annotations

from typing import Any

from nncheck.api import Audit, audit


def assert_audit_passes(result: Audit | None = None, /, **kwargs: Any) -> Audit:
    """Run ``nncheck.audit(**kwargs)`` (or take an ``Audit`` already run) and raise an
    AssertionError naming every check that failed or crashed — and warned, with
    ``fail_on="warn"`` — with its message and hint. Returns the audit when it passed."""
    if result is None:
        result = audit(**kwargs)
    elif kwargs:
        raise TypeError("pass either an Audit or the arguments of nncheck.audit, not both")
    if result.passed:
        return result
    lines = [f"nncheck audit {result.run.recipe.get('name')}: {len(result.failed)} check(s) failed"]
    for check in result.failed:
        lines.append(f"- {check.id} [{check.status}]: {check.message}")
        if check.hint:
            lines.append(f"  hint: {check.hint}")
    raise AssertionError("\n".join(lines))
