"""Data given as Python objects (``nncheck.audit`` or a recipe's ``data.factory``).

Each split may be numpy ``(x, y)``, a pandas DataFrame with a target column, a torch
``Dataset`` or a ``DataLoader``. Arrays and frames are read like data files; a torch
Dataset is read item by item through the user's own transforms (``torch_data.py``), so the
checks see what the model sees. Then the same ``assemble_dataset`` as for files decides
task, classes, the test fraction and scaling: one data layer, two doors.

At most ``data.max_samples`` items of each split are read, a seeded sample (said in the
dataset's notes, which the report shows); the default keeps MNIST-sized data whole.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import numpy as np

from nncheck.data.build import assemble_dataset
from nncheck.data.dataset import Dataset
from nncheck.data.loaders import RawSplit, read_frame
from nncheck.data.pipeline import BatchFormat, Pipeline, SplitSource
from nncheck.errors import DataError
from nncheck.objects import UserObjects
from nncheck.recipe.schema import DataSection

_SALT_SAMPLE = {"train": 17, "test": 18}


def load_python_data(
    objects: UserObjects, data: DataSection, seed: int
) -> tuple[Dataset, Pipeline]:
    """The user's train/test objects as a ``Dataset`` plus the ``Pipeline`` they came from."""
    notes: list[str] = []
    fmt: BatchFormat | None = None
    raws: dict[str, RawSplit] = {}
    sources: dict[str, SplitSource] = {}
    for name, obj in (("train", objects.train), ("test", objects.test)):
        if obj is None:
            if name == "train":
                raise DataError("train: no training data was given")
            continue
        raw, src, split_fmt = read_split(obj, name, data, seed, fmt, notes, objects.folder)
        fmt = fmt or split_fmt
        raws[name], sources[name] = raw, src
    test_raw = raws.get("test")
    ds = assemble_dataset(raws["train"], test_raw, data, seed, notes)
    # Rows of the dataset -> item indices in the user's objects.
    train_pos = _positions(sources["train"])
    if test_raw is None:
        test_idx = train_pos[ds.test.indices]
        test_src = None
    else:
        test_idx = _positions(sources["test"])[ds.test.indices]
        test_src = sources["test"]
    ds = replace(
        ds,
        train=replace(ds.train, indices=train_pos[ds.train.indices]),
        test=replace(ds.test, indices=test_idx),
    )
    pipeline = Pipeline(
        sources["train"], test_src, fmt or BatchFormat(), seed, folder=objects.folder
    )
    return ds, pipeline


def read_split(
    obj: Any,
    name: str,
    data: DataSection,
    seed: int,
    fmt: BatchFormat | None,
    notes: list[str],
    folder: str | None,
) -> tuple[RawSplit, SplitSource, BatchFormat | None]:
    """One split as a RawSplit, what it came from, and (torch data) its batch format."""
    if _is_torch_data(obj):
        from nncheck.data.torch_data import read_torch_split

        return read_torch_split(obj, name, data, seed, fmt, notes, folder)
    if hasattr(obj, "columns") and hasattr(obj, "iloc"):
        label = f"{name}: DataFrame ({len(obj)} rows)"
        # rows are sampled before reading: a frame is read as a table (categorical,
        # identifier and missing-value columns), whose column roles need the kept rows only
        positions = sample_positions(len(obj), data.max_samples, seed, name)
        frame = obj
        if len(positions) < len(obj):
            notes.append(sampled_note(name, len(positions), len(obj)))
            frame = obj.iloc[positions]
        raw = read_frame(frame, label, data.target, data.second_annotation)
        notes.extend(f"{name}: {n}" for n in raw.notes)
        return raw, SplitSource(name, "frame", obj, positions=positions, n_items=len(obj)), None
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        return (*_arrays(obj, name, data, seed, notes), None)
    raise DataError(
        f"{name}: got a {type(obj).__name__}; expected numpy (x, y), a pandas DataFrame with "
        "data.target naming its target column, a torch Dataset or a DataLoader"
    )


def _arrays(
    obj: Any, name: str, data: DataSection, seed: int, notes: list[str]
) -> tuple[RawSplit, SplitSource]:
    x, y = (np.asarray(a) for a in obj)
    if x.dtype == object or x.dtype.kind not in "biuf":
        raise DataError(f"{name}: x has dtype {x.dtype}; expected numbers")
    if x.ndim < 2:
        raise DataError(f"{name}: x has shape {x.shape}; expected (n_samples, *features)")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    multilabel = data.task == "multilabel" and y.ndim == 2 and y.dtype.kind in "biuf"
    if y.ndim != 1 and not multilabel:
        raise DataError(
            f"{name}: y has shape {y.shape}; expected one target per sample, (n,) (a class "
            "index or a number, not one-hot; an (n, L) 0/1 matrix with task='multilabel')"
        )
    if len(x) != len(y):
        raise DataError(f"{name}: x has {len(x)} samples but y has {len(y)}")
    x, is_image = image_layout(x)
    raw = RawSplit(
        x=x,
        y_raw=y,
        y2_raw=None,
        feature_names=None,
        source=f"{name}: numpy x {tuple(obj[0].shape)}, y {tuple(np.shape(obj[1]))}",
        is_image=is_image,
        target=None,
    )
    raw, positions = _sample(raw, name, data.max_samples, seed, notes)
    return raw, SplitSource(name, "arrays", obj, positions=positions, n_items=len(y))


def image_layout(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Single-channel images (n, 1, H, W) are kept as (n, H, W), the dataset's image layout
    (the torch engine gives the model its channel axis back); (n, H, W) are images too."""
    if x.ndim == 4 and x.shape[1] == 1 and min(x.shape[2:]) >= 4:
        return x[:, 0], True
    return x, x.ndim == 3 and min(x.shape[1:]) >= 4


def sample_positions(n: int, max_samples: int, seed: int, name: str) -> np.ndarray:
    """All item indices, or a seeded sorted sample of ``max_samples`` of them."""
    if n <= max_samples:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng([seed, _SALT_SAMPLE.get(name, 19)])
    return np.sort(rng.choice(n, size=max_samples, replace=False)).astype(np.int64)


def sampled_note(name: str, taken: int, n: int) -> str:
    return f"{name}: the checks read a seeded sample of {taken:,} of {n:,} items (data.max_samples)"


def _sample(
    raw: RawSplit, name: str, max_samples: int, seed: int, notes: list[str]
) -> tuple[RawSplit, np.ndarray]:
    n = len(raw)
    positions = sample_positions(n, max_samples, seed, name)
    if len(positions) == n:
        return raw, positions
    notes.append(sampled_note(name, len(positions), n))
    y2 = raw.y2_raw[positions] if raw.y2_raw is not None else None
    return replace(raw, x=raw.x[positions], y_raw=raw.y_raw[positions], y2_raw=y2), positions


def _positions(src: SplitSource) -> np.ndarray:
    assert src.positions is not None
    return np.asarray(src.positions, dtype=np.int64)


def _is_torch_data(obj: Any) -> bool:
    if "torch" not in sys.modules:  # a torch object means torch is already imported
        return False
    from torch.utils.data import DataLoader
    from torch.utils.data import Dataset as TorchDataset

    return isinstance(obj, (TorchDataset, DataLoader))
