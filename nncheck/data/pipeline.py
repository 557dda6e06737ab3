"""The user's data pipeline as nncheck keeps it: which objects, which items, which batches.

The data checks judge arrays (``Dataset``); the checks on the pipeline itself (random
augmentation on the test set, targets changed by transforms, a loader serving one class per
batch, workers sharing one random stream) need the user's objects, to read them again.
``Pipeline`` holds those objects beside the arrays read from them; ``torch_data.py`` does
the reading. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

SplitKind = Literal["arrays", "frame", "dataset", "loader"]


@dataclass(frozen=True)
class BatchFormat:
    """How the user's pipeline shapes a batch, so the user's own step and loss receive
    batches exactly like those their loader yields."""

    kind: Literal["tuple", "dict"] = "tuple"
    input_key: str | int = 0
    target_key: str | int = 1
    target_shape: tuple[int, ...] = ()  # per item: () for class indices, (1,) for [y]
    target_dtype: str = ""  # numpy name of the targets' dtype as yielded ("" = the engine's)

    def describe(self) -> str:
        if self.kind == "dict":
            return f"dict batches {{{self.input_key!r}: inputs, {self.target_key!r}: targets}}"
        return "(inputs, targets) batches"


@dataclass(frozen=True)
class SplitSource:
    """One split as the user gave it, and which of its items the checks read."""

    name: str  # "train" | "test"
    kind: SplitKind
    obj: Any  # what the user passed
    dataset: Any = None  # the torch Dataset behind it (a loader's .dataset)
    loader: Any = None  # the user's DataLoader, when they gave one
    positions: np.ndarray | None = None  # item indices read, in the order of the split's rows
    n_items: int = 0  # items in the user's object

    @property
    def sampled(self) -> bool:
        return self.positions is not None and len(self.positions) < self.n_items


@dataclass(frozen=True)
class Pipeline:
    """The user's data objects behind ``ctx.dataset``; ``test`` is None when nncheck cut
    the test split from train (then there is no test pipeline of the user's to judge)."""

    train: SplitSource
    test: SplitSource | None
    batch: BatchFormat
    seed: int
    folder: str | None = None  # where the user's code lives (for its traceback frames)

    def split(self, name: str) -> SplitSource | None:
        return self.train if name == "train" else self.test

    def readable(self, name: str) -> bool:
        """True when the split is a torch Dataset (or a loader's) that can be read by index."""
        src = self.split(name)
        return src is not None and src.dataset is not None and src.positions is not None
