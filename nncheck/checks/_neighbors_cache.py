"""Row identity and neighbours shared by the data checks, computed once per run.

``data.duplicates``, ``data.leakage``, ``data.label_conflicts``, ``data.near_duplicates`` and
``data.outliers`` all look at the same two things: which rows are identical (hashing) and
which rows are close (neighbours). Each piece is computed on first use and kept in
``ctx.memo``, so running all five costs about as much as running the most expensive one.

The space distances are measured in is chosen here, once, and does not depend on the
recipe's normalization (a forgotten normalization must not hide a near duplicate):
images are divided by one global scale (their robust maximum: 255 for MNIST, 16 for
digits), so pixels keep their relative weights; tables are centred and scaled per feature
with median and IQR (a unit error in one row must not squash the feature for every other
row).

"Near" is relative to the data: a pair is near when its distance is at most ``near_ratio``
times the median nearest-neighbour distance among distinct training rows (cleanlab uses
0.13). The default 0.15 was measured (benchmarks/data_stage.py): on MNIST the closest
honest pair of distinct images is 0.195 x the median (train-train, also with 1-pixel
shifts) and 0.197 (test-train), while re-encoded copies (rounded to multiples of 8 or 16
grey levels, +-1 level) are <= 0.08 and copies with gaussian noise of sigma 5 grey levels
<= 0.11. Closest honest pairs elsewhere: digits 0.22 as a table, 0.33 as 8x8 images;
diabetes 0.34, iris 0.37 (besides its one exact pair), breast cancer 0.48, wine > 0.6.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from nncheck.blas import one_blas_thread
from nncheck.checks.context import Context
from nncheck.data.dataset import Dataset, Split
from nncheck.data.hashing import duplicate_groups, joint_row_groups
from nncheck.data.neighbors import Projection, RadiusIndex, fit_projection, knn

T = TypeVar("T")

NEAR_RATIO = 0.15
SCALE_QUERIES = 1000  # distinct training rows whose nearest-neighbour distance sets the scale
PROJECTION_DIMS = 32
SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # 1-pixel shifts tried for image leakage
WITHIN_SHIFTS = (1, 3)  # right and down (1-based into SHIFTS): enough inside one split


# --------------------------------------------------------------------------- space


@dataclass(frozen=True)
class Space:
    """Both splits as (n, d) rows in the space distances are measured in, up to ``unit``.

    Images stay as loaded (a flat view of ``x_raw``, no float copy of 70,000 x 784 pixels);
    a distance computed on these rows divided by ``unit`` is the distance in the described
    space. Tables are rescaled into a float32 copy (``unit`` 1).
    """

    train: np.ndarray
    test: np.ndarray
    unit: float
    description: str


def space(ctx: Context) -> Space:
    return ctx.memo("neighbors.space", lambda: _space(ctx.dataset))


def _space(ds: Dataset) -> Space:
    tr = _flat(ds.train.x_raw)
    te = _flat(ds.test.x_raw)
    if ds.is_image:
        unit = _image_scale(ds.train.x_raw, tr)
        if tr.dtype.kind == "f" and not (np.isfinite(tr).all() and np.isfinite(te).all()):
            tr, te = _finite(tr.astype(np.float32)), _finite(te.astype(np.float32))
        if tr.dtype != te.dtype:
            tr, te = tr.astype(np.float32), te.astype(np.float32)
        return Space(tr, te, unit, f"pixels / {unit:g}")
    with np.errstate(over="ignore"):
        centre, spread = _robust_scale(tr.astype(np.float32))
    with np.errstate(over="ignore", invalid="ignore"):
        # cast before cleaning: a raw 1e300 is finite in float64 but inf in float32
        tr = _finite(((tr - centre) / spread).astype(np.float32))
        te = _finite(((te - centre) / spread).astype(np.float32))
    return Space(tr, te, 1.0, "features centred on their median and divided by their IQR / 1.349")


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind == "b":
        x = x.astype(np.uint8)
    return x.reshape(len(x), -1)


def _finite(x: np.ndarray) -> np.ndarray:
    """NaN/inf (reported by data.integrity) replaced by 0, the centre of the space."""
    bad = ~np.isfinite(x)
    if bad.any():
        x = np.where(bad, 0.0, x).astype(x.dtype)
    return x


def _image_scale(raw: np.ndarray, flat: np.ndarray) -> float:
    """The images' full range: the 99th percentile of per-image maxima (255 for MNIST, 16
    for digits), so a few spiked images cannot set it."""
    if len(flat) == 0:
        return 1.0
    if flat.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            peak = np.nanmax(np.where(np.isfinite(flat), np.abs(flat), np.nan), axis=1)
        peak = peak[np.isfinite(peak)]
    else:
        peak = np.abs(flat.max(axis=1).astype(np.float64))
    scale = float(np.percentile(peak, 99)) if peak.size else 1.0
    return scale if scale > 0 else 1.0


def _robust_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(x) == 0:
        return np.zeros(x.shape[1], np.float32), np.ones(x.shape[1], np.float32)
    clean = np.where(np.isfinite(x), x, np.nan)
    with np.errstate(all="ignore"):
        q25, q50, q75 = np.nanpercentile(clean, [25, 50, 75], axis=0)
        spread = (q75 - q25) / 1.349
        std = np.nanstd(clean, axis=0)
        lo, hi = np.nanmin(clean, axis=0), np.nanmax(clean, axis=0)
        binary = np.all((clean == lo) | (clean == hi) | np.isnan(clean), axis=0) & (hi > lo)
    # IQR 0 (binary or mostly-constant features): the standard deviation; constant: 1. A
    # two-valued feature with IQR 0 (a one-hot column of a rare value) gets half its step
    # instead: its std would make one flip of a 1-in-1000 value 30 units long, and every
    # row holding a rare category an outlier.
    fallback = np.where(binary, (hi - lo) / 2, np.where(std > 0, std, 1.0))
    spread = np.where(spread > 0, spread, fallback)
    q50 = np.where(np.isfinite(q50), q50, 0.0)
    return q50.astype(np.float32), np.asarray(spread, dtype=np.float32)


# --------------------------------------------------------------------------- exact


@dataclass(frozen=True)
class Exact:
    """Row identity from the bytes of the rows as loaded: ``x_raw``, or for tables the raw
    rows (``Split.x_identity``: categories as codes, no identifier columns), so that two
    different rare values bucketed into one ``<rare>`` feature are not a duplicate.

    A table whose names or ids were left out (``Split.record_keys``) also compares them:
    two passengers with the same class, age and fare but different names are two records
    that look alike, not a copy; they are counted in ``lookalikes`` instead.
    """

    train_groups: np.ndarray  # group id per train row (identical rows share it)
    test_groups: np.ndarray
    test_in_train: np.ndarray  # per test row: first identical train row, or -1
    joint_groups: np.ndarray  # group ids over train rows then test rows
    # rows whose features equal another row's of a different record (train, test, and
    # test rows equal to a train row of a different record), when record keys exist
    lookalikes: tuple[int, int, int] | None = None

    def duplicates(self, split: str) -> list[np.ndarray]:
        groups = self.train_groups if split == "train" else self.test_groups
        return duplicate_groups(groups)


def exact(ctx: Context) -> Exact:
    return ctx.memo("neighbors.exact", lambda: _exact(ctx.dataset))


def _exact(ds: Dataset) -> Exact:
    tr, te = ds.train.x_raw, ds.test.x_raw
    if ds.train.x_identity is not None and ds.test.x_identity is not None:
        tr, te = ds.train.x_identity, ds.test.x_identity
    keys_tr, keys_te = ds.train.record_keys, ds.test.record_keys
    if keys_tr is None or keys_te is None:
        return _exact_groups(joint_row_groups([tr, te]), len(tr))
    by_features = _exact_groups(joint_row_groups([tr, te]), len(tr))
    tr = np.column_stack([tr, keys_tr.astype(np.float64)])
    te = np.column_stack([te, keys_te.astype(np.float64)])
    ex = _exact_groups(joint_row_groups([tr, te]), len(tr))
    lookalikes = (
        _redundant(by_features.train_groups) - _redundant(ex.train_groups),
        _redundant(by_features.test_groups) - _redundant(ex.test_groups),
        int(np.count_nonzero(by_features.test_in_train >= 0))
        - int(np.count_nonzero(ex.test_in_train >= 0)),
    )
    return Exact(ex.train_groups, ex.test_groups, ex.test_in_train, ex.joint_groups, lookalikes)


def _exact_groups(joint: np.ndarray, n: int) -> Exact:
    """Within-split ids from the joint ones (renumbered to first occurrence)."""
    train_groups = _renumber(joint[:n])
    test_groups = _renumber(joint[n:])
    first_train = np.full(int(joint.max(initial=-1)) + 1, -1, np.int64)
    first_train[joint[:n][::-1]] = np.arange(n - 1, -1, -1)
    test_in_train = first_train[joint[n:]] if len(joint) > n else np.zeros(0, np.int64)
    return Exact(train_groups, test_groups, test_in_train, joint)


def _redundant(groups: np.ndarray) -> int:
    """Rows beyond the first of each group."""
    return int(groups.size - np.unique(groups).size)


def _renumber(groups: np.ndarray) -> np.ndarray:
    if groups.size == 0:
        return groups.astype(np.int64)
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class Geometry:
    """The projection, each split's distinct rows, and the typical neighbour distance."""

    projection: Projection
    train_proj: np.ndarray  # projected train rows (all rows)
    test_proj: np.ndarray
    train_reps: np.ndarray  # first train row of each exact group (distinct rows)
    test_reps: np.ndarray
    scale: float  # median distance from a distinct train row to its nearest other one
    scale_rows: int  # how many rows that median is over


def geometry(ctx: Context) -> Geometry:
    return ctx.memo("neighbors.geometry", lambda: _one_thread(_geometry, ctx))


def _one_thread(fn: Callable[..., T], *args: Any) -> T:
    """Neighbour searches make many small products: one BLAS thread is faster for them."""
    with one_blas_thread():
        return fn(*args)


def _geometry(ctx: Context) -> Geometry:
    sp, ex = space(ctx), exact(ctx)
    proj = fit_projection(sp.train, dims=PROJECTION_DIMS, seed=ctx.seed)
    train_proj = proj(sp.train)
    test_proj = proj(sp.test)
    train_reps = _firsts(ex.train_groups)
    test_reps = _firsts(ex.test_groups)
    scale, rows = float("nan"), 0
    if len(train_reps) >= 2:
        rng = np.random.default_rng(ctx.seed + 7)
        pick = np.arange(len(train_reps))
        if len(pick) > SCALE_QUERIES:
            pick = np.sort(rng.choice(len(pick), SCALE_QUERIES, replace=False))
        reps = train_reps
        dist, _ = knn(
            sp.train[reps[pick]],
            _take(sp.train, reps),
            1,
            projection=proj,
            self_index=pick,
            projected=(train_proj[reps[pick]], _take(train_proj, reps)),
        )
        d = dist[:, 0]
        d = d[np.isfinite(d) & (d > 0)]
        if d.size:
            scale, rows = float(np.median(d)), int(d.size)
    return Geometry(proj, train_proj, test_proj, train_reps, test_reps, scale, rows)


def _take(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``x[rows]`` without a copy when ``rows`` is every row in order (no duplicates)."""
    return x if len(rows) == len(x) else x[rows]


def _firsts(groups: np.ndarray) -> np.ndarray:
    if groups.size == 0:
        return np.zeros(0, np.int64)
    _, first = np.unique(groups, return_index=True)
    return np.sort(first).astype(np.int64)


def radius(ctx: Context, ratio: float) -> float:
    """The near-duplicate distance for ``ratio``; 0 when the data has no usable scale."""
    scale = geometry(ctx).scale
    return float(ratio * scale) if np.isfinite(scale) and scale > 0 else 0.0


def _index(ctx: Context, split: str) -> RadiusIndex:
    def build() -> RadiusIndex:
        sp, geo = space(ctx), geometry(ctx)
        reps = geo.train_reps if split == "train" else geo.test_reps
        x = sp.train if split == "train" else sp.test
        proj = geo.train_proj if split == "train" else geo.test_proj
        return RadiusIndex(
            _take(x, reps), projection=geo.projection, projected=_take(proj, reps), seed=ctx.seed
        )

    return ctx.memo(f"neighbors.index.{split}", lambda: _one_thread(build))


# --------------------------------------------------------------------------- near pairs


@dataclass(frozen=True)
class Pairs:
    """Near pairs of rows (row positions in their splits) with their distances."""

    a: np.ndarray
    b: np.ndarray
    dist: np.ndarray
    shift: np.ndarray | None = None  # per pair: 1 + index into SHIFTS, 0 = unshifted

    def __len__(self) -> int:
        return int(len(self.a))


def near_pairs(ctx: Context, split: str, ratio: float) -> Pairs:
    """Distinct rows of one split closer than ``ratio`` x the typical neighbour distance.

    Exact copies are not near pairs (``data.duplicates`` counts them); rows are each
    group's first row. Sorted by distance.
    """
    return ctx.memo(
        f"neighbors.near.{split}.{ratio!r}", lambda: _one_thread(_near_pairs, ctx, split, ratio)
    )


def _near_pairs(ctx: Context, split: str, ratio: float) -> Pairs:
    r = radius(ctx, ratio)
    geo = geometry(ctx)
    reps = geo.train_reps if split == "train" else geo.test_reps
    if r <= 0 or len(reps) < 2:
        return _empty_pairs()
    index = _index(ctx, split)
    proj = _take(geo.train_proj if split == "train" else geo.test_proj, reps)
    qi, ri, d = index.pairs(index.reference, r, exclude_self=True, projected=proj)
    found = [(qi, ri, d, np.zeros(len(qi), np.int64))]
    shape = ctx.dataset.input_shape
    if ctx.dataset.is_image and _spatial_axes(shape) is not None:
        # a copy shifted right of row a is found from a shifted right, or from the copy
        # shifted left: within one split, two directions cover all four
        for k in WITHIN_SHIFTS:
            dy, dx = SHIFTS[k - 1]
            qi, ri, d = index.pairs(shift_images(index.reference, shape, dy, dx), r)
            keep = qi != ri  # a blank image shifted is itself
            found.append((qi[keep], ri[keep], d[keep], np.full(int(keep.sum()), k, np.int64)))
    qi, ri, d, sh = (np.concatenate(v) for v in zip(*found))
    lo, hi = np.minimum(qi, ri), np.maximum(qi, ri)
    # one entry per pair: the closest way (unshifted first on ties)
    order = np.lexsort((sh, d, hi, lo))
    lo, hi, d, sh = lo[order], hi[order], d[order], sh[order]
    first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])] if len(lo) else np.zeros(0, bool)
    lo, hi, d, sh = lo[first], hi[first], d[first], sh[first]
    split_data = ctx.dataset.train if split == "train" else ctx.dataset.test
    same = _same_record(split_data, reps[lo], split_data, reps[hi])
    lo, hi, d, sh = lo[same], hi[same], d[same], sh[same]
    order = np.lexsort((reps[hi], reps[lo], d))
    return Pairs(reps[lo][order], reps[hi][order], d[order], sh[order])


def _same_record(a: Split, rows_a: np.ndarray, b: Split, rows_b: np.ndarray) -> np.ndarray:
    """Per pair: can the two rows be one record? False only when record keys (names, ids
    left out of a table's features) say they are two (see ``Exact``)."""
    if a.record_keys is None or b.record_keys is None:
        return np.ones(len(rows_a), dtype=bool)
    return a.record_keys[rows_a] == b.record_keys[rows_b]


def _empty_pairs() -> Pairs:
    e = np.zeros(0, np.int64)
    return Pairs(e, e, np.zeros(0, np.float32))


@dataclass(frozen=True)
class Leaks:
    """Test rows that also occur in train: exactly (bytes) or nearly (distance)."""

    exact_test: np.ndarray  # test rows with an identical train row
    exact_train: np.ndarray  # that train row
    near: Pairs  # a = test row, b = nearest train row within the radius, shift used


def leaks(ctx: Context, ratio: float) -> Leaks:
    return ctx.memo(f"neighbors.leaks.{ratio!r}", lambda: _one_thread(_leaks, ctx, ratio))


def _leaks(ctx: Context, ratio: float) -> Leaks:
    ex = exact(ctx)
    exact_test = np.flatnonzero(ex.test_in_train >= 0)
    exact_train = ex.test_in_train[exact_test]
    r = radius(ctx, ratio)
    geo = geometry(ctx)
    rest = np.flatnonzero(ex.test_in_train < 0)
    if r <= 0 or len(rest) == 0 or len(geo.train_reps) == 0:
        return Leaks(exact_test, exact_train, _empty_pairs())
    sp, index = space(ctx), _index(ctx, "train")
    reps = geo.train_reps
    found_q, found_r, found_d, found_s = [], [], [], []
    qi, ri, d = index.pairs(_take(sp.test, rest), r, projected=_take(geo.test_proj, rest))
    found_q.append(rest[qi]), found_r.append(reps[ri]), found_d.append(d)
    found_s.append(np.zeros(len(qi), np.int64))
    shape = ctx.dataset.input_shape
    if ctx.dataset.is_image and _spatial_axes(shape) is not None:
        for k, (dy, dx) in enumerate(SHIFTS, start=1):
            moved = shift_images(_take(sp.test, rest), shape, dy, dx)
            qi, ri, d = index.pairs(moved, r)
            found_q.append(rest[qi]), found_r.append(reps[ri]), found_d.append(d)
            found_s.append(np.full(len(qi), k, np.int64))
    q, rr, d, s = (np.concatenate(v) for v in (found_q, found_r, found_d, found_s))
    same = _same_record(ctx.dataset.test, q, ctx.dataset.train, rr)
    q, rr, d, s = q[same], rr[same], d[same], s[same]
    # keep each test row's closest match (unshifted wins ties)
    order = np.lexsort((s, rr, d, q))
    q, rr, d, s = q[order], rr[order], d[order], s[order]
    first = np.r_[True, q[1:] != q[:-1]] if len(q) else np.zeros(0, bool)
    near = Pairs(q[first], rr[first], d[first], s[first])
    return Leaks(exact_test, exact_train, near)


def _spatial_axes(shape: tuple[int, ...]) -> tuple[int, int] | None:
    """Axes (of one sample) holding height and width: (H, W), (C, H, W) or (H, W, C)."""
    if len(shape) == 2:
        return (0, 1)
    if len(shape) == 3:
        if shape[0] in (1, 3, 4) and shape[1] > 4:
            return (1, 2)
        if shape[-1] in (1, 3, 4):
            return (0, 1)
    return None


def shift_images(flat: np.ndarray, shape: tuple[int, ...], dy: int, dx: int) -> np.ndarray:
    """Images moved by (dy, dx) pixels, the uncovered edge filled with zeros."""
    axes = _spatial_axes(shape)
    assert axes is not None
    imgs = flat.reshape(len(flat), *shape)
    out = np.zeros_like(imgs)
    ay, ax = axes[0] + 1, axes[1] + 1

    def span(step: int) -> tuple[slice, slice]:
        if step > 0:
            return slice(step, None), slice(None, -step)
        if step < 0:
            return slice(None, step), slice(-step, None)
        return slice(None), slice(None)

    (dst_y, src_y), (dst_x, src_x) = span(dy), span(dx)
    dst = [slice(None)] * imgs.ndim
    src = [slice(None)] * imgs.ndim
    dst[ay], src[ay], dst[ax], src[ax] = dst_y, src_y, dst_x, src_x
    out[tuple(dst)] = imgs[tuple(src)]
    return out.reshape(len(flat), -1)


# --------------------------------------------------------------------------- reporting


def source_rows(split: Split, positions: np.ndarray | list[int]) -> list[int]:
    """Source-file row numbers of split positions (what a person can look up)."""
    return [int(split.indices[int(p)]) for p in positions]


def pct(count: int, total: int) -> str:
    """A share for messages: one decimal, or two significant digits when tiny but not 0."""
    if not total:
        return "0%"
    share = 100.0 * count / total
    return f"{share:.2g}%" if 0 < share < 0.1 else f"{share:.1f}%"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def shift_name(code: int) -> str:
    if code <= 0:
        return "unshifted"
    dy, dx = SHIFTS[code - 1]
    parts = []
    if dy:
        parts.append(f"{abs(dy)} px {'down' if dy > 0 else 'up'}")
    if dx:
        parts.append(f"{abs(dx)} px {'right' if dx > 0 else 'left'}")
    return "shifted " + " ".join(parts)


def in_units(ctx: Context, distance: float) -> float:
    """A distance computed on ``Space`` rows, in the units of the described space."""
    return float(distance) / space(ctx).unit


def near_metrics(ctx: Context, ratio: float) -> dict[str, Any]:
    geo = geometry(ctx)
    return {
        "near_ratio": ratio,
        "median_nn_distance": _round(in_units(ctx, geo.scale)),
        "near_radius": _round(in_units(ctx, radius(ctx, ratio))),
        "distance_space": space(ctx).description,
    }


def _round(v: float) -> float | None:
    return float(f"{v:.6g}") if np.isfinite(v) else None
