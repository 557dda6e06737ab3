"""Nearest neighbours and close pairs without an n x n distance matrix.

Near duplicates, near leakage, near label conflicts and kNN outlier scores all need
neighbours, and the obvious way (all pairwise distances) costs n^2 memory and time: 3.6e9
distances for MNIST's 60,000 training images. Two tools, both with memory bounded by a
chunk size:

- ``knn``: k nearest neighbours of each query row. Blocked BLAS products in a PCA
  projection (a few dozen dimensions, fitted on a seeded sample) keep each row's best
  ``k + extra`` candidates (``np.argpartition`` per block); their exact distances in the
  original space decide the final order. Used on samples (the typical nearest-neighbour
  distance) and small reference sets (outlier scores), where n_query x n_reference is small.

- ``RadiusIndex``: every pair closer than a radius, exactly. The reference rows are
  clustered (seeded k-means in the projection, ~sqrt(n) cells); a query only visits cells
  whose Voronoi half-space lies within the radius of it — the distance from the query to
  the bisector between its own cell's centre and another's is a lower bound on its
  distance to every member of that cell. A projection onto orthonormal PCA axes never
  lengthens a distance, so searching the projection with the full radius misses no pair;
  candidates are then confirmed with exact distances in the original space. Near pairs are
  far closer than typical neighbours, so a query visits one to three cells and MNIST's
  60,000 x 60,000 search touches a few percent of the pairs.

Everything is seeded; the same data and seed give the same neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 2048  # query rows per block of a blocked product
MAX_BLOCK_ENTRIES = 1 << 22  # entries of one block of distances (16 MiB of float32)
PAIR_CHUNK = 4096  # candidate pairs whose exact distance is computed at once


@dataclass(frozen=True)
class Projection:
    """x -> [(x - mean) @ basis, |residual|]: PCA coordinates plus the length of what the
    axes leave out, fitted on a sample.

    With orthonormal axes, |x - y|^2 = |P(x - y)|^2 + |R(x - y)|^2 >= |Px - Py|^2 +
    (|Rx| - |Ry|)^2, so distances between projected rows never exceed the true ones (a
    lower bound is what makes ``RadiusIndex`` exact). The residual coordinate keeps rows
    that differ mostly outside the leading axes (e.g. pure-noise images) apart.
    """

    mean: np.ndarray  # (d,) float32
    basis: np.ndarray | None  # (d, p) float32 with orthonormal columns; None = identity

    def __call__(self, x: np.ndarray, chunk: int = 8192) -> np.ndarray:
        x = _flat(x)
        if self.basis is None:
            return np.ascontiguousarray(x - self.mean, dtype=np.float32)
        p = self.basis.shape[1]
        shift = self.mean @ self.basis  # (x - mean) @ B without an (n, d) temporary
        mean64 = self.mean.astype(np.float64)
        out = np.empty((len(x), p + 1), np.float32)
        for s in range(0, len(x), chunk):
            xs = x[s : s + chunk].astype(np.float32, copy=False)
            coords = xs @ self.basis - shift
            out[s : s + chunk, :p] = coords
            # |x - mean|^2 - |coords|^2, accumulated in float64 against cancellation
            total = np.einsum("ij,ij->i", xs, xs, dtype=np.float64)
            total += mean64 @ mean64 - 2.0 * (xs @ self.mean).astype(np.float64)
            inside = np.einsum("ij,ij->i", coords, coords, dtype=np.float64)
            out[s : s + chunk, p] = np.sqrt(np.maximum(total - inside, 0.0))
        return out

    @property
    def dims(self) -> int:
        """Columns of a projected row."""
        return int(self.mean.shape[0] if self.basis is None else self.basis.shape[1] + 1)


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x.reshape(len(x), -1) if x.ndim != 2 else x


def fit_projection(
    x: np.ndarray, dims: int = 32, seed: int = 0, sample: int = 4096, power: int = 4
) -> Projection:
    """Leading PCA axes of a seeded sample of ``x`` (identity when it has <= ``dims`` columns).

    Found by seeded subspace iteration (``power`` rounds of X^T X Q, re-orthonormalised),
    which costs a few thin products instead of a d x d eigen-decomposition. Orthonormal axes
    are what matters: the projected distance is then a lower bound of the true one, which
    is what makes ``RadiusIndex`` exact; how close the axes are to the true PCA only
    affects speed.
    """
    x = _flat(x)
    n, d = x.shape
    rng = np.random.default_rng(seed)
    rows = x if n <= sample else x[np.sort(rng.choice(n, sample, replace=False))]
    rows = np.asarray(rows, dtype=np.float32)
    mean = rows.mean(axis=0, dtype=np.float64).astype(np.float32)
    if d <= dims:
        return Projection(mean, None)
    centred = rows - mean
    basis = np.linalg.qr(rng.standard_normal((d, dims + 8)).astype(np.float32))[0]
    for _ in range(power):
        basis = np.linalg.qr(centred.T @ (centred @ basis))[0]
    # rotate onto the principal axes of the subspace, largest variance first
    small = centred @ basis
    _, vecs = np.linalg.eigh((small.T @ small).astype(np.float64))
    basis = (basis @ vecs[:, ::-1][:, :dims].astype(np.float32)).astype(np.float32)
    basis = np.linalg.qr(basis)[0]  # re-orthonormalise in float32
    signs = np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(dims)])
    basis = basis * np.where(signs == 0, 1.0, signs).astype(np.float32)
    return Projection(mean, np.ascontiguousarray(basis, dtype=np.float32))


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x, dtype=np.float32)


def pair_distances(a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Exact Euclidean distances between rows ``a[ia]`` and ``b[ib]`` (float32, chunked)."""
    a, b = _flat(a), _flat(b)
    out = np.empty(len(ia), np.float32)
    for s in range(0, len(ia), PAIR_CHUNK):
        diff = a[ia[s : s + PAIR_CHUNK]].astype(np.float32, copy=False) - b[ib[s : s + PAIR_CHUNK]]
        out[s : s + PAIR_CHUNK] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def knn(
    query: np.ndarray,
    reference: np.ndarray,
    k: int,
    *,
    projection: Projection | None = None,
    exclude_self: bool = False,
    self_index: np.ndarray | None = None,
    extra: int = 16,
    projected: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest reference rows of each query row: (distances, indices), (nq, k).

    ``exclude_self`` means query row i is reference row i (the same array) and must not be
    its own neighbour; ``self_index`` generalises it: the reference row (or -1) that each
    query row is and must not be matched to. ``projected`` passes (query, reference)
    already projected, when the caller keeps them for several searches. Candidates come
    from the projection (``k + extra`` per row), final distances are exact; without a
    projection (or with an identity one) the search is exact.
    Rows with fewer than ``k`` neighbours available get ``inf`` / -1.
    """
    q, r = _flat(query), _flat(reference)
    nq, nr = len(q), len(r)
    dist = np.full((nq, k), np.inf, np.float32)
    idx = np.full((nq, k), -1, np.int64)
    if nq == 0 or nr == 0 or k == 0:
        return dist, idx
    if projection is None:
        projection = Projection(np.zeros(r.shape[1], np.float32), None)
    exact = projection.basis is None
    if self_index is None and exclude_self:
        self_index = np.arange(nq)
    pq, pr = projected if projected is not None else (projection(q), projection(r))
    pq = np.hstack([pq, np.ones((nq, 1), np.float32)])
    pr = np.hstack([-2.0 * pr, _sq_norms(pr)[:, None]]).astype(np.float32)
    excluding = self_index is not None
    c = min(nr, k + (0 if exact else extra) + (1 if excluding else 0))
    block = max(1, min(BLOCK, MAX_BLOCK_ENTRIES // max(nr, 1)))
    for s in range(0, nq, block):
        a = pq[s : s + block]
        d2 = a @ pr.T  # |r|^2 - 2 a.r = |a - r|^2 - |a|^2 (constant per row)
        if excluding:
            own = self_index[s : s + block]
            rows = np.flatnonzero(own >= 0)
            d2[rows, own[rows]] = np.inf
        if c < nr:
            cand = smallest(d2, c)
        else:
            cand = np.broadcast_to(np.arange(nr), (len(a), nr)).copy()
        qi = np.repeat(np.arange(s, s + len(a)), cand.shape[1])
        ex = pair_distances(q, r, qi, cand.ravel()).reshape(cand.shape)
        if excluding:
            ex[cand == self_index[s : s + block, None]] = np.inf
        order = np.lexsort((cand, ex), axis=1)[:, :k]  # by distance, ties by index
        m = order.shape[1]
        dist[s : s + block, :m] = np.take_along_axis(ex, order, axis=1)
        idx[s : s + block, :m] = np.take_along_axis(cand, order, axis=1)
    idx[~np.isfinite(dist)] = -1
    return dist, idx


def smallest(values: np.ndarray, c: int, groups: int = 16) -> np.ndarray:
    """Column indices of the ``c`` smallest entries of each row (unordered), (rows, c).

    ``np.argpartition`` over a whole (rows, n) block costs several ns per entry. Instead,
    split each row into ``groups`` contiguous slices of width w and take the elementwise
    minimum across slices (a fast SIMD reduction): entry j of the result is the minimum of
    the "column family" {j, j + w, j + 2w, ...}. The c smallest entries of a row lie in the c
    families with the smallest minima (a family holding one of them has its minimum below
    every entry outside the top c), so only c * groups entries per row are partitioned.
    Same result as ``argpartition``, up to ties.
    """
    rows, n = values.shape
    width = n // groups
    if width < 4 * c:
        return np.argpartition(values, c - 1, axis=1)[:, :c]
    body = values[:, : width * groups].reshape(rows, groups, width)
    best = np.argpartition(body.min(axis=1), c - 1, axis=1)[:, :c]  # (rows, c) families
    cols = (best[:, :, None] + width * np.arange(groups)).reshape(rows, c * groups)
    tail = np.arange(width * groups, n)
    if len(tail):
        cols = np.concatenate([cols, np.broadcast_to(tail, (rows, len(tail)))], axis=1)
    keep = np.argpartition(np.take_along_axis(values, cols, axis=1), c - 1, axis=1)[:, :c]
    return np.take_along_axis(cols, keep, axis=1)


class RadiusIndex:
    """All reference rows within a radius of each query row, exactly, in sub-quadratic time.

    Build once per reference set (``reference`` in the space distances are measured in),
    then ask ``pairs(query, radius)`` as often as needed (e.g. test images and their shifted
    copies). See the module docstring for why the cell pruning misses no pair.
    """

    def __init__(
        self,
        reference: np.ndarray,
        *,
        projection: Projection | None = None,
        projected: np.ndarray | None = None,
        seed: int = 0,
        cells: int | None = None,
        iterations: int = 8,
    ) -> None:
        self.reference = _flat(reference)
        n = len(self.reference)
        self.projection = projection or fit_projection(self.reference, seed=seed)
        self.points = projected if projected is not None else self.projection(self.reference)
        n_cells = cells if cells is not None else int(np.clip(np.sqrt(n), 1, 512))
        n_cells = max(1, min(n_cells, n))
        self.centres = _kmeans(self.points, n_cells, seed, iterations) if n else self.points[:0]
        self.centres_aug = _augment_centres(self.centres)
        self.cell = _nearest_centre(self.points, self.centres_aug)
        # reference rows sorted by cell, so each cell's members are one contiguous slice
        self.order = np.argsort(self.cell, kind="stable")
        counts = np.bincount(self.cell, minlength=len(self.centres))
        self.cell_start = np.r_[0, np.cumsum(counts)]
        self.pnorm = _sq_norms(self.points)
        sorted_points = self.points[self.order]
        self.aug = np.hstack([2.0 * sorted_points, -self.pnorm[self.order][:, None]])
        self.aug = np.ascontiguousarray(self.aug, dtype=np.float32)
        c = self.centres.astype(np.float64)
        cn = (c * c).sum(1)
        gap = np.sqrt(np.maximum(cn[:, None] + cn[None, :] - 2 * c @ c.T, 0))
        self.centre_gap = gap.astype(np.float32)
        # float32 rounding of the centre scores, as an absolute bound (generous: ~50x the
        # worst case of a (p + 1)-term float32 dot product); a reference row assigned to
        # a cell by rounding lies at most this far (in squared-distance terms) outside it
        self.score_slack = 1e-4 * (float(self.pnorm.max(initial=0.0)) + float(cn.max(initial=0.0)))

    def pairs(
        self,
        query: np.ndarray,
        radius: float,
        *,
        exclude_self: bool = False,
        max_per_query: int = 32,
        projected: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query row, reference row, distance) of every pair at distance <= ``radius``.

        Sorted by query row, then distance. ``exclude_self``: the query is the reference
        itself; pairs (i, i) are dropped and each unordered pair appears once (i < j).
        ``max_per_query`` caps the candidates a query keeps per cell (the closest ones in
        the projection), which bounds memory when huge clusters of near-identical rows exist.
        """
        q = _flat(query)
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
        if len(q) == 0 or len(self.reference) == 0 or not radius > 0:
            return empty
        pq = projected if projected is not None else self.projection(q)
        r_proj = float(radius) * (1 + 1e-5) + 1e-7  # slack for float rounding only
        visits_q, visits_c = self._visits(pq, r_proj)
        if len(visits_c) == 0:
            return empty
        qn = _sq_norms(pq)
        qa = np.hstack([pq, np.ones((len(pq), 1), np.float32)])
        r2 = r_proj * r_proj
        order = np.argsort(visits_c, kind="stable")
        visits_q, visits_c = visits_q[order], visits_c[order]
        starts = np.flatnonzero(np.r_[True, np.diff(visits_c) != 0])
        ends = np.r_[starts[1:], len(visits_c)]
        cand_q: list[np.ndarray] = []
        cand_r: list[np.ndarray] = []
        for st, en in zip(starts, ends):
            cell = int(visits_c[st])
            lo, hi = int(self.cell_start[cell]), int(self.cell_start[cell + 1])
            if hi == lo:
                continue  # a centre that kept no member
            members = self.order[lo:hi]
            ref = self.aug[lo:hi].T  # rows [2m, -|m|^2]: one product gives 2q.m - |m|^2
            top = float(self.pnorm[members].max())
            qs = visits_q[st:en]
            rows = max(1, MAX_BLOCK_ENTRIES // (hi - lo))
            for s in range(0, len(qs), rows):
                qq = qs[s : s + rows]
                score = qa[qq] @ ref  # = |q|^2 - |q - m|^2 (projected)
                # |q - m|^2 <= r^2  <=>  score >= |q|^2 - r^2; the tolerance covers the
                # rounding of the expanded form, which grows with the norms
                need = qn[qq] - (r2 + 1e-5 * (qn[qq] + top))
                hit = score >= need[:, None]
                if not np.count_nonzero(hit):
                    continue
                i, j = _nonzero2(hit)
                if exclude_self:
                    keep = qq[i] != members[j]
                    i, j = i[keep], j[keep]
                if len(i) > max_per_query and np.bincount(i).max() > max_per_query:
                    i, j = _cap_hits(i, j, score, max_per_query)
                qi, ri = qq[i], members[j]
                cand_q.append(qi)
                cand_r.append(ri)
        if not cand_q:
            return empty
        qi, ri = np.concatenate(cand_q), np.concatenate(cand_r)
        if exclude_self:
            lo, hi = np.minimum(qi, ri), np.maximum(qi, ri)
            key = np.unique(lo * len(self.reference) + hi)
            qi, ri = key // len(self.reference), key % len(self.reference)
        d = pair_distances(q, self.reference, qi, ri)
        ok = d <= radius
        qi, ri, d = qi[ok], ri[ok], d[ok]
        order = np.lexsort((ri, d, qi))
        return qi[order], ri[order], d[order]

    def candidates(self, query_projected: np.ndarray, radius: float) -> np.ndarray:
        """Per query row (given projected): how many reference rows ``pairs`` would compare
        it with, the members of every cell its bound cannot rule out. The search's cost is
        their sum: near n per query when the cells prune nothing (evenly spread data in
        many dimensions), a few cells' worth when they do (images)."""
        pq = np.asarray(query_projected, dtype=np.float32)
        if len(pq) == 0 or len(self.reference) == 0 or not radius > 0:
            return np.zeros(len(pq), np.int64)
        visits_q, visits_c = self._visits(pq, float(radius) * (1 + 1e-5) + 1e-7)
        members = np.diff(self.cell_start)[visits_c]
        return np.bincount(visits_q, weights=members, minlength=len(pq)).astype(np.int64)

    def _visits(self, pq: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
        """(query, cell) for every cell a query must search.

        A member m of cell B is at least as close to c_B as to the query's own centre c_A
        (up to rounding), so |q - m| >= (|q - c_B|^2 - |q - c_A|^2) / (2 |c_A - c_B|): the
        distance from q to the bisector. Cells where that bound exceeds r are skipped.
        """
        out_q, out_c = [], []
        qn = _sq_norms(pq)
        chunk = 8192
        for s in range(0, len(pq), chunk):
            score = _centre_scores(pq[s : s + chunk], self.centres_aug)
            home = score.argmin(axis=1)
            rows = np.arange(len(home))
            excess = score - score[rows, home][:, None]  # |q-c_B|^2 - |q-c_A|^2 >= 0
            slack = self.score_slack + 1e-4 * qn[s : s + chunk]
            limit = (2.0 * r) * self.centre_gap[home] + slack[:, None]
            qi, ci = _nonzero2(excess <= limit)
            out_q.append(qi + s)
            out_c.append(ci)
        return np.concatenate(out_q), np.concatenate(out_c)


def _nonzero2(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D mask; the flat form is several times faster on sparse masks."""
    flat = np.flatnonzero(mask)
    return np.divmod(flat, mask.shape[1])


def _cap_hits(
    i: np.ndarray, j: np.ndarray, score: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most ``cap`` hits (i, j) per row i: those with the highest score (closest)."""
    order = np.lexsort((-score[i, j], i))
    i, j = i[order], j[order]
    start = np.r_[0, np.flatnonzero(np.diff(i)) + 1]
    rank = np.arange(len(i)) - np.repeat(start, np.diff(np.r_[start, len(i)]))
    keep = rank < cap
    return i[keep], j[keep]


def _centre_scores(x: np.ndarray, centres_aug: np.ndarray) -> np.ndarray:
    """|c|^2 - 2 x.c for every row and centre (= |x - c|^2 - |x|^2), one float32 product."""
    return x @ centres_aug[:-1] + centres_aug[-1]


def _nearest_centre(x: np.ndarray, centres_aug: np.ndarray, chunk: int = 8192) -> np.ndarray:
    out = np.empty(len(x), np.int64)
    for s in range(0, len(x), chunk):
        out[s : s + chunk] = _centre_scores(x[s : s + chunk], centres_aug).argmin(axis=1)
    return out


def _augment_centres(centres: np.ndarray) -> np.ndarray:
    """(p + 1, k): -2 c as columns, then |c|^2 as the last row."""
    c = centres.astype(np.float32)
    return np.vstack([-2.0 * c.T, _sq_norms(c)[None, :]]).astype(np.float32)


def _kmeans(x: np.ndarray, k: int, seed: int, iterations: int, sample: int = 8192) -> np.ndarray:
    """Seeded Lloyd's k-means on a sample; it only needs balanced cells, not optimal ones."""
    rng = np.random.default_rng(seed)
    n = len(x)
    pts = x if n <= sample else x[np.sort(rng.choice(n, sample, replace=False))]
    pts = np.ascontiguousarray(pts, dtype=np.float32)
    centres = pts[np.sort(rng.choice(len(pts), k, replace=False))].copy()
    pn = _sq_norms(pts)
    for _ in range(iterations):
        d2 = pn[:, None] - 2.0 * (pts @ centres.T) + _sq_norms(centres)[None, :]
        assign = d2.argmin(axis=1)
        counts = np.bincount(assign, minlength=k)
        sums = np.stack([np.bincount(assign, pts[:, j], k) for j in range(pts.shape[1])], 1)
        filled = counts > 0
        centres[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
    return np.unique(centres, axis=0)
