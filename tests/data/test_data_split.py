"""Seeded stratified split: proportions, determinism, seeds, and no class lost from train."""

from __future__ import annotations

import numpy as np
import pytest

from nncheck.data.split import n_test_for, random_split, stratified_split


def _labels() -> np.ndarray:
    rng = np.random.default_rng(42)
    y = np.repeat(np.arange(5), [59, 71, 48, 7, 3])
    return rng.permutation(y)


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.8])
def test_stratified_keeps_class_proportions_within_one(fraction):
    y = _labels()
    tr, te = stratified_split(y, fraction, seed=0)
    assert len(np.intersect1d(tr, te)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, te])), np.arange(y.size))
    assert te.size == n_test_for(y.size, fraction)
    counts = np.bincount(y)
    test_counts = np.bincount(y[te], minlength=counts.size)
    assert np.all(np.abs(test_counts - counts * fraction) <= 1)
    assert np.all(np.bincount(y[tr], minlength=counts.size) >= 1)


def test_stratified_is_deterministic_and_seed_dependent():
    y = _labels()
    a = stratified_split(y, 0.25, seed=0)
    b = stratified_split(y, 0.25, seed=0)
    c = stratified_split(y, 0.25, seed=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert np.all(np.diff(a[1]) > 0)  # sorted: splits keep file order


def test_singleton_class_stays_in_train():
    y = np.array([0] * 10 + [1] * 10 + [2])
    tr, te = stratified_split(y, 0.5, seed=3)
    assert 20 in tr  # the only sample of class 2
    assert np.bincount(y[te], minlength=3)[2] == 0


def test_invalid_labels_are_their_own_stratum():
    y = np.array([0, 1] * 20 + [-1] * 8)
    tr, te = stratified_split(y, 0.25, seed=0)
    assert np.sum(y[te] == -1) == 2


def test_random_split_sizes_and_determinism():
    tr, te = random_split(100, 0.2, seed=5)
    assert te.size == 20 and tr.size == 80
    assert len(np.intersect1d(tr, te)) == 0
    np.testing.assert_array_equal(te, random_split(100, 0.2, seed=5)[1])
    assert not np.array_equal(te, random_split(100, 0.2, seed=6)[1])


def test_tiny_inputs_never_leave_a_side_empty():
    assert n_test_for(2, 0.1) == 1 and n_test_for(2, 0.9) == 1
    tr, te = stratified_split(np.array([0, 1, 0]), 0.1, seed=0)
    assert tr.size >= 1 and te.size == 1
    tr, te = stratified_split(np.zeros(0, dtype=np.int64), 0.2, seed=0)
    assert tr.size == te.size == 0


def test_a_million_labels_split_exactly_stratified():
    y = np.random.default_rng(0).integers(0, 10, 1_000_000)
    train, test = stratified_split(y, 0.2, seed=0)
    assert train.size + test.size == y.size and np.intersect1d(train, test).size == 0
    counts, test_counts = np.bincount(y), np.bincount(y[test], minlength=10)
    assert np.all(np.abs(test_counts - 0.2 * counts) <= 1)
