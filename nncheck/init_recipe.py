"""`nncheck init DATA_FILE`: a starter recipe that runs as it is.

The recipe is built by actually reading the file (target guessed the way `nncheck run`
would, or given with --target; task inferred; for tables, the columns planned as a run
plans them), then validated, so what we write is a recipe we know loads. A table with
missing feature values gets `missing: impute` (a run with the default `error` would only
fail), and its header comment says what was found and why: the target, identifiers left
out, categorical columns, missing values.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from nncheck.errors import UsageError


def init_recipe(
    data_file: str,
    output: str | None = None,
    *,
    force: bool = False,
    target: str | None = None,
) -> Path:
    """Write a recipe for ``data_file`` (``target``: the column to predict, else guessed);
    returns its path."""
    import yaml

    from nncheck.data.build import infer_task
    from nncheck.data.idx import is_idx_name
    from nncheck.data.loaders import load_source
    from nncheck.recipe.load import read_recipe, resolve_path
    from nncheck.recipe.schema import PairSource

    data = resolve_path(Path(data_file), "data file")
    if not data.is_file():
        raise UsageError(f"data file not found: {data}")
    out = Path(output) if output else Path.cwd() / f"{_stem(data)}.yaml"
    out = out.resolve()
    if out.exists() and not force:
        raise UsageError(f"{out} already exists; pass --force to overwrite it")

    source: Any
    if is_idx_name(str(data)):
        labels = _idx_labels_for(data)
        source = PairSource(images=str(data), labels=str(labels))
        train_entry: Any = {
            "images": _relative(data, out.parent),
            "labels": _relative(labels, out.parent),
        }
    else:
        source = str(data)
        train_entry = _relative(data, out.parent)
    wanted: str | list[str] | None = target
    if target is not None and "," in target:
        wanted = [t.strip() for t in target.split(",") if t.strip()]
    raw = load_source(source, wanted)
    task, why = infer_task(raw.y_raw)
    recipe: dict[str, Any] = {
        "name": _stem(data),
        "seed": 0,
        "data": {"train": train_entry},
    }
    if raw.target is not None:
        recipe["data"]["target"] = list(raw.target) if isinstance(raw.target, tuple) else raw.target
    recipe["data"].update(
        {
            "test": {"fraction": 0.2},
            "task": task,
            "normalize": "scale255" if raw.is_image else "standardize",
        }
    )
    found: list[str] = []
    if raw.table is not None:
        found = _table_settings(raw, recipe["data"])
        if task == "classification":
            found += _integer_classes(raw.y_raw, recipe["data"])
    recipe["model"] = {
        "engine": "numpy",
        "hidden": [128] if raw.is_image else [64],
        "activation": "relu",
        "init": "he",
        "output_bias": "prior",
    }
    recipe["train"] = {"optimizer": "adam", "lr": 0.001, "batch_size": 64, "steps": 500}
    target_why = next((n for n in raw.notes if n.startswith("target not given")), "")
    target_why = target_why.split("(", 1)[1].rstrip(")") if "(" in target_why else "given"
    if task == "multilabel":
        recipe["model"]["loss"] = "bce"
    multi = isinstance(raw.target, tuple)
    shown_target = ", ".join(raw.target) if multi else repr(raw.target)
    header = (
        f"# Starter recipe written by `nncheck init` for {data.name}.\n"
        f"# Target: {shown_target} ({target_why}); task {task} ({why}).\n"
        + "".join(_comment(line) for line in found)
        + "# Edit freely; `nncheck checks` lists every check.\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    read_recipe(out)  # what we wrote must load
    return out


def _comment(line: str) -> str:
    """A YAML comment wrapped at 92 columns."""
    import textwrap

    return "".join(f"# {part}\n" for part in textwrap.wrap(line, 92, subsequent_indent="  "))


def _table_settings(raw: Any, data: dict[str, Any]) -> list[str]:
    """Plan the table as a run would; set what it needs to run (missing: impute, the CSV
    dialect when it is not the default) and return what to say about it."""
    from nncheck.data.table_plan import plan_table
    from nncheck.recipe.schema import DataSection

    table = raw.table
    dialect = table.dialect
    if dialect is not None:
        csv = {}
        if dialect.delimiter != ",":
            csv["delimiter"] = dialect.delimiter
        if not dialect.header:
            csv["header"] = False
        if dialect.encoding not in ("utf-8", "utf-8-sig"):
            csv["encoding"] = dialect.encoding
        if dialect.decimal != ".":
            csv["decimal"] = dialect.decimal
        if csv:
            data["csv"] = csv
    section = DataSection(train=raw.source, target=raw.target)
    report = plan_table(section, raw, None, []).report
    lines = [dialect.describe()] if dialect is not None else []
    if report.identifiers:
        lines.append(
            "Identifier columns left out (list them in data.drop to say so): "
            + "; ".join(f"{c} ({why})" for c, why in report.identifiers)
        )
    cats = [c.name for c in report.features if c.kind == "categorical"]
    if cats:
        lines.append("Categorical columns (one-hot): " + ", ".join(cats))
    missing = [c for c in report.features if c.missing]
    if missing:
        data["missing"] = "impute"
        lines.append(
            "Missing values (imputed from train; or data.missing: drop): "
            + ", ".join(f"{c.name} {c.missing}" for c in missing)
        )
    return lines


def _integer_classes(y_raw: Any, data: dict[str, Any]) -> list[str]:
    """A table's integer target that is not 0..K-1 (codes 1..6) gets ``data.classes``:
    in a table the numbers are the classes' names, which nncheck maps to outputs; in a
    user's own arrays the same labels would be the off-by-one bug data.integrity names."""
    import numpy as np

    values = np.asarray(y_raw)
    if values.dtype.kind not in "iuf":
        return []
    present = np.unique(values[np.isfinite(values)] if values.dtype.kind == "f" else values)
    if not present.size or not np.all(present == np.round(present)):
        return []
    ints = [int(v) for v in present]
    if ints == list(range(len(ints))):
        return []
    data["classes"] = ints
    return [
        f"Integer labels {ints[0]}..{ints[-1]} are the classes' names here, listed in "
        f"data.classes so that they map to outputs 0..{len(ints) - 1}"
    ]


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".parquet", ".npz", ".npy"):
        name = name.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "data"


def _relative(path: Path, start: Path) -> str:
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive on Windows
        return str(path)


def _idx_labels_for(images: Path) -> Path:
    """MNIST naming: train-images-idx3-ubyte(.gz) pairs with train-labels-idx1-ubyte(.gz)."""
    name = images.name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1")
    candidate = images.with_name(name)
    if name == images.name or not candidate.is_file():
        raise UsageError(
            f"{images}: an IDX images file needs its labels file; expected {candidate.name} "
            "beside it (write the recipe by hand with data.train: {images: ..., labels: ...})"
        )
    return candidate
