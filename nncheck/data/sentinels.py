"""Numbers that stand for "no value": a 0 blood pressure, a -1 "never", a 999 "unknown".

Instruments and exports write a code where a value is missing, and the code then passes
every type check. A code is only called a sentinel on evidence from the column itself,
because a 0 or a -1 is often a perfectly good value:

- zero: the column is otherwise positive, 0 stands apart from the positive values (the
  smallest positive value is at least ``gap`` times the typical step between the smallest
  positive values, and at least a fifth of their median unless the zeros are a tenth of
  the column or more) and it is a spike, not the column's main value (at most
  ``max_share`` of the cells). A blood pressure whose values start at 24 in steps of ~2
  has sentinel
  zeros, and so has an insulin that is 0 in nearly half the rows; a count of pregnancies
  (0, 1, 2, ... in steps of 1) has honest zeros, and so has a capital gain whose positive
  values start at 114 in steps of ~70, or a zoning share that is 0 in 74% of the rows.
- negative codes (-1, -9, -99, -999, -9999) in a column whose other values are all >= 0;
- all-nines codes (99, 999, 9999, ...) above every other value of the column, at least
  ``gap`` typical steps above the next value below them (an age of 999).

Each needs ``min_count`` cells and at least ``MIN_DISTINCT`` other distinct values (a
-1/1 coding or a 0/1 flag has no sentinel: its values are all codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_DISTINCT = 5
STEPS_SAMPLED = 10  # steps between the smallest (largest) distinct values that set "typical"
# A sentinel 0 also stands apart on the column's own scale: its smallest positive value is at
# least this share of the positive values' median (a blood pressure starts at 24 of a
# median 72; breast-cancer concavities and their standard errors, honestly 0 for smooth
# contours, start at 0.002 of a median 0.01-0.03) ...
MIN_SCALE_SHARE = 0.2
# ... or the zeros are a large spike (an insulin of 0 in nearly half the rows).
SPIKE_SHARE = 0.1
NEGATIVE_CODES = (-1.0, -9.0, -99.0, -999.0, -9999.0)
NINES_CODES = (99.0, 999.0, 9999.0, 99999.0, 999999.0)


@dataclass(frozen=True)
class Sentinel:
    value: float
    count: int
    why: str  # the evidence, in numbers


def find_sentinels(
    values: np.ndarray, min_count: int, gap: float, max_share: float = 0.5
) -> list[Sentinel]:
    """Likely sentinel codes in one numeric column (NaN = missing, ignored)."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return []
    found = []
    zero = _zero(v, min_count, gap, max_share)
    if zero is not None:
        found.append(zero)
    for code in NEGATIVE_CODES:
        hit = v == code
        count = int(hit.sum())
        rest = v[~hit]
        if count >= min_count and rest.size and rest.min() >= 0:
            if np.unique(rest).size >= MIN_DISTINCT:
                found.append(
                    Sentinel(code, count, f"{count} x {code:g} in a column otherwise >= 0")
                )
    for code in NINES_CODES:
        hit = v == code
        count = int(hit.sum())
        if count < min_count:
            continue
        below = np.unique(v[~hit])
        if below.size < MIN_DISTINCT or below.max() >= code:
            continue
        top = below[-(STEPS_SAMPLED + 1) :]
        step = float(np.median(np.diff(top)))
        if step > 0 and code - below[-1] >= gap * step:
            found.append(
                Sentinel(
                    code,
                    count,
                    f"{count} x {code:g}, far above every other value (next {below[-1]:g},"
                    f" steps of ~{step:.3g} below it)",
                )
            )
    return found


def _zero(v: np.ndarray, min_count: int, gap: float, max_share: float) -> Sentinel | None:
    zeros = int(np.count_nonzero(v == 0))
    if zeros < min_count or zeros > max_share * v.size or v.min() < 0:
        return None
    positive = np.unique(v[v > 0])
    if positive.size < MIN_DISTINCT:
        return None
    low = positive[: STEPS_SAMPLED + 1]
    step = float(np.median(np.diff(low)))
    apart = (
        positive[0] >= MIN_SCALE_SHARE * float(np.median(v[v > 0])) or zeros >= SPIKE_SHARE * v.size
    )
    if step > 0 and positive[0] >= gap * step and apart:
        return Sentinel(
            0.0,
            zeros,
            f"{zeros} zeros in an otherwise positive column whose values start at"
            f" {positive[0]:g} (steps of ~{step:.3g} between its smallest values)",
        )
    return None
