"""Ctrl-C and SIGTERM: prompt, clean and truthful.

While checks run, SIGINT and SIGTERM both raise ``Interrupted`` (a KeyboardInterrupt), so
the usual cleanup runs (temporary report folders are removed) and the exit code says which
signal it was (130, 143). While the report is written and swapped into place they are
deferred: an interrupt then would leave either a folder half-deleted or — worse — a
tensorboardX writer waiting forever on its queue lock. The deferred signal is honoured the
moment the report is in place, so "the report was written" is then simply true. A second
signal during the deferral is honoured at once (the temporary folder is still removed).

A signal can land while a finalizer runs (a ``__del__`` or a weakref callback, e.g. the
garbage collector tidying a ``WeakKeyDictionary``). Python cannot propagate an exception
from there: it prints "Exception ignored ... Traceback" and drops it, so the run would go on
as if never interrupted. While handlers are installed, an ``Interrupted`` lost that way is
kept quiet and delivered again (the signal is sent again), so it surfaces at the next
ordinary line of code.

Handlers are installed only in the main thread (signal.signal refuses other threads);
elsewhere, e.g. an audit called from a worker thread, these are no-ops.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``report_dir`` is set when the report was written first."""

    def __init__(self, signum: int, report_dir: str | None = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.report_dir = report_dir

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _redeliver_lost_interrupts(previous_hook: Any) -> Any:
    """An unraisable-exception hook that re-sends a swallowed ``Interrupted``'s signal.

    It is re-sent from a short-lived thread, a few milliseconds later, to the main thread:
    re-raising it from the hook itself would run the handler inside the hook, where the
    exception would be swallowed once more. ``pthread_kill`` aims it at the main thread, so
    a blocking call there (a sleep, a lock) is woken as by the original signal.
    """

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, Interrupted):
            previous_hook(unraisable)
            return
        main = threading.main_thread().ident
        resend = threading.Timer(
            0.005, signal.pthread_kill, args=(main, unraisable.exc_value.signum)
        )
        resend.daemon = True
        resend.start()

    return hook


@contextmanager
def _handlers(handler: Any) -> Iterator[None]:
    if not _in_main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in _SIGNALS}
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _redeliver_lost_interrupts(previous_hook)
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for s, h in previous.items():
            signal.signal(s, h)


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C for the duration (both raise ``Interrupted``)."""
    with _handlers(_raise):
        yield


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """A critical section: a signal received inside is raised when the block has finished
    (as ``Interrupted``), a second one at once."""
    pending: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        if pending:
            raise Interrupted(signum)
        pending.append(signum)

    with _handlers(record):
        yield
    if pending:
        raise Interrupted(pending[0])


def ignore_interrupts() -> None:
    """Ignore SIGINT and SIGTERM from now on (the process is about to exit)."""
    if _in_main_thread():
        for s in _SIGNALS:
            signal.signal(s, signal.SIG_IGN)
