"""Format readers: csv / parquet / npz / npy / file pairs, and their error messages."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from nncheck.data import loaders
from nncheck.data.loaders import load_source
from nncheck.errors import DataError
from nncheck.recipe.schema import PairSource


def _matrix(raw, names=None) -> np.ndarray:
    """The numeric columns of a table as read, side by side."""
    cols = [raw.table.column(n) for n in (names or raw.table.names)]
    return np.column_stack([c.number for c in cols])


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "f1": rng.normal(size=12),
            "f2": rng.integers(0, 100, size=12),
            "label": np.tile([0, 1, 2], 4),
        }
    )


# --------------------------------------------------------------------------- csv


def test_csv_round_trip_and_guessed_target(tmp_path):
    df = _frame()
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    raw = load_source(str(path))
    assert raw.feature_names == ("f1", "f2") and raw.x is None and len(raw) == 12
    np.testing.assert_allclose(_matrix(raw), df[["f1", "f2"]].to_numpy(float))
    np.testing.assert_array_equal(raw.y_raw, df["label"].to_numpy())
    assert raw.y_raw.dtype == np.int64
    assert raw.target == "label" and not raw.is_image
    assert any("'label'" in n for n in raw.notes)
    assert raw.notes[0] == "CSV delimiter ',', header row, UTF-8 (sniffed)"


def test_csv_target_falls_back_to_last_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,result\n1,2,x\n3,4,y\n5,6,y\n7,8,x\n")
    raw = load_source(str(path))
    assert raw.target == "result"
    assert any("'result' (the last column, a category with 2 values)" in n for n in raw.notes)


def test_csv_target_by_index_and_second_annotation(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,lab_b,b,lab_a\n1,0,2,0\n3,1,4,1\n")
    raw = load_source(str(path), target=-1, second_annotation="lab_b")
    assert raw.target == "lab_a"
    assert raw.feature_names == ("a", "b")
    np.testing.assert_array_equal(raw.y2_raw, [0, 1])


def test_csv_bool_nan_and_inf_features_are_kept(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,flag,c,label\n1,True,,0\n2,False,inf,1\n,True,3,1\n")
    raw = load_source(str(path))
    flag = raw.table.column("flag")
    assert not flag.numeric and flag.text.tolist() == ["True", "False", "True"]
    c, a = raw.table.column("c"), raw.table.column("a")
    assert np.isnan(c.number[0]) and np.isinf(c.number[1]) and np.isnan(a.number[2])
    assert c.missing.tolist() == [True, False, False] and c.markers == {"": 1}


def test_csv_words_among_numbers_are_missing_and_a_column_of_words_is_text(tmp_path):
    path = tmp_path / "wine.csv"
    rows = ["alcohol,ash,colour,label"]
    rows += [f"{i}.0,2.{i},{'red' if i % 2 else 'white'},0" for i in range(30)]
    rows += ["14.1,abc,red,1", "14.2,?,NA,1"]
    path.write_text("\n".join(rows) + "\n")
    raw = load_source(str(path))
    ash, colour = raw.table.column("ash"), raw.table.column("colour")
    assert ash.numeric and ash.odd == {"abc": 1} and ash.markers == {"?": 1}
    assert np.flatnonzero(ash.missing).tolist() == [30, 31]
    assert not colour.numeric and colour.markers == {"NA": 1}
    assert set(colour.text[:30]) == {"red", "white"} and colour.text[31] is None


def test_csv_parse_error_has_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("a,b\n1,2\n1,2,3\n")
    with pytest.raises(DataError, match=r"broken\.csv: cannot parse CSV: .*line 3"):
        load_source(str(path))


def test_csv_empty_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: file is empty"):
        load_source(str(empty))
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with pytest.raises(DataError, match=r"blank\.csv: file is empty"):
        load_source(str(blank))
    header = tmp_path / "header.csv"
    header.write_text("a,b,label\n")
    with pytest.raises(DataError, match=r"header\.csv: no data rows"):
        load_source(str(header))


def test_csv_not_utf8_is_read_as_latin1_and_binary_is_refused(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,b\n\xff\xfe,1\n")
    raw = load_source(str(path))
    assert raw.table.column("a").text.tolist() == ["\xff\xfe"]
    assert "Latin-1" in raw.notes[0]
    path.write_bytes(b"a,b\n\x00\x01,1\n")
    with pytest.raises(DataError, match=r"latin\.csv: holds NUL bytes"):
        load_source(str(path))


def test_missing_target_column_lists_and_suggests(tmp_path):
    path = tmp_path / "wine.csv"
    path.write_text("alcohol,ash,label\n1,2,0\n")
    with pytest.raises(DataError) as err:
        load_source(str(path), target="lable")
    msg = str(err.value)
    assert "wine.csv: target column 'lable' not found" in msg
    assert "'alcohol', 'ash', 'label'" in msg and "did you mean 'label'?" in msg


def test_missing_second_annotation_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,label\n1,0\n")
    with pytest.raises(DataError, match=r"t\.csv: second_annotation column 'label_b'"):
        load_source(str(path), second_annotation="label_b")


def test_missing_file_directory_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match=r"gone\.csv: file not found"):
        load_source(str(tmp_path / "gone.csv"))
    with pytest.raises(DataError, match=r"is a directory"):
        load_source(str(tmp_path))
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"x")
    with pytest.raises(DataError, match=r"data\.xlsx: unknown data format '\.xlsx'"):
        load_source(str(odd))


def test_single_idx_file_points_to_pair_form(write_idx):
    path = write_idx("train-images-idx3-ubyte.gz", np.zeros((2, 3, 3), np.uint8), gz=True)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: .*images: "):
        load_source(str(path))


# --------------------------------------------------------------------------- parquet


def test_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    df = _frame()
    df["flag"] = [True, False] * 6
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    raw = load_source(str(path), target="label")
    assert raw.feature_names == ("f1", "f2", "flag")
    np.testing.assert_allclose(_matrix(raw, ["f1", "f2"]), df[["f1", "f2"]].to_numpy(float))
    assert raw.table.column("flag").text[:2].tolist() == ["True", "False"]
    np.testing.assert_array_equal(raw.y_raw, df["label"].to_numpy())
    assert raw.table.dialect is None and raw.table.where(2) == "data row 3"


def test_parquet_text_and_numbers_as_text(tmp_path):
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"a": ["1", "2", "x"], "b": ["1", None, "3"], "label": [0, 1, 0]})
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    raw = load_source(str(path))
    assert raw.table.column("a").text.tolist() == ["1", "2", "x"]
    b = raw.table.column("b")
    assert b.numeric and np.isnan(b.number[1]) and b.markers == {"<null>": 1}


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        loaders.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyarrow" else real(name, *a),
    )
    with pytest.raises(DataError, match=r"reading parquet needs pyarrow: pip install nncheck\["):
        load_source(str(path))


def test_parquet_corrupt(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not a parquet file at all")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot read parquet"):
        load_source(str(path))


# --------------------------------------------------------------------------- npz / npy


@pytest.mark.parametrize("xkey", ["x", "X", "inputs", "images"])
def test_npz_round_trip_feature_keys(tmp_path, xkey):
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    y = np.array([0, 1, 0, 1, 0, 1])
    path = tmp_path / "d.npz"
    np.savez(path, **{xkey: x, "y": y})
    raw = load_source(str(path))
    np.testing.assert_array_equal(raw.x, x)
    assert raw.x.dtype == np.float32 and raw.feature_names is None
    np.testing.assert_array_equal(raw.y_raw, y)


def test_npz_images_named_target_and_second(tmp_path):
    x = np.zeros((4, 8, 8), np.uint8)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, digit=np.array(["a", "b", "a", "b"]), other=np.array([0, 1, 1, 1]))
    raw = load_source(str(path), target="digit", second_annotation="other")
    assert raw.is_image and raw.x.shape == (4, 8, 8) and raw.x.dtype == np.uint8
    assert raw.y_raw.tolist() == ["a", "b", "a", "b"]
    assert raw.y2_raw.tolist() == [0, 1, 1, 1]


def test_npz_missing_keys(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((2, 2)), labels_=np.zeros(2))
    with pytest.raises(DataError) as err:
        load_source(str(path), target="label")
    assert "d.npz: target key 'label' not found" in str(err.value)
    assert "did you mean 'labels_'?" in str(err.value)
    np.savez(path, feats=np.zeros((2, 2)), y=np.zeros(2))
    with pytest.raises(DataError, match=r"d\.npz: no feature array.*'feats'"):
        load_source(str(path))


def test_npz_needs_pickle(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.zeros((3, 2)), y=np.array([1, "a", None], dtype=object))
    with pytest.raises(DataError, match=r"obj\.npz: key 'y' .*needs pickle"):
        load_source(str(path))


def test_npz_length_mismatch_and_not_a_zip(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((3, 2)), y=np.zeros(2))
    with pytest.raises(DataError, match=r"d\.npz: key 'x' has 3 samples but key 'y' has 2"):
        load_source(str(path))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage, not a zip")
    with pytest.raises(DataError, match=r"bad\.npz"):
        load_source(str(bad))


def test_npy_2d_with_target_index(tmp_path):
    arr = np.column_stack([np.arange(6.0), np.arange(6.0) * 2, [0, 1, 0, 1, 0, 1]])
    path = tmp_path / "d.npy"
    np.save(path, arr)
    raw = load_source(str(path), target=-1)
    np.testing.assert_array_equal(raw.x, arr[:, :2])
    np.testing.assert_array_equal(raw.y_raw, arr[:, 2])
    raw0 = load_source(str(path), target=0)
    np.testing.assert_array_equal(raw0.x, arr[:, 1:])
    assert any("last column" in n for n in load_source(str(path)).notes)
    with pytest.raises(DataError, match=r"d\.npy: target column 5 is out of range"):
        load_source(str(path), target=5)
    with pytest.raises(DataError, match=r"d\.npy: target of a \.npy array must be a column index"):
        load_source(str(path), target="label")


def test_npy_errors(tmp_path):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([1, "a", None], dtype=object))
    with pytest.raises(DataError, match=r"obj\.npy: .*needs pickle"):
        load_source(str(obj))
    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((2, 3, 3)))
    with pytest.raises(DataError, match=r"cube\.npy: a single \.npy array must be 2-D"):
        load_source(str(cube))
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"definitely not numpy")
    with pytest.raises(DataError, match=r"junk\.npy"):
        load_source(str(junk))


# --------------------------------------------------------------------------- pairs


def test_pair_of_npy(tmp_path):
    x = np.random.default_rng(0).random((5, 4, 4)).astype(np.float32)
    y = np.array([1, 2, 3, 4, 5])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    raw = load_source(PairSource(images=str(tmp_path / "x.npy"), labels=str(tmp_path / "y.npy")))
    np.testing.assert_array_equal(raw.x, x)
    np.testing.assert_array_equal(raw.y_raw, y)
    assert raw.is_image and "x.npy" in raw.source and "y.npy" in raw.source


@pytest.mark.parametrize("gz", [False, True])
def test_pair_of_idx(write_idx, gz):
    imgs = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 4, 5, 6], dtype=np.uint8)
    pair = PairSource(
        images=str(write_idx("i-idx3-ubyte.gz", imgs, gz=gz)),
        labels=str(write_idx("l-idx1-ubyte.gz", labels, gz=gz)),
    )
    raw = load_source(pair)
    assert raw.x.dtype == np.uint8 and raw.x.shape == (7, 28, 28) and raw.is_image
    np.testing.assert_array_equal(raw.x, imgs)
    np.testing.assert_array_equal(raw.y_raw, labels)


def test_pair_counts_differ(write_idx):
    pair = PairSource(
        images=str(write_idx("train-images-idx3-ubyte", np.zeros((6, 2, 2), np.uint8))),
        labels=str(write_idx("train-labels-idx1-ubyte", np.zeros(5, np.uint8))),
    )
    with pytest.raises(DataError) as err:
        load_source(pair)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and "6 images but 5 labels" in msg
    assert "train-labels-idx1-ubyte" in msg


def test_pair_swapped_files(write_idx):
    imgs = write_idx("i-idx3-ubyte", np.zeros((2, 2, 2), np.uint8))
    labels = write_idx("l-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(DataError, match=r"l-idx1-ubyte: .*expected magic 0x00000803"):
        load_source(PairSource(images=str(labels), labels=str(imgs)))


def test_pair_rejects_second_annotation(write_idx):
    pair = PairSource(
        images=str(write_idx("i-idx3", np.zeros((2, 2, 2), np.uint8))),
        labels=str(write_idx("l-idx1", np.zeros(2, np.uint8))),
    )
    with pytest.raises(DataError, match=r"i-idx3: second_annotation"):
        load_source(pair, second_annotation="b")


def test_compressed_csv_round_trip_and_truncated(tmp_path):
    import gzip

    data = b"a,b,label\n" + b"".join(b"%d,%d,%d\n" % (i, i * 2, i % 2) for i in range(500))
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(data))
    raw = load_source(str(path))
    assert len(raw) == 500 and raw.feature_names == ("a", "b") and raw.y_raw.sum() == 250
    path.write_bytes(gzip.compress(data)[:60])
    with pytest.raises(DataError, match=r"t\.csv\.gz"):
        load_source(str(path))
