"""The report directory: checked before any check runs, written atomically, never a user's.

A report is written into a hidden sibling folder first and swapped into place only when
every writer has finished, so a crash or Ctrl-C leaves the previous report untouched and
never a half-written one that looks complete. The swap replaces a folder, so it may only
ever replace nncheck's own report: every report carries a marker file (``MARKER``), and a
folder without it is refused unless it is empty. ``report.dir: .`` or ``report.dir: data``
must never delete a user's files.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from nncheck.errors import UsageError

# Written into every report; its presence is what allows a later run to replace the folder.
MARKER = ".nncheck-report"
# Temporary siblings have a fixed, short prefix (not the report's name), so a report name
# that fits the file system never becomes a temporary name that does not.
_PARTIAL = ".nncheck-partial-"
_OLD = ".nncheck-old-"


def check_report_dir(path: str | os.PathLike[str], protected: Iterable[str] = ()) -> Path:
    """The absolute report directory, or a UsageError saying why it cannot be used.

    Called before any check runs, so that a run that could not write its report fails in a
    second (exit 2), not after minutes of training. ``protected`` are files the run reads
    (the recipe, the data): a report directory holding one of them is refused.
    """
    text = os.fspath(path)
    if "\0" in text:
        raise UsageError(f"report directory: the path contains a null byte: {text!r}")
    if not text.strip():
        raise UsageError("report directory: the path is empty")
    final = Path(os.path.abspath(os.path.expanduser(text)))
    _check_lengths(final)
    for item in protected:
        if not item or "\0" in item:
            continue
        try:
            Path(item).resolve().relative_to(final.resolve())
        except (ValueError, OSError, RuntimeError):
            continue
        raise UsageError(
            f"report directory {final} holds {item}, which this run reads; nncheck replaces"
            " its report directory as a whole, so pick a folder of its own, such as"
            f" {final / 'reports' / 'run'}"
        )
    if final.is_symlink() or final.exists():
        _check_existing(final)
    _check_writable(final)
    return final


def _check_lengths(final: Path) -> None:
    anchor = _existing_ancestor(final)
    try:
        name_max = os.pathconf(anchor, "PC_NAME_MAX")
        path_max = os.pathconf(anchor, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    for part in final.parts:
        if len(os.fsencode(part)) > name_max:
            raise UsageError(
                f"report directory: the name {_cut(part)!r} is {len(os.fsencode(part))} bytes"
                f" long; this file system allows {name_max}: choose a shorter report.dir"
            )
    if len(os.fsencode(str(final))) + len(_PARTIAL) + 16 > path_max:
        raise UsageError(
            f"report directory: the path is {len(os.fsencode(str(final)))} bytes long; this"
            f" file system allows {path_max}: choose a shorter report.dir"
        )


def _check_existing(final: Path) -> None:
    if not final.is_dir():
        kind = "a broken link" if final.is_symlink() and not final.exists() else "a file"
        raise UsageError(f"report directory {final} is {kind}, not a folder")
    try:
        entries = os.listdir(final)
    except OSError as exc:
        raise UsageError(f"cannot read report directory {final}: {exc.strerror}") from None
    if entries and MARKER not in entries:
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise UsageError(
            f"report directory {final} already holds files that are not an nncheck report"
            f" ({shown}); nncheck replaces its report directory as a whole and will not touch"
            " them: pick an empty or new folder, such as report.dir: reports/<name>"
        )


def _check_writable(final: Path) -> None:
    """Make and remove a probe folder where the temporary report will go."""
    anchor = _existing_ancestor(final.parent)
    if not anchor.is_dir():
        raise UsageError(f"cannot write the report to {final}: {anchor} is a file, not a folder")
    try:
        probe = tempfile.mkdtemp(prefix=_PARTIAL, dir=anchor)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {final}: {_reason(exc)}") from None
    os.rmdir(probe)


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        try:
            if candidate.exists():
                return candidate
        except OSError:  # a name too long for the file system: look further up
            continue
    return Path(path.anchor or "/")


@contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``final`` when the block succeeds.

    ``final`` must have passed ``check_report_dir``; it is checked again here (the folder
    may have changed while the checks ran) so that no code path can replace a user's folder.
    """
    final = Path(final)
    if final.exists():
        _check_existing(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_PARTIAL, dir=final.parent))
    except OSError as exc:
        raise UsageError(f"cannot write the report to {final}: {_reason(exc)}") from None
    try:
        yield tmp
        _write_marker(tmp)
        _swap(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(tmp: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=_OLD, dir=final.parent))
        os.rename(final, old / "report")
    try:
        os.rename(tmp, final)
    except BaseException:
        if old is not None:  # put the previous report back
            os.rename(old / "report", final)
            shutil.rmtree(old, ignore_errors=True)
        raise
    os.chmod(final, 0o755)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_marker(folder: Path) -> None:
    from nncheck import __version__

    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    info = {"written_by": "nncheck", "nncheck_version": __version__, "created": stamp}
    (folder / MARKER).write_text(json.dumps(info) + "\n", encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    """Write a file via a temporary name and rename, so readers never see half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long for this file system"
    return exc.strerror or str(exc)


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
