"""data.identifiers: row numbers, ids and names found among a table's columns."""

from __future__ import annotations

from typing import Any

from nncheck.checks.context import Context
from nncheck.checks.registry import check
from nncheck.results import CheckOutcome, result


@check("data.identifiers", stage="data", requires=("table", "any_target"))
def data_identifiers(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Row numbers, ids and names found among a table's columns, and what became of them.

    Why: a column with one value per row tells the model which row it is looking at, not
    anything about the sample. Row numbers and ids leak the file's order, and files are
    often sorted by class (R's iris export: its row names alone predict the species
    perfectly); names and tickets let a network memorize rows; and every such column makes
    each row unique, which hides exact duplicates and leaked test rows.
    Found from the values in file order, before any training (nncheck/data/roles.py):
    row-name columns (`Unnamed: 0`, an empty header), integers stepping by one or
    shuffling a contiguous range, integers that grow with the row order (rank correlation
    >= 0.99), unique integers under an id-like name, and text unique per row or with more
    distinct values than half its cells (and more than 20). Identifiers are left out of
    the features unless the recipe keeps them (`data.identifiers: keep`, or a
    `data.features` list that names them).
    Warns for every identifier found, left out or kept; passes when there is none.
    Columns the recipe drops itself (`data.drop`) are not judged.
    Fix: nothing to do when an identifier was rightly left out; say so with
    `data.drop: [columns]` to silence the warning. When a listed column is a real feature
    (a timestamp in a file sorted by time), keep it with `data.features`.
    """
    table = ctx.dataset.table
    assert table is not None
    kept = set(table.identifiers_kept)
    found = list(table.identifiers)
    left_out = [(c, why) for c, why in found if c not in kept]
    kept_list = [(c, why) for c, why in found if c in kept]
    dropped = [c.name for c in table.columns if c.role == "dropped"]
    metrics: dict[str, Any] = {
        "columns": len(table.columns),
        "feature_columns": len(table.features),
        "features": ctx.dataset.n_features,
        "identifiers": [c for c, _ in found],
        "identifiers_left_out": [c for c, _ in left_out],
        "identifiers_kept": [c for c, _ in kept_list],
        "dropped_by_recipe": dropped,
    }
    examples = [
        {"column": c, "evidence": why, "action": "kept" if c in kept else "left out"}
        for c, why in found
    ]
    artifacts = {"tables": {"columns": _columns_table(table)}}
    parts = []
    if left_out:
        parts.append(
            f"{_count(left_out)} left out of the features: "
            + "; ".join(f"{c} ({why})" for c, why in left_out)
        )
    if kept_list:
        how = "data.features" if ctx.recipe.data.features is not None else "data.identifiers: keep"
        parts.append(
            f"{_count(kept_list)} kept as features ({how}): "
            + "; ".join(f"{c} ({why})" for c, why in kept_list)
            + ": they leak the row order"
        )
    if not found:
        message = f"no identifier columns among {len(table.columns)} columns"
        if dropped:
            message += f"; dropped by the recipe: {', '.join(dropped)}"
        return result("pass", message, metrics=metrics, artifacts=artifacts)
    hint = (
        "Identifier columns describe the row, not the sample: leave them out (they are, by "
        "default) and list them in `data.drop` to say so and silence this warning. If one "
        "is a real feature, keep it with `data.features`."
    )
    if kept_list:
        hint = (
            "Identifiers kept as features leak the file's order (a row number in a file "
            "sorted by class predicts the class) and hide duplicates: drop them unless "
            "they truly describe the sample. " + hint
        )
    return result(
        "warn", "; ".join(parts), hint=hint, metrics=metrics, examples=examples, artifacts=artifacts
    )


def _count(items: list[Any]) -> str:
    return f"{len(items)} identifier column{'s' if len(items) != 1 else ''}"


def _columns_table(table: Any) -> dict[str, Any]:
    """Every column of the table: its kind, its role and why, its missing cells."""
    rows = []
    for c in table.columns:
        n = table.n_rows + (table.n_rows_test or 0)
        missing = c.missing + c.missing_test
        rows.append(
            [
                c.name,
                c.kind,
                c.role,
                c.why,
                missing,
                round(100 * missing / n, 1) if n else 0.0,
            ]
        )
    return {"columns": ["column", "kind", "role", "why", "missing", "missing %"], "rows": rows}
