"""`nncheck run` end to end, as a user meets it: exit codes, files, determinism."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from tests.conftest import (
    ROOT,
    check_by_id,
    read_results,
    run_cli,
    wine_recipe,
    write_recipe,
)

REPORT_FILES = ("index.html", "results.json", "junit.xml", "summary.md")


def test_healthy_wine_passes_and_writes_every_file(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path))
    proc = run_cli("run", str(recipe))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = tmp_path / "report"
    for name in REPORT_FILES:
        assert (report / name).is_file(), name
    results = read_results(report)
    assert results["schema_version"] == 1
    assert results["exit_code"] == 0
    for check_id in ("data.integrity", "skeleton.init_loss", "overfit.one_batch"):
        assert check_by_id(results, check_id)["status"] == "pass", check_id
    assert results["summary"]["fail"] == 0 and results["summary"]["error"] == 0
    # the resolved recipe: defaults filled in, task and loss decided, absolute paths
    recipe_out = results["recipe"]
    assert recipe_out["data"]["train"] == str(ROOT / "data" / "wine.csv")
    assert recipe_out["data"]["task"] == "classification"
    assert recipe_out["model"]["loss"] == "cross_entropy"
    assert recipe_out["model"]["init_std"] == 0.01  # a default, filled in
    assert Path(recipe_out["report"]["dir"]).is_absolute()
    # the terminal names every check
    for check_id in ("data.integrity", "skeleton.init_loss", "overfit.one_batch"):
        assert check_id in proc.stdout
    assert "PASS" in proc.stdout


def test_two_runs_give_identical_results_apart_from_times(tmp_path: Path) -> None:
    outs = []
    for i in range(2):
        recipe = wine_recipe(tmp_path, report={"dir": str(tmp_path / f"r{i}")})
        path = write_recipe(tmp_path, recipe, name=f"r{i}.yaml")
        assert run_cli("run", str(path), "--quiet").returncode == 0
        res = read_results(tmp_path / f"r{i}")
        for key in ("started", "duration_s"):
            res.pop(key)
        res["recipe"]["report"].pop("dir")
        for c in res["checks"]:
            c.pop("duration_s")
        outs.append(json.dumps(res, sort_keys=True))
    assert outs[0] == outs[1]


def test_init_std_10_fails_init_loss_with_numbers(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path, wine_recipe(tmp_path, model={"init": "normal", "init_std": 10.0})
    )
    proc = run_cli("run", str(recipe), "--quiet")
    assert proc.returncode == 1
    check = check_by_id(read_results(tmp_path / "report"), "skeleton.init_loss")
    assert check["status"] == "fail"
    assert "loss at init" in check["message"] and "expected" in check["message"]
    assert check["metrics"]["loss"] > 3 * check["metrics"]["expected"]
    assert "init" in check["hint"]


def test_lr_zero_fails_overfit_one_batch_as_stalled(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path, train={"lr": 0.0}))
    proc = run_cli("run", str(recipe), "--quiet")
    assert proc.returncode == 1
    check = check_by_id(read_results(tmp_path / "report"), "overfit.one_batch")
    assert check["status"] == "fail"
    assert check["metrics"]["failure_mode"] == "stalled"
    assert "did not move" in check["message"] and "lr 0" in check["message"]


def test_huge_lr_fails_overfit_one_batch_as_nan_or_diverged(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path,
        wine_recipe(
            tmp_path, model={"activation": "relu"}, train={"optimizer": "sgd", "lr": 100.0}
        ),
    )
    run_cli("run", str(recipe), "--quiet")
    check = check_by_id(read_results(tmp_path / "report"), "overfit.one_batch")
    assert check["status"] == "fail"
    assert check["metrics"]["failure_mode"] in ("nan", "diverged")


def test_only_and_skip_take_ids_and_stages(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path))
    run_cli("run", str(recipe), "--quiet", "--only", "data")
    res = read_results(tmp_path / "report")
    assert check_by_id(res, "data.integrity")["status"] == "pass"
    assert check_by_id(res, "overfit.one_batch")["status"] == "skip"
    assert "--only" in check_by_id(res, "overfit.one_batch")["message"]
    run_cli("run", str(recipe), "--quiet", "--skip", "skeleton.init_loss", "overfit")
    res = read_results(tmp_path / "report")
    assert check_by_id(res, "skeleton.init_loss")["status"] == "skip"
    assert check_by_id(res, "overfit.one_batch")["status"] == "skip"
    assert check_by_id(res, "data.integrity")["status"] == "pass"


def test_recipe_skip_list_and_thresholds_apply(tmp_path: Path) -> None:
    recipe = wine_recipe(
        tmp_path,
        checks={"skip": ["data.integrity"], "overfit.one_batch": {"max_steps": 3}},
    )
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet")
    res = read_results(tmp_path / "report")
    assert check_by_id(res, "data.integrity")["status"] == "skip"
    one_batch = check_by_id(res, "overfit.one_batch")
    assert one_batch["status"] == "fail" and one_batch["metrics"]["steps"] == 3
    assert proc.returncode == 1


def test_fail_on_warn_turns_warnings_into_exit_1(tmp_path: Path) -> None:
    # a tight init-loss tolerance turns the healthy wine run's small gap into a warning
    recipe = wine_recipe(
        tmp_path, checks={"skeleton.init_loss": {"warn_rel": 1e-6, "fail_rel": 100.0}}
    )
    path = write_recipe(tmp_path, recipe)
    assert run_cli("run", str(path), "--quiet").returncode == 0
    assert check_by_id(read_results(tmp_path / "report"), "skeleton.init_loss")["status"] == "warn"
    proc = run_cli("run", str(path), "--quiet", "--fail-on", "warn")
    assert proc.returncode == 1
    suite = ET.parse(tmp_path / "report" / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"


def test_junit_xml_has_one_case_per_check_with_real_counts(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, wine_recipe(tmp_path, train={"lr": 0.0}))
    run_cli("run", str(recipe), "--quiet", "--skip", "data.integrity")
    res = read_results(tmp_path / "report")
    root = ET.parse(tmp_path / "report" / "junit.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c["id"] for c in res["checks"]]
    assert int(suite.get("tests")) == len(res["checks"])
    assert int(suite.get("failures")) == res["summary"]["fail"] >= 1
    assert int(suite.get("skipped")) == res["summary"]["skip"] >= 1
    failed = next(c for c in cases if c.get("name") == "overfit.one_batch")
    failure = failed.find("failure")
    assert failure is not None and "did not move" in failure.get("message")
    skipped = next(c for c in cases if c.get("name") == "data.integrity")
    assert skipped.find("skipped") is not None


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        self.tags.append(tag)
        for k, v in attrs:
            if k == "id" and v:
                self.ids.add(v)

    def handle_data(self, data):  # noqa: ANN001
        self.text.append(data)


def test_html_report_has_a_section_per_check_and_escapes_user_strings(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    recipe = wine_recipe(tmp_path, name=f"wine {evil}")
    run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet")
    html = (tmp_path / "report" / "index.html").read_text()
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    parser = _Collector()
    parser.feed(html)
    assert "script" not in parser.tags
    for c in read_results(tmp_path / "report")["checks"]:
        assert "check-" + c["id"].replace(".", "-") in parser.ids
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert evil not in summary


def test_version_and_help() -> None:
    from nncheck import __version__

    proc = run_cli("--version")
    assert proc.returncode == 0 and __version__ in proc.stdout
    proc = run_cli("run", "--help")
    assert proc.returncode == 0
    assert "nncheck run recipes/wine.yaml" in proc.stdout and "exit codes" in proc.stdout


def test_checks_command_lists_ids_stages_and_thresholds() -> None:
    proc = run_cli("checks")
    assert proc.returncode == 0
    for check_id in ("data.integrity", "skeleton.init_loss", "overfit.one_batch"):
        assert check_id in proc.stdout
    assert "max_loss" in proc.stdout and "D6" in proc.stdout
    verbose = run_cli("checks", "-v")
    assert "Why:" in verbose.stdout
