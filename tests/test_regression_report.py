"""A regression audit's pictures: predicted vs true target with the identity line,
residuals, the target's histogram with a note on caps and pile-ups, and each sample's
target beside its predictions over training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from nncheck.checks._artifacts import target_histogram
from tests.conftest import ROOT, run_cli, write_recipe
from tests.test_report_html import Page

DIABETES = ROOT / "data" / "diabetes.csv"


def diabetes_recipe(tmp: Path, data: Path) -> Path:
    recipe = yaml.safe_load((ROOT / "recipes" / "diabetes.yaml").read_text())
    recipe["data"]["train"] = str(data)
    recipe["report"] = {"dir": str(tmp / "report")}
    return write_recipe(tmp, recipe)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Page]:
    """diabetes as it is, and with its target capped at 275 (as Boston's at 50.0)."""
    out = {}
    for name in ("diabetes", "capped"):
        tmp = tmp_path_factory.mktemp(name)
        data = DIABETES
        if name == "capped":
            lines = DIABETES.read_text().splitlines()
            rows = [line.rsplit(",", 1) for line in lines[1:]]
            capped = [f"{x},{min(float(y), 275.0)}" for x, y in rows]
            data = tmp / "diabetes_capped.csv"
            data.write_text("\n".join([lines[0], *capped]) + "\n")
        proc = run_cli("run", str(diabetes_recipe(tmp, data)), "--quiet")
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        out[name] = Page((tmp / "report" / "index.html").read_text())
    return out


def test_predicted_vs_actual_and_residuals(reports: dict[str, Page]) -> None:
    alts = [c["alt"] for c in reports["diabetes"].charts]
    assert "test set: predicted vs true target" in alts
    assert "test set: residuals vs predicted" in alts


def test_prediction_dynamics_mark_each_samples_target(reports: dict[str, Page]) -> None:
    page = reports["diabetes"]
    alts = [c["alt"] for c in page.charts]
    assert "prediction dynamics: predictions for fixed test samples" in alts
    assert "dotted lines: each sample's true target" in " ".join(page.text)


def test_target_histogram_notes_a_cap(reports: dict[str, Page]) -> None:
    plain = " ".join(" ".join(reports["diabetes"].text).split())
    assert "no cap or pile-up" in plain
    capped = " ".join(" ".join(reports["capped"].text).split())
    assert "equal the maximum 275: the target looks capped" in capped
    assert "targets (8.1%)" in capped  # 36 of 442 rows held a target of 275 or more


def test_target_histogram_finds_pile_ups_and_low_caps() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(50, 10, 1000)
    zeros = np.where(rng.random(1000) < 0.2, 0.0, y)  # 20% "no event" recorded as 0
    ((note,),) = [[v["note"]] for v in target_histogram(zeros[:800], zeros[800:]).values()]
    assert "equal the minimum 0" in note and "capped" in note
    middle = np.where(rng.random(1000) < 0.1, 50.0, y)  # a default in the middle
    (hist,) = target_histogram(middle, np.zeros(0)).values()
    assert "pile-up" in hist["note"] and "equal 50" in hist["note"]
    assert sum(hist["counts"]) == 1000 and len(hist["edges"]) == len(hist["counts"]) + 1
    (plain,) = target_histogram(y, np.zeros(0)).values()
    assert plain["note"].startswith("no cap or pile-up")
