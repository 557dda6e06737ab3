"""Reading the user's torch ``Dataset`` / ``DataLoader``: items through their transforms.

Items are fetched by index (``dataset[i]``) and put together with the user's own
``collate_fn`` (a loader's, or torch's default), so what the checks see is what the model
gets. Every read runs with torch's, numpy's and Python's global generators seeded from the
run's seed (and a salt per purpose) and put back afterwards: random transforms draw the
same augmentation in every run (same recipe + seed -> same results.json), and nncheck
leaves the process's random streams as it found them. Reading the same item twice with two
salts is how the pipeline checks see random augmentation and changing targets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, Subset

from nncheck.data.loaders import RawSplit
from nncheck.data.pipeline import BatchFormat, Pipeline, SplitSource
from nncheck.data.python_data import image_layout, sample_positions, sampled_note
from nncheck.engines.torch_engine.seeding import all_seeded as seeded
from nncheck.engines.torch_engine.seeding import mix
from nncheck.engines.torch_engine.user_code import call_user, describe_exc
from nncheck.errors import DataError
from nncheck.recipe.schema import DataSection

CHUNK = 256  # items collated at a time
INPUT_KEYS = ("x", "input", "inputs", "image", "images", "features", "data")
TARGET_KEYS = ("y", "label", "labels", "target", "targets")
SALT_READ = 101  # the read the data checks judge


def read_torch_split(
    obj: Any,
    name: str,
    data: DataSection,
    seed: int,
    fmt: BatchFormat | None,
    notes: list[str],
    folder: str | None,
) -> tuple[RawSplit, SplitSource, BatchFormat]:
    """A torch Dataset or DataLoader as a RawSplit read through the user's transforms."""
    loader = obj if isinstance(obj, DataLoader) else None
    dataset = obj.dataset if loader is not None else obj
    what = describe_data(obj)
    if isinstance(dataset, IterableDataset):
        raise DataError(
            f"{name}: {what} is an IterableDataset, which cannot be read by index; give a "
            "map-style Dataset (with __getitem__ and __len__) or its DataLoader"
        )
    try:
        n = len(dataset)
    except TypeError:
        raise DataError(f"{name}: {what} has no len(); a map-style Dataset needs __len__") from None
    if n == 0:
        raise DataError(f"{name}: {what} is empty")
    positions = sample_positions(n, data.max_samples, seed, name)
    if len(positions) < n:
        notes.append(sampled_note(name, len(positions), n))
    src = SplitSource(name, "loader" if loader else "dataset", obj, dataset, loader, positions, n)
    if fmt is None:
        with seeded(mix(seed, SALT_READ, 0)):
            first = _get(dataset, int(positions[0]), name, folder)
        fmt = detect_format(first, data, name)
    x, y, fmt = read_items(
        src,
        positions,
        fmt,
        mix(seed, SALT_READ),
        folder,
        describe=True,
        label_vectors=data.task == "multilabel",
    )
    x, is_image = image_layout(x)
    raw = RawSplit(
        x=x,
        y_raw=y,
        y2_raw=None,
        feature_names=None,
        source=f"{name}: {what}",
        is_image=is_image,
        target=str(fmt.target_key),
    )
    return raw, src, fmt


def describe_data(obj: Any) -> str:
    """``torch Dataset WineCSV (178 items)`` / ``DataLoader over WineCSV (batch 32)``."""
    if isinstance(obj, DataLoader):
        inner = type(obj.dataset).__name__
        try:
            size = f", {len(obj.dataset)} items"
        except TypeError:
            size = ""
        workers = f", {obj.num_workers} workers" if obj.num_workers else ""
        return f"DataLoader over {inner} (batch {obj.batch_size}{size}{workers})"
    try:
        return f"torch Dataset {type(obj).__name__} ({len(obj)} items)"
    except TypeError:
        return f"torch Dataset {type(obj).__name__}"


def detect_format(item: Any, data: DataSection, name: str) -> BatchFormat:
    """Tuple items are (input, target, ...); dict items need their keys (named by the
    call, data.input_key / data.target, or one of the usual names)."""
    if isinstance(item, (tuple, list)) and len(item) >= 2:
        return BatchFormat("tuple", 0, 1)
    if isinstance(item, dict):
        keys = list(item)
        x_key = data.input_key or _guess(keys, INPUT_KEYS)
        y_key = data.target if isinstance(data.target, str) else _guess(keys, TARGET_KEYS)
        for role, key, option in (("input", x_key, "input_key"), ("target", y_key, "target")):
            if key is None or key not in item:
                said = f"{key!r} is not one of them" if key is not None else "none is named"
                raise DataError(
                    f"{name}: items are dicts with keys {keys}; {said} for the {role}: name it "
                    f"with {option}= (nncheck.audit) or data.{option} (recipe)"
                )
        return BatchFormat("dict", str(x_key), str(y_key))
    raise DataError(
        f"{name}: an item is a {type(item).__name__}; expected (input, target) or a dict "
        "of input and target"
    )


def _guess(keys: Sequence[Any], names: Sequence[str]) -> str | None:
    found = [k for k in keys if str(k).lower() in names]
    return str(found[0]) if len(found) == 1 else None


def read_items(
    src: SplitSource,
    positions: np.ndarray,
    fmt: BatchFormat,
    seed: int,
    folder: str | None,
    *,
    describe: bool = False,
    label_vectors: bool = False,
) -> tuple[np.ndarray, np.ndarray, BatchFormat]:
    """Items ``positions`` of a split, collated with the user's collate_fn, as float32
    inputs (n, *shape) and targets (n,), or (n, L) 0/1 label vectors with
    ``label_vectors`` (multilabel); returns the format with the targets' shape and dtype as
    the pipeline yields them when ``describe``."""
    collate = src.loader.collate_fn if src.loader is not None else _default_collate()
    xs, ys = [], []
    with seeded(seed):
        for lo in range(0, len(positions), CHUNK):
            chunk = positions[lo : lo + CHUNK]
            items = [_get(src.dataset, int(i), src.name, folder) for i in chunk]
            batch = call_user(collate, items, what=f"{src.name}: collate_fn", folder=folder)
            x, y = split_batch(batch, fmt, src.name)
            xs.append(_numpy(x, np.float32, src.name, "inputs"))
            ys.append(y)
    y0 = ys[0]
    target_shape = tuple(int(s) for s in np.shape(y0)[1:])
    vectors = label_vectors and len(target_shape) == 1 and target_shape != (1,)
    if target_shape not in ((), (1,)) and not vectors:
        raise DataError(
            f"{src.name}: targets have shape {target_shape} per item; nncheck needs one class "
            "index or one number per item (not one-hot), or with task multilabel one 0/1"
            " vector per item"
        )
    width = target_shape[0] if vectors else 1
    y_np = np.concatenate([_numpy(y, None, src.name, "targets").reshape(-1, width) for y in ys])
    if not vectors:
        y_np = y_np.reshape(-1)
    x_np = np.concatenate(xs)
    if describe:
        dtype = str(y0.dtype).replace("torch.", "") if hasattr(y0, "dtype") else str(y_np.dtype)
        fmt = BatchFormat(fmt.kind, fmt.input_key, fmt.target_key, target_shape, dtype)
    return x_np, y_np, fmt


def split_batch(batch: Any, fmt: BatchFormat, name: str) -> tuple[Any, Any]:
    """(inputs, targets) of one collated batch."""
    try:
        return batch[fmt.input_key], batch[fmt.target_key]
    except (KeyError, IndexError, TypeError) as exc:
        raise DataError(
            f"{name}: a batch is a {type(batch).__name__} without {describe_exc(exc)}; "
            f"expected {fmt.describe()}"
        ) from None


def reread(
    pipeline: Pipeline, name: str, positions: np.ndarray, salt: int
) -> tuple[np.ndarray, np.ndarray]:
    """Items of a split read again (inputs as read, not reshaped), under their own seed."""
    src = pipeline.split(name)
    assert src is not None and src.dataset is not None
    fmt = pipeline.batch
    x, y, _ = read_items(
        src,
        positions,
        fmt,
        mix(pipeline.seed, salt),
        pipeline.folder,
        label_vectors=len(fmt.target_shape) == 1 and fmt.target_shape != (1,),
    )
    return x, y


def loader_batches(
    pipeline: Pipeline, max_batches: int, salt: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``max_batches`` batches the user's train DataLoader yields (its sampler,
    shuffling, collate and workers), seeded; a generator of the loader's is put back."""
    loader = pipeline.train.loader
    assert loader is not None
    gen = getattr(loader, "generator", None)
    state = gen.get_state() if gen is not None else None
    out = []
    try:
        with seeded(mix(pipeline.seed, salt)):
            for batch in _iterate(loader, pipeline.folder):
                x, y = split_batch(batch, pipeline.batch, "train")
                xb = _numpy(x, np.float32, "train", "inputs")
                out.append((xb, _numpy(y, None, "train", "targets")))
                if len(out) >= max_batches:
                    break
    finally:
        if gen is not None and state is not None:
            gen.set_state(state)
    return out


def worker_reads(pipeline: Pipeline, position: int, reads: int, salt: int) -> list[np.ndarray]:
    """One item read ``reads`` times by each worker of a loader built like the user's (its
    dataset, num_workers, worker_init_fn, collate_fn, multiprocessing context); entry ``b``
    comes from worker ``b % num_workers`` (batches of one, served in order)."""
    loader = pipeline.train.loader
    assert loader is not None
    workers = int(loader.num_workers)
    probe = DataLoader(
        Subset(loader.dataset, [int(position)] * (workers * reads)),
        batch_size=1,
        shuffle=False,
        num_workers=workers,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        collate_fn=loader.collate_fn,
    )
    out = []
    with seeded(mix(pipeline.seed, salt)):
        for batch in _iterate(probe, pipeline.folder):
            x, _ = split_batch(batch, pipeline.batch, "train")
            out.append(_numpy(x, np.float32, "train", "inputs")[0])
    return out


def _iterate(loader: Any, folder: str | None) -> Iterator[Any]:
    it = call_user(iter, loader, what="train: iter(DataLoader)", folder=folder)
    while True:
        batch = call_user(next, it, None, what="train: the DataLoader", folder=folder)
        if batch is None:
            return
        yield batch


def _get(dataset: Any, index: int, name: str, folder: str | None) -> Any:
    return call_user(
        dataset.__getitem__, index, what=f"{name}: {type(dataset).__name__}[{index}]", folder=folder
    )


def _numpy(value: Any, dtype: Any, name: str, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        arr = value.detach().cpu().numpy()
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # noqa: BLE001 - whatever the collate returned
            raise DataError(f"{name}: the batch's {what} are not an array: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise DataError(f"{name}: the batch's {what} have dtype {arr.dtype}; expected numbers")
    return arr.astype(dtype, copy=False) if dtype is not None else arr


def _default_collate() -> Any:
    from torch.utils.data import default_collate

    return default_collate
