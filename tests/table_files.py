"""Real-shaped table files for the table tests, written the way other tools write them.

Each writer reproduces one way tables come in the wild (the shapes of issue 12): R's
write.csv with quoted row names, a headerless UCI file with ", " separators and `?`
cells, a European spreadsheet export (`;`, decimal commas, Latin-1), a clinical table
where 0 means "not measured" next to a count whose zeros are real, a visits table with
several rows per patient. Seeded, so every test sees the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import DATA

SPECIES = ("setosa", "versicolor", "virginica")


def r_iris(path: Path) -> Path:
    """iris as R's write.csv writes it: every cell quoted, an empty header over the row
    names 1..150, rows sorted by species (so the row name predicts the label)."""
    df = pd.read_csv(DATA / "iris.csv")
    out = pd.DataFrame(
        {
            "Sepal.Length": df.iloc[:, 0],
            "Sepal.Width": df.iloc[:, 1],
            "Petal.Length": df.iloc[:, 2],
            "Petal.Width": df.iloc[:, 3],
            "Species": [SPECIES[i] for i in df["label"]],
        }
    )
    out.index = range(1, len(out) + 1)
    out.to_csv(path, quoting=1, index_label="")
    return path


def adult_headerless(path: Path, n: int = 400) -> Path:
    """A UCI adult-like file: no header, ", " separators, `?` for unknown categories, a
    capital gain that is 0 for most people (honest zeros) and the class in the last column."""
    rng = np.random.default_rng(1)
    work = rng.choice(
        ["Private", "Self-emp", "Federal-gov", "Local-gov"], n, p=[0.7, 0.1, 0.1, 0.1]
    )
    work = np.where(rng.random(n) < 0.05, "?", work)
    edu = rng.choice(["HS-grad", "Bachelors", "Masters", "Some-college", "Doctorate"], n)
    sex = rng.choice(["Male", "Female"], n)
    age = rng.integers(17, 80, n)
    hours = rng.integers(10, 70, n)
    gain = np.where(
        rng.random(n) < 0.9,
        0,
        rng.choice([114, 401, 594, 914, 991, 1055, 2174, 3103, 5013, 7688, 14084], n),
    )
    rich = (edu != "HS-grad") & (hours > 40) | (gain > 5000)
    income = np.where(rich, ">50K", "<=50K")
    lines = [
        f"{a}, {w}, {e}, {s}, {g}, {h}, {i}"
        for a, w, e, s, g, h, i in zip(age, work, edu, sex, gain, hours, income)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def european(path: Path, n: int = 120) -> Path:
    """A spreadsheet export from a German locale: `;`, decimal commas (thousands with a
    dot), Latin-1 text in the header and the cells."""
    rng = np.random.default_rng(2)
    city = rng.choice(["Zürich", "Genève", "Köln"], n)
    size = rng.normal(170, 10, n)
    income = rng.normal(4200, 900, n)
    klasse = np.where(size + rng.normal(0, 5, n) > 170, "groß", "klein")
    rows = ["Stadt;Größe;Einkommen;Klasse"]
    for c, s, i, k in zip(city, size, income, klasse):
        money = f"{i:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        rows.append(f"{c};{s:.1f}".replace(".", ",") + f";{money};{k}")
    path.write_bytes(("\n".join(rows) + "\n").encode("latin-1"))
    return path


def clinical(path: Path, n: int = 500) -> Path:
    """A Pima-like table: 0 stands for "not measured" in glucose, blood pressure, BMI and
    insulin; pregnancies is a count whose zeros are real and simply its smallest values."""
    rng = np.random.default_rng(3)
    pregnancies = rng.poisson(3, n)
    glucose = rng.normal(121, 30, n).clip(44, 199).round()
    pressure = rng.normal(72, 12, n).clip(24, 122).round()
    bmi = rng.normal(32, 7, n).clip(18.2, 67).round(1)
    insulin = rng.lognormal(4.8, 0.6, n).clip(14, 846).round()
    age = rng.integers(21, 81, n)
    glucose[rng.choice(n, 5, replace=False)] = 0
    pressure[rng.choice(n, 23, replace=False)] = 0
    bmi[rng.choice(n, 7, replace=False)] = 0
    insulin[rng.random(n) < 0.45] = 0
    outcome = (glucose + rng.normal(0, 25, n) > 140).astype(int)
    pd.DataFrame(
        {
            "Pregnancies": pregnancies,
            "Glucose": glucose,
            "BloodPressure": pressure,
            "BMI": bmi,
            "Insulin": insulin,
            "Age": age,
            "Outcome": outcome,
        }
    ).to_csv(path, index=False)
    return path


def penguins_with_question_marks(path: Path) -> Path:
    """The bundled penguins with its missing sex written `?` (as some exports do)."""
    text = (DATA / "penguins.csv").read_text().splitlines()
    out = [text[0]]
    for line in text[1:]:
        cells = line.split(",")
        if cells[6] == "NA":
            cells[6] = "?"
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n")
    return path


def visits(path: Path, patients: int = 60, seed: int = 4) -> Path:
    """Several visits per patient: each patient's visits look alike and share the label,
    so a random row split puts the same patient on both sides."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(patients):
        base = rng.normal(0, 1, 3)
        label = int(base[0] > 0)
        for _ in range(int(rng.integers(1, 7))):
            x = base + rng.normal(0, 0.05, 3)
            rows.append((f"P{p:03d}", *np.round(x, 3), label))
    pd.DataFrame(rows, columns=["patient", "a", "b", "c", "label"]).to_csv(path, index=False)
    return path


def colours(path: Path, values: list[str], seed: int = 5) -> Path:
    """A small table with a categorical column holding ``values`` (one per row) and two
    numeric features."""
    rng = np.random.default_rng(seed)
    n = len(values)
    pd.DataFrame(
        {
            "colour": values,
            "x": rng.normal(0, 1, n).round(3),
            "z": rng.normal(5, 2, n).round(3),
            "label": rng.integers(0, 2, n),
        }
    ).to_csv(path, index=False)
    return path
