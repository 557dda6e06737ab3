"""skeleton.init_loss on torch models: the correct init is the user's module redrawn."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from tests.conftest import check_by_id, read_results, run_cli, wine_recipe, write_recipe  # noqa: E402

MODELS = """
import math
from torch import nn


def mlp(input_shape, n_outputs, std=None):
    model = nn.Sequential(
        nn.Linear(math.prod(input_shape), 16), nn.Tanh(), nn.Linear(16, n_outputs)
    )
    if std is not None:  # a hand-written init: N(0, std) weights, no fan-in scaling
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=std)
    return model
"""


def _init_loss(tmp_path: Path, **kwargs: float) -> dict:
    (tmp_path / "umodels.py").write_text(MODELS)
    model = {"engine": "torch", "factory": "umodels:mlp", "device": "cpu", "kwargs": kwargs}
    path = write_recipe(tmp_path, wine_recipe(tmp_path, model=model))
    proc = run_cli("run", str(path), "--quiet", "--only", "skeleton.init_loss")
    assert proc.returncode in (0, 1), proc.stderr
    return check_by_id(read_results(tmp_path / "report"), "skeleton.init_loss")


def test_torch_default_init_passes_against_redrawn_weights(tmp_path: Path) -> None:
    check = _init_loss(tmp_path)
    assert check["status"] == "pass", check["message"]
    assert check["metrics"]["correct_init"] == "weights N(0, 1/fan-in), 8 seeds"
    assert len(set(check["metrics"]["correct_init_losses"])) == 8


def test_torch_weights_without_fan_in_scaling_fail(tmp_path: Path) -> None:
    # the user's own init is not the reference: N(0, 1) weights on 13 inputs fail
    check = _init_loss(tmp_path, std=1.0)
    assert check["status"] == "fail", check["message"]
    assert check["metrics"]["ratio_to_correct_init"] > 2
    assert "skeleton.init_scale's statistics point at" in check["hint"]
