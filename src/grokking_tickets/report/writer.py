"""report.md and a self-contained report.html (figures embedded as base64 PNG).

Both are built from what is in the output folder: claims.json, figures/*.png and the
notes/settings/timings that `reproduce` hands over. Nothing here trains.
"""

from __future__ import annotations

import base64
import html
import json
import platform
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis.claims import claim_key, stats_brief, verdict_of
from ..analysis.tables import arithmetic_mixes, store_arithmetics
from ..experiments import figure_of
from ..store import write_text

CSS_CLASS = {"holds": "holds", "does not hold": "fails", "not significant": "ns", "not run": "none"}


def verdict_text(c: dict) -> str:
    """'holds', or 'not significant (n = 3, p = 0.05)': the verdict, with n and p where the row has them."""
    brief = stats_brief(c)
    return f"{verdict_of(c)} ({brief})" if brief else verdict_of(c)


def tally(claims: list[dict]) -> tuple[str, str]:
    """('7 of 10', ' (2 more: direction met, not significant at this n)'), for 'N of M judged claims hold ...'."""
    verdicts = [verdict_of(c) for c in claims]
    held, judged, ns = verdicts.count("holds"), sum(v != "not run" for v in verdicts), verdicts.count("not significant")
    more = f" ({ns} more: direction met, not significant at this n)" if ns else ""
    return f"{held} of {judged}", more


def _measured_text(measured: Any, skip: tuple[str, ...] = ()) -> list[str]:
    if not isinstance(measured, dict):
        return [str(measured)]
    return [
        f"{k}: {json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v}"
        for k, v in measured.items()
        if k not in skip
    ]


def _anchor(section: dict) -> str | None:
    """A section's anchor: its figure's file stem (what claims link to)."""
    return Path(section["figure"]).stem if section.get("figure") else None


def versions() -> dict[str, str]:
    import matplotlib
    import numpy
    import pandas
    import torch

    from ..version import __version__

    return {
        "grokking-tickets": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "matplotlib": matplotlib.__version__,
        "platform": platform.platform(),
    }


ARITHMETIC_ABOUT = (
    "The arithmetic that computed the runs: torch, BLAS and its code branch, ATen's vector ISA, threads and "
    "denormal mode (GROKKING_TICKETS_ARITHMETIC). Runs of one arithmetic give the same bits wherever it runs; "
    "runs of two differ in the last bits, and in float32 after memorization in grokking times too."
)


def _arithmetic(out: Path) -> tuple[list[str], str]:
    """(one line per arithmetic in the store, a warning naming the experiments that mix them or '')."""
    arith, _ = store_arithmetics(out)
    lines = [f"{label}: {a['runs']} runs, {a['key']}" for label, a in arith.items()]
    summary = out / "summary.csv"
    mixes = arithmetic_mixes(pd.read_csv(summary)) if summary.exists() else {}
    warn = ""
    if mixes:
        warn = "these experiments compare runs computed with more than one arithmetic: " + "; ".join(
            f"{exp} ({', '.join(f'{n} {label}' for label, n in used.items())})" for exp, used in mixes.items()
        )
    return lines, warn


def _slug(text: str) -> str:
    """An HTML id for a heading without a figure: lowercase words joined by hyphens."""
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split()) or "section"


def _section_ids(sections: list[dict]) -> list[str]:
    """Each section's anchor: its figure's stem (what claims link to), else a slug of its title."""
    ids, seen = [], set()
    for s in sections:
        base = _anchor(s) or _slug(s["title"])
        sid, i = base, 2
        while sid in seen:
            sid, i = f"{base}-{i}", i + 1
        seen.add(sid)
        ids.append(sid)
    return ids


STATISTICS_ABOUT = (
    "Each claim is judged by the fixed rule under its id. A comparison's effect is the ratio of the arms' means "
    "(above 1 in the claimed direction) with a 95% bootstrap interval (BCa, 9,999 resamples, seed 0); "
    "'k/n seeds' counts the seeds on which the claimed direction holds, arms paired by seed; p is the one-sided "
    "Mann–Whitney U test's (exact, or an exact permutation test with ties), the largest where a claim makes "
    "several comparisons, all of which must hold (no multiplicity correction). A run that never reaches the "
    "threshold enters at its budget + 1. With n seeds against n the smallest p is 1/C(2n, n): 0.05 at 3 seeds, "
    "so a 3-seed claim reads 'not significant' at best, and 7.8e-05 at 8. A claim without a test (C10, E1, S1) "
    "is decided by its rule alone."
)


def write_reports(out: Path, claims: list[dict], sections: list[dict], settings: dict, runtime_s: float | None) -> tuple[Path, Path]:
    """sections: [{"title", "about" (a paragraph, optional), "figure" (path or None), "notes" (dict or None), "text" (str)}]."""
    from .table import cells, md_cell, ours_md

    claims = sorted(claims, key=lambda c: claim_key(c["id"]))
    held, more = tally(claims)
    vers = versions()
    took = "n/a (rebuilt from the run store)" if runtime_s is None else f"{runtime_s / 60:.1f} min"
    arith, mixed = _arithmetic(out)
    ids = _section_ids(sections)
    toc = [("claims", "Claims"), *[(i, s["title"]) for i, s in zip(ids, sections)],
           ("arithmetic", "Arithmetic"), ("settings", "Settings"), ("software", "Software")]  # fmt: skip
    anchors = {a for a in map(_anchor, sections) if a}
    md = [
        "# grokking-tickets: reproduction report",
        "",
        f"{held} judged claims hold{more}. Run time: {took}.",
        "",
        *([f"**Warning:** {mixed}", ""] if mixed else []),
        "Contents: " + " · ".join(f"[{t}](#{i})" for i, t in toc),
        "",
        '## Claims <a id="claims"></a>',
        "",
        STATISTICS_ABOUT,
        "",
        "| id | claim | paper | ours: effect [95% CI], seeds in direction | n | p | verdict | protocol | differs from the authors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    group = None
    for c in claims:
        cell = cells(c)
        if cell["group"] != group:  # a row naming each group: the paper's claims first
            group = cell["group"]
            md.append(f"| | **{group}** | | | | | | | |")
        fig = figure_of(c["id"])
        link = f" ([figure](#{fig}))" if fig in anchors else ""
        rule = f"<br>*judged by:* {md_cell(cell['rule'])}" if cell["rule"] else ""
        md.append(
            f"| {cell['id']} | {md_cell(cell['claim'])}{rule} | {md_cell(cell['paper'])} | {ours_md(cell)} | "
            f"{cell['n']} | {cell['p']} | **{cell['verdict']}**{link} | {md_cell(cell['protocol'])} | {md_cell(cell['differs'])} |"
        )
    for s, sid in zip(sections, ids):
        md += ["", f'## {s["title"]} <a id="{sid}"></a>', ""]
        if s.get("about"):
            md += [s["about"], ""]
        if s.get("text"):
            md += ["```", s["text"], "```", ""]
        if s.get("figure"):
            md += [f"![{s['title']}]({Path(s['figure']).relative_to(out).as_posix()})", ""]
        for line in _measured_text(s.get("notes") or {}):
            md.append(f"- {line}")
    md += ["", '## Arithmetic <a id="arithmetic"></a>', "", ARITHMETIC_ABOUT, ""] + [f"- {x}" for x in arith]
    md += ["", '## Settings <a id="settings"></a>', "", "```json", json.dumps(settings, indent=2), "```", "",
           '## Software <a id="software"></a>', ""]
    md += [f"- {k}: {v}" for k, v in vers.items()]
    md_path = out / "report.md"
    write_text(md_path, "\n".join(md) + "\n")

    h = [
        "<!doctype html><html><head><meta charset='utf-8'><title>grokking-tickets report</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}",
        "table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ccc;padding:6px;vertical-align:top}",
        ".holds{background:#e6f4e6}.fails{background:#fbe9e9}.ns{background:#fdf6dc}.none{background:#eee}",
        "img{max-width:100%}.brief{color:#555;font-size:12px}.num{white-space:nowrap}",
        ".rule{color:#555;font-size:12px;margin-top:4px}.verdict{min-width:9em}.verdict b{white-space:nowrap}",
        "nav ol{columns:2;font-size:14px}",
        # the claims table fits the page at any width: fixed columns, long words broken
        "table.claims{width:100%;table-layout:fixed}table.claims td{overflow-wrap:anywhere}table.claims .num{white-space:normal}",
        "</style></head><body>",
        "<h1>grokking-tickets: reproduction report</h1>",
        f"<p><b>{held}</b> judged claims hold{html.escape(more)}. Run time: {took}.</p>",
        *([f"<p class='fails'><b>Warning:</b> {html.escape(mixed)}</p>"] if mixed else []),
        "<nav><b>Contents</b><ol>" + "".join(f"<li><a href='#{html.escape(i)}'>{html.escape(t)}</a></li>" for i, t in toc) + "</ol></nav>",
        f"<h2 id='claims'>Claims</h2><p>{html.escape(STATISTICS_ABOUT)}</p>",
        ("<table class='claims'><colgroup>" + "".join(f"<col style='width:{w}%'>" for w in (7, 20, 10, 19, 4, 7, 9, 10, 14))
         + "</colgroup><tr><th>id</th><th>claim</th><th>paper</th><th>ours: effect [95% CI], seeds in direction</th>"
         "<th>n</th><th>p</th><th>verdict</th><th>protocol</th><th>differs from the authors</th></tr>"),
    ]
    group = None
    for c in claims:
        cell = cells(c)
        if cell["group"] != group:
            group = cell["group"]
            h.append(f"<tr><th colspan='9' style='text-align:left'>{html.escape(group)}</th></tr>")
        cls = CSS_CLASS[cell["verdict"]]
        fig = figure_of(c["id"])
        link = f"<br><a href='#{html.escape(fig)}'>figure</a>" if fig in anchors else ""
        rule = f"<div class='rule'>judged by: {html.escape(cell['rule'])}</div>" if cell["rule"] else ""
        ours = "<br>".join(f"<span class='num'>{html.escape(x)}</span>" for x in cell["ours"])
        h.append(
            f"<tr class='{cls}'><td>{html.escape(cell['id'])}</td><td>{html.escape(cell['claim'])}{rule}</td>"
            f"<td>{html.escape(cell['paper'])}</td><td>{ours}</td><td>{cell['n']}</td>"
            f"<td class='num'>{html.escape(cell['p'])}</td><td class='verdict'><b>{cell['verdict']}</b>{link}</td>"
            f"<td>{html.escape(cell['protocol'])}</td><td>{html.escape(cell['differs'])}</td></tr>"
        )
    h.append("</table>")
    for s, sid in zip(sections, ids):
        h.append(f"<h2 id='{html.escape(sid)}'>{html.escape(s['title'])}</h2>")
        if s.get("about"):
            h.append(f"<p>{html.escape(s['about'])}</p>")
        if s.get("text"):
            h.append(f"<pre>{html.escape(s['text'])}</pre>")
        if s.get("figure"):
            data = base64.b64encode(Path(s["figure"]).read_bytes()).decode()
            h.append(f"<img alt='{html.escape(s['title'])}' src='data:image/png;base64,{data}'>")
        notes = _measured_text(s.get("notes") or {})
        if notes:
            h.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in notes) + "</ul>")
    h.append(f"<h2 id='arithmetic'>Arithmetic</h2><p>{html.escape(ARITHMETIC_ABOUT)}</p>")
    h.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in arith) + "</ul>")
    h.append(f"<h2 id='settings'>Settings</h2><pre>{html.escape(json.dumps(settings, indent=2))}</pre>")
    h.append("<h2 id='software'>Software</h2><ul>" + "".join(f"<li>{k}: {html.escape(v)}</li>" for k, v in vers.items()) + "</ul>")
    h.append("</body></html>")
    html_path = out / "report.html"
    write_text(html_path, "\n".join(h) + "\n")
    return md_path, html_path
