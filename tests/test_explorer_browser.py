"""The explorer page as a person uses it: `make explore` serves notebooks/explorer.ipynb with
Voila on a free localhost port, headless Chromium (Debian's ``chromium``, driven by Playwright's
Python package) opens it, waits for both explorers, drags the DivCo walk slider and checks that
the image changed (two screenshots) and that the browser console logged no error.

The page runs with ``CI_INPAINT_PROFILE=smoke`` and an empty runs folder, so it takes the "no
checkpoint" path: it trains two tiny models (seconds) into a temporary folder and says so.
Voila's lab template links Font Awesome from cdn.jsdelivr.net; the page uses no icon, and offline
that request would log an error, so the browser gets an empty stylesheet for it instead. Any other
request leaving localhost fails (offline) and shows up as a console error.

Without Chromium (or Playwright, make, .venv/bin/voila) the test is skipped with the reason and
the command that fixes it; with ``CI_INPAINT_REQUIRE_BROWSER=1`` (.ci/run sets it) it fails.

The helpers (``start_server``, ``stop_server``, ``open_page``, ``drag_slider``) are shared with
benchmarks/bench_explorer.py.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL = "apt-get install -y chromium chromium-driver"
# $CI_INPAINT_CHROMIUM picks the browser (a path that does not exist: none, the test skips)
CHROMIUM = os.environ.get("CI_INPAINT_CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")
CDN_CSS = "https://cdn.jsdelivr.net/npm/@fortawesome/**"
PAGE_TIMEOUT_S = 90  # the kernel imports torch and trains two tiny models before the widgets show


def skip_reason() -> str | None:
    if not (CHROMIUM and Path(CHROMIUM).is_file()):
        return f"no Chromium on PATH: install it with `sudo {INSTALL}` (.ci/run does)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed: .venv/bin/pip install -e '.[dev]'"
    if shutil.which("make") is None:
        return "make is not installed (the test serves the page with `make explore`)"
    if not (ROOT / ".venv" / "bin" / "voila").is_file():
        return "no .venv/bin/voila: run `make venv` (pyproject.toml lists voila)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`make explore` on ``port`` in its own session (so that stop_server ends it all), the
    stamp taken as up to date (no pip); returns once the port accepts connections."""
    env = {**os.environ, "CI_INPAINT_PROFILE": "smoke",
           "CI_INPAINT_EXPLORER_RUNS": str(tmp / "no-runs"),
           "CI_INPAINT_EXPLORER_CACHE": str(tmp / "models"), **(env or {})}
    log = open(tmp / "voila.log", "wb")  # noqa: SIM115 -- closed by stop_server
    proc = subprocess.Popen(
        ["make", "-s", "-o", ".venv/.stamp", "explore",
         f"EXPLORE_ARGS=--no-browser --port {port} --Voila.ip=127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log = log
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"voila did not listen on port {port}:\n{server_log(tmp)}")


def server_log(tmp: Path) -> str:
    path = tmp / "voila.log"
    return path.read_text(errors="replace")[-3000:] if path.is_file() else ""


def stop_server(proc: subprocess.Popen) -> list[int]:
    """SIGTERM to make's session (Voila shuts its kernels down), SIGKILL for whatever is left
    after 10 s, kernels included (they run in sessions of their own); returns the pids that
    needed SIGKILL."""
    import psutil

    try:
        family = [proc.pid] + [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    alive = [p for p in (psutil.Process(pid) for pid in family if psutil.pid_exists(pid))
             if p.status() != psutil.STATUS_ZOMBIE]
    _, alive = psutil.wait_procs(alive, timeout=5)
    for p in alive:
        p.kill()
    proc.wait(timeout=10)
    proc.log.close()
    return [p.pid for p in alive]


def open_page(p, url: str, errors: list[str]):
    """(browser, page) with the widgets of both explorers on screen and their images loaded;
    console errors and uncaught page errors are appended to ``errors``."""
    browser = p.chromium.launch(executable_path=CHROMIUM, timeout=30_000,
                                args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.route(CDN_CSS, lambda r: r.fulfill(status=200, content_type="text/css", body=""))
    page.goto(url, wait_until="domcontentloaded", timeout=30_000)
    for sel in ("img.divco-image", "img.cf-image"):
        page.wait_for_selector(sel, state="visible", timeout=PAGE_TIMEOUT_S * 1000)
        wait_loaded(page, sel)
    return browser, page


def wait_loaded(page, sel: str, old_src: str | None = None, timeout_s: float = 15) -> None:
    """Until ``sel``'s image has decoded (and, given ``old_src``, shows a new source)."""
    page.wait_for_function(
        """([sel, old]) => { const im = document.querySelector(sel);
             return im && im.src && im.src !== old && im.complete && im.naturalWidth > 0; }""",
        arg=[sel, old_src], timeout=timeout_s * 1000)


def drag_slider(page, sel: str, to: float, steps: int = 4) -> None:
    """Drag the noUiSlider handle inside ``sel`` to the fraction ``to`` of its track, in
    ``steps`` mouse moves (each may send a value: the sliders update continuously)."""
    page.locator(sel).scroll_into_view_if_needed()
    track = page.locator(f"{sel} .noUi-target").bounding_box()
    handle = page.locator(f"{sel} .noUi-handle").bounding_box()
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + handle["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + to * track["width"], y, steps=steps)
    page.mouse.up()


def changed_fraction(png_a: bytes, png_b: bytes) -> float:
    """Share of pixels that differ between two screenshots of the same element."""
    import numpy as np
    from PIL import Image

    a, b = (np.asarray(Image.open(io.BytesIO(x)).convert("RGB")).astype(int) for x in (png_a, png_b))
    if a.shape != b.shape:
        return 1.0
    return float((np.abs(a - b).sum(-1) > 0).mean())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = skip_reason()
    if reason and os.environ.get("CI_INPAINT_REQUIRE_BROWSER"):
        pytest.fail(f"CI_INPAINT_REQUIRE_BROWSER is set, but {reason}")
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("explorer")
    port = free_port()
    proc = start_server(tmp, port)
    try:
        yield f"http://127.0.0.1:{port}/", tmp
    finally:
        stop_server(proc)


@pytest.mark.timeout(150)
def test_explorer_page_slider_changes_the_image_without_console_errors(server):
    from playwright.sync_api import sync_playwright

    url, tmp = server
    errors: list[str] = []
    with sync_playwright() as p:
        try:
            browser, page = open_page(p, url, errors)
        except Exception as e:
            raise AssertionError(f"the page did not show both explorers: {e}\n"
                                 f"voila log:\n{server_log(tmp)}") from e
        try:
            body = page.inner_text("body")
            assert "Training a small model" in body and "DivCo" in body and "ContrasFill" in body
            sel = "img.divco-image"
            before, src = page.locator(sel).screenshot(), page.get_attribute(sel, "src")
            drag_slider(page, ".divco-walk", 0.8)
            wait_loaded(page, sel, old_src=src)
            after = page.locator(sel).screenshot()
            width = page.eval_on_selector(sel, "im => [im.naturalWidth, im.clientWidth]")
            readout = float(page.inner_text(".divco-walk .widget-readout"))
            page.wait_for_timeout(300)  # late console errors of the update
        finally:
            browser.close()
    assert 0.6 <= readout <= 1.0, readout
    assert width[0] == width[1], f"the page scales the image: {width}"
    changed = changed_fraction(before, after)
    assert changed > 0.05, f"only {changed:.1%} of the image's pixels changed"
    assert not errors, "browser console errors:\n" + "\n".join(errors)
