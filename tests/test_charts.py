"""The report's charts as matplotlib figures: axes a person can read, colour bars that
say what colours mean, and matplotlib kept to itself (Agg, no pyplot, no global state)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nncheck.writers import charts
from tests.conftest import ROOT, wine_recipe, write_recipe


def drawn(fig: Any) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def shown_tick_labels(fig: Any, axis: Any) -> list[Any]:
    """The tick label texts matplotlib draws (inside the view, visible, non-empty)."""
    drawn(fig)
    lo, hi = sorted(axis.get_view_interval())
    ticks = axis.get_major_ticks() + axis.get_minor_ticks()
    return [
        t.label1
        for t in ticks
        if t.label1.get_visible() and t.label1.get_text() and lo <= t.get_loc() <= hi
    ]


def assert_readable(fig: Any, axis: Any, most: int = 8) -> list[str]:
    labels = shown_tick_labels(fig, axis)
    texts = [t.get_text() for t in labels]
    assert 2 <= len(labels) <= most, texts
    assert not any("$" in t for t in texts), texts  # plain text, no mathtext
    renderer = drawn(fig)
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: (b.y0, b.x0))
    for a, b in zip(boxes, boxes[1:]):
        assert not a.overlaps(b), texts  # no two tick labels on top of each other
    return texts


@pytest.fixture(scope="module")
def wine_init_std_10(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The badly initialized wine run of issue 16, audited in this process."""
    from nncheck.run import RunOptions, run_recipe

    tmp = tmp_path_factory.mktemp("init10")
    recipe = wine_recipe(tmp, model={"init": "normal", "init_std": 10.0})
    run, _ = run_recipe(str(write_recipe(tmp, recipe)), RunOptions(quiet=True))
    return run


def test_prediction_dynamics_log_axis_of_init_std_10_is_readable(wine_init_std_10: Any) -> None:
    """p(given class) falls to ~1e-21 here: the old chart put 21 overlapping labels on
    its log axis; now a handful of decades, thinned, none overlapping."""
    check = next(c for c in wine_init_std_10.checks if c.id == "overfit.loss_decreases")
    (name,) = [n for n in check.artifacts["curves"] if n.startswith("prediction dynamics")]
    art = check.artifacts["curves"][name]
    values = np.concatenate([v for k, v in art.items() if k != "step"])
    assert values.min() < 1e-12  # the run really spans many decades
    steps = np.asarray(art["step"])
    series = {k: (steps, np.asarray(v)) for k, v in art.items() if k != "step"}
    with charts.style():
        fig = charts.line_chart(name, series)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    texts = assert_readable(fig, ax.yaxis, most=7)
    decades = np.log10([float(t) for t in texts])
    np.testing.assert_allclose(decades, np.round(decades))  # labels on decades only
    assert_readable(fig, ax.xaxis)


@pytest.mark.parametrize(
    ("lo", "hi"), [(1e-21, 0.9), (0.05, 3.0), (1e-3, 1e4), (0.9, 1.4), (-5.0, 250.0)]
)
def test_line_chart_axes_stay_readable_over_any_range(lo: float, hi: float) -> None:
    steps = np.arange(200)
    values = np.geomspace(hi, lo, 200) if lo > 0 else np.linspace(hi, lo, 200)
    with charts.style():
        fig = charts.line_chart("t", {"a": (steps, values), "b": (steps, values[::-1])})
    assert fig.axes[0].get_yscale() == ("log" if lo > 0 and hi / lo > 10**1.5 else "linear")
    assert_readable(fig, fig.axes[0].yaxis)


def test_nan_breaks_a_line_instead_of_reading_as_zero() -> None:
    y = np.array([1.0, 0.5, np.nan, 0.25, 0.1])
    with charts.style():
        fig = charts.line_chart("t", {"loss": (np.arange(5), y)})
    (line,) = fig.axes[0].get_lines()
    assert np.isnan(line.get_ydata()[2])


def colorbar_label(fig: Any) -> str:
    (bar_axes,) = [ax for ax in fig.axes if ax is not fig.axes[0]]
    return bar_axes.get_ylabel()


def test_confusion_matrix_has_a_labelled_colour_bar() -> None:
    matrix = np.array([[50, 2, 0], [3, 40, 1], [0, 0, 30]])
    with charts.style():
        fig = charts.heatmap("c", matrix, ["a", "b", "c"], row_title="given", col_title="pred")
    assert "share of the row" in colorbar_label(fig)
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(cells) == sorted(["50", "2", "3", "40", "1", "30"])  # counts, 0s left out
    assert_readable(fig, fig.axes[0].yaxis)


def test_batch_heatmap_has_a_labelled_colour_bar_and_feature_names() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5))
    x[0, 0] = 40.0  # an outlier does not wash out the scale: clipped at the 99th pct
    with charts.style():
        fig = charts.batch_heatmap("b", x, [str(i) for i in range(8)], list("vwxyz"))
    label = colorbar_label(fig)
    assert label.startswith("value as fed (clipped at ±")
    limit = float(label.split("±")[1].rstrip(")"))
    assert limit == pytest.approx(np.percentile(np.abs(x), 99), rel=0.01) and limit < 40
    names = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert names == list("vwxyz")


def test_many_labels_become_one_strip_not_a_page_tall_chart() -> None:
    labels = [f"pixel_{i}" for i in range(784)]
    low, high = np.zeros(784), np.linspace(0, 255, 784)
    with charts.style():
        bars = charts.bar_chart("b", labels, {"std": high}, log=None)
        ranges = charts.range_chart("r", labels, low, high, log=None)
    for fig in (bars, ranges):
        assert fig.get_size_inches()[1] < 4  # inches: ~300 px, not 784 rows of 14 px
        for ax in fig.axes:
            assert_readable(fig, ax.xaxis)


def test_feature_ranges_over_decades_use_a_symmetric_log_axis() -> None:
    labels = ["a", "b", "c"]
    with charts.style():
        fig = charts.range_chart("r", labels, [0.5, 290.0, -3.0], [1.7, 1680.0, 2.0], log=None)
    ax = fig.axes[0]
    assert ax.get_xscale() == "symlog"
    assert_readable(fig, ax.xaxis)
    assert [t.get_text() for t in ax.get_yticklabels()] == labels


@pytest.mark.parametrize(
    ("value", "text"), [(0.0, "0"), (0.001, "0.001"), (1e-5, "1e-5"), (2.5e6, "2.5e6"), (12, "12")]
)
def test_tick_labels_are_plain_text(value: float, text: str) -> None:
    assert charts.tick_label(value) == text


def test_rendered_png_is_scale_times_the_page_size() -> None:
    import io

    from PIL import Image

    with charts.style():
        fig = charts.scatter("s", [1, 2, 3], [1, 2, 4], x_label="x", y_label="y", diagonal=True)
    png, width, height = charts.render(fig)
    image = Image.open(io.BytesIO(png))
    assert abs(image.size[0] - width * charts.SCALE) <= 1
    assert abs(image.size[1] - height * charts.SCALE) <= 1
    assert image.mode == "P"  # palette: a quarter of the RGBA size
    assert image.convert("RGB").getpixel((1, 1)) == (255, 255, 255)  # white stays white


def test_writing_a_report_leaves_matplotlib_as_the_user_had_it(tmp_path: Path) -> None:
    """Agg through FigureCanvasAgg: no pyplot (no figure registry to leak into), no
    backend switch, no changed rcParams — a notebook user's session stays as it was."""
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import matplotlib
matplotlib.rcParams["font.size"] = 17.0
backend = dict.__getitem__(matplotlib.rcParams, "backend")  # get_backend() loads pyplot
from nncheck.writers import html_report, tensorboard_writer
from tests.test_report_html import every_artifact_run
run = every_artifact_run()
html_report.write(run, __import__("pathlib").Path({str(tmp_path)!r}))
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
assert dict.__getitem__(matplotlib.rcParams, "backend") == backend
assert matplotlib.rcParams["font.size"] == 17.0
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "ok", proc.stderr


def test_report_imports_are_prefetched_on_a_background_thread() -> None:
    """`nncheck run` starts importing matplotlib and Pillow while its checks run; drawing
    waits for that thread, so the modules are loaded once and never from two threads."""
    code = (
        "import sys, threading\n"
        "from nncheck.writers import charts\n"
        "assert 'matplotlib' not in sys.modules\n"
        "charts.prefetch()\n"
        "assert any(t.name == 'nncheck-prefetch' for t in threading.enumerate())\n"
        "charts.prefetched()\n"
        "assert all(m in sys.modules for m in charts._PREFETCHED)\n"
        "charts.prefetch()  # once per process: no second thread\n"
        "assert not any(t.name == 'nncheck-prefetch' for t in threading.enumerate())\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert proc.stdout.strip() == "ok", proc.stderr
