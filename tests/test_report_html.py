"""index.html as a reviewer gets it: self-contained, escaped, a section and pictures per check.

The page is parsed (html.parser) rather than searched as text, so the tests look where a
browser would look for a network request: ``src``/``href`` attributes, ``<style>`` and
``style=""`` CSS (``@import``, ``url(...)``).
"""

from __future__ import annotations

import base64
import re
import struct
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nncheck.results import CheckResult, RunResult
from nncheck.writers.charts import SCALE
from tests.conftest import ROOT, WINE, read_results, run_cli, wine_recipe, write_recipe

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
URL_ATTRS = {"src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction"}


class Page(HTMLParser):
    """Tags, ids, URL-bearing attributes, CSS and text of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.css: list[str] = []
        self.text: list[str] = []
        self.charts: list[dict[str, str]] = []  # <img class="chart">: the attributes
        self._in_style = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img" and ("class", "chart") in attrs:
            self.charts.append({k: v or "" for k, v in attrs})
        self._in_style = tag == "style"
        for name, value in attrs:
            value = value or ""
            if name == "id":
                self.ids.add(value)
            if name in URL_ATTRS:
                self.urls.append((tag, name, value))
            if name == "style":
                self.css.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        (self.css if self._in_style else self.text).append(data)


def assert_self_contained(page: Page) -> None:
    remote = re.compile(r"^\s*(https?:)?//", re.I)
    for tag, attr, value in page.urls:
        assert not remote.match(value), f"<{tag} {attr}> loads {value[:80]}"
        if tag == "img":
            assert value.startswith("data:image/png;base64,"), value[:40]
    css = "\n".join(page.css)
    assert "@import" not in css
    for url in re.findall(r"url\(([^)]*)\)", css):
        assert not re.search(r"https?:|//", url), url
    assert "http://" not in css and "https://" not in css
    for tag in ("script", "link", "iframe", "object", "embed", "base"):
        assert tag not in page.tags, f"<{tag}> in a self-contained report"


@pytest.fixture(scope="module")
def evil_wine_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """wine with a hostile recipe name and a hostile column name, run end to end."""
    tmp = tmp_path_factory.mktemp("evil")
    lines = WINE.read_text().splitlines()
    header = lines[0].split(",")
    header[0] = f'"{EVIL}"'
    (tmp / "wine.csv").write_text("\n".join([",".join(header), *lines[1:]]) + "\n")
    recipe = wine_recipe(tmp, name=f"wine {EVIL}")
    recipe["data"]["train"] = str(tmp / "wine.csv")
    proc = run_cli("run", str(write_recipe(tmp, recipe)), "--quiet")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return tmp / "report"


def test_every_check_has_a_section_and_the_top_says_what_ran(evil_wine_report: Path) -> None:
    html = (evil_wine_report / "index.html").read_text()
    page = Page(html)
    results = read_results(evil_wine_report)
    for c in results["checks"]:
        anchor = "check-" + c["id"].replace(".", "-")
        assert anchor in page.ids, c["id"]
        assert f'href="#{anchor}"' in html  # the check table links to it
    text = " ".join(" ".join(page.text).split())
    assert results["verdict"] in text.lower()
    for fact in ("134 train, 44 test", "seed 0", results["nncheck_version"], "adam, lr 0.01"):
        assert fact in text, fact
    assert "Recipe (resolved" in text and "normalize: standardize" in text
    # curves, histograms, class counts, feature ranges, the batch, the confusion matrix
    assert len(page.charts) >= 10
    alts = {c["alt"] for c in page.charts}
    assert {"confusion_matrix", "histograms", "batch_as_fed"} <= alts


def test_report_is_self_contained(evil_wine_report: Path) -> None:
    assert_self_contained(Page((evil_wine_report / "index.html").read_text()))


def test_recipe_and_column_names_appear_only_escaped(evil_wine_report: Path) -> None:
    html = (evil_wine_report / "index.html").read_text()
    assert EVIL not in html
    assert "<script" not in html.lower()
    assert f"wine {ESCAPED}" in html  # the recipe name
    assert EVIL in read_results(evil_wine_report)["dataset"]["feature_names"]
    # the column name is shown (the features table) and escaped there too
    assert html.count(ESCAPED) > html.count(f"wine {ESCAPED}")


def test_metrics_read_as_tables_not_json(evil_wine_report: Path) -> None:
    html = (evil_wine_report / "index.html").read_text()
    page = Page(html)
    text = " ".join(page.text)
    assert '{"' not in text  # no JSON dump of a metrics dict
    assert "per-class metrics" in text


def every_artifact_run(name: str = "synthetic") -> RunResult:
    """One check of each artifact kind, hostile strings wherever a user string can go."""
    rng = np.random.default_rng(0)
    steps = list(range(0, 200, 2))
    loss = [float(2.3 * np.exp(-s / 40) + 0.01) for s in steps]
    images = [
        {"image": (rng.random((28, 28)) * 255).astype(np.uint8), "caption": f"given {EVIL} → 5"}
        for _ in range(6)
    ]
    checks = [
        CheckResult(
            "data.synthetic_images",
            "data",
            "warn",
            f"3 suspects, one labelled {EVIL}",
            hint=f"look at {EVIL}",
            metrics={"suspects": 3, "rate": 0.0123, "per_class": {EVIL: {"n": 1, "p": 0.5}}},
            examples=[{"row": 17, "given": EVIL, "suggested": "5", "p": 0.93}],
            artifacts={
                "images": {"title": f"suspects {EVIL}", "items": images},
                "bars": {"class counts": {"labels": ["0", EVIL], "train": [10, 3], "test": [2, 1]}},
                "scatter": {
                    f"predicted vs {EVIL}": {
                        "x": rng.normal(size=50).tolist(),
                        "y": rng.normal(size=50).tolist(),
                        "x_label": EVIL,
                        "diagonal": True,
                    }
                },
                "tables": {
                    EVIL: {
                        "columns": ["class", EVIL, "test"],
                        "rows": [["0", 10, 2], [EVIL, 3, 1]],
                        "chart": {"label": "class", "values": [EVIL, "test"]},
                    }
                },
            },
        ),
        CheckResult(
            "skeleton.synthetic_hist",
            "skeleton",
            "pass",
            "histograms",
            artifacts={
                "histograms": {
                    f"layer0 {EVIL} activations": {
                        "edges": np.linspace(-1, 1, 41).tolist(),
                        "counts": rng.integers(0, 50, 40).tolist(),
                    },
                    "layer0.weight gradients": rng.normal(size=500),
                },
                "batch": {"x": rng.normal(size=(8, 1, 28, 28)).astype(np.float32), "y": [1] * 8},
            },
        ),
        CheckResult(
            "overfit.synthetic_curves",
            "overfit",
            "fail",
            "curves",
            hint="lower the lr",
            artifacts={
                "curves": {
                    f"{EVIL} loss": {"step": steps, "loss": loss, EVIL: loss[::-1]},
                    "run a": {"step": steps, "loss": loss},
                    "run b": {"step": steps[:10], "loss": [float("nan")] + loss[1:10]},
                },
                "batch": {"x": rng.normal(size=(16, 13)).astype(np.float32), "y": list(range(16))},
            },
        ),
        CheckResult(
            "evaluate.synthetic_confusion",
            "evaluate",
            "error",
            "crashed",
            traceback=f"Traceback: {EVIL}",
            artifacts={
                "confusion": {
                    "labels": ["a", EVIL, "c"],
                    "matrix": [[50, 2, 0], [3, 40, 1], [0, 0, 30]],
                }
            },
        ),
    ]
    return RunResult(
        recipe={"name": f"{name} {EVIL}", "seed": 3, "model": {"hidden": [EVIL]}},
        started="2024-01-01T00:00:00+00:00",
        duration_s=1.5,
        checks=checks,
        nncheck_version="0.0.test",
        dataset_summary={"train_source": f"/data/{EVIL}.csv", "n_train": 100, "is_image": True},
    )


def test_every_artifact_kind_becomes_a_picture_and_stays_escaped() -> None:
    from nncheck.writers import html_report

    html = html_report.render(every_artifact_run(), {"data.synthetic_images": f"Doc {EVIL}."})
    page = Page(html)
    assert EVIL not in html and "<script" not in html.lower()
    assert_self_contained(page)
    imgs = [v for tag, attr, v in page.urls if tag == "img"]
    for uri in imgs:
        assert base64.b64decode(uri.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    # curves (2 charts: the two-series curve, runs a+b sharing "loss"), a bar chart, a
    # scatter plot, the table's bar chart, the histograms (one figure of small multiples),
    # the image batch, the tabular batch, the confusion heatmap
    assert len(page.charts) == 2 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    assert len(imgs) == len(page.charts) + 6  # and the 6 thumbnails
    for chart in page.charts:  # the PNG is SCALE times the size it takes on the page
        png = base64.b64decode(chart["src"].split(",", 1)[1])
        width, height = struct.unpack(">II", png[16:24])
        assert abs(width - SCALE * int(chart["width"])) <= 1
        assert abs(height - SCALE * int(chart["height"])) <= 1
    text = " ".join(page.text)
    assert "given " + EVIL + " → 5" in text  # captions (parsed text is unescaped)
    assert f"Traceback: {EVIL}" in text
    for anchor in ("check-data-synthetic_images", "check-evaluate-synthetic_confusion"):
        assert anchor in page.ids


@pytest.mark.slow
def test_mnist_report_is_small_and_shows_thumbnails(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path, _mnist_recipe(tmp_path))
    proc = run_cli("run", str(recipe), "--quiet", timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = (tmp_path / "report" / "index.html").read_text()
    assert len(html.encode()) <= 2_000_000  # issue 16: index.html <= 2 MB on MNIST
    page = Page(html)
    assert_self_contained(page)
    assert sum(tag == "img" for tag, _, _ in page.urls) >= 10
    assert len(page.charts) >= 12


def _mnist_recipe(tmp_path: Path) -> dict[str, Any]:
    import yaml

    recipe = yaml.safe_load((ROOT / "recipes" / "mnist.yaml").read_text())
    for split in ("train", "test"):
        for key, value in recipe["data"][split].items():
            recipe["data"][split][key] = str((ROOT / "recipes" / value).resolve())
    recipe["report"] = {"dir": str(tmp_path / "report")}
    return recipe


def test_a_malformed_artifact_costs_its_pictures_not_the_report(tmp_path: Path) -> None:
    from nncheck.writers import html_report, tensorboard_writer

    run = every_artifact_run()
    broken = CheckResult(
        "data.broken",
        "data",
        "pass",
        "odd artifacts",
        artifacts={
            "curves": {"c": {"step": [0, 1], "loss": ["a", None]}},
            "images": {"items": [{"caption": "no image"}, {"image": "not an array"}]},
            "confusion": {"labels": ["a"], "matrix": [[1, 2], [3]]},
            "histograms": {"h": {"edges": [0, 1], "counts": [1, 2, 3]}},
            "tables": {"t": {"columns": ["a"], "rows": [[1, 2, 3]]}},
        },
    )
    run.checks.append(broken)
    html = html_report.render(run)
    assert 'id="check-data-broken"' in html and "odd artifacts" in html
    text = " ".join(Page(html).text)
    assert "confusion_matrix: not drawn (ValueError" in text  # said, where the picture was
    assert "histograms: not drawn (ValueError" in text
    assert len(Page(html).charts) == 9  # every other check keeps its pictures
    tensorboard_writer.write(run, tmp_path)
    assert list(tmp_path.glob("events.out.tfevents.*"))
