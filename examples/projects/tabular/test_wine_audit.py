"""The project's own test: its training setup passes nncheck's audit, without warnings."""

from __future__ import annotations

from audit_wine import run_audit

from nncheck.testing import assert_audit_passes


def test_training_setup_passes_the_audit() -> None:
    result = assert_audit_passes(run_audit())
    assert not result.warned, result.summary()
