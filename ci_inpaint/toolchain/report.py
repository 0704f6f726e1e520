"""The report of a notebook run: ``index.md`` and ``index.html`` in the run directory.

One overview table (status, runtime, peak memory, claims by verdict, links), then per notebook
its metrics beside the paper's values with their notes (intervals, FID sample counts), its
claims with their three-way verdicts (holds / inconclusive / does not hold), the paper's number
and source, the test that decided and why ours differs, its error if it failed, and its figures
(``summary.json`` schema in :mod:`ci_inpaint.notebooks` and docs/notebooks.md).
"""

from __future__ import annotations

import html
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any


def _get(r: Any, key: str, default: Any = None) -> Any:
    return r.get(key, default) if isinstance(r, dict) else getattr(r, key, default)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


METRIC_COLS = ["metric", "this run", "note", "paper", "source"]
CLAIM_COLS = ["verdict", "claim", "ours", "paper", "source", "test", "detectable effect",
              "paper's gap", "seeds to decide", "why ours differs"]
MARK = {"holds": "✅ holds", "inconclusive": "❔ inconclusive", "does not hold": "❌ does not hold"}


def _paper_value(ref: dict[str, Any] | None) -> str:
    if not ref:
        return ""
    out = _fmt(ref.get("value"))
    if ref.get("std") is not None:
        out += f" ± {_fmt(ref['std'])}"
    if ref.get("n") is not None:
        out += f" (n = {ref['n']})"
    return out


def metric_rows(summary: dict[str, Any] | None) -> list[dict[str, str]]:
    """Rows ``metric | this run | note | paper | source``: metrics first, then paper-only."""
    if not summary:
        return []
    metrics, paper = summary.get("metrics", {}), summary.get("paper", {})
    notes = summary.get("notes", {})
    rows = []
    for name in list(metrics) + [k for k in paper if k not in metrics]:
        ref = paper.get(name, {})
        rows.append({"metric": name, "this run": _fmt(metrics.get(name)),
                     "note": notes.get(name, ""), "paper": _paper_value(ref),
                     "source": _fmt(ref.get("source"))})
    return rows


def _claims(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((summary or {}).get("claims", []))


def _test_text(c: dict[str, Any]) -> str:
    tests = c.get("tests") or {}
    return "; ".join(f"{k}: {v}" for k, v in tests.items() if v) or c.get("evidence", "")


def _power(c: dict[str, Any]) -> dict[str, str]:
    """The power columns of a claim (empty for summaries written before they existed):
    the smallest effect its seeds could detect, the paper's own gap, the seeds that would
    decide it at the observed spread."""
    p = c.get("power") or {}
    need = p.get("seeds_needed")
    n = p.get("n")
    return {"detectable effect": _fmt(p.get("detectable")) + (f" (n = {n})" if n else "")
            if p.get("detectable") is not None else "",
            "paper's gap": _fmt(p.get("paper_gap")),
            "seeds to decide": "" if need is None else _fmt(need)}


def claim_rows(summary: dict[str, Any] | None) -> list[dict[str, str]]:
    """One row per claim: verdict, text, ours, the paper's number and source, test(s), the power
    columns (:func:`_power`), why ours differs."""
    return [{"verdict": MARK.get(c["verdict"], c["verdict"]), "claim": c["text"],
             "ours": c.get("ours", ""), "paper": _paper_value(c.get("paper")),
             "source": _fmt((c.get("paper") or {}).get("source")), "test": _test_text(c),
             **_power(c), "why ours differs": c.get("why_differs", "")}
            for c in _claims(summary)]


def _claims_cell(summary: dict[str, Any] | None) -> str:
    claims = _claims(summary)
    if not claims:
        return "-"
    n = {v: sum(c["verdict"] == v for c in claims) for v in MARK}
    return f"{n['holds']} hold · {n['inconclusive']} inconclusive · {n['does not hold']} do not hold"


def _header() -> list[str]:
    import ci_inpaint

    try:
        import torch

        torch_v = torch.__version__
    except ImportError:  # pragma: no cover - torch is a dependency
        torch_v = "missing"
    return [f"ci_inpaint {ci_inpaint.__version__}", f"Python {platform.python_version()}",
            f"torch {torch_v}", f"{platform.system()} {platform.machine()}",
            f"{os.cpu_count()} CPUs", time.strftime("%Y-%m-%d %H:%M:%S")]


def _md_table(rows: list[dict[str, str]], cols: list[str]) -> list[str]:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    return (["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            + ["| " + " | ".join(esc(r.get(c, "")) for c in cols) + " |" for r in rows])


def _clock_text(r: Any) -> str:
    """The notebook's own wall clock (timing.json's ``wall_s``), or "" when it wrote none."""
    wall = (_get(r, "timing") or {}).get("wall_s")
    return f"{float(wall):.0f} s by the notebook's own clock" if isinstance(wall, (int, float)) else ""


def overview_rows(results: list[Any]) -> list[dict[str, str]]:
    return [{"notebook": _get(r, "name"), "status": _get(r, "status"),
             "runtime (s)": f"{_get(r, 'runtime_s', 0.0):.1f}",
             "peak memory (MB)": f"{_get(r, 'peak_rss_mb', 0.0):.0f}",
             "claims": _claims_cell(_get(r, "summary")),
             "executed notebook": _get(r, "notebook", "")} for r in results]


def render_markdown(results: list[Any], profile: str = "") -> str:
    ok = sum(_get(r, "status") == "ok" for r in results)
    out = [f"# Notebook run ({profile} profile)" if profile else "# Notebook run", "",
           " · ".join(_header()), "", f"{ok} of {len(results)} notebooks ran to the end.", ""]
    rows = overview_rows(results)
    for row, r in zip(rows, results):
        row["executed notebook"] = f"[{_get(r, 'notebook')}]({_get(r, 'notebook')})"
    out += _md_table(rows, list(rows[0]) if rows else ["notebook"]) + [""]
    out.append("Peak memory: largest resident set of the kernel's process tree, polled.")
    for r in results:
        summary = _get(r, "summary")
        out += ["", f"## {_get(r, 'name')}", ""]
        if _get(r, "status") != "ok":
            out += [f"**{_get(r, 'status')}**: `{_get(r, 'error')}`", ""]
        if _clock_text(r):
            out += [f"Runtime: {_clock_text(r)}.", ""]
        crows = claim_rows(summary)
        if crows:
            out += ["Claims (verdicts from 95 % intervals; see docs/design.md):", ""]
            out += _md_table(crows, CLAIM_COLS) + [""]
        mrows = metric_rows(summary)
        if mrows:
            out += _md_table(mrows, METRIC_COLS) + [""]
        out += [f"![{Path(f).name}]({f})" for f in _get(r, "figures", [])]
    return "\n".join(out).rstrip() + "\n"


def _html_table(rows: list[dict[str, str]], cols: list[str], raw: set[str] = frozenset()) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{r.get(c, '') if c in raw else html.escape(r.get(c, ''))}</td>"
                         for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(results: list[Any], profile: str = "") -> str:
    e = html.escape
    title = f"Notebook run ({profile} profile)" if profile else "Notebook run"
    rows = overview_rows(results)
    for row, r in zip(rows, results):
        nb = e(_get(r, "notebook", ""))
        row["executed notebook"] = f'<a href="{nb}">{nb}</a>'
        row["notebook"] = f'<a href="#{e(_get(r, "name"))}">{e(_get(r, "name"))}</a>'
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:70em;margin:auto}table{border-collapse:"
             "collapse}td,th{border:1px solid #ccc;padding:.2em .6em}img{max-width:100%}"
             ".ok{color:green}.bad{color:#b00}</style></head><body>",
             f"<h1>{e(title)}</h1><p>{e(' · '.join(_header()))}</p>",
             _html_table(rows, list(rows[0]) if rows else ["notebook"],
                         raw={"executed notebook", "notebook"}),
             "<p>Peak memory: largest resident set of the kernel's process tree, polled.</p>"]
    for r in results:
        summary = _get(r, "summary")
        parts.append(f'<h2 id="{e(_get(r, "name"))}">{e(_get(r, "name"))}</h2>')
        if _get(r, "status") != "ok":
            parts.append(f'<p class="bad"><b>{e(_get(r, "status"))}</b>: '
                         f'<code>{e(_get(r, "error", ""))}</code></p>')
        crows = claim_rows(summary)
        if crows:
            parts.append(_html_table(crows, CLAIM_COLS))
        mrows = metric_rows(summary)
        if mrows:
            parts.append(_html_table(mrows, METRIC_COLS))
        parts += [f'<p><img src="{e(f)}" alt="{e(Path(f).name)}"></p>'
                  for f in _get(r, "figures", [])]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(run_dir: str | os.PathLike, results: list[Any], profile: str = "") -> Path:
    """Write ``index.md`` and ``index.html`` into ``run_dir``; returns the markdown path."""
    run_dir = Path(run_dir)
    (run_dir / "index.html").write_text(render_html(results, profile), encoding="utf-8")
    md = run_dir / "index.md"
    md.write_text(render_markdown(results, profile), encoding="utf-8")
    return md


def _commit() -> str:
    import subprocess

    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True, cwd=Path(__file__).resolve().parent, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10,
                               cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown commit"
    return (r.stdout.strip() or "unknown commit") + (" (with uncommitted changes)" if dirty else "")


def write_pages(run_dir: str | os.PathLike, results: list[Any], dest: str | os.PathLike,
                profile: str = "", commit: str = "") -> list[Path]:
    """One committed-ready page per notebook: ``dest/<notebook>.md`` with its claims (power
    columns included), metrics and figures, the figures copied to ``dest/<notebook>/`` and
    linked relatively (what ``make study`` writes into docs/results/). ``commit``: the commit
    the run was made at, when the pages are written later (default: the checkout's HEAD)."""
    import shutil

    run_dir, dest = Path(run_dir), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    pages = []
    for r in results:
        name, summary = _get(r, "name"), _get(r, "summary")
        figs = dest / name
        if figs.exists():
            shutil.rmtree(figs)  # a page shows the figures of its own run only
        figs.mkdir(parents=True)
        out = [f"# {name}: {profile or 'notebook'} run", "",
               f"Produced by `make study` (the `{profile}` profile) at commit "
               f"{commit or _commit()}; "
               + " · ".join(_header()) + ".", "",
               f"Status **{_get(r, 'status')}**, {_get(r, 'runtime_s', 0.0):.0f} s, peak memory "
               f"{_get(r, 'peak_rss_mb', 0.0):.0f} MB"
               + (f" ({_clock_text(r)})" if _clock_text(r) else "")
               + f". Claims: {_claims_cell(summary)}.", ""]
        if _get(r, "status") != "ok":
            out += [f"Error: `{_get(r, 'error')}`", ""]
        crows = claim_rows(summary)
        if crows:
            out += ["## Claims", "",
                    "Verdicts from 95 % intervals over seeds (docs/design.md). *Detectable effect*: "
                    "the interval's half-width at the observed spread, the smallest difference "
                    "these seeds could have seen; *seeds to decide*: how many seeds would settle "
                    "an inconclusive claim at that spread.", ""]
            out += _md_table(crows, CLAIM_COLS) + [""]
        mrows = metric_rows(summary)
        if mrows:
            out += ["## Metrics", ""] + _md_table(mrows, METRIC_COLS) + [""]
        shown = []
        for f in _get(r, "figures", []):
            src = run_dir / f
            if src.is_file():
                shutil.copy2(src, figs / src.name)
                shown.append(f"![{src.stem}]({name}/{src.name})")
        if shown:
            out += ["## Figures", ""] + shown
        page = dest / f"{name}.md"
        page.write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")
        pages.append(page)
    return pages


if __name__ == "__main__":  # python -m ci_inpaint.toolchain.report RUN_DIR [--pages DEST]
    import argparse
    import json

    ap = argparse.ArgumentParser(description="re-render a finished notebook run")
    ap.add_argument("run_dir")
    ap.add_argument("--pages", default="", help="also write one page per notebook into DEST")
    ap.add_argument("--commit", default="", help="the commit the run was made at (default HEAD)")
    a = ap.parse_args()
    run = Path(a.run_dir)
    if not (run / "results.json").is_file():
        sys.exit(f"{run} holds no results.json: pass the folder `ci-inpaint notebooks run --out` "
                 "wrote")
    res = json.loads((run / "results.json").read_text())
    prof = next((_get(r, "summary") or {}).get("profile", "") for r in res) if res else ""
    print(write_report(run, res, prof))
    for p in write_pages(run, res, a.pages, prof, a.commit) if a.pages else []:
        print(p)
