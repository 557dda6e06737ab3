"""data.integrity: can this data be fed to a network at all, and does it mean what it says?"""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.checks.context import Context
from nncheck.checks.registry import EXAMPLES, check
from nncheck.data.dataset import Dataset, Split
from nncheck.results import CheckOutcome, result

MAX_EXAMPLES = 10


@check(
    "data.integrity",
    stage="data",
    defaults={"max_examples": MAX_EXAMPLES},
    ranges={
        "max_examples": EXAMPLES,
    },
    requires=("any_task",),
)
def data_integrity(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """Shapes, NaN/inf, empty splits, labels outside the classes, non-numeric targets.

    Why: a NaN in one feature turns every loss into NaN; labels 1..10 fed to a 10-way
    softmax silently drop class 0 and index past the last output; a "?" sentinel in a
    regression target becomes NaN. All of these waste a training run and are cheap to see.
    Fails on NaN/inf inputs or targets, empty splits, labels outside the declared classes
    (or, when none are declared, integer labels that are not 0..K-1), a single class, or an
    output layer whose size differs from the number of classes.
    Fix: clean or impute the values, remap labels to 0..K-1 (or declare `data.classes`).
    """
    ds = ctx.dataset
    limit = int(t["max_examples"])
    fails: list[str] = []
    warns: list[str] = []
    hints: list[str] = []
    examples: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {
        "n_train": len(ds.train),
        "n_test": len(ds.test),
        "input_shape": list(ds.input_shape),
        "n_features": ds.n_features,
        "task": ds.task,
        "task_inferred": ds.task_inferred,
        "input_dtype": str(ds.train.x_raw.dtype),
    }

    for name, split in (("train", ds.train), ("test", ds.test)):
        if len(split) == 0:
            fails.append(f"the {name} split is empty")
            hints.append("Check the file and the test fraction.")
            continue
        bad = _nonfinite_inputs(split, name, metrics, examples, limit)
        if bad:
            fails.append(bad)
            hints.append("Impute or drop rows with NaN/inf inputs before training.")
        huge = _overflowing_inputs(ds, split, name, metrics, examples, limit)
        if huge:
            fails.append(huge)
            hints.append(
                "Rescale these features before training (a unit error? divide by a power of"
                " ten, or take a log), or clip them: the network computes in float32."
            )

    if ds.has_classes:
        _check_labels(ds, metrics, fails, warns, hints, examples, limit)
    elif ds.is_multilabel:
        _check_multilabel(ds, metrics, fails, hints, examples, limit)
    else:
        _check_regression_target(ds, metrics, fails, hints, examples, limit)

    cfg = ctx.engine_config
    if cfg is not None and (ds.has_classes or ds.is_multilabel) and (cfg.n_outputs != ds.n_classes):
        fails.append(
            f"the model outputs {cfg.n_outputs} values per sample, the data has "
            f"{ds.n_classes} classes"
        )
        hints.append("Make the output layer as wide as the number of classes.")
    metrics["n_outputs"] = ds.n_outputs

    summary = (
        f"{len(ds.train)} train + {len(ds.test)} test samples, "
        + (
            f"{'x'.join(map(str, ds.input_shape))} images"
            if ds.is_image
            else f"sequences of {ds.input_shape[0]} tokens"
            if ds.token_inputs
            else f"{ds.n_features} features"
        )
        + f", {ds.task}"
        + (f" ({ds.n_classes} classes)" if ds.has_classes else "")
        + (f" ({ds.n_classes} labels)" if ds.is_multilabel else "")
        + (" (task inferred)" if ds.task_inferred else "")
    )
    if fails:
        return result(
            "fail",
            "; ".join(fails),
            hint=" ".join(dict.fromkeys(hints)),
            metrics=metrics,
            examples=examples,
        )
    if warns:
        return result(
            "warn",
            f"{summary}; " + "; ".join(warns),
            hint=" ".join(dict.fromkeys(hints)),
            metrics=metrics,
            examples=examples,
        )
    return result("pass", summary, metrics=metrics)


def _nonfinite_inputs(
    split: Split, name: str, metrics: dict[str, Any], examples: list[dict[str, Any]], limit: int
) -> str | None:
    raw = split.x_raw
    if not np.issubdtype(raw.dtype, np.floating):
        metrics[f"{name}_nan"] = metrics[f"{name}_inf"] = 0
        return None
    flat = raw.reshape(len(raw), -1)
    nan = np.isnan(flat)
    inf = np.isinf(flat)
    n_nan, n_inf = int(nan.sum()), int(inf.sum())
    metrics[f"{name}_nan"], metrics[f"{name}_inf"] = n_nan, n_inf
    if not n_nan and not n_inf:
        return None
    rows = np.flatnonzero((nan | inf).any(axis=1))
    cols = np.flatnonzero((nan | inf).any(axis=0))
    for r in rows[:limit]:
        examples.append(
            {
                "split": name,
                "row": int(split.indices[r]),
                "problem": "NaN/inf input",
                "columns": [int(c) for c in np.flatnonzero(~np.isfinite(flat[r]))[:5]],
            }
        )
    parts = [f"{n_nan} NaN" if n_nan else "", f"{n_inf} inf" if n_inf else ""]
    metrics[f"{name}_nonfinite_rows"] = int(len(rows))
    metrics[f"{name}_nonfinite_columns"] = [int(c) for c in cols]
    return (
        f"{' and '.join(p for p in parts if p)} values in {len(rows)} {name} rows "
        f"({100 * len(rows) / len(raw):.1f}%), {len(cols)} feature(s)"
    )


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _overflowing_inputs(
    ds: Dataset,
    split: Split,
    name: str,
    metrics: dict[str, Any],
    examples: list[dict[str, Any]],
    limit: int,
) -> str | None:
    """Values that are finite in the file but not in what the network gets: beyond
    float32's range (3.4e38; every engine and several data checks compute in float32), or
    turned into inf/NaN by the normalization (e.g. squares of 1e200 overflow the std).
    Such data would otherwise pass here and silently skip every model check."""
    raw = split.x_raw
    flat_raw = raw.reshape(len(raw), -1)
    beyond: np.ndarray | bool = False  # only float64 can hold values past float32's range
    if np.issubdtype(raw.dtype, np.floating) and raw.dtype.itemsize > 4:
        with np.errstate(invalid="ignore"):
            beyond = np.isfinite(flat_raw) & (np.abs(flat_raw) > FLOAT32_MAX)
    flat_x = split.x.reshape(len(split.x), -1)
    if not np.any(beyond) and np.isfinite(flat_x).all():
        return None
    finite_raw = np.isfinite(flat_raw) if raw.dtype.kind == "f" else True
    broken = beyond | (finite_raw & ~np.isfinite(flat_x))
    n_bad = int(broken.sum())
    metrics[f"{name}_overflowing"] = n_bad
    if not n_bad:
        return None
    cols = np.flatnonzero(broken.any(axis=0))
    rows = np.flatnonzero(broken.any(axis=1))
    names = [_feature_name(ds, int(c)) for c in cols]
    metrics[f"{name}_overflowing_columns"] = names[:50]
    with np.errstate(invalid="ignore"):
        peak = float(np.nanmax(np.abs(flat_raw[broken].astype(np.float64))))
    for r in rows[: max(limit - len(examples), 0)]:
        examples.append(
            {
                "split": name,
                "row": int(split.indices[r]),
                "problem": "finite input that overflows float32 or the normalization",
                "columns": [_feature_name(ds, int(c)) for c in np.flatnonzero(broken[r])[:5]],
            }
        )
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"{n_bad} {name} values in {len(cols)} feature(s) ({listed}) are finite in the file"
        f" (|x| up to {peak:.3g}) but become inf/NaN as the network's float32 inputs"
        f" (float32 max {FLOAT32_MAX:.3g}; normalize: {ds.normalize})"
    )


def _feature_name(ds: Dataset, column: int) -> str:
    if ds.feature_names is not None and column < len(ds.feature_names):
        return repr(ds.feature_names[column])
    if len(ds.input_shape) > 1:
        return "pixel " + "x".join(str(int(i)) for i in np.unravel_index(column, ds.input_shape))
    return f"column {column}"


def _check_multilabel(
    ds: Dataset,
    metrics: dict[str, Any],
    fails: list[str],
    hints: list[str],
    examples: list[dict[str, Any]],
    limit: int,
) -> None:
    """Every label cell is 0 or 1 (NaN marks a cell that was something else)."""
    from nncheck.data.multilabel import bad_cells

    names = list(ds.classes or ())
    metrics["labels"] = names
    for name, split in (("train", ds.train), ("test", ds.test)):
        bad = bad_cells(split.y, names)
        metrics[f"{name}_invalid_label_cells"] = sum(c for _, c, _ in bad)
        if not bad:
            continue
        raw = np.asarray(split.y_raw)
        parts = []
        for label, count, rows in bad:
            j = names.index(label)
            values = _distinct(raw[rows, j]) if raw.ndim == 2 else []
            parts.append(f"{label!r} {count} ({', '.join(values)})")
            for r in rows[: max(limit - len(examples), 0)]:
                examples.append(
                    {
                        "split": name,
                        "row": int(split.indices[r]),
                        "problem": "label cell not 0/1",
                        "label": label,
                        "value": str(raw[r, j]) if raw.ndim == 2 else "",
                    }
                )
        fails.append(f"{name} label cells that are not 0/1: " + "; ".join(parts))
        hints.append(
            "A multilabel target holds one 0/1 (or true/false, yes/no) column per label: fix"
            " or drop these cells (missing labels must be dropped)."
        )


def _check_labels(
    ds: Dataset,
    metrics: dict[str, Any],
    fails: list[str],
    warns: list[str],
    hints: list[str],
    examples: list[dict[str, Any]],
    limit: int,
) -> None:
    classes = list(ds.classes or ())
    metrics["classes"] = classes
    metrics["classes_declared"] = ds.classes_declared
    for name, split in (("train", ds.train), ("test", ds.test)):
        invalid = np.flatnonzero(split.y < 0)
        metrics[f"{name}_invalid_labels"] = int(len(invalid))
        if len(invalid):
            values = _distinct(split.y_raw[invalid])
            where = "the declared classes" if ds.classes_declared else "any class"
            fails.append(
                f"{len(invalid)} {name} labels ({100 * len(invalid) / len(split):.1f}%) are "
                f"outside {where} {_class_range(classes)}: {', '.join(values)}"
            )
            hints.append(
                "Fix the labels or `data.classes` so every label maps to a class "
                "(missing labels must be dropped)."
            )
            for i in invalid[:limit]:
                examples.append(
                    {
                        "split": name,
                        "row": int(split.indices[i]),
                        "problem": "label outside the classes",
                        "label": _plain(split.y_raw[i]),
                    }
                )
    if not ds.classes_declared:
        numeric = _integer_labels(ds)
        if numeric is not None and numeric != list(range(len(numeric))):
            k = len(numeric)
            # Classes whose integer value has no output of a k-way softmax (e.g. 10 of 1..10).
            beyond = [j for j, c in enumerate(classes) if not 0 <= int(c) < k]
            counts = []
            for name, split in (("train", ds.train), ("test", ds.test)):
                rows = np.flatnonzero(np.isin(split.y, beyond))
                counts.append(len(rows))
                for i in rows[: max(limit - len(examples), 0)]:
                    examples.append(
                        {
                            "split": name,
                            "row": int(split.indices[i]),
                            "problem": f"label outside 0..{k - 1}",
                            "label": _plain(split.y_raw[i]),
                        }
                    )
            n_beyond = sum(counts)
            n_all = len(ds.train) + len(ds.test)
            metrics["labels_outside_range"] = n_beyond
            fails.append(
                f"integer labels {_span(numeric)} are not 0..{k - 1}: {n_beyond} samples "
                f"({100 * n_beyond / max(n_all, 1):.1f}%) carry label(s) "
                f"{', '.join(classes[j] for j in beyond[:5])}, for which a {k}-way softmax "
                f"(outputs 0..{k - 1}) has no output"
            )
            hints.append(
                "Remap labels to 0..K-1 (e.g. subtract 1), or declare them as names with "
                "`data.classes: [...]` if they are categories."
            )
    train_classes = np.unique(ds.train.y[ds.train.y >= 0])
    metrics["n_classes"] = ds.n_classes
    metrics["train_classes_present"] = int(len(train_classes))
    if len(train_classes) == 1:
        fails.append(f"the training split has a single class ({classes[int(train_classes[0])]})")
        hints.append("A classifier needs at least two classes in train.")
    missing_train = sorted(set(range(ds.n_classes)) - {int(c) for c in train_classes})
    test_classes = {int(c) for c in np.unique(ds.test.y[ds.test.y >= 0])}
    unseen = sorted(test_classes - {int(c) for c in train_classes})
    if unseen:
        warns.append(
            f"test has {len(unseen)} class(es) never seen in train: "
            + ", ".join(classes[c] for c in unseen[:10])
        )
        hints.append("Resplit so every class occurs in train.")
    elif missing_train and len(train_classes) > 1:
        warns.append(
            f"{len(missing_train)} declared class(es) have no training samples: "
            + ", ".join(classes[c] for c in missing_train[:10])
        )
        hints.append("Check `data.classes` against the labels in the file.")


def _check_regression_target(
    ds: Dataset,
    metrics: dict[str, Any],
    fails: list[str],
    hints: list[str],
    examples: list[dict[str, Any]],
    limit: int,
) -> None:
    for name, split in (("train", ds.train), ("test", ds.test)):
        bad = np.flatnonzero(~np.isfinite(split.y))
        metrics[f"{name}_bad_targets"] = int(len(bad))
        if not len(bad):
            continue
        values = _distinct(split.y_raw[bad])
        fails.append(
            f"{len(bad)} {name} targets ({100 * len(bad) / len(split):.1f}%) are not finite "
            f"numbers: {', '.join(values)}"
        )
        hints.append("Drop or fix rows whose target is a sentinel, NaN or inf.")
        for i in bad[:limit]:
            examples.append(
                {
                    "split": name,
                    "row": int(split.indices[i]),
                    "problem": "target is not a finite number",
                    "target": _plain(split.y_raw[i]),
                }
            )
    finite = ds.train.y[np.isfinite(ds.train.y)]
    if finite.size:
        metrics["target_mean"] = float(finite.mean())
        metrics["target_std"] = float(finite.std())


def _integer_labels(ds: Dataset) -> list[int] | None:
    """Sorted distinct labels when every class name is an integer, else None."""
    try:
        values = sorted(int(c) for c in ds.classes or ())
    except ValueError:
        return None
    if any(str(v) != c for v, c in zip(values, sorted(ds.classes or (), key=int))):
        return None
    return values


def _distinct(values: np.ndarray, limit: int = 5) -> list[str]:
    seen = list(dict.fromkeys(repr(_plain(v)) for v in values))
    return seen[:limit] + ([f"... ({len(seen) - limit} more)"] if len(seen) > limit else [])


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _class_range(classes: list[str]) -> str:
    if len(classes) > 6:
        return f"{classes[0]}..{classes[-1]}"
    return "{" + ", ".join(classes) + "}"


def _span(values: list[int]) -> str:
    if values == list(range(values[0], values[0] + len(values))):
        return f"{values[0]}..{values[-1]}"
    return ", ".join(map(str, values[:10]))
