"""Errors that mean "the recipe or the data cannot be used" (exit code 2, no traceback).

Everything else that goes wrong is either a check's own failure (reported as `error` by
the runner) or a bug in nncheck, which deserves its traceback.
"""

from __future__ import annotations


class UsageError(Exception):
    """The user's input cannot be used. The message names the key path, file or line."""

    exit_code = 2


class RecipeError(UsageError):
    """The recipe file is unreadable or invalid."""


class DataError(UsageError):
    """A data file cannot be read or does not fit the recipe."""
