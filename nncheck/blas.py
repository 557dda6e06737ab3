"""Limiting BLAS threads around many small matrix products.

Neighbour searches and the quick label-error model make thousands of small, skinny products
(600 x 33 x 250): with two OpenBLAS threads each costs ~9x more than with one (measured 870
vs 96 us), because the threads' hand-over dominates such small work, and far worse on a busy
machine (the MNIST data stage took 12-15 s instead of 3 s). threadpoolctl (a dependency)
does this for OpenBLAS, MKL and Accelerate alike; the big products of the engines keep the
default thread count.
"""

from __future__ import annotations

import contextlib


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """A context in which NumPy's BLAS runs on one thread; restored on exit."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def blas_thread_limit(setting: str) -> contextlib.AbstractContextManager[object]:
    """A context limiting BLAS to ``setting`` threads ("0" or "" keeps the default)."""
    from nncheck.errors import UsageError

    try:
        n = int(setting or 0)
    except ValueError:
        raise UsageError(
            f"NNCHECK_BLAS_THREADS must be a whole number (0 = library default), got {setting!r}"
        ) from None
    if n <= 0:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")
