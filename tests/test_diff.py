"""`nncheck diff OLD NEW` on pairs of real audits, run as a CI job runs them.

One wine audit with explicit train and test files is the baseline; against it, the same
recipe with 12 test rows copied into train (a leak) and with the learning rate set to 0.
The three audits are shared by the module (about 10 s in all).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nncheck.diff import compare, direction, intervals, md, to_markdown
from tests.conftest import WINE, run_cli, wine_recipe, write_recipe


def audit(directory: Path, rows: pd.DataFrame, test: pd.DataFrame, **sections: Any) -> Path:
    directory.mkdir(parents=True)
    rows.to_csv(directory / "train.csv", index=False)
    test.to_csv(directory / "test.csv", index=False)
    recipe = wine_recipe(directory, **sections)
    recipe["data"] = {
        **recipe["data"],
        "train": str(directory / "train.csv"),
        "test": str(directory / "test.csv"),
    }
    proc = run_cli("run", str(write_recipe(directory, recipe)), "--quiet")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return directory / "report"


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diff")
    wine = pd.read_csv(WINE)
    order = np.random.default_rng(0).permutation(len(wine))
    test, train = wine.iloc[order[:44]], wine.iloc[order[44:]]
    leaked = pd.concat([train, test.iloc[:12]])  # test rows copied into train
    return {
        "base": audit(root / "base", train, test),
        "leak": audit(root / "leak", leaked, test),
        "lr0": audit(root / "lr0", train, test, train={"lr": 0.0}),
    }


def diff_cli(*args: str | Path) -> tuple[int, str]:
    proc = run_cli("diff", *map(str, args))
    assert not proc.stderr or proc.returncode == 2, proc.stderr
    return proc.returncode, proc.stdout + proc.stderr


def table(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the table under ``### heading`` (cells stripped, header row dropped)."""
    section = markdown.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows[2:]]


def test_a_leak_introduced_is_worse_and_names_the_leaked_rows(audits: dict[str, Path]) -> None:
    code, out = diff_cli(audits["base"], audits["leak"])
    assert code == 1, out
    assert out.splitlines()[2].startswith("**WORSE**")
    statuses = {r[0]: r[1:4] for r in table(out, "Checks whose status changed")}
    assert statuses["`data.leakage`"] == ["pass", "fail", "worse"]
    (suspect,) = table(out, "New suspects")
    assert suspect[:4] == ["`data.leakage`", "leaked test samples", "0", "12"]
    # the base audit's train file has 134 rows: the copies are train rows 134..145
    assert "test row 0 = train row 134" in suspect[4] and "and 2 more" in suspect[4]
    recipe = {r[0]: r[1:] for r in table(out, "What differs in the recipe")}
    assert recipe["dataset.n_train"] == ["134", "146"]
    assert "train.lr" not in recipe


def test_lr_zero_is_worse_in_status_and_beyond_the_test_accuracys_interval(
    audits: dict[str, Path],
) -> None:
    code, out = diff_cli(audits["base"] / "results.json", audits["lr0"])
    assert code == 1, out
    statuses = {r[0]: r[1:4] for r in table(out, "Checks whose status changed")}
    for check in ("overfit.one_batch", "overfit.loss_decreases", "evaluate.full_test_set"):
        assert statuses[f"`{check}`"] == ["pass", "fail", "worse"], check
    heading = "Metrics that moved beyond their uncertainty (95% intervals)"
    metrics = {(r[0], r[1]): r[4] for r in table(out, heading)}
    assert metrics[("`evaluate.full_test_set`", "`accuracy`")] == "worse"
    assert metrics[("`evaluate.full_test_set`", "`loss`")] == "worse"
    # a diagnostic that moved is listed, not judged
    assert {w for (c, _), w in metrics.items() if c.startswith("`skeleton.")} == {"moved"}
    (acc,) = [m for m in compare(audits["base"], audits["lr0"]).metrics
              if (m.check, m.metric) == ("evaluate.full_test_set", "accuracy")]  # fmt: skip
    assert acc.new[2] < acc.old[1]  # the new interval lies wholly below the old one
    recipe = {r[0]: r[1:] for r in table(out, "What differs in the recipe")}
    assert recipe["train.lr"] == ["0.01", "0.0"]
    assert "### New suspects" not in out  # no section for what did not happen


def test_the_fix_is_better_and_exits_0(audits: dict[str, Path]) -> None:
    code, out = diff_cli(audits["lr0"], audits["base"])
    assert code == 0, out
    assert "**Nothing got worse** (some things changed, below)." in out
    statuses = {r[0]: r[3] for r in table(out, "Checks whose status changed")}
    assert statuses["`evaluate.full_test_set`"] == "better"


def test_an_audit_against_itself_changes_nothing(audits: dict[str, Path]) -> None:
    cmp = compare(audits["base"], audits["base"])
    assert (cmp.statuses, cmp.metrics, cmp.suspects, cmp.recipe) == ([], [], [], [])
    assert cmp.exit_code == 0
    assert "**Nothing got worse**." in to_markdown(cmp)
    assert "###" not in to_markdown(cmp)


def test_output_appends_the_markdown_for_a_job_summary(
    audits: dict[str, Path], tmp_path: Path
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier step\n")
    code, out = diff_cli(audits["base"], audits["leak"], "--output", summary)
    assert code == 1
    assert summary.read_text() == "# earlier step\n" + out


def results(checks: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"schema_version": 1, "recipe": {"name": "r"}, "verdict": "pass", **top,
            "checks": checks}  # fmt: skip


def write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_new_label_error_suspects_are_worse_even_when_the_status_stays(tmp_path: Path) -> None:
    def label_errors(n: int, rows: list[int]) -> dict[str, Any]:
        examples = [
            {
                "split": "train",
                "row": r,
                "given": "<img src=http://x/a.png>",
                "suggested": "b",
                "flagged": True,
            }
            for r in rows  # fmt: skip
        ] + [{"split": "test", "row": 99, "given": "a", "suggested": "b", "flagged": False}]
        return {"id": "data.label_errors", "stage": "data", "status": "warn",
                "metrics": {"suspects": n}, "examples": examples}  # fmt: skip

    old = write(tmp_path / "a.json", results([label_errors(1, [3])]))
    new = write(tmp_path / "b.json", results([label_errors(2, [3, 7])]))
    cmp = compare(old, new)
    assert cmp.statuses == [] and cmp.exit_code == 1
    (found,) = cmp.suspects
    assert (found.old_count, found.new_count) == (1, 2)
    assert found.new == ["train row 7: <img src=http://x/a.png> -> b"]  # unflagged row 99 left out
    text = to_markdown(cmp)
    assert "\\<img src=http://x/a.png> -> b" in text  # inert in GitHub's Markdown
    assert "<img" not in text.replace("\\<img", "")
    same = compare(new, new)
    assert same.suspects == [] and same.exit_code == 0


def test_a_check_that_fails_only_in_the_new_audit_is_worse(tmp_path: Path) -> None:
    old = write(tmp_path / "a" / "results.json", results([]))
    new = write(tmp_path / "b" / "results.json", results(
        [{"id": "data.integrity", "stage": "data", "status": "fail", "message": "bad | x"}]
    ))  # fmt: skip
    cmp = compare(tmp_path / "a", tmp_path / "b")
    assert [(s.old, s.new, s.change) for s in cmp.statuses] == [("absent", "fail", 2)]
    assert "bad \\| x" in to_markdown(cmp)  # a | in a message does not split the cell
    assert cmp.exit_code == 1 and old.exists() and new.exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "holds no results.json"),
        (lambda p: write(p / "x.json", {"checks": 3}), "not an nncheck results.json"),
        (lambda p: (p / "y.json").write_text("{oops") and p / "y.json", "not a readable"),
        (lambda p: write(p / "z.json", results([], schema_version=99)), "schema"),
    ],
)
def test_unusable_audits_are_a_clear_usage_error(tmp_path: Path, make: Any, message: str) -> None:
    good = write(tmp_path / "good" / "results.json", results([]))
    bad = make(tmp_path)
    code, out = diff_cli(good.parent, bad)
    assert code == 2
    assert message in out and "Traceback" not in out


def test_intervals_and_directions_come_from_the_metric_names() -> None:
    got = intervals({"accuracy": 0.9, "accuracy_ci": [0.8, 0.95], "loss": 1.0, "loss_se": 0.5,
                     "steps": 3, "flag": True, "flag_se": 1.0})  # fmt: skip
    assert got["accuracy"] == (0.9, 0.8, 0.95)
    assert got["loss"] == pytest.approx((1.0, 1.0 - 0.98, 1.0 + 0.98), abs=1e-4)
    assert set(got) == {"accuracy", "loss"}
    assert [direction(m) for m in ("accuracy", "loss", "mse", "r2", "loss_gain", "steps")] == [
        1, -1, -1, 1, 1, 0,
    ]  # fmt: skip
    assert md("a|b <i>[x](y) `c`") == "a\\|b \\<i>\\[x\\](y) \\`c\\`"
