"""How a test asserts the exit-2 contract: one short line on stderr naming the key, file or
line, and no traceback anywhere."""

from __future__ import annotations

import subprocess


def assert_exit2(proc: subprocess.CompletedProcess, *needles: str, max_chars: int = 500) -> str:
    """Exit 2, no traceback, one line of at most ``max_chars`` holding every needle."""
    err = proc.stderr
    assert proc.returncode == 2, proc.stdout + err
    assert "Traceback" not in err + proc.stdout
    assert len(err.strip().splitlines()) == 1, err
    assert len(err) < max_chars, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    return err
