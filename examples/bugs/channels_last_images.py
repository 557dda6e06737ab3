"""S2: colour images fed channels-last (H x W x C) to a model that reads C x H x W.

``np.asarray(Image.open(path))`` gives height x width x channels; torch's convolutions
read channels x height x width, and ``transforms.ToTensor`` is what moves the axis. This
Dataset forgets it. The CNN is built from the shape it is given, as many are, so nothing
crashes: it takes the 8 image rows for 8 input channels and convolves across columns and
colours, and still learns something, which hides the bug. Flagged by data.image_layout
(samples of 8 x 8 x 3: the last axis looks like colour channels).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "data" / "digits_rgb"


class ColourDigits(Dataset):
    def __init__(self, items: list[tuple[Path, int]]):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        path, label = self.items[i]
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
        return torch.from_numpy(pixels), label  # BUG: H x W x C; needs .permute(2, 0, 1)


def make_data(folder: str | Path = FOLDER) -> tuple[ColourDigits, ColourDigits]:
    folder = Path(folder)
    train = sorted((p, int(p.parent.name)) for p in (folder / "train").glob("*/*.png"))
    with open(folder / "test.csv", newline="") as fh:
        test = [(folder / row["file"], int(row["label"])) for row in csv.DictReader(fh)]
    return ColourDigits(train), ColourDigits(test)


def build(input_shape: tuple[int, ...], n_outputs: int) -> torch.nn.Module:
    channels = input_shape[0]  # 8 here: the image rows, taken for channels
    return torch.nn.Sequential(
        torch.nn.Conv2d(channels, 16, kernel_size=3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * input_shape[1] * input_shape[2], n_outputs),
    )
