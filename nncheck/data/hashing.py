"""Exact row identity in linear time: which rows hold the very same values.

Duplicates, exact leakage and exact label conflicts all ask one question — which rows are
identical — and answering it by comparing rows pairwise is quadratic. Here each row's bytes
(as loaded, in one common dtype) are read as 64-bit words and hashed with a seeded
multiply-and-add over the words (vectorized, no Python loop over rows); rows are grouped by
hash with one sort, and every group is then verified word by word against its first row, so
a hash collision can never merge two different rows (colliding rows fall back to an exact
sort of their bytes). Memory is bounded by ``chunk`` rows at a time.

Float rows are compared by value bits after folding ``-0.0`` into ``0.0`` (``x + 0.0``):
the two zeros are equal numbers, and a CSV round-trip may produce either. NaNs are equal
when their bits are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CHUNK_ROWS = 8192
_SEED = 0x9E3779B97F4A7C15  # fixed: group ids must not depend on anything but the data


def _as_words(x: np.ndarray) -> np.ndarray:
    """``x`` as a C-contiguous (n, w) uint64 array holding each row's bytes (zero-padded)."""
    x = np.asarray(x)
    n = int(x.shape[0])
    if x.dtype.kind == "f":
        x = x + x.dtype.type(0.0)  # -0.0 -> 0.0 (a copy: never touches the caller's array)
    elif x.dtype.kind == "b":
        x = x.astype(np.uint8)
    elif x.dtype.kind not in "iu":
        raise TypeError(f"rows of dtype {x.dtype} cannot be hashed as numbers")
    flat = np.ascontiguousarray(x.reshape(n, int(np.prod(x.shape[1:], dtype=np.int64))))
    nbytes = flat.shape[1] * flat.dtype.itemsize
    raw = flat.view(np.uint8).reshape(n, nbytes)
    pad = (-nbytes) % 8
    if pad or nbytes == 0:
        raw = np.concatenate([raw, np.zeros((n, pad or 8), np.uint8)], axis=1)
    return raw.view(np.uint64)


def _common(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cast two arrays to one dtype so equal values have equal bytes (int 3 == float 3.0)."""
    if a.dtype == b.dtype:
        return a, b
    dtype = np.result_type(a.dtype, b.dtype)
    return a.astype(dtype), b.astype(dtype)


def _hash_words(words: np.ndarray, chunk: int = CHUNK_ROWS) -> np.ndarray:
    """A 64-bit hash per row: sum of word * odd random multiplier (mod 2**64), then mixed."""
    n, w = words.shape
    rng = np.random.default_rng(_SEED & 0xFFFFFFFF)
    mult = rng.integers(0, 2**63, size=w, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    out = np.empty(n, np.uint64)
    with np.errstate(over="ignore"):
        for s in range(0, n, chunk):
            h = (words[s : s + chunk] * mult).sum(axis=1, dtype=np.uint64)
            h ^= h >> np.uint64(31)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(29)
            out[s : s + chunk] = h
    return out


def _group_words(parts: list[np.ndarray], chunk: int = CHUNK_ROWS) -> np.ndarray:
    """Group ids over the rows of ``parts`` stacked (int64, numbered by first occurrence):
    equal ids <=> equal rows. The parts are never copied into one array."""
    if sum(p.shape[0] for p in parts) == 0:
        return np.zeros(0, np.int64)
    return groups_of_hashes(np.concatenate([_hash_words(p, chunk) for p in parts]), parts, chunk)


def row_hashes(x: np.ndarray) -> np.ndarray:
    """The 64-bit hash of each row's bytes, as ``row_groups`` groups them: row by row, so a
    chunk's hashes do not depend on how the rows were chunked (streamed per chunk, on Dask
    workers). Cast rows of several sources to one dtype first (``np.result_type``)."""
    return _hash_words(_as_words(x))


def groups_of_hashes(h: np.ndarray, parts: list[np.ndarray], chunk: int = CHUNK_ROWS) -> np.ndarray:
    """Group ids from the rows' hashes (``row_hashes`` over ``parts`` stacked, in their
    common dtype): rows sharing a hash are compared byte by byte, and only those rows are
    read again (from a memory map: a few pages), so ids are exact in bounded memory."""
    n = len(h)
    offsets = np.cumsum([0] + [p.shape[0] for p in parts])
    dtype = np.result_type(*[p.dtype for p in parts])

    def rows_of(rows: np.ndarray) -> np.ndarray:
        part = np.searchsorted(offsets, rows, side="right") - 1
        out: np.ndarray | None = None
        for k, p in enumerate(parts):
            mine = np.flatnonzero(part == k)
            if not len(mine):
                continue
            words = _as_words(np.asarray(p[rows[mine] - offsets[k]]).astype(dtype, copy=False))
            if out is None:
                out = np.empty((len(rows), words.shape[1]), np.uint64)
            out[mine] = words
        assert out is not None
        return out

    order = np.argsort(h, kind="stable")
    hs = h[order]
    start = np.ones(n, bool)
    start[1:] = hs[1:] != hs[:-1]
    first = order[np.flatnonzero(start)][np.cumsum(start) - 1]  # group's first row, sorted
    rep = np.empty(n, np.int64)
    rep[order] = first  # each row's candidate representative (first row with its hash)
    same = np.ones(n, bool)
    check = np.flatnonzero(rep != np.arange(n))  # rows sharing a hash with an earlier row
    for s in range(0, len(check), chunk):
        rows = check[s : s + chunk]
        same[rows] = (rows_of(rows) == rows_of(rep[rows])).all(axis=1)
    if not same.all():
        rep = _resolve_collisions(rows_of, h, rep, same)
    return _renumber(rep)


def _resolve_collisions(
    rows_of: Callable[[np.ndarray], np.ndarray], h: np.ndarray, rep: np.ndarray, same: np.ndarray
) -> np.ndarray:
    """Rows whose hash bucket holds different rows: group them by their exact bytes."""
    bad_hashes = np.unique(h[~same])
    rows = np.flatnonzero(np.isin(h, bad_hashes))
    words = np.ascontiguousarray(rows_of(rows))
    void = words.view(np.dtype((np.void, words.shape[1] * 8)))
    _, inverse = np.unique(void.ravel(), return_inverse=True)
    inverse = inverse.ravel()
    # representative = smallest row index among the exactly equal rows
    firsts = np.full(int(inverse.max()) + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(firsts, inverse, rows)
    rep = rep.copy()
    rep[rows] = firsts[inverse]
    return rep


def _renumber(rep: np.ndarray) -> np.ndarray:
    """Map representative row ids to 0..g-1 in order of first occurrence."""
    uniq, inverse = np.unique(rep, return_inverse=True)  # uniq sorted = first-occurrence order
    return inverse.astype(np.int64).ravel()


def row_groups(x: np.ndarray, chunk: int = CHUNK_ROWS) -> np.ndarray:
    """Group id per row of ``x`` (n, ...): rows get the same id iff their values are identical.

    Ids are 0..g-1 numbered in order of each group's first row, so they are deterministic.
    Linear time apart from one sort of n 64-bit hashes; exact (collisions are verified).
    """
    return _group_words([_as_words(x)], chunk)


def joint_row_groups(arrays: list[np.ndarray], chunk: int = CHUNK_ROWS) -> np.ndarray:
    """``row_groups`` over the rows of several arrays stacked (without copying them into
    one): ids for the rows of ``arrays[0]``, then ``arrays[1]``, ... Arrays of different
    dtypes are compared by value in their common dtype (int 3 equals float 3.0)."""
    arrays = [np.asarray(a) for a in arrays]
    if len({a.dtype for a in arrays}) > 1:
        dtype = np.result_type(*[a.dtype for a in arrays])
        arrays = [a.astype(dtype) for a in arrays]
    return _group_words([_as_words(a) for a in arrays], chunk)


def duplicate_groups(groups: np.ndarray, min_size: int = 2) -> list[np.ndarray]:
    """Row indices of every group with at least ``min_size`` rows, in order of first row."""
    groups = np.asarray(groups)
    if groups.size == 0:
        return []
    counts = np.bincount(groups)
    big = counts >= min_size
    rows = np.flatnonzero(big[groups])
    if rows.size == 0:
        return []
    order = rows[np.argsort(groups[rows], kind="stable")]
    cuts = np.flatnonzero(np.diff(groups[order])) + 1
    return np.split(order, cuts)


def exact_matches(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """For each row of ``query``, the first identical row of ``reference``, or -1."""
    q, r = _common(np.asarray(query), np.asarray(reference))
    nq, nr = len(q), len(r)
    if nq == 0:
        return np.zeros(0, np.int64)
    if nr == 0:
        return np.full(nq, -1, np.int64)
    groups = _group_words([_as_words(r), _as_words(q)])
    first_ref = np.full(int(groups.max()) + 1, -1, np.int64)
    ref_groups = groups[:nr]
    # the first reference row of each group: assign in reverse so the smallest index wins
    first_ref[ref_groups[::-1]] = np.arange(nr - 1, -1, -1)
    return first_ref[groups[nr:]]


# Decimal precision: a re-encoded copy of a row (written to a CSV with fewer digits)
# differs from its original only below the coarser precision of the two rows.
MAX_DECIMALS = 9  # "more digits than that, or than the dtype resolves": full precision


def row_decimals(x: np.ndarray, chunk: int = CHUNK_ROWS) -> np.ndarray:
    """Per row of ``x`` (n, d): the fewest decimals that write each of its values exactly
    as parsed into its float dtype — the precision the row was written with (0 for
    integer data; ``MAX_DECIMALS`` for full precision)."""
    x = np.asarray(x)
    n = x.shape[0]
    if x.dtype.kind != "f" or n == 0:
        return np.zeros(n, np.int64)
    flat = x.reshape(n, -1)
    out = np.empty(n, np.int64)
    for s in range(0, n, chunk):
        xv = flat[s : s + chunk].astype(np.float64)
        spacing = np.spacing(np.abs(flat[s : s + chunk])).astype(np.float64)
        found = np.full(len(xv), MAX_DECIMALS, np.int64)
        open_rows = np.ones(len(xv), bool)
        for k in range(MAX_DECIMALS):
            scale = 10.0**k
            # a value parsed from k decimals lies within its (scaled) resolution of an
            # integer; a value whose resolution reaches the step holds no more digits
            # (values near float max overflow to inf here: they count as exact)
            with np.errstate(over="ignore", invalid="ignore"):
                y, tol = xv[open_rows] * scale, spacing[open_rows] * scale
                exact = (np.abs(y - np.rint(y)) <= tol) | (tol >= 0.5) | ~np.isfinite(y)
            ok = exact.all(axis=1)
            rows = np.flatnonzero(open_rows)[ok]
            found[rows] = k
            open_rows[rows] = False
            if not open_rows.any():
                break
        out[s : s + chunk] = found
    return out


def rounded_matches(query: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``query``, the first row of ``reference`` equal to it after rounding
    every value of both to the coarser precision of the two rows (-1 where none), and that
    precision in decimals (-1 where none). Linear: one exact match per precision found.

    Only a pair whose coarser row has fewer than ``MAX_DECIMALS`` decimals can match here;
    rows written at the same precision match only exactly (``exact_matches``).
    """
    query, reference = np.asarray(query), np.asarray(reference)
    match = np.full(len(query), -1, np.int64)
    places = np.full(len(query), -1, np.int64)
    if len(query) == 0 or len(reference) == 0 or query.dtype.kind != "f":
        return match, places
    q = query.reshape(len(query), -1).astype(np.float64)
    r = reference.reshape(len(reference), -1).astype(np.float64)
    pq, pr = row_decimals(query), row_decimals(reference)

    def at(x: np.ndarray, k: int) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            return np.rint(x * 10.0**k)

    # the query row is the coarser one: round the finer reference rows to its precision
    for k in np.unique(pq[pq < MAX_DECIMALS]):
        rows, finer = np.flatnonzero(pq == k), np.flatnonzero(pr > k)
        if len(finer):
            hit = exact_matches(at(q[rows], k), at(r[finer], k))
            found = (hit >= 0) & (match[rows] < 0)
            match[rows[found]], places[rows[found]] = finer[hit[found]], k
    # the reference row is the coarser one: round the finer query rows to its precision
    for k in np.unique(pr[pr < MAX_DECIMALS]):
        rows, coarse = np.flatnonzero((pq > k) & (match < 0)), np.flatnonzero(pr == k)
        if len(rows):
            hit = exact_matches(at(q[rows], k), at(r[coarse], k))
            found = hit >= 0
            match[rows[found]], places[rows[found]] = coarse[hit[found]], k
    return match, places
