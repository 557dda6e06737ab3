"""What each stage is for, as every writer titles it (the report, the terminal, `nncheck
checks`): one place, so the three say the same."""

from __future__ import annotations

STAGE_TITLES = {
    "data": "Data — become one with the data",
    "skeleton": "Skeleton — seeded end-to-end skeleton and dumb baselines",
    "overfit": "Overfit — can the model learn at all",
    "evaluate": "Evaluate — the whole test set, with uncertainty",
}
