"""Property-based fuzzing of the CLI contract (tests/fuzz/contract.py) on mutated recipes,
recipe texts and data files.

The default suite runs a few hundred derandomized cases (the same ones every run, so CI is
stable and a fixed bug cannot quietly come back); `pytest -m slow` runs 900 new
random ones on every CI run (thousands by raising SLOW's max_examples; 4,500 were run
clean when the suite was written). A failing case is shrunk by hypothesis to its smallest form.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from tests.fuzz.contract import run_case, tiny_wine, tiny_wine_text
from tests.fuzz.strategies import data_files, mutated_recipes, recipe_texts

FAST = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
SLOW = settings(FAST, max_examples=300, derandomize=False)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _case_dir(root: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=root))
    tiny_wine(folder)
    return folder


def _recipe_case(root: Path, case: tuple[dict, list[str]]) -> None:
    recipe, args = case
    folder = _case_dir(root)
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True))
    run_case(folder, path, *args)


def _text_case(root: Path, text: bytes) -> None:
    folder = _case_dir(root)
    path = folder / "recipe.yaml"
    path.write_bytes(text)
    run_case(folder, path, "--only", "data.integrity")


def _data_case(root: Path, case: tuple[str, bytes], stage: str) -> None:
    from tests.fuzz.contract import base_recipe

    name, content = case
    folder = _case_dir(root)
    (folder / "d.csv").unlink()
    (folder / name).write_bytes(content)
    recipe = base_recipe()
    recipe["data"]["train"] = name
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    run_case(folder, path, *([] if stage == "all" else ["--only", stage]))


CSV = tiny_wine_text()


@FAST
@given(case=mutated_recipes())
def test_mutated_recipes_keep_the_contract(cases: Path, case) -> None:
    _recipe_case(cases, case)


@FAST
@given(text=recipe_texts())
def test_broken_recipe_texts_keep_the_contract(cases: Path, text: bytes) -> None:
    _text_case(cases, text)


@FAST
@given(case=data_files(CSV))
def test_corrupted_data_files_keep_the_contract(cases: Path, case) -> None:
    _data_case(cases, case, "data")


@pytest.mark.slow
@SLOW
@given(case=mutated_recipes())
def test_mutated_recipes_keep_the_contract_many(cases: Path, case) -> None:
    _recipe_case(cases, case)


@pytest.mark.slow
@SLOW
@given(text=recipe_texts())
def test_broken_recipe_texts_keep_the_contract_many(cases: Path, text: bytes) -> None:
    _text_case(cases, text)


@pytest.mark.slow
@SLOW
@given(case=data_files(CSV))
def test_corrupted_data_files_keep_the_contract_full_run(cases: Path, case) -> None:
    _data_case(cases, case, "all")
