"""Decoding image folders: real digits written as PNG/JPEG files, grey and colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from nncheck.data.images import channels_first, decode_images, list_image_folder
from nncheck.errors import DataError
from tests.conftest import DATA


def digits(n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(DATA / "digits.csv").head(n)
    x = frame.drop(columns="label").to_numpy().reshape(-1, 8, 8)
    return (x * 255 // 16).astype(np.uint8), frame["label"].to_numpy()


def write_folder(root: Path, x: np.ndarray, y: np.ndarray, mode: str = "L", ext: str = "png"):
    for i, (img, label) in enumerate(zip(x, y)):
        folder = root / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        pil = Image.fromarray(img, "L")
        if mode == "RGB":  # colour: the digit in red on a blue background
            pil = Image.merge(
                "RGB", (pil, Image.new("L", pil.size, 0), Image.eval(pil, lambda v: 255 - v))
            )
        pil.save(folder / f"{i:04d}.{ext}")


def test_grey_folder_round_trips_exactly(tmp_path: Path) -> None:
    x, y = digits()
    write_folder(tmp_path, x, y)
    files, labels = list_image_folder(str(tmp_path))
    assert len(files) == len(x) and set(labels) == {f"class_{v}" for v in y}
    arr, notes = decode_images(files)
    assert arr.shape == (len(x), 8, 8) and arr.dtype == np.uint8 and notes == []
    order = [int(Path(f).stem) for f in files]
    assert np.array_equal(arr, x[order])  # PNG is lossless


def test_colour_folder_is_channels_first(tmp_path: Path) -> None:
    x, y = digits()
    write_folder(tmp_path, x, y, mode="RGB")
    files, _ = list_image_folder(str(tmp_path))
    arr, _ = decode_images(files)
    assert arr.shape == (len(x), 3, 8, 8)
    order = [int(Path(f).stem) for f in files]
    assert np.array_equal(arr[:, 0], x[order]) and np.array_equal(arr[:, 2], 255 - x[order])


def test_mixed_modes_become_rgb_and_say_so(tmp_path: Path) -> None:
    x, y = digits(10)
    write_folder(tmp_path / "a", x[:5], y[:5])
    write_folder(tmp_path / "a", x[5:], y[5:], mode="RGB")
    files, _ = list_image_folder(str(tmp_path / "a"))
    arr, notes = decode_images(files)
    assert arr.shape[1] == 3 and any("converted to RGB" in n for n in notes)


def test_sizes_that_differ_need_image_size(tmp_path: Path) -> None:
    x, y = digits(4)
    write_folder(tmp_path, x, y)
    big = tmp_path / "class_9" / "big.png"
    big.parent.mkdir(exist_ok=True)
    Image.fromarray(np.zeros((16, 12), np.uint8)).save(big)
    files, _ = list_image_folder(str(tmp_path))
    with pytest.raises(DataError, match="image_size"):
        decode_images(files)
    arr, notes = decode_images(files, image_size=(10, 10))
    assert arr.shape == (5, 10, 10) and any("resized to 10x10" in n for n in notes)


def test_a_corrupt_file_is_named(tmp_path: Path) -> None:
    x, y = digits(4)
    write_folder(tmp_path, x, y, ext="jpg")
    bad = tmp_path / "class_0" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    files, _ = list_image_folder(str(tmp_path))
    with pytest.raises(DataError, match="broken.png"):
        decode_images(files)


def test_a_folder_without_class_subfolders_says_how_to_lay_it_out(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(DataError, match="subfolder"):
        list_image_folder(str(tmp_path))


@pytest.mark.parametrize(
    ("shape", "expected", "said"),
    [
        ((5, 28, 28, 3), (5, 3, 28, 28), "H x W x C"),
        ((5, 3, 28, 28), (5, 3, 28, 28), "C x H x W"),
        ((5, 28, 28, 1), (5, 28, 28), "H x W x C"),
        ((5, 28, 28), (5, 28, 28), None),
    ],
)
def test_array_layouts_are_recognized(shape, expected, said) -> None:
    x = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    notes: list[str] = []
    out = channels_first(x, "x.npz", notes)
    assert out.shape == expected
    assert (said in notes[0]) if said else notes == []
    if shape[-1] == 3:
        assert np.array_equal(out[:, 1], x[..., 1])


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(DataError, match="channels"):
        channels_first(np.zeros((2, 7, 7, 7), np.uint8), "x.npz", [])
