"""The streamed forms of data.duplicates, data.leakage, data.near_duplicates and
data.label_conflicts.

With ``data.engine: stream | dask`` the dataset in memory is a seeded sample, but copies and
leaks must be counted over every row: these checks then judge the findings of
``nncheck.scale.stage.run_stage`` over the full splits (computed once per near ratio and
shared, like the in-memory neighbour cache), with the same thresholds and verdict rules as
their in-memory forms (``_verdicts``). Rows are named as the files hold them.

What the streamed forms do not search (docs/scale.md): pairs after a 1-pixel shift, copies
after rounding, and group leaks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nncheck.blas import one_blas_thread
from nncheck.checks import _artifacts
from nncheck.checks._neighbors_cache import NEAR_RATIO, pct, plural, space
from nncheck.checks._verdicts import (
    DUPLICATES_HINT,
    LABEL_CONFLICTS_HINT,
    LEAKAGE_HINT,
    NEAR_DUPLICATES_HINT,
    OUTLIERS_HINT,
    conflict_message,
    conflict_status,
    corrupted_images,
    fraction_status,
    leak_status,
    mixed_label_groups,
)
from nncheck.checks.context import Context
from nncheck.data.feature_z import FeatureZ, feature_label
from nncheck.data.image_stats import image_problems
from nncheck.results import CheckOutcome, Status, result
from nncheck.scale.sources import RowSource
from nncheck.scale.stage import StageFindings, search_budget

MAX_EXAMPLES = 20
MAX_THUMBS = 24
TOP_OUTLIERS = 10  # top-ranked rows listed per split, as data.outliers lists them
KNN_REFERENCE = 1000  # distinct training rows the outlier distances are measured against
KNN_CHUNK = 16_384  # query rows per kNN search (a chunk x reference distance block)
Z_CHUNK_VALUES = 1 << 22  # values per chunk of the feature z pass (32 MB in float64)


def findings(ctx: Context, ratio: float) -> StageFindings:
    """The streaming stage over both full splits, in process or on Dask (once per ratio)."""
    return ctx.memo(f"streamed:{ratio!r}", lambda: _run(ctx, ratio))


def _any_findings(ctx: Context) -> StageFindings:
    """Findings already computed for any near ratio (exact copies do not depend on it),
    else those for the default ratio."""
    done = ctx.memoized("streamed:")
    return done[0] if done else findings(ctx, NEAR_RATIO)


def _run(ctx: Context, ratio: float) -> StageFindings:
    from nncheck.scale.stage import run_stage

    ds = ctx.dataset
    stream = ds.stream
    assert stream is not None
    shape = tuple(ds.train.x_raw.shape[1:]) if ds.is_image else None
    if shape is not None and int(np.prod(shape)) != stream.train.width:
        shape = None  # rows stored flat (parquet columns): no image statistics
    if stream.engine != "dask":
        return run_stage(
            stream.train, stream.test, seed=ctx.seed, near_ratio=ratio, image_shape=shape
        )
    from nncheck.scale.on_dask import connect, dask_mapper

    client = connect(stream.scheduler)
    try:
        return run_stage(
            stream.train,
            stream.test,
            seed=ctx.seed,
            near_ratio=ratio,
            mapper=dask_mapper(client),
            image_shape=shape,
        )
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def _unit(ctx: Context) -> float:
    """Distances as the in-memory checks state them: images in pixels over their scale
    (255 for MNIST); streamed table rows are not rescaled, so their unit is 1."""
    return space(ctx).unit if ctx.dataset.is_image else 1.0


def _basis(ctx: Context, f: StageFindings, ratio: float, metrics: dict[str, Any]) -> str:
    """What the findings rest on, for the message; a near-pair search that queried only a
    seeded subset of its rows (``SEARCH_BUDGET``) is said, and kept in ``metrics``."""
    said = (
        f"all {f.n_train:,} train and {f.n_test:,} test rows, streamed; near = within"
        f" {ratio:g} x the sampled median neighbour distance {f.scale / _unit(ctx):.3g}"
    )
    sampled = f.near_sampled
    if sampled:
        metrics["near_queries_sampled"] = {k: list(v) for k, v in sampled.items()}
        what = {"train": "train rows", "leaks": "test rows against train", "test": "test rows"}
        searched = ", ".join(f"{q:,} of {n:,} {what[k]}" for k, (q, n, _) in sampled.items())
        work = max(w for _, _, w in sampled.values())
        over = work / search_budget()
        times = f"{over:.2g}" if over < 10 else f"{over:,.0f}"
        said += (
            f"; near pairs searched from a seeded {searched} (the rows are too evenly spread"
            f" for the index to rule many out: searching from every row would compare"
            f" {work:.2g} pairs of rows, {times}x the budget; a near pair is found when one"
            " of its rows is searched from); exact copies over every row"
        )
    return said


def _thumbs(ctx: Context, src: RowSource, rows: list[int], captions: list[str]) -> list[Any]:
    ds = ctx.dataset
    if not ds.is_image or not rows:
        return []
    raw = src.take(np.asarray(rows[:MAX_THUMBS], np.int64))
    if int(np.prod(ds.input_shape)) == raw.shape[1]:
        raw = raw.reshape(len(raw), *ds.input_shape)
    return _artifacts.image_thumbnails(raw, range(len(raw)), captions, title="")["items"]


def duplicates(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """data.duplicates over every row: the redundant fraction of each split."""
    f = _any_findings(ctx)
    stream = ctx.dataset.stream
    assert stream is not None
    metrics: dict[str, Any] = {"streamed": True}
    parts, examples, thumbs, worst = [], [], [], 0.0
    for name, rows, of, n, src in (
        ("train", f.train_duplicate_rows, f.train_duplicate_of, f.n_train, stream.train),
        ("test", f.test_duplicate_rows, f.test_duplicate_of, f.n_test, stream.test),
    ):
        extra = len(rows)
        frac = extra / n if n else 0.0
        worst = max(worst, frac)
        firsts, counts = np.unique(of, return_counts=True)  # one group per first copy
        groups = len(firsts)
        metrics.update(
            {
                f"{name}_rows": n,
                f"{name}_duplicate_groups": groups,
                f"{name}_redundant_rows": extra,
                f"{name}_redundant_fraction": round(frac, 6),
            }
        )
        if not extra:
            parts.append(f"{name}: no duplicates")
            continue
        parts.append(
            f"{name}: {plural(extra, 'redundant row')} ({pct(extra, n)}) in"
            f" {plural(groups, 'group')} of identical rows"
        )
        order = np.lexsort((firsts, -counts))[: max(0, MAX_EXAMPLES - len(examples))]
        for k in order:
            copies = rows[of == firsts[k]][:9].tolist()
            examples.append(
                {"split": name, "rows": [int(firsts[k]), *copies], "count": int(counts[k]) + 1}
            )
        shown = [int(firsts[k]) for k in order]
        caps = [f"{name} row {r} (x{int(counts[k]) + 1})" for r, k in zip(shown, order)]
        thumbs += _thumbs(ctx, src, shown, caps)
    metrics["redundant_fraction"] = round(worst, 6)
    status = fraction_status(worst, t)
    message = "; ".join(parts) + f" (all {f.n_train:,} train and {f.n_test:,} test rows, streamed)"
    return _outcome(
        status,
        message,
        DUPLICATES_HINT,
        metrics,
        examples,
        ("duplicated samples (one per group)", thumbs[:MAX_THUMBS]),
    )


def leakage(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """data.leakage over every row: test rows with an exact or near copy in train."""
    ratio = float(t["near_ratio"])
    f = findings(ctx, ratio)
    stream = ctx.dataset.stream
    assert stream is not None
    exact_te = f.exact_leaks[:, 0] if len(f.exact_leaks) else np.zeros(0, np.int64)
    near_te = f.near_leaks[:, 0] if len(f.near_leaks) else np.zeros(0, np.int64)
    leaked = len(np.union1d(exact_te, near_te))
    n_test = f.n_test
    metrics = {
        "streamed": True,
        "n_test": n_test,
        "leaked": leaked,
        "leaked_fraction": round(leaked / n_test, 6) if n_test else 0.0,
        "exact": len(exact_te),
        "near": len(near_te),
        "near_ratio": ratio,
        "radius": round(f.radius / _unit(ctx), 6),
        "median_neighbour_distance": round(f.scale / _unit(ctx), 6),
    }
    pairs = [(int(a), int(b), "exact") for a, b in f.exact_leaks[:MAX_EXAMPLES]]
    pairs += [(int(a), int(b), "near") for a, b in f.near_leaks[: MAX_EXAMPLES - len(pairs)]]
    examples = [{"test_row": a, "train_row": b, "kind": kind} for a, b, kind in pairs]
    if leaked:
        message = (
            f"{leaked} test samples ({pct(leaked, n_test)}) also occur in train:"
            f" {len(exact_te)} exact, {len(near_te)} near"
        )
    else:
        message = f"none of the {n_test:,} test samples occurs in train (exact or near)"
    message += f" ({_basis(ctx, f, ratio, metrics)})"
    status = leak_status(leaked, n_test, t)
    items: list[Any] = []
    for a, b, kind in pairs[:12]:
        items += _thumbs(ctx, stream.test, [a], [f"test {a}"])
        items += _thumbs(ctx, stream.train, [b], [f"train {b} ({kind})"])
    return _outcome(
        status,
        message,
        LEAKAGE_HINT,
        metrics,
        examples,
        ("test samples and their copies in train", items),
    )


def near_duplicates(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """data.near_duplicates over every row of each split (pairs after a 1-pixel shift
    are not searched when streaming)."""
    ratio = float(t["near_ratio"])
    f = findings(ctx, ratio)
    stream = ctx.dataset.stream
    assert stream is not None
    unit = _unit(ctx)
    metrics: dict[str, Any] = {
        "streamed": True,
        "near_ratio": ratio,
        "radius": round(f.radius / unit, 6),
        "median_neighbour_distance": round(f.scale / unit, 6),
    }
    parts: list[str] = []
    examples: list[dict[str, Any]] = []
    thumbs: list[Any] = []
    worst = 0.0
    for name, pairs, dist, n, src in (
        ("train", f.near_pairs, f.near_dist, f.n_train, stream.train),
        ("test", f.test_near_pairs, f.test_near_dist, f.n_test, stream.test),
    ):
        involved = len(np.unique(pairs)) if len(pairs) else 0
        frac = involved / n if n else 0.0
        worst = max(worst, frac)
        metrics.update(
            {
                f"{name}_rows": n,
                f"{name}_pairs": len(pairs),
                f"{name}_samples_involved": involved,
            }
        )
        if not len(pairs):
            parts.append(f"{name}: none")
            continue
        order = np.argsort(dist, kind="stable")[:MAX_EXAMPLES]  # closest first, per split
        rel = dist / f.scale if f.scale > 0 else np.full(len(dist), np.nan)
        metrics[f"{name}_closest_relative"] = round(float(rel[order[0]]), 4)
        parts.append(
            f"{name}: {plural(len(pairs), 'near-duplicate pair')}, {involved} samples"
            f" ({pct(involved, n)})"
        )
        for i in order:
            a, b = int(pairs[i, 0]), int(pairs[i, 1])
            examples.append(
                {
                    "split": name,
                    "rows": [a, b],
                    "distance": round(float(dist[i]) / unit, 6),
                    "relative_distance": round(float(rel[i]), 4),
                }
            )
            if len(thumbs) < MAX_THUMBS:
                caps = [f"{name} {a}", f"{name} {b} ({rel[i]:.2f}x)"]
                thumbs += _thumbs(ctx, src, [a, b], caps)
    metrics["fraction_involved"] = round(worst, 6)
    message = "; ".join(parts) + f" ({_basis(ctx, f, ratio, metrics)})"
    return _outcome(
        fraction_status(worst, t),
        message,
        NEAR_DUPLICATES_HINT,
        metrics,
        examples,
        ("near-duplicate pairs", thumbs),
    )


def label_conflicts(ctx: Context, t: dict[str, Any]) -> CheckOutcome:
    """data.label_conflicts over every row: groups of identical rows (train and test
    together) holding two or more labels, and near pairs (inside train, inside test, test to
    train) whose labels differ."""
    ratio = float(t["near_ratio"])
    f = findings(ctx, ratio)
    stream = ctx.dataset.stream
    assert stream is not None and stream.train_y is not None and stream.test_y is not None
    n_tr, n_total = f.n_train, f.n_train + f.n_test
    y = np.concatenate([stream.train_y, stream.test_y])
    groups = np.concatenate([f.train_groups, f.test_groups])
    bad_groups, exact_rows = mixed_label_groups(groups, y)

    near_sets = [  # (pairs, distances, offset of a, offset of b) in train-then-test positions
        (f.near_pairs, f.near_dist, 0, 0),
        (f.test_near_pairs, f.test_near_dist, n_tr, n_tr),
        (f.near_leak_pairs, f.near_leak_dist, n_tr, 0),  # a = test row, b = train row
    ]
    na, nb, nd = [], [], []
    for pairs, dist, off_a, off_b in near_sets:
        a, b = pairs[:, 0] + off_a, pairs[:, 1] + off_b
        differ = (y[a] >= 0) & (y[b] >= 0) & (y[a] != y[b])
        na.append(a[differ]), nb.append(b[differ]), nd.append(dist[differ])
    near_a, near_b, near_d = (np.concatenate(v) for v in (na, nb, nd))
    order = np.argsort(near_d, kind="stable")
    near_a, near_b, near_d = near_a[order], near_b[order], near_d[order]

    involved = len(np.union1d(exact_rows, np.concatenate([near_a, near_b])))
    conflicts = len(bad_groups) + len(near_a)
    unit = _unit(ctx)
    metrics: dict[str, Any] = {
        "streamed": True,
        "conflicts": conflicts,
        "exact_conflict_groups": int(len(bad_groups)),
        "exact_conflict_samples": int(len(exact_rows)),
        "near_conflict_pairs": int(len(near_a)),
        "samples_involved": involved,
        "fraction_involved": round(involved / n_total, 6) if n_total else 0.0,
        "near_ratio": ratio,
        "radius": round(f.radius / unit, 6),
        "median_neighbour_distance": round(f.scale / unit, 6),
    }
    names = list(ctx.dataset.classes or ())

    def where(pos: int) -> dict[str, Any]:
        split, row = ("train", pos) if pos < n_tr else ("test", pos - n_tr)
        label = names[int(y[pos])] if 0 <= y[pos] < len(names) else None
        return {"split": split, "row": int(row), "label": label}

    examples: list[dict[str, Any]] = []
    shown: list[tuple[int, str]] = []
    if len(bad_groups):
        rows_sorted = exact_rows[np.argsort(groups[exact_rows], kind="stable")]
        cuts = np.flatnonzero(np.diff(groups[rows_sorted])) + 1
        for grp in np.split(rows_sorted, cuts)[:MAX_EXAMPLES]:
            members = [where(int(p)) for p in grp[:10]]
            examples.append({"kind": "exact", "count": int(len(grp)), "samples": members})
            labels = " / ".join(sorted({str(m["label"]) for m in members}))
            shown.append((int(grp[0]), f"{len(grp)} copies: {labels}"))
    for a, b, d in zip(near_a, near_b, near_d):
        if len(examples) >= MAX_EXAMPLES:
            break
        wa, wb = where(int(a)), where(int(b))
        rel = round(float(d) / f.scale, 4) if f.scale > 0 else None
        examples.append(
            {
                "kind": "near",
                "distance": round(float(d) / unit, 6),
                "relative_distance": rel,
                "samples": [wa, wb],
            }
        )
        shown += [
            (int(a), f"{wa['split']} {wa['row']}: {wa['label']}"),
            (int(b), f"{wb['split']} {wb['row']}: {wb['label']}"),
        ]
    thumbs: list[Any] = []
    for pos, caption in shown[:MAX_THUMBS]:
        src, row = (stream.train, pos) if pos < n_tr else (stream.test, pos - n_tr)
        thumbs += _thumbs(ctx, src, [row], [caption])
    message = conflict_message(len(bad_groups), len(exact_rows), len(near_a), involved, n_total)
    return _outcome(
        conflict_status(conflicts, involved, n_total, t),
        message + f" ({_basis(ctx, f, ratio, metrics)})",
        LABEL_CONFLICTS_HINT,
        metrics,
        examples,
        ("inputs with conflicting labels", thumbs),
    )


def outliers(ctx: Context, t: dict[str, Any]) -> CheckOutcome | None:
    """data.outliers for images over every row: corrupted images (all-zero, constant,
    noise, spikes) from the statistics of the streaming pass, and far-out images from
    every row's distance to its k-th nearest of up to 1,000 distinct training rows in the
    stage's projection, over that distance's median on train. The same thresholds and
    verdicts as the in-memory form. None when the stage has no image statistics (rows
    stored flat): the in-memory form then reads the sample."""
    f = _any_findings(ctx)
    stream = ctx.dataset.stream
    assert stream is not None
    if f.train_images is None or f.test_images is None:
        return None
    k = max(1, int(t["k"]))
    ratios = _knn_ratios(f, k, ctx.seed)
    unit = space(ctx).unit
    metrics: dict[str, Any] = {"streamed": True, "k": k, "reference_rows": ratios[2]}
    problems, notes, examples, thumbs = [], [], [], []
    warn = fail = False
    for name, stats, ratio, n, src in (
        ("train", f.train_images, ratios[0], f.n_train, stream.train),
        ("test", f.test_images, ratios[1], f.n_test, stream.test),
    ):
        if not n:
            continue
        far = np.flatnonzero(ratio >= t["knn_ratio"])
        metrics[f"{name}_max_knn_ratio"] = _r(float(ratio.max()))
        metrics[f"{name}_far_samples"] = int(len(far))
        reasons: dict[int, list[str]] = {
            int(i): [f"{ratio[i]:.0f}x typical kNN distance"] for i in far
        }
        if len(far):
            warn = True
            problems.append(f"{plural(len(far), name + ' sample')} ({pct(len(far), n)}) far out")
        kinds = image_problems(*stats, unit=unit, t=t)
        for kind, rows in kinds.items():
            metrics[f"{name}_{kind.replace('-', '_')}"] = int(len(rows))
            for i in rows[: 4 * MAX_EXAMPLES]:
                reasons.setdefault(int(i), []).append(kind)
        bad, broken, said, noted, corrupt = corrupted_images(name, kinds, n, t)
        warn, fail = warn or bad, fail or broken
        problems += said
        notes += noted
        metrics[f"{name}_corrupted"] = corrupt
        flagged = sorted(reasons, key=lambda i: (-ratio[i], i))
        top = [int(i) for i in np.argsort(-ratio, kind="stable")[:TOP_OUTLIERS]]
        listed = flagged[: 2 * TOP_OUTLIERS] + [i for i in top if i not in reasons]
        for i in listed:
            why = reasons.get(i, [])
            examples.append(
                {"split": name, "row": i, "knn_ratio": _r(float(ratio[i])), "problems": why}
            )
            label = ", ".join(why) if why else f"{ratio[i]:.1f}x"
            if len(thumbs) < MAX_THUMBS:
                thumbs += _thumbs(ctx, src, [i], [f"{name} {i}: {label}"])
    basis = f"all {f.n_train:,} train and {f.n_test:,} test images, streamed"
    if problems:
        message = "; ".join(problems + notes) + f" ({basis})"
    else:
        top_ratio = max(metrics.get("train_max_knn_ratio", 0), metrics.get("test_max_knn_ratio", 0))
        message = (
            f"no corrupted or far-out samples among {basis}; the farthest is {top_ratio:.1f}x"
            f" the median distance to its k = {k} nearest neighbour (warning at"
            f" {t['knn_ratio']:g}x)" + ("; " + "; ".join(notes) if notes else "")
        )
    status: Status = "fail" if fail else "warn" if warn else "pass"
    return _outcome(
        status, message, OUTLIERS_HINT, metrics, examples, ("top-ranked outliers", thumbs)
    )


def _knn_ratios(f: StageFindings, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Every row's distance to its k-th nearest of up to 1,000 distinct training rows
    (seeded; the first row of each group of copies) in the stage's projection, over the
    median of that distance on train; and the number of reference rows."""
    from nncheck.data.neighbors import knn

    _, firsts = np.unique(f.train_groups, return_index=True)
    rng = np.random.default_rng(seed + 11)
    ref = np.sort(rng.choice(firsts, min(len(firsts), KNN_REFERENCE), replace=False))
    if len(ref) < 2:
        return np.zeros(f.n_train), np.zeros(f.n_test), len(ref)
    k = min(k, len(ref) - 1)
    refs = f.train_projected[ref]
    self_index = np.full(f.n_train, -1, np.int64)
    self_index[ref] = np.arange(len(ref))

    def kth(proj: np.ndarray, own: np.ndarray | None) -> np.ndarray:
        out = np.empty(len(proj), np.float32)
        for s in range(0, len(proj), KNN_CHUNK):
            e = min(len(proj), s + KNN_CHUNK)
            mine = None if own is None else own[s:e]
            d, _ = knn(proj[s:e], refs, k, self_index=mine)
            out[s:e] = d[:, -1]
        return out

    with one_blas_thread():
        d_tr, d_te = kth(f.train_projected, self_index), kth(f.test_projected, None)
    finite = d_tr[np.isfinite(d_tr)]
    med = float(np.median(finite)) if finite.size else 0.0
    if not med > 0:
        positive = finite[finite > 0]
        med = float(np.median(positive)) if positive.size else 1.0
    return d_tr / med, d_te / med, len(ref)


def _r(v: float) -> float:
    return float(f"{v:.4g}") if np.isfinite(v) else 0.0


def blank_rows(ctx: Context, metrics: dict[str, Any]) -> tuple[str, float]:
    """For data.outliers: rows holding one value in every cell (all-zero or constant
    images: a broken decoder) over every row, not only the sample the rest of that check
    reads. Returns the sentence ("" when none) and the larger split's blank fraction;
    adds counts and the first rows to ``metrics``."""
    f = _any_findings(ctx)
    parts, worst = [], 0.0
    for name, rows, n in (("train", f.blanks_train, f.n_train), ("test", f.blanks_test, f.n_test)):
        metrics[f"{name}_blank_rows_all"] = len(rows)
        if not len(rows):
            continue
        metrics[f"{name}_blank_rows_first"] = [int(r) for r in rows[:MAX_EXAMPLES]]
        worst = max(worst, len(rows) / n)
        shown = ", ".join(str(int(r)) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        one = len(rows) == 1
        parts.append(
            f"{len(rows):,} of all {n:,} {name} rows ({pct(len(rows), n)})"
            f" {'holds' if one else 'hold'} one value in every cell"
            f" ({'row' if one else 'rows'} {shown}; streamed)"
        )
    return "; ".join(parts), worst


def feature_spikes(
    ctx: Context, feature_z: float, metrics: dict[str, Any]
) -> tuple[str, float, list[dict[str, Any]]]:
    """For data.outliers on a streamed table: values ``feature_z`` robust SDs or more from
    their feature's median (and beyond its own tail) over every row, not only the sample:
    a unit error in a few of ten million rows is rarely in a sample of 50,000. The medians,
    MADs and tails are fitted on the sample's train rows (``FeatureZ``), then every row of
    both splits is scored chunk by chunk, in this process. Returns the sentence ("" when
    none), the larger split's share of such rows and the examples (the farthest first);
    adds counts to ``metrics``."""
    ds = ctx.dataset
    stream = ds.stream
    assert stream is not None
    fz = FeatureZ.fit(ds.train.x_raw)
    parts, worst, examples = [], 0.0, []
    for name, src in (("train", stream.train), ("test", stream.test)):
        n = len(src)
        if not n:
            continue
        names = src.columns or ds.feature_names or ()
        rows, zs, feats, top = [], [], [], 0.0
        for start, chunk in src.chunks(max(1024, Z_CHUNK_VALUES // max(src.width, 1))):
            zmax, zarg = fz.apply(chunk)
            top = max(top, float(zmax.max()))
            hit = np.flatnonzero(zmax >= feature_z)
            rows.append(start + hit)
            zs.append(zmax[hit])
            feats.append(zarg[hit])
        row, z, feat = (np.concatenate(v) for v in (rows, zs, feats))
        metrics[f"{name}_max_feature_z_all"] = _r(top)
        metrics[f"{name}_feature_spikes_all"] = int(len(row))
        if not len(row):
            continue
        worst = max(worst, len(row) / n)
        order = np.argsort(-z, kind="stable")
        said = []
        for i in order[:MAX_EXAMPLES]:
            what = feature_label(names, int(feat[i]))
            examples.append(
                {
                    "split": name,
                    "row": int(row[i]),
                    "problems": [f"{what} {z[i]:.0f} robust SDs from its median"],
                }
            )
            said.append(f"{int(row[i])}: {what} {z[i]:.0f} SDs")
        shown = "; ".join(said[:3]) + ("; ..." if len(row) > 3 else "")
        one = len(row) == 1
        parts.append(
            f"{len(row):,} of all {n:,} {name} rows ({pct(len(row), n)})"
            f" {'holds' if one else 'hold'} a value {feature_z:g}+ robust SDs from its"
            f" feature's median ({'row' if one else 'rows'} {shown}; streamed)"
        )
    return "; ".join(parts), worst, examples


def _outcome(
    status: Status,
    message: str,
    hint: str,
    metrics: dict[str, Any],
    examples: list[Any],
    images: tuple[str, list[Any]],
) -> CheckOutcome:
    """The result, with the hint only when it did not pass and the thumbnails if any."""
    title, items = images
    artifacts = {"images": {"title": title, "items": items}} if items else {}
    return result(
        status,
        message,
        hint="" if status == "pass" else hint,
        metrics=metrics,
        examples=examples,
        artifacts=artifacts,
    )
