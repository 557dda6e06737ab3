"""`nncheck init DATA_FILE`: a starter recipe that runs as it is.

The recipe is built by actually reading the file (target guessed the way `nncheck run`
would, task inferred), then validated, so what we write is a recipe we know loads.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from nncheck.errors import UsageError


def init_recipe(data_file: str, output: str | None = None, *, force: bool = False) -> Path:
    """Write a recipe for ``data_file``; returns its path."""
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
    raw = load_source(source)
    task, why = infer_task(raw.y_raw)
    recipe: dict[str, Any] = {
        "name": _stem(data),
        "seed": 0,
        "data": {"train": train_entry},
    }
    if raw.target is not None:
        recipe["data"]["target"] = raw.target
    recipe["data"].update(
        {
            "test": {"fraction": 0.2},
            "task": task,
            "normalize": "scale255" if raw.is_image else "standardize",
        }
    )
    recipe["model"] = {
        "engine": "numpy",
        "hidden": [128] if raw.is_image else [64],
        "activation": "relu",
        "init": "he",
        "output_bias": "prior",
    }
    recipe["train"] = {"optimizer": "adam", "lr": 0.001, "batch_size": 64, "steps": 500}
    header = (
        f"# Starter recipe written by `nncheck init` for {data.name}.\n"
        f"# Target: {raw.target!r}; task {task} ({why}). Edit freely; "
        "`nncheck checks` lists every check.\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    read_recipe(out)  # what we wrote must load
    return out


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
