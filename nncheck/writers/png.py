"""PNG encoding for the report's thumbnails and TensorBoard's image grids, with zlib only.

A 28 x 28 thumbnail is a few hundred bytes as PNG; encoding it by hand (filter byte 0 per
row, one zlib stream) takes microseconds, needs neither PIL nor matplotlib, and gives a
``data:`` URI the HTML report can inline, so the page loads no file and makes no request.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Sequence

import numpy as np

MAX_SIDE = 96  # thumbnails larger than this are block-averaged down (keeps the report small)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image: (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA."""
    img = as_uint8_image(image)
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = img.reshape(h, w * channels)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def data_uri(image: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URI for an <img src>."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


def as_uint8_image(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, C) or (C, H, W) with C in 1/3/4 as uint8 (H, W) or (H, W, C).

    Non-uint8 input is rescaled from its own finite range to 0..255.
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[0] in (1, 3, 4) and img.shape[-1] not in (1, 3, 4):
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 1:
        side = int(round(np.sqrt(img.size)))
        img = img.reshape(side, side) if side * side == img.size else img.reshape(1, -1)
    if img.ndim not in (2, 3):
        raise ValueError(f"cannot show an array of shape {img.shape} as an image")
    if img.dtype != np.uint8:
        img = to_uint8(img)
    return np.ascontiguousarray(img)


def to_uint8(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Map ``values`` linearly from [lo, hi] (default: their finite range) to 0..255."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if lo is None:
        lo = float(finite.min()) if finite.size else 0.0
    if hi is None:
        hi = float(finite.max()) if finite.size else 1.0
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out = np.nan_to_num((v - lo) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def shrink(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """Block-average an image whose larger side exceeds ``max_side`` (integer factor)."""
    img = as_uint8_image(image)
    factor = int(np.ceil(max(img.shape[:2]) / max_side))
    if factor <= 1:
        return img
    h, w = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    blocks = img[:h, :w].astype(np.float32)
    blocks = blocks.reshape(h // factor, factor, w // factor, factor, *img.shape[2:])
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def grid(images: Sequence[np.ndarray], columns: int = 8, pad: int = 2) -> np.ndarray:
    """Tile same-sized uint8 images into one picture (pad pixels of mid-gray between)."""
    tiles = [as_uint8_image(im) for im in images]
    if not tiles:
        return np.zeros((1, 1), np.uint8)
    h, w = tiles[0].shape[:2]
    channels = tiles[0].shape[2:] if tiles[0].ndim == 3 else ()
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, *channels), 128, np.uint8)
    for i, tile in enumerate(tiles):
        if tile.shape != tiles[0].shape:
            continue
        r, c = divmod(i, columns)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y : y + h, x : x + w] = tile
    return out


def diverging(values: np.ndarray, limit: float) -> np.ndarray:
    """RGB uint8 of a 2-D array on a blue-white-red scale, clipped to +-limit."""
    v = np.clip(np.nan_to_num(np.asarray(values, np.float64)) / (limit or 1.0), -1.0, 1.0)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    r = 255 - neg * (255 - 37)
    g = 255 - pos * (255 - 38) - neg * (255 - 99)
    b = 255 - pos * (255 - 38)
    rgb = np.stack([r, g, b], axis=-1)
    rgb[np.isnan(np.asarray(values, np.float64))] = (200, 200, 200)
    return np.rint(rgb).astype(np.uint8)
