"""Normalizations: fitted on train only, NaN-safe, constant features safe, images global."""

from __future__ import annotations

import numpy as np
import pytest

from nncheck.data.normalize import Normalizer, normalize


def _tab() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    scales = np.array([1e-3, 1.0, 1e4])
    train = rng.normal(5.0, 1.0, size=(200, 3)) * scales
    test = rng.normal(6.0, 2.0, size=(50, 3)) * scales
    return train, test


def test_standardize_uses_train_stats_only():
    train, test = _tab()
    xtr, xte, norm = normalize(train, test, "standardize", is_image=False)
    assert xtr.dtype == np.float32 and xte.dtype == np.float32
    np.testing.assert_allclose(xtr.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(xtr.std(axis=0), 1.0, atol=1e-4)
    np.testing.assert_allclose(norm.shift, train.mean(axis=0))
    np.testing.assert_allclose(norm.scale, train.std(axis=0))
    expected = (test - train.mean(axis=0)) / train.std(axis=0)
    np.testing.assert_allclose(xte, expected, rtol=1e-5, atol=1e-5)
    assert np.all(np.abs(xte.mean(axis=0)) > 0.3)  # test shifted: not re-centred


def test_constant_feature_becomes_zero_not_nan():
    train = np.column_stack([np.full(10, 7.0), np.arange(10.0)])
    for method in ("standardize", "minmax"):
        xtr, xte, _ = normalize(train, train[:3] + 1, method, is_image=False)
        assert np.all(xtr[:, 0] == 0.0) and np.all(np.isfinite(xtr))
        assert np.all(xte[:, 0] == 1.0)


def test_nan_and_inf_do_not_poison_stats():
    train = np.array([[1.0, 1.0], [np.nan, 2.0], [3.0, np.inf], [5.0, 3.0]])
    xtr, _, norm = normalize(train, train, "standardize", is_image=False)
    np.testing.assert_allclose(norm.shift, [3.0, 2.0])
    np.testing.assert_allclose(norm.scale, [np.std([1, 3, 5]), np.std([1, 2, 3])])
    assert np.isnan(xtr[1, 0]) and np.isinf(xtr[2, 1])
    assert np.isfinite(np.delete(xtr.ravel(), [2, 5])).all()
    _, _, mm = normalize(train, train, "minmax", is_image=False)
    np.testing.assert_allclose(mm.shift, [1.0, 1.0])
    np.testing.assert_allclose(mm.scale, [4.0, 2.0])


def test_all_nan_column_and_empty_train_are_harmless():
    train = np.column_stack([np.full(4, np.nan), np.arange(4.0)])
    xtr, _, norm = normalize(train, train, "standardize", is_image=False)
    assert norm.shift[0] == 0.0 and norm.scale[0] == 1.0
    empty = np.zeros((0, 3))
    out, _, _ = normalize(empty, np.ones((2, 3)), "standardize", is_image=False)
    assert out.shape == (0, 3)


def test_images_standardize_globally():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(50, 8, 8), dtype=np.uint8)
    imgs[:, 0, :] = 0  # always-black border row: per-pixel std would be 0
    xtr, _, norm = normalize(imgs, imgs[:5], "standardize", is_image=True)
    assert np.ndim(norm.shift) == 0 and np.ndim(norm.scale) == 0
    np.testing.assert_allclose(norm.shift, imgs.mean())
    np.testing.assert_allclose(norm.scale, imgs.std())
    assert xtr.shape == (50, 8, 8) and xtr.dtype == np.float32
    assert abs(float(xtr.mean())) < 1e-5 and abs(float(xtr.std()) - 1) < 1e-4
    assert np.all(np.isfinite(xtr))


def test_minmax_per_feature_and_global_for_images():
    train = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
    xtr, xte, _ = normalize(train, np.array([[8.0, 0.0]]), "minmax", is_image=False)
    np.testing.assert_allclose(xtr, [[0, 0], [0.5, 1], [1, 0.5]])
    np.testing.assert_allclose(xte, [[2.0, -0.5]])
    imgs = np.array([[[0, 50]], [[100, 200]]], dtype=np.uint8)
    out, _, norm = normalize(imgs, imgs, "minmax", is_image=True)
    assert float(norm.shift) == 0 and float(norm.scale) == 200
    np.testing.assert_allclose(out, imgs / 200.0)


def test_scale255_and_none():
    imgs = np.array([[0, 51, 255]], dtype=np.uint8)
    out, _, _ = normalize(imgs, imgs, "scale255", is_image=False)
    np.testing.assert_allclose(out, [[0, 0.2, 1.0]])
    out, _, _ = normalize(imgs, imgs, "none", is_image=False)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, imgs)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown normalization"):
        Normalizer.fit(np.zeros((2, 2)), "zscore", is_image=False)
