"""The loaded data, as every check and engine sees it.

Loading never judges the data: labels that do not fit the declared classes, NaN features or
a sentinel in a regression target are kept (encoded as -1 / NaN) so that ``data.integrity``
can report them with numbers. Only data that cannot be read at all is a ``DataError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from nncheck.data.normalize import Normalizer
    from nncheck.data.streamed import StreamedData
    from nncheck.data.table_report import TableReport

Task = Literal[
    "classification", "regression", "language_model", "sequence_classification", "multilabel"
]


@dataclass(frozen=True)
class Split:
    """One split (train or test)."""

    x: np.ndarray  # float32 (n, *input_shape), after the recipe's normalization;
    #                int64 token ids (n, T) for a language model
    y: np.ndarray  # int64 class index (-1 = not a valid class) | float32 (NaN = not numeric)
    #                | int64 next-token ids (n, T) for a language model
    #                | float32 (n, L) 0/1 per label for multilabel (NaN = not 0/1)
    x_raw: np.ndarray  # features before normalization: as loaded; tables encoded (one-hot...)
    y_raw: np.ndarray  # target values as found in the file (numbers or strings)
    source: str  # file(s) it came from, or "<fraction of train>" for a split
    indices: np.ndarray  # row index of each sample in its source file (0-based)
    y2: np.ndarray | None = None  # second annotation, encoded like y (when the recipe names one)
    # Tables: the raw rows as numbers (numeric cells as read, categories as codes shared by
    # both splits, NaN where missing; identifier columns left out), which exact duplicate
    # and leakage checks compare instead of x_raw, where distinct rare values share <rare>.
    x_identity: np.ndarray | None = None
    groups: np.ndarray | None = None  # data.groups: a group code per row (-1: no group)
    # Tables with record identifiers left out (names, ids, tickets): one code per distinct
    # record, shared by both splits. Rows with equal features and different keys are two
    # records that look alike, not a copy: duplicate and leakage checks compare both.
    record_keys: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class Dataset:
    train: Split
    test: Split
    task: Task
    task_inferred: bool  # True when the recipe left `task` out and we guessed it
    classes: tuple[str, ...] | None  # class names in index order (classification), the
    #                                   vocabulary, token id order (language model), or
    #                                   the label names, column order (multilabel)
    input_shape: tuple[int, ...]  # per-sample shape: (13,) for wine, (28, 28) for MNIST
    feature_names: tuple[str, ...] | None  # column names for tabular data
    normalize: str  # none | standardize | minmax | scale255
    is_image: bool
    # Human-readable notes about what loading decided ("task inferred: classification,
    # 3 integer labels"), shown by the CLI and kept in results.json.
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Classes declared in the recipe (a count or names) vs found in the data.
    classes_declared: bool = False
    # Tables: per feature, numeric | ordinal | onehot | missing_indicator (0/1 indicators
    # are not normalized), and what the data layer found about the columns.
    feature_kinds: tuple[str, ...] | None = None
    table: TableReport | None = None
    # language_model: the padding token id (excluded from the loss), when the recipe names it.
    pad_token: int | None = None
    # sequence_classification: the number of token ids (the model's embedding size).
    vocab_size: int | None = None
    # data.engine stream | dask: every row of both splits, out of core; train and test
    # above then hold a seeded sample of them (their `indices` are rows of these).
    stream: StreamedData | None = None
    # the normalization fitted on train (data.normalize), for rows read later (the streamed
    # rows beyond the sample; a table's 0/1 indicator columns are kept as they are after
    # it); None where none was fitted here (sequences)
    normalizer: Normalizer | None = None

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes is not None else 0

    @property
    def n_outputs(self) -> int:
        return 1 if self.task == "regression" else self.n_classes

    @property
    def has_classes(self) -> bool:
        """One class label per sample, from a softmax over ``classes``."""
        return self.task in ("classification", "sequence_classification")

    @property
    def token_inputs(self) -> bool:
        """Samples are token id sequences (int64), not numbers to normalize and compare by
        distance: a language model, or a classifier of sequences."""
        return self.task in ("language_model", "sequence_classification")

    @property
    def is_multilabel(self) -> bool:
        """Each sample carries a 0/1 target per label (sigmoid + binary cross-entropy)."""
        return self.task == "multilabel"

    @property
    def is_sequence(self) -> bool:
        """Samples are token sequences with one target per token (a language model)."""
        return self.task == "language_model"

    @property
    def n_features(self) -> int:
        return int(np.prod(self.input_shape))
