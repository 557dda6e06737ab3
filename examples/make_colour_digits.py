"""Write data/digits_rgb/: colour PNGs made from data/digits.csv, for the image recipes.

Each 8x8 digit (0..16 ink) is drawn in one of six ink colours on a dark background, chosen
at random per image, so colour carries no label and the shape carries it all. The first
400 rows become an image folder (train/<digit>/NNNN.png); the next 200 rows become
test/NNNN.png with a manifest test.csv (file,label) of paths relative to it, and
SHA256SUMS of them all. Seeded: the same files on every run.

    python examples/make_colour_digits.py
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
INKS = np.array(
    [[255, 80, 60], [60, 200, 90], [70, 120, 255], [240, 200, 40], [200, 80, 220], [40, 210, 220]],
    dtype=np.float64,
)
N_TRAIN, N_TEST = 400, 200


def main() -> None:
    table = np.loadtxt(ROOT / "data" / "digits.csv", delimiter=",", skiprows=1)
    pixels, labels = table[:, :64].reshape(-1, 8, 8) / 16.0, table[:, 64].astype(int)
    rng = np.random.default_rng(0)
    ink = INKS[rng.integers(0, len(INKS), size=len(labels))]
    background = rng.uniform(0, 40, size=(len(labels), 3))
    rgb = background[:, None, None, :] + pixels[..., None] * (ink - background)[:, None, None, :]
    rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    out = ROOT / "data" / "digits_rgb"
    shutil.rmtree(out, ignore_errors=True)
    for i in range(N_TRAIN):
        folder = out / "train" / str(labels[i])
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb[i], "RGB").save(folder / f"{i:04d}.png", optimize=True)
    (out / "test").mkdir(parents=True)
    with open(out / "test.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "label"])
        for i in range(N_TRAIN, N_TRAIN + N_TEST):
            name = f"test/{i:04d}.png"
            Image.fromarray(rgb[i], "RGB").save(out / name, optimize=True)
            writer.writerow([name, labels[i]])
    # data/README.md lists this file's sha256; the test checks every file against it.
    files = sorted(p for p in out.rglob("*") if p.is_file())
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}"
        for p in files
    ]
    (out / "SHA256SUMS").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
