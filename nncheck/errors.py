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


# Longest user-supplied value quoted in a message, and longest line of a library's message:
# a 300 kB CSV cell or a megabyte-long YAML string must not become a 300 kB error.
MAX_SHOWN = 80


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """``repr(value)``, cut to ``limit`` characters (with its full length) when longer.

    Every user-supplied value that an error message quotes goes through here, so no input
    can make the message itself unreadable.
    """
    return cut(repr(value), limit)


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """The first line of ``text``, cut to ``limit`` characters, saying how long it was."""
    first = (str(text).strip().splitlines() or [""])[0]
    if len(first) <= limit:
        return first
    return f"{first[: max(limit - 3, 1)]}... ({len(first):,} characters)"
