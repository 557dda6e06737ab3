"""Data beyond memory (`data.engine: stream | dask`): every row stays on disk, a seeded
sample comes into memory.

The duplicate, leak, near-pair and label-conflict findings need every row (a leak in the
rows left out of a sample is still a leak), so they stream over the full splits in chunks
(``nncheck.scale.stage.run_stage``, in process or as Dask tasks). Everything else — class
balance, label errors, outliers, the model stages — reads the ``Dataset`` built here from
a seeded sample of ``data.max_samples`` rows per split, which the notes say. The sample's
``indices`` are rows of the full files, so every finding names rows as the files hold them.

Both splits are ``{images: ROWS, labels: LABELS}``: ROWS a ``.npy`` file (memory-mapped), a
folder of ``.npy``/``.npz`` shards or a parquet file or dataset; LABELS a ``.npy`` or IDX
file with one label per row (labels are small: 8 bytes a row). Or a split is an image
folder (one subfolder per class): decoded once, a batch of files at a time, into a
memory-mapped spill (``data.image_size`` resizes), its labels the subfolder names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nncheck.data.dataset import Dataset
from nncheck.data.loaders import RawSplit, read_labels
from nncheck.data.python_data import image_layout, sample_positions, sampled_note
from nncheck.errors import DataError, UsageError
from nncheck.recipe.schema import DataSection, PairSource
from nncheck.scale.sources import RowSource, open_image_folder, open_rows


@dataclass(frozen=True)
class StreamedData:
    """Both splits in full, out of core, and how the streaming findings run."""

    train: RowSource
    test: RowSource
    engine: str  # "stream" (in process) | "dask"
    scheduler: str | None  # engine dask: a scheduler address, None for a LocalCluster
    # every row's class index as the sample's classes encode it (-1: a label the sample
    # does not hold); None for regression
    train_y: np.ndarray | None = None
    test_y: np.ndarray | None = None


def load_streamed(data: DataSection, seed: int) -> Dataset:
    """The sample ``Dataset`` of a streamed recipe, with the full splits in ``stream``."""
    from nncheck.data.build import assemble_dataset, encode_with_classes

    if data.engine == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UsageError(
                "data.engine: dask needs dask[distributed]: pip install 'nncheck[dask]'"
            ) from None
    sources: dict[str, PairSource | str] = {}
    for name, source in (("train", data.train), ("test", data.test)):
        folder = isinstance(source, str) and Path(source).is_dir()
        if not isinstance(source, PairSource) and not folder:
            what = "a fraction of train" if name == "test" else "one file"
            raise DataError(
                f"data.{name}: data.engine {data.engine} reads {{images: ROWS, labels:"
                f" LABELS}} (ROWS: an .npy file, a folder of .npy/.npz shards or parquet;"
                f" LABELS: an .npy file) or an image folder (one subfolder per class),"
                f" not {what}"
            )
        sources[name] = source  # type: ignore[assignment]
    from nncheck.scale.stage import search_budget

    search_budget()  # a bad NNCHECK_SEARCH_BUDGET is exit 2 before any work
    if data.task not in (None, "classification", "regression"):
        raise DataError(
            f"data.task: data.engine {data.engine} audits classification or"
            f" regression, not {data.task}"
        )
    notes: list[str] = []
    raws, rows, positions, all_labels = {}, {}, {}, {}
    for name, source in sources.items():
        src, labels, origin = _open(name, source, data, notes)
        pos = sample_positions(len(src), data.max_samples, seed, name)
        if len(pos) < len(src):
            notes.append(sampled_note(name, len(pos), len(src)))
        x, is_image = image_layout(_sample_rows(src, pos))
        raws[name] = RawSplit(
            x=x,
            y_raw=labels[pos],
            y2_raw=None,
            feature_names=None,
            source=origin,
            is_image=is_image,
            target=None,
        )
        rows[name], positions[name], all_labels[name] = src, pos, labels
    notes.append(
        f"data.engine {data.engine}: duplicates, leaks, near pairs and label conflicts over all"
        f" {len(rows['train']):,} train and {len(rows['test']):,} test rows, streamed in chunks"
        + (" as Dask tasks" if data.engine == "dask" else "")
    )
    ds = assemble_dataset(raws["train"], raws["test"], data, seed, notes)
    encoded = {name: None for name in all_labels}
    if ds.task == "classification" and ds.classes is not None:
        encoded = {
            name: encode_with_classes(y, ds.classes, data.classes).astype(np.int64)
            for name, y in all_labels.items()
        }
    stream = StreamedData(
        rows["train"], rows["test"], data.engine, data.scheduler, encoded["train"], encoded["test"]
    )
    return replace(
        ds,
        train=replace(ds.train, indices=positions["train"][ds.train.indices]),
        test=replace(ds.test, indices=positions["test"][ds.test.indices]),
        stream=stream,
    )


def _open(
    name: str, source: PairSource | str, data: DataSection, notes: list[str]
) -> tuple[RowSource, np.ndarray, str]:
    """A split's rows, every label and where they came from: ``{images, labels}`` files, or
    an image folder decoded once into a memory-mapped spill (labels: its subfolders)."""
    if isinstance(source, str):
        src, labels, said = open_image_folder(source, data.image_hw, name=f"data.{name} ({source})")
        notes.extend(f"{name}: {n}" for n in said)
        return src, labels, source
    src = open_rows(source.images, name=f"data.{name}.images ({source.images})")
    labels = read_labels(source.labels)
    if len(labels) != len(src):
        raise DataError(
            f"{source.labels}: {len(labels):,} labels for {len(src):,} rows in {source.images}"
        )
    return src, labels, f"{source.images} + {source.labels}"


def _sample_rows(src: RowSource, positions: np.ndarray) -> np.ndarray:
    """The sampled rows in the parts' own per-row shape (28 x 28 images stay images)."""
    flat = src.take(positions)
    shapes = {tuple(p.shape[1:]) for p in src.parts}
    return flat.reshape(len(flat), *shapes.pop()) if len(shapes) == 1 else flat
