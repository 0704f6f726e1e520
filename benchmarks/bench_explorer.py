"""Response of the latent explorers to a slider change, at quick scale (target <= 300 ms).

* **logic**: slider value -> PNG bytes of the new image, i.e. ``DivCoExplorerState.frame()``
  (10 classes x 4 codes at 32 px through the quick DivCo generator, the page's default) and
  ``ExplorerState.frame()`` (one ContrasFill composite and its factor predictions), in the
  page's one torch thread; each slider position is new (no cache);
* **browser** (``--browser``): `make explore` with the quick profile, headless Chromium drags
  the DivCo walk slider to new positions, each in one jump (press, one move, release); the time
  from the press to the new image decoded on the page (kernel round trip + frame() + PNG
  transfer + decode).

The models are the quick notebook runs' checkpoints (runs/notebooks/), else the explorer's
small models (trained first). Prints a markdown table and ``uptime``'s load average (other
jobs on the machine slow every number here). Run::

    .venv/bin/python benchmarks/bench_explorer.py [--repeats 30] [--browser [--screenshot X.png]]

(``--screenshot docs/explorer.png`` made the README's picture.)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ci_inpaint.methods.contrasfill import eval_items, factor_predictor
from ci_inpaint.widgets import DivCoExplorerState, ExplorerState, explorer_model

ROOT = Path(__file__).resolve().parents[1]


def stats(ms: list[float]) -> str:
    a = np.asarray(ms)
    return (f"{np.median(a):.0f} | {np.percentile(a, 90):.0f} | {a.max():.0f} | {len(a)}")


def time_frames(set_t, frame, repeats: int) -> list[float]:
    frame()  # warm-up (first call allocates)
    out = []
    for i in range(repeats):
        set_t(((i * 7) % 20 + 0.5) / 20)  # a new slider value every call
        t0 = time.perf_counter()
        frame()
        out.append(1000 * (time.perf_counter() - t0))
    return out


def logic_rows(repeats: int) -> list[tuple[str, str, list[float]]]:
    torch.set_num_threads(1)
    rows = []
    divco, d_dir = explorer_model("divco", log=lambda m: print(m, file=sys.stderr))
    st = DivCoExplorerState(divco)
    rows.append(("DivCo walk slider -> frame() (10 x 4 grid, PNG x2)", str(d_dir),
                 time_frames(lambda t: setattr(st, "t", t), st.frame, repeats)))
    cf, c_dir = explorer_model("contrasfill", log=lambda m: print(m, file=sys.stderr))
    cs = ExplorerState(cf, eval_items(cf, 6, seed=99), factor_predictor(cf.cfg),
                       class_names=cf.dataset.base.class_names)
    rows.append(("ContrasFill unknown slider -> frame() (+ predictions, PNG x5)", str(c_dir),
                 time_frames(lambda t: setattr(cs, "t_u", t), cs.frame, repeats)))
    return rows


def save_screenshot(page, path: Path, width: int = 640) -> None:
    """The whole page (Voila scrolls inside its own box, so the viewport grows to hold it),
    scaled to ``width`` px and quantised to 128 colours (a small PNG)."""
    import io

    from PIL import Image

    height = page.evaluate("() => Math.max(...[...document.querySelectorAll('*')]"
                           ".map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1000, "height": int(height) + 40})
    page.wait_for_timeout(500)
    im = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    im.quantize(128, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"screenshot: {path} ({path.stat().st_size // 1024} KiB)", file=sys.stderr)


def browser_rows(repeats: int, screenshot: Path | None = None) -> list[tuple[str, str, list[float]]]:
    sys.path.insert(0, str(ROOT / "tests"))
    import test_explorer_browser as tb
    from playwright.sync_api import sync_playwright

    if tb.skip_reason():
        raise SystemExit(tb.skip_reason())
    tmp = Path(tempfile.mkdtemp(prefix="bench_explorer_"))
    port = tb.free_port()
    # the quick profile: the page loads the notebooks' quick runs like `make explore`
    proc = tb.start_server(tmp, port, {"CI_INPAINT_PROFILE": "quick",
                                       "CI_INPAINT_EXPLORER_RUNS": "",
                                       "CI_INPAINT_EXPLORER_CACHE": ""})
    errors: list[str] = []
    out = []
    try:
        with sync_playwright() as p:
            t0 = time.perf_counter()
            browser, page = tb.open_page(p, f"http://127.0.0.1:{port}/", errors)
            print(f"page ready (both explorers shown) after {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
            try:
                sel = "img.divco-image"
                for i in range(repeats):
                    src = page.get_attribute(sel, "src")
                    t0 = time.perf_counter()  # one jump = one new value, one new image
                    tb.drag_slider(page, ".divco-walk", 0.15 + 0.7 * ((i * 3) % 8) / 7, steps=1)
                    tb.wait_loaded(page, sel, old_src=src)
                    out.append(1000 * (time.perf_counter() - t0))
                if screenshot:
                    src = page.get_attribute(sel, "src")
                    tb.drag_slider(page, ".divco-walk", 0.5)
                    tb.wait_loaded(page, sel, old_src=src)
                    page.wait_for_timeout(500)
                    save_screenshot(page, screenshot)
            finally:
                browser.close()
    finally:
        tb.stop_server(proc)
    if errors:
        print("console errors:", *errors, sep="\n", file=sys.stderr)
    return [("DivCo walk slider, mouse jump -> new image decoded in Chromium", "quick page", out)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--browser", action="store_true", help="also time the round trip in Chromium")
    ap.add_argument("--screenshot", type=Path, help="with --browser: save the page here (PNG)")
    args = ap.parse_args()
    rows = logic_rows(args.repeats)
    if args.browser:
        rows += browser_rows(max(5, args.repeats // 3), args.screenshot)
    print(f"load average before/after: {os.getloadavg()[0]:.2f} (1 min); "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}")
    print("\n| response | model | median ms | p90 ms | max ms | n |\n|---|---|---|---|---|---|")
    for name, model, ms in rows:
        print(f"| {name} | {model.replace(str(ROOT) + '/', '')} | {stats(ms)} |")


if __name__ == "__main__":
    main()
