"""`pytest --nncheck`: recipes as test items, one per check, through pytest's own machinery.

Run with pytester in a subprocess (an in-process session would unload numpy, which cannot be
loaded twice), which loads the plugin from its pytest11 entry point as a user's pytest does.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from nncheck.checks.registry import load_all
from tests.conftest import ROOT

pytest_plugins = ("pytester",)
# Counted here, not inside a test: pytester unloads the modules a test imports (numpy too).
N_CHECKS = len(load_all())

RECIPE = """\
name: wine
data:
  train: wine.csv
  target: label
{test}
checks:
  only: [{only}]
"""


def write_recipe(
    pytester: pytest.Pytester,
    only: str = "data.integrity, data.class_balance",
    test: str = "",
    name: str = "wine.yaml",
) -> None:
    shutil.copy(ROOT / "data" / "wine.csv", pytester.path / "wine.csv")
    (pytester.path / name).write_text(RECIPE.format(only=only, test=test))


def test_one_item_per_check_with_recipe_ids(pytester: pytest.Pytester) -> None:
    write_recipe(pytester)
    result = pytester.runpytest_subprocess("--nncheck", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, skipped=N_CHECKS - 2)
    result.stdout.fnmatch_lines(["*wine.yaml::data.integrity PASSED*"])
    result.stdout.fnmatch_lines(["*wine.yaml::data.leakage SKIPPED*"])


def test_k_selects_checks_and_junit_lists_them(pytester: pytest.Pytester) -> None:
    write_recipe(pytester)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "--nncheck", "-p", "no:cacheprovider", "-k", "class_balance", f"--junitxml={junit}"
    )
    result.assert_outcomes(passed=1)
    cases = ET.parse(junit).getroot().iter("testcase")
    assert [c.get("name") for c in cases] == ["data.class_balance"]


def test_a_failing_check_fails_its_item_with_message_and_hint(pytester: pytest.Pytester) -> None:
    # the test file is the training file itself: every test sample leaks
    write_recipe(pytester, only="data.leakage, data.integrity", test="  test: wine.csv")
    result = pytester.runpytest_subprocess("--nncheck", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, skipped=N_CHECKS - 2)
    result.stdout.fnmatch_lines(["*data.leakage [[]fail[]]: *", "*hint: *"])
    assert "Traceback" not in result.stdout.str()


def test_without_the_flag_recipes_are_not_collected(pytester: pytest.Pytester) -> None:
    write_recipe(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_other_yaml_is_left_alone(pytester: pytest.Pytester) -> None:
    (pytester.path / "ci.yml").write_text("jobs: {build: {runs-on: ubuntu}}\n")
    result = pytester.runpytest_subprocess("--nncheck", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_bad_recipe_is_a_collection_error_naming_the_key(pytester: pytest.Pytester) -> None:
    write_recipe(pytester)
    (pytester.path / "wine.yaml").write_text("data:\n  train: wine.csv\n  targte: label\n")
    result = pytester.runpytest_subprocess("--nncheck", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*could not run the recipe: *data.targte: unknown key*"])
    assert "Traceback" not in result.stdout.str()


def test_the_plugin_imports_nothing_heavy() -> None:
    """Loaded into every pytest session once installed: it must cost nothing."""
    import subprocess
    import sys

    code = (
        "import sys, nncheck.pytest_plugin; "
        "print(sorted(m for m in ('numpy', 'torch', 'pandas', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
