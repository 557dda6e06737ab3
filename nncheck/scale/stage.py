"""The data stage's core findings over row sources larger than memory.

What is computed, and how exactly (docs/scale.md has the costs):

- exact duplicates inside a split and exact train/test leaks: every row's bytes hashed
  chunk by chunk (``nncheck.data.hashing.row_hashes``, in the same pass as the statistics)
  and grouped (``groups_of_hashes``, which compares rows sharing a hash byte by byte,
  reading only those rows again): exact.
- blank rows (one value in every cell): per chunk, exact.
- images (``image_shape``): each image's lowest and highest value, neighbouring-pixel
  correlation and spike strength, per chunk, exact (data.outliers' corrupted images).
- feature statistics and train/test shift: per-feature sums and sums of squares in
  float64, chunk by chunk: exact.
- near duplicates inside train and near train/test leaks: the rows are projected onto 32
  PCA axes fitted on a seeded sample (plus the residual length), chunk by chunk; the pairs
  within the radius are found by ``RadiusIndex`` on the projection (a lower bound of every
  distance, so no pair within the radius is missed) and confirmed with exact distances.
  The radius is ``near_ratio`` x the median nearest-neighbour distance of a seeded sample
  against a seeded reference sample: approximate (a sample's neighbours are farther than
  the whole set's, so the radius errs large). Pairs between exact copies are left to the
  exact findings; a query keeps at most ``max_per_query`` candidates per cell, so a row with
  more copies than that may miss a near pair (measured recall in benchmarks/). A search
  whose estimated cost passes ``SEARCH_BUDGET`` row comparisons (evenly spread tables,
  where the cells prune little) queries from a seeded subset of its rows, which the
  findings record (``near_queries``).

Near pairs inside the test split are searched the same way, in an index of the test rows.
Images shifted by a pixel (data.near_duplicates' shifted pairs) are not searched here.

The same functions run on Dask (``nncheck.scale.on_dask``): the per-chunk work (hashes,
statistics, blanks, projections) becomes one task per block of a dask.array over the same
files, and the small reductions stay here, so both paths give the same findings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from nncheck.data.hashing import groups_of_hashes, row_hashes
from nncheck.data.image_stats import image_row_stats
from nncheck.data.neighbors import Projection, RadiusIndex, fit_projection, knn
from nncheck.scale.sources import RowSource

CHUNK_ROWS = 65_536
NEAR_RATIO = 0.15  # data.near_duplicates' default
SCALE_QUERIES = 1000  # rows whose nearest-neighbour distance sets the scale
SCALE_REFERENCE = 50_000  # reference rows they are searched in
PROJECTION_SAMPLE = 8192
MAX_CELLS = 1024  # radius-index cells: ~sqrt(n); more cut pair work, fewer cut cell tests
SEARCH_THREADS = max(1, min(4, os.cpu_count() or 1))
# Row comparisons a near-pair search may make, each in the 33-coordinate projection: on 2
# cores ~7.6e8 a second on MNIST-like images and ~4.5e8 on a 30-feature table, so 25-45 s.
# Past it the search queries a seeded subset of the rows (against every reference row)
# and the findings say so: on evenly spread tables of ~30 features the cells prune nothing
# and every query compares with every row (see _planned_queries). 1,000,000 MNIST-like
# images need 5.2e9 for their train pairs.
SEARCH_BUDGET = 20_000_000_000
PROBE_QUERIES = 1000  # rows whose candidate counts estimate a search's cost


def search_budget() -> int:
    """``SEARCH_BUDGET``, or ``NNCHECK_SEARCH_BUDGET`` (row comparisons; a bigger machine
    can afford more, a test less)."""
    value = os.environ.get("NNCHECK_SEARCH_BUDGET", "").strip()
    if not value:
        return SEARCH_BUDGET
    try:
        budget = int(float(value))
    except ValueError:
        budget = -1
    if budget < 1:
        from nncheck.errors import UsageError

        raise UsageError(
            f"NNCHECK_SEARCH_BUDGET: expected a count of row comparisons, got {value!r}"
        )
    return budget


@dataclass
class ChunkStats:
    """Per-feature sums over the rows seen so far (float64), the blank rows and the rows'
    hashes."""

    n: int = 0
    total: np.ndarray | None = None
    squares: np.ndarray | None = None
    blanks: list[np.ndarray] = field(default_factory=list)
    hashes: list[np.ndarray] = field(default_factory=list)  # per chunk, every row's hash
    # images only: per chunk, image_row_stats (lowest, highest value, neighbour
    # correlation, spike strength), float32
    images: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def add(self, start: int, chunk: np.ndarray) -> None:
        self.n += len(chunk)
        s, q = _sums(chunk)
        self.total = s if self.total is None else self.total + s
        self.squares = q if self.squares is None else self.squares + q
        self.blanks.append(start + np.flatnonzero(chunk.min(axis=1) == chunk.max(axis=1)))

    def merge(self, other: ChunkStats) -> None:
        self.n += other.n
        for name in ("total", "squares"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs if mine is None else mine + theirs)
        self.blanks += other.blanks
        self.hashes += other.hashes
        self.images += other.images

    def image_stats(self) -> tuple[np.ndarray, ...] | None:
        """Every row's image statistics, concatenated; None when not computed."""
        if not self.images:
            return None
        return tuple(np.concatenate(v) for v in zip(*self.images))

    @property
    def mean(self) -> np.ndarray:
        return self.total / max(self.n, 1)

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.squares / max(self.n, 1) - self.mean**2, 0.0))


@dataclass(frozen=True)
class StageFindings:
    """What the streaming stage found; row positions are 0-based within their split."""

    n_train: int
    n_test: int
    train_duplicate_rows: np.ndarray  # train rows that repeat an earlier train row
    test_duplicate_rows: np.ndarray
    train_duplicate_of: np.ndarray  # for each of those, the first row of its copies
    test_duplicate_of: np.ndarray
    exact_leaks: np.ndarray  # (m, 2): test row, first identical train row
    blanks_train: np.ndarray
    blanks_test: np.ndarray
    near_pairs: np.ndarray  # (m, 2) train rows i < j, not identical, within the radius
    near_dist: np.ndarray
    test_near_pairs: np.ndarray  # the same inside the test split
    test_near_dist: np.ndarray
    near_leaks: np.ndarray  # (m, 2): test row, train row within the radius (not identical)
    near_leak_pairs: np.ndarray  # (m, 2): every such (test row, train row), by test row
    near_leak_dist: np.ndarray
    train_groups: np.ndarray  # per row: the id of its group of identical rows (both splits)
    test_groups: np.ndarray
    train_projected: np.ndarray  # per row: its 32 PCA coordinates + residual length
    test_projected: np.ndarray
    train_images: tuple[np.ndarray, ...] | None  # per row: image_row_stats, when images
    test_images: tuple[np.ndarray, ...] | None
    radius: float
    scale: float
    max_shift: float  # largest |mean difference| / pooled std over features
    shift_feature: int
    seconds: dict[str, float]
    # per near-pair search ("train", "leaks", "test"): (rows that queried, rows there are,
    # estimated row comparisons from every row); fewer rows query when that estimate is
    # over SEARCH_BUDGET (a seeded subset)
    near_queries: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def near_sampled(self) -> dict[str, tuple[int, int, int]]:
        """The searches that queried only a subset of their rows."""
        return {k: v for k, v in self.near_queries.items() if v[0] < v[1]}

    def summary(self) -> dict[str, Any]:
        return {
            "n_train": self.n_train,
            "n_test": self.n_test,
            "train_duplicate_rows": len(self.train_duplicate_rows),
            "test_duplicate_rows": len(self.test_duplicate_rows),
            "exact_leaks": len(self.exact_leaks),
            "blanks_train": len(self.blanks_train),
            "blanks_test": len(self.blanks_test),
            "near_pairs": len(self.near_pairs),
            "test_near_pairs": len(self.test_near_pairs),
            "near_leaks": len(self.near_leaks),
            "radius": self.radius,
            "scale": self.scale,
            "max_shift": self.max_shift,
            "near_queries": {k: list(v) for k, v in self.near_queries.items()},
        }


Mapper = Callable[[Callable[[int, np.ndarray], Any], RowSource, int], Iterator[Any]]


def local_map(fn: Callable[[int, np.ndarray], Any], src: RowSource, rows: int) -> Iterator[Any]:
    """``fn(start, chunk)`` for every chunk, in order, in this process."""
    for start, chunk in src.chunks(rows):
        yield fn(start, chunk)


def run_stage(
    train: RowSource,
    test: RowSource,
    *,
    seed: int = 0,
    near_ratio: float = NEAR_RATIO,
    chunk_rows: int = CHUNK_ROWS,
    mapper: Mapper = local_map,
    image_shape: tuple[int, ...] | None = None,
) -> StageFindings:
    """Exact duplicates, leaks, blanks, shift and near pairs of ``train`` and ``test``.

    ``mapper`` runs the per-chunk work (``local_map`` here, ``on_dask.dask_map`` on a
    cluster); everything after it is small (one value per row or per feature).
    ``image_shape`` (rows as stored images, e.g. (28, 28)) adds each image's corruption
    statistics (``nncheck.data.image_stats``) to the same pass.
    """
    import time

    from nncheck.blas import one_blas_thread

    clock: dict[str, float] = {}
    t0 = time.perf_counter()
    one_pass = partial(_stats_of, np.result_type(train.dtype, test.dtype), image_shape)
    st_tr, st_te = ChunkStats(), ChunkStats()
    for part in mapper(one_pass, train, chunk_rows):
        st_tr.merge(part)
    for part in mapper(one_pass, test, chunk_rows):
        st_te.merge(part)
    pooled = np.sqrt((st_tr.std**2 + st_te.std**2) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(pooled > 0, np.abs(st_tr.mean - st_te.mean) / pooled, 0.0)
    clock["hashes, statistics and blanks"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    hashes = np.concatenate(st_tr.hashes + st_te.hashes)
    groups = groups_of_hashes(hashes, list(train.parts) + list(test.parts))
    n_tr, n_te = len(train), len(test)
    g_tr, g_te = groups[:n_tr], groups[n_tr:]
    (dup_tr, of_tr), (dup_te, of_te), leaks = _exact(g_tr, g_te)
    clock["exact (group hashes)"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n_tr, size=min(n_tr, PROJECTION_SAMPLE), replace=False))
    projection = fit_projection(train.take(sample).astype(np.float32), seed=seed)
    p_tr = _project(projection, train, chunk_rows, mapper)
    p_te = _project(projection, test, chunk_rows, mapper)
    clock["projection"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with one_blas_thread():
        scale = _scale(train, g_tr, projection, p_tr, seed)
        r = near_ratio * scale if np.isfinite(scale) else 0.0
        x_tr = train.as_array()
        cells = int(np.clip(np.sqrt(n_tr), 1, MAX_CELLS))
        index = RadiusIndex(x_tr, projection=projection, projected=p_tr, seed=seed, cells=cells)
        clock["near: index"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        queries: dict[str, tuple[int, int, int]] = {}
        subset, queries["train"] = _planned_queries(index, p_tr, r, seed, "train")
        qi, ri, dist = _search(index, x_tr, p_tr, r, chunk_rows, within=True, subset=subset)
        keep = g_tr[qi] != g_tr[ri]
        near = np.stack([qi[keep], ri[keep]], axis=1)
        near_d = dist[keep]
        clock["near: train pairs"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        x_te = test.as_array()
        subset, queries["leaks"] = _planned_queries(index, p_te, r, seed, "leaks")
        lq, lr, ld = _search(index, x_te, p_te, r, chunk_rows, within=False, subset=subset)
        keep = g_te[lq] != g_tr[lr]
        lq, lr, ld = lq[keep], lr[keep], ld[keep]
        near_leaks = _first_per_query(lq, lr)
        clock["near: leaks"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        test_near, test_near_d = np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
        if n_te > 1:
            cells_te = int(np.clip(np.sqrt(n_te), 1, MAX_CELLS))
            index_te = RadiusIndex(
                x_te, projection=projection, projected=p_te, seed=seed, cells=cells_te
            )
            subset, queries["test"] = _planned_queries(index_te, p_te, r, seed, "test")
            tq, tr, td = _search(index_te, x_te, p_te, r, chunk_rows, within=True, subset=subset)
            keep = g_te[tq] != g_te[tr]
            test_near, test_near_d = np.stack([tq[keep], tr[keep]], axis=1), td[keep]
        clock["near: test pairs"] = time.perf_counter() - t0
    j = int(np.argmax(d)) if d.size else 0
    return StageFindings(
        n_train=n_tr,
        n_test=n_te,
        train_duplicate_rows=dup_tr,
        test_duplicate_rows=dup_te,
        train_duplicate_of=of_tr,
        test_duplicate_of=of_te,
        exact_leaks=leaks,
        blanks_train=np.concatenate(st_tr.blanks) if st_tr.blanks else np.zeros(0, np.int64),
        blanks_test=np.concatenate(st_te.blanks) if st_te.blanks else np.zeros(0, np.int64),
        near_pairs=near,
        near_dist=near_d,
        test_near_pairs=test_near,
        test_near_dist=test_near_d,
        near_leaks=near_leaks,
        near_leak_pairs=np.stack([lq, lr], axis=1),
        near_leak_dist=ld,
        train_groups=g_tr,
        test_groups=g_te,
        train_projected=p_tr,
        test_projected=p_te,
        train_images=st_tr.image_stats(),
        test_images=st_te.image_stats(),
        radius=float(r),
        scale=float(scale),
        max_shift=float(d[j]) if d.size else 0.0,
        shift_feature=j,
        seconds=clock,
        near_queries=queries,
    )


def _sums(chunk: np.ndarray, block: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-column sum and sum of squares, float64; small integers are summed exactly in
    int64 (no float64 copy of the chunk: 8x the bytes of uint8 images)."""
    d = chunk.shape[1]
    small_int = chunk.dtype.kind in "ui" and chunk.dtype.itemsize <= 2
    s = np.zeros(d, np.int64 if small_int else np.float64)
    q = np.zeros(d, np.int64 if small_int else np.float64)
    for i in range(0, len(chunk), block):
        b = chunk[i : i + block]
        if small_int:
            w = b.astype(np.int32)
            s += w.sum(axis=0, dtype=np.int64)
            q += (w * w).sum(axis=0, dtype=np.int64)
        else:
            w = b.astype(np.float64)
            s += w.sum(axis=0)
            q += np.einsum("ij,ij->j", w, w)
    return s.astype(np.float64), q.astype(np.float64)


def _planned_queries(
    index: RadiusIndex,
    projected: np.ndarray,
    r: float,
    seed: int,
    name: str,
) -> tuple[np.ndarray | None, tuple[int, int, int]]:
    """The rows that query a near-pair search: all of them (None), or a seeded subset when
    the whole search would compare more than ``SEARCH_BUDGET`` pairs of rows; and what
    ``StageFindings.near_queries`` records of it (queries, rows, estimated comparisons
    from every row).

    The cost is estimated from the candidate counts of ``PROBE_QUERIES`` seeded rows. On
    images the cells rule out most of the data (MNIST: a few thousand candidates a query),
    on a table of ~30 evenly spread features none (every row, so n^2 in all: 200,000 rows
    took 75 s, 2,000,000 would take hours). A subset of q queries still meets every
    reference row, so a near pair is found when either of its rows queries (about 2q/n of
    them inside a split, q/n of the leaks).
    """
    n = len(projected)
    if n == 0:
        return None, (0, 0, 0)
    rng = np.random.default_rng([seed, len(name), n])
    probe = np.sort(rng.choice(n, size=min(n, PROBE_QUERIES), replace=False))
    per_query = float(index.candidates(projected[probe], r).mean())
    work, budget = int(per_query * n), search_budget()
    m = n if work <= budget else int(min(n, max(PROBE_QUERIES, budget // max(per_query, 1.0))))
    if m == n:
        return None, (n, n, work)
    return np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64), (m, n, work)


def _search(
    index: RadiusIndex,
    query: np.ndarray,
    projected: np.ndarray,
    r: float,
    rows: int,
    *,
    within: bool,
    subset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``index.pairs`` for the query rows in chunks, on ``SEARCH_THREADS`` threads (NumPy's
    products and comparisons release the GIL); only the rows in ``subset`` when given.
    ``within``: the query is the indexed set; self pairs are dropped and each unordered
    pair kept once (i < j). Sorted by query row, then distance, as ``RadiusIndex.pairs``
    sorts."""
    from concurrent.futures import ThreadPoolExecutor

    n_queries = len(query) if subset is None else len(subset)

    def one(s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        e = min(n_queries, s + rows)
        if subset is None:
            qi, ri, d = index.pairs(query[s:e], r, projected=projected[s:e])
            qi = qi + s
        else:
            sel = subset[s:e]
            qi, ri, d = index.pairs(np.asarray(query[sel]), r, projected=projected[sel])
            qi = sel[qi]
        if within:
            keep = qi != ri
            qi, ri, d = qi[keep], ri[keep], d[keep]
            qi, ri = np.minimum(qi, ri), np.maximum(qi, ri)
        return qi, ri, d

    with ThreadPoolExecutor(max_workers=SEARCH_THREADS) as pool:
        parts = list(pool.map(one, range(0, n_queries, rows)))
    if not parts:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0, np.float32)
    qi, ri, d = (np.concatenate(v) for v in zip(*parts))
    order = np.lexsort((ri, d, qi))
    qi, ri, d = qi[order], ri[order], d[order]
    if within and len(qi):  # a pair found from both ends: keep it once
        first = np.r_[True, (qi[1:] != qi[:-1]) | (ri[1:] != ri[:-1])]
        qi, ri, d = qi[first], ri[first], d[first]
    return qi, ri, d


def _stats_of(
    dtype: np.dtype, image_shape: tuple[int, ...] | None, start: int, chunk: np.ndarray
) -> ChunkStats:
    """One chunk's sums, blanks and row hashes (in both splits' common ``dtype``, so that
    uint8 3 and float 3.0 hash alike), and for images their corruption statistics: the one
    pass over the data's bytes."""
    st = ChunkStats()
    st.add(start, chunk)
    st.hashes.append(row_hashes(chunk.astype(dtype, copy=False)))
    if image_shape is not None:
        stats = image_row_stats(chunk.reshape(len(chunk), *image_shape))
        if stats is not None:
            st.images.append(tuple(v.astype(np.float32) for v in stats))
    return st


def _project(projection: Projection, src: RowSource, rows: int, mapper: Mapper) -> np.ndarray:
    def one(_: int, chunk: np.ndarray) -> np.ndarray:
        return projection(chunk.astype(np.float32))

    parts = list(mapper(one, src, rows))
    return np.concatenate(parts) if parts else np.zeros((0, projection.dims), np.float32)


Repeats = tuple[np.ndarray, np.ndarray]


def _exact(g_tr: np.ndarray, g_te: np.ndarray) -> tuple[Repeats, Repeats, np.ndarray]:
    """Per split, the rows repeating an earlier row and that first copy's row; and
    (test row, first train copy) for every exact leak."""

    def repeats(g: np.ndarray) -> Repeats:
        _, first, inverse = np.unique(g, return_index=True, return_inverse=True)
        seen = np.zeros(len(g), bool)
        seen[first] = True
        rows = np.flatnonzero(~seen)
        return rows, first[inverse[rows]].astype(np.int64)

    size = int(max(g_tr.max(initial=-1), g_te.max(initial=-1))) + 1
    first_train = np.full(size, -1, np.int64)
    first_train[g_tr[::-1]] = np.arange(len(g_tr) - 1, -1, -1)
    hit = first_train[g_te]
    rows = np.flatnonzero(hit >= 0)
    return repeats(g_tr), repeats(g_te), np.stack([rows, hit[rows]], axis=1)


def _scale(
    train: RowSource, groups: np.ndarray, projection: Projection, p_tr: np.ndarray, seed: int
) -> float:
    """Median distance from a seeded sample of distinct rows to their nearest other row in
    a seeded reference sample (an estimate of data.near_duplicates' typical distance)."""
    _, firsts = np.unique(groups, return_index=True)
    rng = np.random.default_rng(seed + 1)
    ref = np.sort(rng.choice(firsts, size=min(len(firsts), SCALE_REFERENCE), replace=False))
    queries = np.sort(rng.choice(ref, size=min(len(ref), SCALE_QUERIES), replace=False))
    if len(ref) < 2:
        return float("nan")
    own = np.searchsorted(ref, queries)
    dist, _ = knn(
        train.take(queries),
        train.take(ref),
        1,
        projection=projection,
        self_index=own,
        projected=(p_tr[queries], p_tr[ref]),
    )
    d = dist[:, 0]
    d = d[np.isfinite(d) & (d > 0)]
    return float(np.median(d)) if d.size else float("nan")


def _first_per_query(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """One (query, reference) pair per query: its first (closest, as sorted) match."""
    if not len(q):
        return np.zeros((0, 2), np.int64)
    first = np.r_[True, q[1:] != q[:-1]]
    return np.stack([q[first], r[first]], axis=1)
