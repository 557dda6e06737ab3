"""index.html in a real browser: headless Chromium, driven over the DevTools protocol.

No Selenium, no websocket package: Chromium's ``--remote-debugging-pipe`` speaks the
DevTools protocol as NUL-separated JSON over file descriptors 3 and 4, which the standard
library can drive. The page must load with zero console errors, zero uncaught exceptions
and zero requests other than the file itself and its inline ``data:`` images; a
screenshot of the whole page is kept as a test artifact (``$NNCHECK_TEST_ARTIFACTS``, by
default ``nncheck-test-artifacts/`` in the system temp folder, never the checkout) for a
person to look at.

Skips, saying why, only where no Chromium can be found (Debian's ``chromium`` package is
what ``.ci/run`` installs; ``$NNCHECK_CHROMIUM`` points at another binary).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, read_results, run_cli, wine_recipe, write_recipe

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
)


def find_chromium() -> str | None:
    explicit = os.environ.get("NNCHECK_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def artifacts_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "nncheck-test-artifacts"
    path = Path(os.environ.get("NNCHECK_TEST_ARTIFACTS", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


class DevTools:
    """A minimal DevTools-protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="nncheck-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # The child sees our pipe ends as its fds 3 (reads commands) and 4 (writes replies).
        self.proc = subprocess.Popen(
            [
                binary,
                *FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=_dup_to(to_chrome_r, from_chrome_w),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        seen = next((e for e in self.events if e.get("method") == method), None)
        deadline = time.monotonic() + timeout
        while seen is None and time.monotonic() < deadline:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                seen = event
        if seen is None:
            raise TimeoutError(method)
        return seen

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def open_page(self, url: str, width: int = 1280) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        self.send("Runtime.evaluate", {"expression": "1", "awaitPromise": True})  # settle

    def screenshot(self, path: Path, max_height: int | None = None) -> tuple[int, int]:
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        width, height = int(size["width"]), int(size["height"])
        if max_height:
            height = min(height, max_height)
        shot = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
            timeout=60,
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return width, height

    def problems(self, allowed_url: str) -> tuple[list[str], list[str]]:
        """(console errors and exceptions, requests to anything but the page and data:)."""
        errors, requests = [], []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = p.get("exceptionDetails", {})
                what = details.get("exception", {}).get("description") or ""
                errors.append(f"{details.get('text', 'exception')}: {what}"[:300])
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(json.dumps(p.get("args", []))[:300])
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append(p["entry"].get("text", "")[:300])
            elif method == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not (url == allowed_url or url.startswith("data:") or url == "about:blank"):
                    requests.append(url)
        return errors, requests

    def close(self) -> None:
        try:
            self.session = None
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)


def _dup_to(read_fd: int, write_fd: int):  # noqa: ANN202
    def setup() -> None:
        os.dup2(read_fd, 3)
        os.dup2(write_fd, 4)

    return setup


BROKEN_IMAGES_JS = (
    "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
)


def open_report(html: Path, screenshot: Path, max_height: int | None = None) -> dict[str, Any]:
    """Load ``html`` in headless Chromium; the problems seen, the images that did not
    decode and the screenshot's size."""
    binary = find_chromium()
    assert binary, "no chromium"
    browser = DevTools(binary)
    try:
        url = html.resolve().as_uri()
        browser.open_page(url)
        broken = browser.send("Runtime.evaluate", {"expression": BROKEN_IMAGES_JS})
        size = browser.screenshot(screenshot, max_height)
        errors, requests = browser.problems(url)
    finally:
        browser.close()
    return {
        "errors": errors,
        "requests": requests,
        "broken_images": broken["result"]["value"],
        "size": size,
    }


needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="headless Chromium not found (apt-get install chromium, or set NNCHECK_CHROMIUM)",
)


def audit_in_browser(tmp_path: Path, recipe: dict[str, Any], name: str) -> dict[str, Any]:
    """Audit ``recipe`` as a user does, then open its index.html offline in Chromium."""
    proc = run_cli("run", str(write_recipe(tmp_path, recipe)), "--quiet", timeout=900)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    report = Path(recipe["report"]["dir"])
    html = report / "index.html"
    assert html.stat().st_size <= 2_000_000  # issue 16: one file, at most 2 MB
    shot = artifacts_dir() / f"report-browser-{name}.png"
    seen = open_report(html, shot)
    assert seen["errors"] == []
    assert seen["requests"] == []
    assert seen["broken_images"] == 0  # every inline PNG decodes
    assert shot.stat().st_size > 10_000
    assert seen["size"][0] <= 1300  # nothing overflows a laptop-wide window
    n_checks = len(read_results(report)["checks"])
    assert seen["size"][1] > 150 * n_checks  # every check drew its section
    return {**seen, "html": html.read_text(), "results": read_results(report)}


@needs_chromium
def test_wine_init_std_10_report_loads_offline_without_errors(tmp_path: Path) -> None:
    """The badly initialized wine run: the log-axis prediction dynamics of issue 16."""
    recipe = wine_recipe(tmp_path, model={"init": "normal", "init_std": 10.0})
    seen = audit_in_browser(tmp_path, recipe, "wine-init-std-10")
    statuses = {c["id"]: c["status"] for c in seen["results"]["checks"]}
    assert statuses["skeleton.init_loss"] == "fail"
    assert 'alt="prediction dynamics: p(given class) for fixed test samples"' in seen["html"]


@needs_chromium
def test_diabetes_report_loads_offline_without_errors(tmp_path: Path) -> None:
    import yaml

    recipe = yaml.safe_load((ROOT / "recipes" / "diabetes.yaml").read_text())
    recipe["data"]["train"] = str(ROOT / "data" / "diabetes.csv")
    recipe["report"] = {"dir": str(tmp_path / "report")}
    seen = audit_in_browser(tmp_path, recipe, "diabetes")
    assert 'alt="test set: predicted vs true target"' in seen["html"]


@needs_chromium
@pytest.mark.slow
def test_mnist_report_loads_offline_without_errors(tmp_path: Path) -> None:
    from tests.test_report_html import _mnist_recipe

    seen = audit_in_browser(tmp_path, _mnist_recipe(tmp_path), "mnist")
    assert seen["results"]["verdict"] == "pass"
    assert seen["html"].count("<img") >= 50  # charts and thumbnails, all decoded


@needs_chromium
def test_every_artifact_kind_renders_without_requests(tmp_path: Path) -> None:
    from nncheck.writers import html_report
    from tests.test_report_html import every_artifact_run

    path = tmp_path / "index.html"
    path.write_text(html_report.render(every_artifact_run()))
    shot = artifacts_dir() / "report-browser-artifacts.png"
    seen = open_report(path, shot)
    assert seen["errors"] == []
    assert seen["requests"] == []
    assert seen["size"][0] <= 1300


@needs_chromium
def test_the_probe_sees_requests_and_console_errors(tmp_path: Path) -> None:
    """The negative control: a page that does what a report must not is caught."""
    path = tmp_path / "bad.html"
    path.write_text(
        "<!DOCTYPE html><html><head><style>@import url('http://127.0.0.1:9/x.css');</style>"
        "</head><body><img src='http://127.0.0.1:9/x.png'><img src='data:image/png;base64,AAAA'>"
        "<script>console.error('boom'); undefined_function();</script></body></html>"
    )
    seen = open_report(path, tmp_path / "bad.png")
    assert any("127.0.0.1:9/x.png" in url for url in seen["requests"])
    assert any("127.0.0.1:9/x.css" in url for url in seen["requests"])
    assert any("boom" in e for e in seen["errors"])
    assert any("undefined_function" in e for e in seen["errors"])
    assert seen["broken_images"] == 2  # the blocked one and the undecodable data: PNG
