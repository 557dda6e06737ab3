"""Image files: a folder with one subfolder per class, or paths listed in a CSV manifest.

Images are decoded with Pillow (a dependency of matplotlib, so always there) into one uint8
array laid out as nncheck keeps images: ``(N, H, W)`` for grey, ``(N, C, H, W)`` for colour
(channels first, what a torch model receives). Decoding is per file by nature; it runs on a
small thread pool (Pillow releases the GIL while it decodes).

Sizes and channel counts must agree, or the recipe says how to make them agree:
``data.image_size`` resizes every image (and is stated in the notes). A file that cannot be
decoded is a ``DataError`` naming its path, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nncheck.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
# Channels per Pillow mode, once converted to one of the modes nncheck keeps.
_KEPT_MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
# Refuse to decode more pixels than this in one split before anything is allocated
# (8 GiB of uint8): an image folder of that size belongs to the out-of-core path.
MAX_BYTES = 8 * 2**30
SPILL_BATCH = 2048  # files decoded at a time into a memory-mapped spill


def is_image_file(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def list_image_folder(folder: str) -> tuple[list[str], list[str]]:
    """(files, class names), sorted: every image file below a subfolder is of that class."""
    root = Path(folder)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[str] = []
    labels: list[str] = []
    for name in classes:
        found = sorted(
            str(p)
            for p in (root / name).rglob("*")
            if p.is_file() and is_image_file(p.name) and not p.name.startswith(".")
        )
        files.extend(found)
        labels.extend([name] * len(found))
    if not files:
        loose = [p.name for p in root.iterdir() if p.is_file() and is_image_file(p.name)]
        hint = (
            f" ({len(loose)} images lie directly in it: put each class in a subfolder)"
            if loose
            else ""
        )
        raise DataError(
            f"{folder}: is a directory with no images in class subfolders: an image folder"
            f" holds one subfolder per class of {', '.join(IMAGE_SUFFIXES[:3])} ... files"
            f"{hint}"
        )
    return files, labels


def decode_images(
    paths: Sequence[str], image_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Decode ``paths`` into one uint8 array (N, H, W) or (N, C, H, W); returns it and notes.

    Mixed grey and colour files are all converted to the richest mode among them (grey to
    RGB, say), and said. Different sizes need ``image_size`` (height, width).
    """
    layout, notes = _layout(paths, image_size)
    need = len(paths) * int(np.prod(layout.shape))
    if need > MAX_BYTES:
        raise DataError(
            f"{os.path.dirname(paths[0])}: {len(paths)} images of {layout.describe()} need"
            f" {need / 2**30:.1f} GiB in memory, more than {MAX_BYTES / 2**30:.0f} GiB"
            " (data.engine: stream reads an image folder out of core)"
        )
    out = np.empty((len(paths), *layout.shape), dtype=np.uint8)
    _decode_into(paths, out, layout)
    return out, notes


def spill_images(
    paths: Sequence[str], spill: str, image_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, list[str]]:
    """``decode_images`` into a memory-mapped ``.npy`` file at ``spill``, ``SPILL_BATCH``
    files at a time: the decoded images need not fit in memory (data.engine stream)."""
    layout, notes = _layout(paths, image_size)
    out = np.lib.format.open_memmap(spill, "w+", np.uint8, (len(paths), *layout.shape))
    for s in range(0, len(paths), SPILL_BATCH):
        block = np.empty((min(len(paths), s + SPILL_BATCH) - s, *layout.shape), np.uint8)
        _decode_into(paths[s : s + len(block)], block, layout)
        out[s : s + len(block)] = block
    out.flush()
    del out
    return np.load(spill, mmap_mode="r"), notes


class _Layout:
    """How every file is decoded: Pillow mode, size, and the stored per-image shape."""

    def __init__(self, mode: str, h: int, w: int) -> None:
        self.mode, self.h, self.w = mode, h, w
        self.channels = _KEPT_MODES[mode]
        self.shape = (h, w) if self.channels == 1 else (self.channels, h, w)

    def describe(self) -> str:
        return f"{self.h}x{self.w}x{self.channels}"


def _layout(paths: Sequence[str], image_size: tuple[int, int] | None) -> tuple[_Layout, list[str]]:
    heads = _headers(paths)
    modes = {m for _, m, _ in heads}
    mode = _common_mode(modes)
    notes: list[str] = []
    if len(modes) > 1:
        notes.append(f"images have modes {sorted(modes)}: all converted to {mode}")
    sizes = {s for _, _, s in heads}
    if image_size is None and len(sizes) > 1:
        (p1, _, s1), other = heads[0], next(h for h in heads if h[2] != heads[0][2])
        raise DataError(
            f"{other[0]}: image is {other[2][0]}x{other[2][1]} (width x height) but"
            f" {p1} is {s1[0]}x{s1[1]}; set data.image_size: [height, width] to resize them"
        )
    if image_size is not None:
        h, w = image_size
        if sizes != {(w, h)}:
            notes.append(f"images resized to {h}x{w} (data.image_size)")
    else:
        w, h = heads[0][2]
    return _Layout(mode, h, w), notes


def _decode_into(paths: Sequence[str], out: np.ndarray, layout: _Layout) -> None:
    """Decode every file into its row of ``out`` (channels first), on a few threads."""
    from PIL import Image

    h, w, channels = layout.h, layout.w, layout.channels

    def load(i: int) -> None:
        path = paths[i]
        try:
            with Image.open(path) as img:
                img = img.convert(layout.mode)
                if img.size != (w, h):
                    img = img.resize((w, h), Image.Resampling.BILINEAR)
                pixels = np.asarray(img, dtype=np.uint8).reshape(h, w, channels)
        except (OSError, ValueError, SyntaxError) as exc:
            raise DataError(f"{path}: cannot decode this image ({exc})") from None
        out[i] = pixels[..., 0] if channels == 1 else pixels.transpose(2, 0, 1)

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(load, range(len(paths))))


def _headers(paths: Sequence[str]) -> list[tuple[str, str, tuple[int, int]]]:
    """(path, mode, (width, height)) of every file, reading headers only (no pixels)."""
    from PIL import Image, UnidentifiedImageError

    out = []
    for path in paths:
        try:
            with Image.open(path) as img:
                out.append((path, _kept_mode(img.mode), img.size))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise DataError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") from None
    return out


def _kept_mode(mode: str) -> str:
    """The mode an image is kept in: grey stays grey, anything with colour becomes RGB(A)."""
    if mode in _KEPT_MODES:
        return mode
    if mode in ("1", "I", "I;16", "I;16B", "I;16L", "F"):
        return "L"
    if mode in ("PA", "RGBa", "La"):
        return "RGBA"
    return "RGB"  # P, CMYK, YCbCr, LAB, HSV


def _common_mode(modes: set[str]) -> str:
    if modes == {"L"} or modes == {"LA"} or modes == {"RGB"} or modes == {"RGBA"}:
        return next(iter(modes))
    if modes <= {"L", "LA"}:
        return "LA"
    return "RGBA" if modes & {"RGBA", "LA"} else "RGB"


def channels_first(x: np.ndarray, source: str, notes: list[str]) -> np.ndarray:
    """An image array as nncheck keeps it: (N, H, W) or (N, C, H, W); (N, H, W, C) is
    recognized (channels of 1, 3 or 4 last, larger sides first) and transposed, and said."""
    if x.ndim != 4:
        return x
    n, a, b, c = x.shape
    if a in (1, 3, 4) and b > 4 and c > 4:
        notes.append(f"images laid out N x C x H x W ({a} channels, {b}x{c})")
        return x[:, 0] if a == 1 else x
    if c in (1, 3, 4) and a > 4 and b > 4:
        notes.append(
            f"images laid out N x H x W x C ({c} channels, {a}x{b}): transposed to N x C x H x W"
        )
        return x[..., 0] if c == 1 else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    raise DataError(
        f"{source}: images of shape {x.shape[1:]} per sample: expected (C, H, W) or"
        " (H, W, C) with 1, 3 or 4 channels"
    )
