"""Image files as recipe sources: an image folder, a CSV manifest, npz layouts, and the
bundled colour digits audited end to end (colour thumbnails in the report)."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nncheck.data.loaders import load_source
from tests.conftest import ROOT, run_cli, write_recipe
from tests.data.test_images import digits, write_folder
from tests.usage_errors import assert_exit2


def test_an_image_folder_is_a_source_with_class_subfolders(tmp_path: Path) -> None:
    x, y = digits(20)
    write_folder(tmp_path / "train", x, y, mode="RGB")
    raw = load_source(str(tmp_path / "train"))
    assert raw.is_image and raw.x.shape == (20, 3, 8, 8)
    assert sorted(set(raw.y_raw)) == sorted({f"class_{v}" for v in y})
    assert any("3 channels" in n and "N x C x H x W" in n for n in raw.notes)


def test_a_manifest_reads_paths_relative_to_itself(tmp_path: Path) -> None:
    x, y = digits(12)
    (tmp_path / "imgs").mkdir()
    rows = ["path,label"]
    for i, img in enumerate(x):
        Image.fromarray(img, "L").save(tmp_path / "imgs" / f"{i}.png")
        rows.append(f"imgs/{i}.png,{y[i]}")
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n")
    raw = load_source(str(tmp_path / "list.csv"), image_size=(16, 12))
    assert raw.x.shape == (12, 16, 12) and raw.is_image
    assert list(raw.y_raw) == list(y)
    assert any("resized to 16x12" in n for n in raw.notes)


def test_npz_channels_last_is_transposed_and_said(tmp_path: Path) -> None:
    x = np.random.default_rng(0).integers(0, 255, size=(10, 9, 7, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(10) % 2)
    raw = load_source(str(tmp_path / "a.npz"))
    assert raw.x.shape == (10, 3, 9, 7)
    assert np.array_equal(raw.x[4, 2], x[4, :, :, 2])
    assert any("N x H x W x C" in n for n in raw.notes)


def _recipe(tmp_path: Path, train: str, test: object, **data: object) -> Path:
    return write_recipe(
        tmp_path,
        {
            "data": {"train": train, "test": test, "task": "classification", **data},
            "model": {"hidden": [16]},
            "train": {"steps": 30},
        },
    )


def test_a_corrupt_image_is_exit_2_naming_the_file(tmp_path: Path) -> None:
    x, y = digits(20)
    write_folder(tmp_path / "train", x, y)
    bad = next((tmp_path / "train").rglob("*.png"))
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    recipe = _recipe(tmp_path, "train/", {"fraction": 0.25})
    assert_exit2(run_cli("run", str(recipe)), bad.name, "image")


def test_a_missing_manifest_file_is_exit_2_naming_line_and_path(tmp_path: Path) -> None:
    (tmp_path / "list.csv").write_text("file,label\nnowhere/0.png,1\nnowhere/1.png,0\n")
    recipe = _recipe(tmp_path, "list.csv", {"fraction": 0.5})
    assert_exit2(run_cli("run", str(recipe)), "line 2", "0.png", "not found")


def test_image_size_is_validated(tmp_path: Path) -> None:
    x, y = digits(20)
    write_folder(tmp_path / "train", x, y)
    recipe = _recipe(tmp_path, "train/", {"fraction": 0.25}, image_size=[8, 0])
    assert_exit2(run_cli("run", str(recipe)), "data.image_size")


@pytest.fixture(scope="module")
def colour_audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    out = tmp_path_factory.mktemp("rgb")
    proc = run_cli("run", str(ROOT / "recipes" / "digits_rgb.yaml"), "--report-dir", str(out))
    return proc, out


def test_bundled_colour_digits_audit_is_green(colour_audit) -> None:
    proc, out = colour_audit
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    statuses = {c["id"]: c["status"] for c in results["checks"]}
    assert not {k: v for k, v in statuses.items() if v in ("fail", "warn", "error")}
    notes = " | ".join(results["dataset"]["notes"])
    assert "image folder: 400 files in 10 class subfolders" in notes
    assert "test: image manifest" in notes and "3 channels" in notes


def test_colour_thumbnails_reach_the_report(tmp_path: Path) -> None:
    """A duplicated colour image is shown in colour: the thumbnail PNG is RGB and red."""
    rng = np.random.default_rng(1)
    root = tmp_path / "train"
    for label in range(2):
        (root / str(label)).mkdir(parents=True)
        for i in range(15):
            img = rng.integers(0, 60, size=(8, 8, 3), dtype=np.uint8)
            img[2:6, 2:6] = (230, 20, 20) if label else (20, 20, 230)
            Image.fromarray(img, "RGB").save(root / str(label) / f"{i}.png")
    dup = root / "1" / "0.png"
    (root / "1" / "copy.png").write_bytes(dup.read_bytes())
    recipe = _recipe(tmp_path, "train/", {"fraction": 0.25})
    proc = run_cli("run", str(recipe))
    assert proc.returncode in (0, 1), proc.stderr
    html = (tmp_path / "recipe-report" / "index.html").read_text()
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    pictures = [Image.open(io.BytesIO(base64.b64decode(u))) for u in uris]
    colour = [p for p in pictures if p.mode == "RGB" and max(p.size) <= 64]
    assert colour, "no colour thumbnail in the report"
    red = [np.asarray(p)[..., 0].mean() > np.asarray(p)[..., 2].mean() + 10 for p in colour]
    assert any(red)
