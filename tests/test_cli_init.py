"""`nncheck init DATA_FILE` writes a recipe that runs as it is."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import ROOT, WINE, read_results, run_cli


def test_init_csv_guesses_target_and_task_and_runs(tmp_path: Path) -> None:
    proc = run_cli("init", str(WINE), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    recipe_path = tmp_path / "wine.yaml"
    recipe = yaml.safe_load(recipe_path.read_text())
    assert recipe["data"]["target"] == "label"
    assert recipe["data"]["task"] == "classification"
    assert (tmp_path / recipe["data"]["train"]).resolve() == WINE
    run = run_cli("run", str(recipe_path), "--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    results = read_results(tmp_path / "reports" / "wine")
    assert results["summary"]["fail"] == 0 and results["summary"]["error"] == 0


def test_init_regression_csv(tmp_path: Path) -> None:
    csv = tmp_path / "houses.csv"
    rows = ["area,rooms,price"] + [
        f"{50 + i * 3.7:.1f},{1 + i % 5},{1000 + 17.3 * i:.2f}" for i in range(120)
    ]
    csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "sub" / "houses.yaml"
    assert run_cli("init", str(csv), "-o", str(out)).returncode == 0
    recipe = yaml.safe_load(out.read_text())
    assert recipe["data"]["target"] == "price" and recipe["data"]["task"] == "regression"
    run = run_cli("run", str(out), "--quiet", "--only", "data", "skeleton", cwd=tmp_path)
    assert run.returncode in (0, 1) and "Traceback" not in run.stderr


def test_init_table_with_class_codes_1_to_k_runs_clean_integrity(tmp_path: Path) -> None:
    # statsmodels' modechoice shape: ';' delimited, the last column codes 1..4
    rows = ["ttme;invc;hinc;psize"] + [
        f"{10 + (i * 7) % 50};{20 + (i * 3) % 40};{30 + i % 17};{1 + i % 4}" for i in range(160)
    ]
    csv = tmp_path / "modes.csv"
    csv.write_text("\n".join(rows) + "\n")
    assert run_cli("init", str(csv), cwd=tmp_path).returncode == 0
    text = (tmp_path / "modes.yaml").read_text()
    recipe = yaml.safe_load(text)
    assert recipe["data"]["classes"] == [1, 2, 3, 4] and recipe["data"]["csv"]["delimiter"] == ";"
    assert "Integer labels 1..4 are the classes' names here" in text
    run = run_cli("run", "modes.yaml", "--quiet", "--only", "data.integrity", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    checks = {c["id"]: c for c in read_results(tmp_path / "reports" / "modes")["checks"]}
    assert checks["data.integrity"]["status"] == "pass"


def test_init_idx_finds_the_labels_file(tmp_path: Path) -> None:
    images = ROOT / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
    proc = run_cli("init", str(images), "-o", str(tmp_path / "mnist.yaml"))
    assert proc.returncode == 0, proc.stderr
    recipe = yaml.safe_load((tmp_path / "mnist.yaml").read_text())
    assert recipe["data"]["train"]["labels"].endswith("t10k-labels-idx1-ubyte.gz")
    assert recipe["data"]["normalize"] == "scale255"


def test_init_refuses_to_overwrite_and_missing_file_is_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "r.yaml"
    out.write_text("keep me")
    proc = run_cli("init", str(WINE), "-o", str(out))
    assert proc.returncode == 2 and "--force" in proc.stderr
    assert out.read_text() == "keep me"
    proc = run_cli("init", str(tmp_path / "nope.csv"))
    assert proc.returncode == 2 and "nope.csv" in proc.stderr and "Traceback" not in proc.stderr


def test_init_with_several_target_columns_writes_a_multilabel_recipe(tmp_path: Path) -> None:
    data = ROOT / "data" / "digits_multilabel.csv"
    proc = run_cli("init", str(data), "--target", "even,prime,closed_loop", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "digits_multilabel.yaml").read_text()
    recipe = yaml.safe_load(text)
    assert recipe["data"]["target"] == ["even", "prime", "closed_loop"]
    assert recipe["data"]["task"] == "multilabel" and recipe["model"]["loss"] == "bce"
    assert "# Target: even, prime, closed_loop (given); task multilabel" in text
    run = run_cli("run", "digits_multilabel.yaml", "--quiet", "--only", "data", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    checks = read_results(tmp_path / "reports" / "digits_multilabel")["checks"]
    balance = next(c for c in checks if c["id"] == "data.label_balance")
    assert balance["status"] == "pass" and balance["metrics"]["n_labels"] == 3
