"""Token sequences for language models: a text file (character tokenizer) or an npz of ids.

A language model's sample is a sequence of T token ids and its target the T next tokens, so
``Split.x`` and ``Split.y`` are both int64 ``(n, T)`` and no normalization applies. A text
file is cut into consecutive blocks (``nncheck.data.text``); its test fraction is the last
blocks of the file, never blocks drawn at random from it, because consecutive blocks share a
boundary token and neighbouring passages share names and phrases: a random split would
measure memory of the neighbours. An npz holds ``x: (N, T)`` integer ids and optionally
``y: (N, T)`` targets; without ``y`` the targets are the inputs shifted by one (the last
column is dropped from the inputs).
"""

from __future__ import annotations

import numpy as np

from nncheck.data.dataset import Dataset, Split, Task
from nncheck.data.loaders import X_KEYS, Y_KEYS, read_npz_keys
from nncheck.data.split import random_split
from nncheck.data.text import read_text_blocks
from nncheck.errors import DataError
from nncheck.recipe.schema import DataSection, FractionSplit, PairSource

# A text file's block length when the recipe gives no data.block_size.
DEFAULT_BLOCK_SIZE = 64
# More distinct token ids than this is not a vocabulary nncheck audits in memory.
MAX_VOCAB = 1_000_000


def load_sequences(data: DataSection, seed: int) -> Dataset:
    """The ``Dataset`` of a ``task: language_model`` recipe (paths already absolute)."""
    notes: list[str] = []
    if isinstance(data.train, PairSource):
        raise DataError(
            f"{data.train.images}: a language model reads a .txt file or an npz of token ids"
            " (x: (N, T) integers), not an images/labels pair"
        )
    if data.image_size is not None:
        notes.append("data.image_size ignored: the task is language_model")
    x_tr, y_tr, vocab, train_notes = _read(data.train, data)
    notes.extend(train_notes)
    src_tr = data.train
    if isinstance(data.test, FractionSplit):
        n = len(x_tr)
        if n < 2:
            raise DataError(f"{data.train}: {n} sequence(s) cannot be split into train and test")
        fraction = data.test.fraction
        if data.train.lower().endswith(".txt"):
            n_test = min(n - 1, max(1, int(round(n * fraction))))
            tr_idx = np.arange(n - n_test, dtype=np.int64)
            te_idx = np.arange(n - n_test, n, dtype=np.int64)
            src_te = f"{data.train} (last {fraction:g} of the blocks)"
            notes.append(
                f"test split: the last {n_test} of {n} blocks (a contiguous tail: random"
                " blocks would share boundaries and passages with train)"
            )
        else:
            tr_idx, te_idx = random_split(n, fraction, seed)
            src_te = f"{data.train} (fraction {fraction:g}, seed {seed})"
        x_te, y_te = x_tr[te_idx], y_tr[te_idx]
        x_tr, y_tr = x_tr[tr_idx], y_tr[tr_idx]
    else:
        if isinstance(data.test, PairSource):
            raise DataError(f"{data.test.images}: a language model's test set is a file too")
        x_te, y_te, test_vocab, test_notes = _read(data.test, data, vocab)
        notes.extend(f"test: {n}" for n in test_notes)
        if x_te.shape[1] != x_tr.shape[1]:
            raise DataError(
                f"{data.test}: test sequences have {x_te.shape[1]} tokens, train sequences"
                f" ({data.train}) have {x_tr.shape[1]}"
            )
        if len(test_vocab) > len(vocab):
            vocab = test_vocab
        tr_idx = np.arange(len(x_tr), dtype=np.int64)
        te_idx = np.arange(len(x_te), dtype=np.int64)
        src_te = data.test
    if data.pad_token is not None:
        if data.pad_token >= len(vocab):
            raise DataError(
                f"data.pad_token: {data.pad_token} is not a token id of this data"
                f" (the vocabulary has ids 0..{len(vocab) - 1})"
            )
        notes.append(f"padding: token {data.pad_token} is excluded from the loss")
    return _token_dataset(
        "language_model",
        Split(x_tr, y_tr, x_tr, y_tr, src_tr, tr_idx),
        Split(x_te, y_te, x_te, y_te, src_te, te_idx),
        vocab,
        data,
        notes,
    )


def _token_dataset(
    task: Task,
    train: Split,
    test: Split,
    classes: tuple[str, ...],
    data: DataSection,
    notes: list[str],
    vocab_size: int | None = None,
) -> Dataset:
    """A Dataset of token id inputs: no normalization, no image, one sequence length."""
    return Dataset(
        train=train,
        test=test,
        task=task,
        task_inferred=False,
        classes=classes,
        input_shape=(int(train.x.shape[1]),),
        feature_names=None,
        normalize="none",
        is_image=False,
        notes=tuple(notes),
        classes_declared=data.classes is not None,
        pad_token=data.pad_token,
        vocab_size=vocab_size,
    )


def _read(
    path: str, data: DataSection, vocab: tuple[str, ...] | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], list[str]]:
    """(x, y, vocabulary, notes) of one file; x and y int64 (n, T)."""
    if path.lower().endswith(".txt"):
        block = data.block_size or DEFAULT_BLOCK_SIZE
        blocks, chars, notes = read_text_blocks(path, block)
        if data.block_size is None:
            notes.append(f"data.block_size not given: blocks of {block} characters")
        if vocab is not None and chars != vocab:
            raise DataError(
                f"{path}: its characters differ from the training file's; a character"
                " tokenizer needs one vocabulary (put test text in the same file and use"
                " test: {fraction: ...})"
            )
        blocks = blocks.astype(np.int64)
        return blocks[:, :-1].copy(), blocks[:, 1:].copy(), chars, notes
    if not path.lower().endswith(".npz"):
        raise DataError(
            f"{path}: a language model reads a .txt file (character tokenizer) or an .npz"
            " of token ids (x: (N, T) integers)"
        )
    return _read_npz(path, data)


def _read_npz(
    path: str, data: DataSection
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], list[str]]:
    named = data.target if isinstance(data.target, str) else None
    (x, y), (xkey, ykey) = read_npz_keys(
        path, [X_KEYS, Y_KEYS if named is None else (named,)], [True, named is not None]
    )
    assert x is not None
    notes: list[str] = []
    x = _token_ids(x, path, f"key {xkey!r}")
    if x.ndim != 2 or x.shape[1] < 2:
        raise DataError(
            f"{path}: key {xkey!r} has shape {x.shape}; a language model needs token ids"
            " of shape (N, T) with T >= 2"
        )
    if y is None:
        notes.append(
            f"targets: key {xkey!r} shifted by one token (inputs x[:, :-1], targets x[:, 1:])"
        )
        x, y = x[:, :-1].copy(), x[:, 1:].copy()
    else:
        y = _token_ids(y, path, f"key {ykey!r}")
        if y.shape != x.shape:
            raise DataError(
                f"{path}: key {ykey!r} has shape {y.shape}, key {xkey!r} has"
                f" {x.shape}; next-token targets have one id per input token"
            )
    top = int(max(x.max(), y.max())) + 1
    declared = data.classes
    if isinstance(declared, list):
        size = len(declared)
        names = tuple(str(c) for c in declared)
    else:
        size = int(declared) if declared is not None else top
        names = tuple(str(i) for i in range(size))
    if top > size:
        raise DataError(f"{path}: token id {top - 1} is outside the {size} declared classes")
    if size > MAX_VOCAB:
        raise DataError(f"{path}: token id {top - 1}: more than {MAX_VOCAB:,} ids")
    notes.append(f"token ids: {len(x):,} sequences of {x.shape[1]} tokens, vocabulary {size:,}")
    return x, y, names, notes


def _token_ids(a: np.ndarray, path: str, what: str) -> np.ndarray:
    if a.dtype.kind not in "iu":
        raise DataError(f"{path}: {what} holds {a.dtype} values; token ids are integers")
    if a.size and int(a.min()) < 0:
        raise DataError(f"{path}: {what} holds negative token ids (min {int(a.min())})")
    return a.astype(np.int64)


def load_token_classes(data: DataSection, seed: int) -> Dataset:
    """The ``Dataset`` of a ``task: sequence_classification`` recipe: an npz with token ids
    ``x: (N, T)`` and one class label per sequence ``y: (N,)`` (any label type, encoded as
    for classification). The test fraction is stratified on the labels."""
    from nncheck.data.build import encode_labels
    from nncheck.data.split import stratified_split

    notes: list[str] = []
    if data.image_size is not None:
        notes.append("data.image_size ignored: the task is sequence_classification")
    x_tr, y_tr, train_notes = _read_labelled(data.train, data)
    notes.extend(train_notes)
    if isinstance(data.test, FractionSplit):
        x_te = y_te = None
    else:
        if isinstance(data.test, PairSource):
            raise DataError(f"{data.test.images}: a sequence classifier's test set is an npz")
        x_te, y_te, test_notes = _read_labelled(data.test, data)
        notes.extend(f"test: {n}" for n in test_notes)
        if x_te.shape[1] != x_tr.shape[1]:
            raise DataError(
                f"{data.test}: test sequences have {x_te.shape[1]} tokens, train sequences"
                f" ({data.train}) have {x_tr.shape[1]}"
            )
    y_all = y_tr if y_te is None else np.concatenate([y_tr.astype(object), y_te.astype(object)])
    classes, y_enc, label_notes = encode_labels(y_all, data.classes)
    notes.extend(label_notes)
    if x_te is None or y_te is None:
        assert isinstance(data.test, FractionSplit)
        if len(x_tr) < 2:
            raise DataError(f"{data.train}: {len(x_tr)} sequence(s) cannot be split")
        tr_idx, te_idx = stratified_split(y_enc, data.test.fraction, seed)
        x_te, yraw_te, ye_te = x_tr[te_idx], y_tr[te_idx], y_enc[te_idx]
        x_tr, yraw_tr, ye_tr = x_tr[tr_idx], y_tr[tr_idx], y_enc[tr_idx]
        src_te = f"{data.train} (fraction {data.test.fraction:g}, seed {seed})"
    else:
        n = len(x_tr)
        tr_idx, te_idx = np.arange(n, dtype=np.int64), np.arange(len(x_te), dtype=np.int64)
        yraw_tr, yraw_te, ye_tr, ye_te = y_tr, y_te, y_enc[:n], y_enc[n:]
        src_te = str(data.test)
    vocab = int(max(x_tr.max(initial=0), x_te.max(initial=0))) + 1
    if data.pad_token is not None and data.pad_token >= vocab:
        raise DataError(f"data.pad_token: {data.pad_token} is not a token id of this data")
    notes.append(
        f"token ids: {len(x_tr) + len(x_te):,} sequences of {x_tr.shape[1]} tokens, ids"
        f" 0..{vocab - 1} (the factory receives vocab_size={vocab})"
    )
    return _token_dataset(
        "sequence_classification",
        Split(x_tr, ye_tr, x_tr, yraw_tr, str(data.train), tr_idx),
        Split(x_te, ye_te, x_te, yraw_te, src_te, te_idx),
        classes,
        data,
        notes,
        vocab_size=vocab,
    )


def _read_labelled(path: str, data: DataSection) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(token ids (n, T) int64, labels (n,), notes) of one npz."""
    if not str(path).lower().endswith(".npz"):
        raise DataError(
            f"{path}: a sequence classifier reads an .npz of token ids (x: (N, T) integers)"
            " and labels (y: (N,))"
        )
    named = data.target if isinstance(data.target, str) else None
    (x, y), (xkey, ykey) = read_npz_keys(
        str(path), [X_KEYS, Y_KEYS if named is None else (named,)], [True, True]
    )
    assert x is not None and y is not None
    x = _token_ids(x, str(path), f"key {xkey!r}")
    if x.ndim != 2 or x.shape[1] < 1:
        raise DataError(
            f"{path}: key {xkey!r} has shape {x.shape}; a sequence classifier needs token ids"
            " of shape (N, T)"
        )
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(
            f"{path}: key {ykey!r} has shape {y.shape}; one label per sequence is ({len(x)},)"
        )
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8", errors="replace")
    return x, y, [f"labels: key {ykey!r}"]
