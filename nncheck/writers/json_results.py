"""results.json: the stable, versioned record that tools and tests read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nncheck.results import RunResult
from nncheck.writers.jsonable import jsonable
from nncheck.writers.report_dir import write_text

SCHEMA_VERSION = 1


def to_dict(run: RunResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "nncheck_version": run.nncheck_version,
        "recipe": jsonable(run.recipe),
        "dataset": jsonable(run.dataset_summary),
        "started": run.started,
        "duration_s": round(run.duration_s, 3),
        "exit_code": run.exit_code,
        "verdict": run.verdict,
        "summary": run.counts(),
        "checks": [
            {
                "id": c.id,
                "stage": c.stage,
                "status": c.status,
                "message": c.message,
                "hint": c.hint,
                "metrics": jsonable(c.metrics),
                "examples": jsonable(c.examples),
                "artifacts": sorted(c.artifacts),
                "duration_s": round(c.duration_s, 4),
                "consequence_of": c.consequence_of,
                **({"traceback": c.traceback} if c.traceback else {}),
            }
            for c in run.checks
        ],
    }


def write(run: RunResult, directory: Path) -> Path:
    path = Path(directory) / "results.json"
    write_text(path, json.dumps(to_dict(run), indent=2, allow_nan=False) + "\n")
    return path
