"""Regenerate docs/report-*.png: run a recipe, open its index.html in headless Chromium
and keep the top of the page (verdict, what was audited, the check table) plus a few
sections with pictures, stacked, as a small PNG (256-colour palette, < ~500 KB).

    python docs/screenshots.py                 # mnist, wine and diabetes
    python docs/screenshots.py wine            # one of them

Needs Chromium (see tests/test_report_browser.py) and Pillow (installed with matplotlib).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_report_browser import DevTools, find_chromium  # noqa: E402

RECIPES = {"mnist": "mnist.yaml", "wine": "wine.yaml", "diabetes": "diabetes.yaml"}
# Below the top of the page (verdict, what was audited, the check table): the sections
# whose pictures say most for each example, cut out of the full page and stacked.
SECTIONS = {
    "mnist": [
        "data.label_errors",
        "skeleton.init_scale",
        "overfit.loss_decreases",
        "evaluate.full_test_set",
    ],
    "wine": [
        "data.class_balance",
        "data.features",
        "skeleton.input_independent",
        "evaluate.full_test_set",
    ],
    "diabetes": ["data.features", "overfit.loss_decreases", "evaluate.full_test_set"],
}
BOXES_JS = """JSON.stringify({
  top: document.querySelector("h2.stage").getBoundingClientRect().top + scrollY,
  sections: Object.fromEntries(Array.from(document.querySelectorAll("section.check")).map(
    s => [s.id, [s.getBoundingClientRect().top + scrollY,
                 s.getBoundingClientRect().bottom + scrollY]]))
})"""


def shoot(name: str, html: Path, out: Path) -> None:
    import json

    from PIL import Image, ImageDraw

    binary = find_chromium()
    if not binary:
        raise SystemExit("no chromium found (apt-get install chromium)")
    browser = DevTools(binary)
    try:
        browser.open_page(html.resolve().as_uri())
        boxes = json.loads(
            browser.send("Runtime.evaluate", {"expression": BOXES_JS})["result"]["value"]
        )
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "page.png"
            browser.screenshot(raw)
            page = Image.open(raw).convert("RGB")
    finally:
        browser.close()
    width = page.width
    parts = [page.crop((0, 0, width, int(boxes["top"])))]
    for check_id in SECTIONS[name]:
        box = boxes["sections"].get("check-" + check_id.replace(".", "-"))
        if box:
            parts.append(page.crop((0, int(box[0]) - 6, width, int(box[1]) + 6)))
    gap = 26
    height = sum(p.height for p in parts) + gap * (len(parts) - 1)
    sheet = Image.new("RGB", (width, height), (245, 245, 244))
    y = 0
    draw = ImageDraw.Draw(sheet)
    for i, part in enumerate(parts):
        if i:
            draw.text((width // 2 - 30, y - gap + 7), "· · ·", fill=(120, 120, 120))
        sheet.paste(part, (0, y))
        y += part.height + gap
    sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"{out}: {width}x{height}, {out.stat().st_size // 1024} KB")


def main(names: list[str]) -> None:
    for name in names or list(RECIPES):
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report"
            subprocess.run(
                [sys.executable, "-m", "nncheck", "run", str(ROOT / "recipes" / RECIPES[name])]
                + ["--quiet", "--report-dir", str(report)],
                check=False,
                cwd=ROOT,
            )
            shoot(name, report / "index.html", ROOT / "docs" / f"report-{name}.png")


if __name__ == "__main__":
    main(sys.argv[1:])
