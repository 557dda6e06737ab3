"""Tables that checks export as files of their own (e.g. ``label_issues.csv``).

A check that finds more than a report page can show — every label-error suspect, ranked —
leaves the whole list as ``artifacts["exports"][file name] = {"columns", "rows"}``; this
writer puts each one into the report directory as a CSV file that a spreadsheet or pandas
opens. The check only names the file; it never writes it (checks write no files).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from nncheck.results import RunResult
from nncheck.writers.report_dir import write_text


def exported(run: RunResult) -> dict[str, tuple[str, dict[str, Any]]]:
    """File name -> (check id, table) for every table a check exported.

    A name two checks both use is prefixed with each check's id; names are reduced to a
    plain file name, so an export can never land outside the report directory.
    """
    found: list[tuple[str, str, dict[str, Any]]] = []
    for c in run.checks:
        for name, table in (c.artifacts.get("exports") or {}).items():
            if isinstance(table, dict) and "columns" in table:
                found.append((Path(str(name)).name or f"{c.id}.csv", c.id, table))
    counts: dict[str, int] = {}
    for name, _, _ in found:
        counts[name] = counts.get(name, 0) + 1
    return {
        (name if counts[name] == 1 else f"{check_id}-{name}"): (check_id, table)
        for name, check_id, table in found
    }


def to_csv(table: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([str(c) for c in table["columns"]])
    writer.writerows(table.get("rows") or [])
    return out.getvalue()


def write(run: RunResult, directory: Path) -> list[Path]:
    paths = []
    for name, (_, table) in exported(run).items():
        path = Path(directory) / name
        write_text(path, to_csv(table))
        paths.append(path)
    return paths
