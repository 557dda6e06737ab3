"""Root causes: one broken thing upstream is reported as the cause of the findings it
explains (wiped inputs behind duplicates, conflicts and leaks; NaN behind skipped model
checks), listed first, with statuses and the exit code unchanged."""

from __future__ import annotations

import html.parser
from pathlib import Path

import numpy as np
import pandas as pd

from nncheck.results import CheckResult
from nncheck.root_causes import attribute, look_first
from tests.conftest import DATA, WINE, read_results, run_cli, wine_recipe, write_recipe

SAMPLE_CHECKS = (
    "data.features",
    "data.duplicates",
    "data.label_conflicts",
    "data.near_duplicates",
    "data.leakage",
    "data.outliers",
)


class _LookFirst(html.parser.HTMLParser):
    """The check ids linked from the "look at these first" card, in order, with depth."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.depth = 0
        self.ids: list[tuple[int, str]] = []
        self._code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and ("class", "card attention") in attrs:
            self.inside = True
        elif self.inside and tag == "ul":
            self.depth += 1
        elif self.inside and tag == "code":
            self._code = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.inside = False
        elif self.inside and tag == "ul":
            self.depth -= 1
        elif tag == "code":
            self._code = False

    def handle_data(self, data: str) -> None:
        if self.inside and self._code:
            self.ids.append((self.depth, data))


def _wiped_digits(tmp_path: Path) -> Path:
    frame = pd.read_csv(DATA / "digits.csv")
    pixels = [c for c in frame.columns if c != "label"]
    frame[pixels] = frame[pixels] // 17  # 0..16 // 17: every pixel 0, every image blank
    path = tmp_path / "digits_wiped.csv"
    frame.to_csv(path, index=False)
    return path


def test_wiped_inputs_explain_duplicates_conflicts_and_leaks(tmp_path: Path) -> None:
    recipe = wine_recipe(tmp_path, data={"train": str(_wiped_digits(tmp_path))})
    recipe["model"] = {"hidden": [32]}
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--only", *SAMPLE_CHECKS)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # still a failing run
    results = read_results(tmp_path / "report")
    checks = {c["id"]: c for c in results["checks"]}
    assert checks["data.features"]["status"] == "fail"
    assert checks["data.features"]["consequence_of"] is None
    assert checks["data.features"]["metrics"]["inputs_degenerate"] is True
    explained = [i for i, c in checks.items() if c["consequence_of"] == "data.features"]
    # every sample is a copy of every other: duplicates, conflicts and leaks all fire
    assert {"data.duplicates", "data.label_conflicts", "data.leakage"} <= set(explained)
    for i in explained:
        assert checks[i]["status"] in ("warn", "fail")  # statuses left as they were
    assert "probably consequences of data.features: " in proc.stdout

    parser = _LookFirst()
    parser.feed((tmp_path / "report" / "index.html").read_text())
    assert parser.ids[0] == (1, "data.features")  # the cause leads the list
    assert sorted(i for d, i in parser.ids if d == 2) == sorted(explained)  # nested under it
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "| `data.duplicates` | ❌ fail | probably a consequence of `data.features`: " in summary


def test_nan_inputs_explain_the_skipped_model_checks(tmp_path: Path) -> None:
    frame = pd.read_csv(WINE)
    frame.loc[::7, "alcohol"] = np.nan
    path = tmp_path / "wine_nan.csv"
    frame.to_csv(path, index=False)
    recipe = wine_recipe(tmp_path, data={"train": str(path)})
    only = ("data.integrity", "skeleton.init_loss", "overfit.one_batch")
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", "--only", *only)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    checks = {c["id"]: c for c in read_results(tmp_path / "report")["checks"]}
    assert checks["data.integrity"]["status"] == "fail"
    for i in ("skeleton.init_loss", "overfit.one_batch"):
        assert checks[i]["status"] == "skip" and checks[i]["consequence_of"] == "data.integrity"


def _res(check_id: str, status: str, **metrics: object) -> CheckResult:
    return CheckResult(check_id, check_id.split(".")[0], status, "m", metrics=dict(metrics))  # type: ignore[arg-type]


def test_no_cause_without_degenerate_inputs_and_causes_lead() -> None:
    healthy = [
        _res("data.features", "warn", inputs_degenerate=False),
        _res("data.duplicates", "fail"),
    ]
    healthy = attribute(healthy)
    assert [c.consequence_of for c in healthy] == [None, None]  # a scale warning explains nothing
    assert [c.id for c, _ in look_first(healthy)] == ["data.duplicates", "data.features"]

    wiped = [
        _res("data.duplicates", "fail"),
        _res("data.leakage", "pass"),
        _res("data.features", "warn", inputs_degenerate=True),
        _res("data.outliers", "warn"),
    ]
    wiped = attribute(wiped)
    assert [c.consequence_of for c in wiped] == ["data.features", None, None, "data.features"]
    listed = look_first(wiped)
    assert [(c.id, [q.id for q in f]) for c, f in listed] == [
        ("data.features", ["data.duplicates", "data.outliers"])
    ]
