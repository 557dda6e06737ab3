"""BLAS thread limits: one thread for the checks by default, configurable, validated."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from nncheck.blas import blas_thread_limit
from nncheck.errors import UsageError
from tests.conftest import ROOT


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_limit_applies_inside_and_restores_after() -> None:
    before = _blas_threads()
    with blas_thread_limit("1"):
        assert all(n == 1 for n in _blas_threads())
        assert (np.ones((32, 32), np.float32) @ np.ones((32, 32), np.float32))[0, 0] == 32
    assert _blas_threads() == before
    with blas_thread_limit("0"):
        assert _blas_threads() == before


def test_a_bad_setting_is_a_usage_error_naming_the_variable() -> None:
    with pytest.raises(UsageError, match="NNCHECK_BLAS_THREADS"):
        blas_thread_limit("two")


def test_cli_rejects_a_bad_thread_setting_with_exit_2(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NNCHECK_BLAS_THREADS": "two"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nncheck",
            "run",
            str(ROOT / "recipes" / "wine.yaml"),
            "--quiet",
            "--report-dir",
            str(tmp_path / "r"),
            "--only",
            "data.integrity",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2 and "NNCHECK_BLAS_THREADS" in proc.stderr
    assert "Traceback" not in proc.stderr
