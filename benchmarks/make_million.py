"""Write a synthetic-but-realistic 1,000,000 x 784 uint8 image dataset with planted problems.

The images are MNIST's (data/mnist, IDX) shifted by up to 2 pixels, brightness-scaled
(0.8-1.2) and noised (gaussian, 10 grey levels), each (source image, shift) pair used at
most once, so no two bulk images are copies of each other. Planted on top, with their
truth saved beside the arrays (``truth.npz``):

- exact duplicates inside train (a row copied over another),
- near duplicates inside train (a row copied with gaussian noise of 4 grey levels:
  ~0.1 x the median nearest-neighbour distance, the re-encoded copies data.near_duplicates
  is calibrated on),
- train/test leaks, exact and near (a train row copied, or copied with noise, into test),
- blank images (all zeros) in train.

Output (``OUT``, default ``/tmp/nncheck-million``): ``train_x.npy`` (900,000 x 28 x 28),
``test_x.npy`` (100,000 x 28 x 28), ``train_y.npy`` / ``test_y.npy`` (int64) as plain ``.npy``
files one can memory-map, plus ``shards/`` (the same train rows as 100,000-row ``.npy``
shards, with ``--shards``) and ``truth.npz``::

    python benchmarks/make_million.py [OUT] [--seed 0] [--train 900000] [--test 100000]

Writing goes through ``np.lib.format.open_memmap`` chunk by chunk: memory stays at a few
hundred MB whatever the size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHIFTS = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
CHUNK = 50_000
NOISE = 10.0  # grey levels of every bulk image's noise
NEAR_NOISE = 4.0  # grey levels added to a planted near copy
PLANTED = {"exact_dups": 2000, "near_dups": 5000, "exact_leaks": 1000, "near_leaks": 1000}
BLANKS = 500


def _shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Images moved by (dy, dx) pixels, the uncovered border filled with zeros."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[:, yd, xd] = images[:, ys, xs]
    return out


def _bulk(
    base: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` augmented images from distinct (source image, shift) pairs, with labels."""
    combos = rng.choice(len(base) * len(SHIFTS), size=n, replace=False)
    src, shift = combos // len(SHIFTS), combos % len(SHIFTS)
    out = np.empty((n, 28 * 28), np.uint8)
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        imgs = base[src[s:e]].astype(np.float32)
        moved = np.empty_like(imgs)
        for k, (dy, dx) in enumerate(SHIFTS):
            rows = np.flatnonzero(shift[s:e] == k)
            if len(rows):
                moved[rows] = _shift(imgs[rows], dy, dx)
        gain = rng.uniform(0.8, 1.2, size=(e - s, 1, 1)).astype(np.float32)
        moved = moved * gain + rng.normal(0.0, NOISE, size=moved.shape).astype(np.float32)
        out[s:e] = np.clip(np.rint(moved), 0, 255).reshape(e - s, -1).astype(np.uint8)
    return out, labels[src].astype(np.int64)


def _noisy(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0.0, NEAR_NOISE, size=rows.shape)
    return np.clip(np.rint(rows.astype(np.float32) + noise), 0, 255).astype(np.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="/tmp/nncheck-million")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=900_000)
    parser.add_argument("--test", type=int, default=100_000)
    parser.add_argument("--shards", action="store_true", help="also write train as shards")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from nncheck.data.idx import read_idx

    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    mnist = ROOT / "data" / "mnist"
    tr_img = read_idx(str(mnist / "train-images-idx3-ubyte.gz"))
    tr_lab = read_idx(str(mnist / "train-labels-idx1-ubyte.gz"), role="labels")
    te_img = read_idx(str(mnist / "t10k-images-idx3-ubyte.gz"))
    te_lab = read_idx(str(mnist / "t10k-labels-idx1-ubyte.gz"), role="labels")

    n_tr, n_te = args.train, args.test
    # stored as N x 28 x 28 images (so `nncheck run` audits them as images), written
    # through flat N x 784 views of the same memory maps
    train_file = np.lib.format.open_memmap(out / "train_x.npy", "w+", np.uint8, (n_tr, 28, 28))
    test_file = np.lib.format.open_memmap(out / "test_x.npy", "w+", np.uint8, (n_te, 28, 28))
    train_x, test_x = train_file.reshape(n_tr, 784), test_file.reshape(n_te, 784)
    x, train_y = _bulk(tr_img, tr_lab, n_tr, rng)
    train_x[:] = x
    del x
    x, test_y = _bulk(te_img, te_lab, n_te, rng)
    test_x[:] = x
    del x

    # planted rows: sources and targets drawn apart so no row is both
    p = PLANTED
    k_tr = p["exact_dups"] + p["near_dups"] + BLANKS
    k_src = p["exact_dups"] + p["near_dups"] + p["exact_leaks"] + p["near_leaks"]
    picks = rng.choice(n_tr, size=k_tr + k_src, replace=False)
    targets, sources = picks[:k_tr], picks[k_tr:]
    e, nd = p["exact_dups"], p["near_dups"]
    dup_dst, dup_src = targets[:e], sources[:e]
    near_dst, near_src = targets[e : e + nd], sources[e : e + nd]
    blanks = np.sort(targets[e + nd :])
    leak_src = sources[e + nd :]
    el = p["exact_leaks"]
    test_dst = rng.choice(n_te, size=len(leak_src), replace=False)
    leak_exact_test, leak_exact_train = test_dst[:el], leak_src[:el]
    leak_near_test, leak_near_train = test_dst[el:], leak_src[el:]

    train_x[dup_dst] = train_x[dup_src]
    train_y[dup_dst] = train_y[dup_src]
    train_x[near_dst] = _noisy(train_x[near_src], rng)
    train_y[near_dst] = train_y[near_src]
    train_x[blanks] = 0
    test_x[leak_exact_test] = train_x[leak_exact_train]
    test_y[leak_exact_test] = train_y[leak_exact_train]
    test_x[leak_near_test] = _noisy(train_x[leak_near_train], rng)
    test_y[leak_near_test] = train_y[leak_near_train]
    train_file.flush()
    test_file.flush()
    np.save(out / "train_y.npy", train_y)
    np.save(out / "test_y.npy", test_y)
    np.savez(
        out / "truth.npz",
        exact_dup_pairs=np.stack([dup_src, dup_dst], axis=1),
        near_dup_pairs=np.stack([near_src, near_dst], axis=1),
        blanks=blanks,
        exact_leaks=np.stack([leak_exact_test, leak_exact_train], axis=1),
        near_leaks=np.stack([leak_near_test, leak_near_train], axis=1),
    )
    if args.shards:
        shards = out / "shards"
        shards.mkdir(exist_ok=True)
        for i, s in enumerate(range(0, n_tr, 100_000)):
            np.save(shards / f"train-{i:03d}.npy", np.asarray(train_x[s : s + 100_000]))
    print(
        f"wrote {n_tr:,} train + {n_te:,} test images (784 uint8) to {out} in "
        f"{time.perf_counter() - start:.1f} s; planted {e} exact and {nd} near duplicates, "
        f"{BLANKS} blanks, {el} exact and {len(leak_near_test)} near leaks"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
