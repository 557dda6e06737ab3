"""Pixels for people: sample thumbnails and PNG bytes, through Pillow.

Pillow comes with matplotlib (one of its dependencies), so encoding a thumbnail needs
nothing we would have to write ourselves. Thumbnails stay at the size of the sample (a
28 x 28 digit is a few hundred bytes) and the page scales them up with crisp pixels.
Imported only when a report is written: ``import nncheck`` loads neither PIL nor numpy
from here.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_SIDE = 96  # larger samples are shrunk to this (keeps index.html small)


def to_uint8(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Map ``values`` linearly from [lo, hi] (default: their finite range) onto 0..255.

    A display scale, not a statistic: NaN shows as 0 (black), +inf as 255.
    """
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    if lo is None:
        lo = float(finite.min()) if finite.size else 0.0
    if hi is None:
        hi = float(finite.max()) if finite.size else 1.0
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out = np.nan_to_num((v - lo) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def as_image(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, C) or (C, H, W) with C in 1/3/4 as uint8 (H, W) or (H, W, C);
    anything but uint8 is rescaled from its own finite range."""
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[0] in (1, 3, 4) and img.shape[-1] not in (1, 3, 4):
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim == 1:
        side = int(round(np.sqrt(img.size)))
        img = img.reshape(side, side) if side * side == img.size else img.reshape(1, -1)
    if img.ndim not in (2, 3) or not img.size:
        raise ValueError(f"cannot show an array of shape {img.shape} as an image")
    if img.dtype != np.uint8:
        img = to_uint8(img)
    return np.ascontiguousarray(img)


def png_bytes(image: np.ndarray, compress_level: int = 6) -> bytes:
    """PNG bytes of an image array (see ``as_image`` for the shapes taken)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(as_image(image)).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI, so the page loads no file."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def thumbnail(image: np.ndarray, max_side: int = MAX_SIDE) -> bytes:
    """PNG bytes of a sample, shrunk (box filter) when its larger side exceeds ``max_side``."""
    from PIL import Image

    picture = Image.fromarray(as_image(image))
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.BOX)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _font(size: int) -> Any:
    """DejaVu Sans, the font matplotlib ships, so TensorBoard images match the charts."""
    from pathlib import Path

    from nncheck.writers.charts import prefetched

    prefetched()  # not while the background thread may be importing matplotlib
    import matplotlib
    from PIL import ImageFont

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), size) if path.is_file() else ImageFont.load_default()


class PredictionTable:
    """Class probabilities of fixed samples at each training step, as RGB pictures that
    read like a table: a row per sample (its row number and given label), a column per
    class, each cell shaded by its probability and, when there is room, saying it; the
    given label's cell is boxed. The frame (labels, boxes) is drawn once for all steps."""

    def __init__(self, given: Sequence[int], rows: Sequence[int], classes: Sequence[str]):
        from PIL import Image, ImageDraw

        self.font, self.small = _font(13), _font(11)
        self.k, self.n = len(classes), len(rows)
        self.written = self.k <= 20
        longest = max((len(str(c)) for c in classes), default=1)
        self.cell_w = max(46, min(90, 8 * longest + 10)) if self.written else 22
        self.cell_h, self.top = 26, 52
        names = [f"row {r} (given {_label(given, i, classes)})" for i, r in enumerate(rows)]
        self.left = 16 + int(max((self.font.getlength(x) for x in names), default=40))
        size = (self.left + self.k * self.cell_w + 12, self.top + self.n * self.cell_h + 12)
        self.frame = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(self.frame)
        for j, name in enumerate(classes):
            x = self.left + j * self.cell_w + self.cell_w / 2
            text = str(name) if self.written or j % 5 == 0 else ""
            draw.text(
                (x, self.top - 6),
                _fit(text, self.cell_w, self.small),
                fill="#444444",
                font=self.small,
                anchor="ms",
            )
        for i, name in enumerate(names):
            y = self.top + i * self.cell_h + self.cell_h / 2
            draw.text((8, y), name, fill="#222222", font=self.font, anchor="lm")
        self.given = [int(g) for g in given]
        self._masks: dict[str, np.ndarray] = {}

    def _text_mask(self, text: str) -> np.ndarray:
        """A cell-sized alpha mask of ``text``, drawn once per distinct value (~100)."""
        from PIL import Image, ImageDraw

        mask = self._masks.get(text)
        if mask is None:
            image = Image.new("L", (self.cell_w - 2, self.cell_h - 2), 0)
            ImageDraw.Draw(image).text(
                ((self.cell_w - 2) / 2, (self.cell_h - 2) / 2),
                text,
                fill=255,
                font=self.small,
                anchor="mm",
            )
            mask = np.asarray(image, dtype=np.float32)[..., None] / 255.0
            self._masks[text] = mask
        return mask

    def at(self, probs: np.ndarray, step: int) -> np.ndarray:
        """The picture at one step (cells filled with NumPy: ~1 ms, where drawing 50
        texts and rectangles through PIL takes ~15 ms)."""
        from PIL import Image, ImageDraw

        p = np.clip(np.nan_to_num(np.asarray(probs, dtype=np.float32)), 0.0, 1.0)
        p = p[: self.n, : self.k]
        n, k = p.shape
        w, h = self.cell_w, self.cell_h
        fill = np.full((n, h, k, w, 3), 255.0, dtype=np.float32)  # the gaps stay white
        fill[:, : h - 2, :, : w - 2, :2] = (255.0 - 200.0 * p)[:, None, :, None, None]
        if self.written:
            alpha = np.zeros((n, h, k, w, 1), dtype=np.float32)
            for i in range(n):
                for j in range(k):
                    value = f"{p[i, j]:.2f}" if p[i, j] >= 0.005 else "<.01"
                    alpha[i, : h - 2, j, : w - 2] = self._text_mask(value)
            ink = np.where(p > 0.55, 255.0, 34.0).astype(np.float32)[:, None, :, None, None]
            fill = fill * (1 - alpha) + ink * alpha
        out = np.array(self.frame)
        top, left = self.top, self.left
        out[top : top + n * h, left : left + k * w] = np.rint(fill).reshape(n * h, k * w, 3)
        for i, c in enumerate(self.given[:n]):
            if 0 <= c < k:
                y, x = top + i * h, left + c * w
                out[y - 1 : y + 1, x - 1 : x + w - 1] = 0
                out[y + h - 3 : y + h - 1, x - 1 : x + w - 1] = 0
                out[y - 1 : y + h - 1, x - 1 : x + 1] = 0
                out[y - 1 : y + h - 1, x + w - 3 : x + w - 1] = 0
        picture = Image.fromarray(out)
        ImageDraw.Draw(picture).text(
            (8, 6),
            f"step {step}: p(class) of fixed test samples (boxed: the given label)",
            fill="#222222",
            font=self.font,
        )
        return np.asarray(picture)


def _label(given: Sequence[int], i: int, classes: Sequence[str]) -> str:
    if i >= len(given):
        return "?"
    c = int(given[i])
    return str(classes[c]) if 0 <= c < len(classes) else str(c)


def _fit(text: str, width: int, font: Any) -> str:
    while text and font.getlength(text) > width - 4:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text
