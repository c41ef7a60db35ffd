"""One self-contained HTML report of an sp results directory.

    /usr/bin/python3 -m sp_analysis.report RESULTS_DIR [-o REPORT.html]   (PYTHONPATH=analysis)

Figures are embedded as base64 PNG data: URIs; the page loads nothing else (no scripts, no
network). The file is written atomically (REPORT.html.tmp, then renamed). Exit 0 on success,
2 (with a message naming the file) for a missing or empty directory, an unreadable file or a
file of an unknown schema_version.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import html
import math
import os
import sys
from typing import Any, Callable, List, Optional, Sequence

from . import figures
from .loaders import Results, ResultsError, load_results

PROG = "sp-report"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def fmt(v: Any, digits: int = 4) -> str:
    """A number for a table: integers as is, floats to ``digits`` significant digits."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.{digits}g}"
    return str(v)


def fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "NaN"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    out = [f'<table class="{cls}"><thead><tr>']
    out += [f"<th>{_e(h)}</th>" for h in header]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _img(fig, alt: str) -> str:
    data = base64.b64encode(figures.png(fig)).decode("ascii")
    return (f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(alt)}</figcaption></figure>")


def _distinct(values) -> str:
    seen: List[str] = []
    for v in values:
        v = str(v)
        if v not in seen:
            seen.append(v)
    return ", ".join(seen) if seen else "-"


def provenance_section(results: Results) -> str:
    reps = results.replicates
    prov = [r.provenance for r in reps]
    starts = sorted(p.get("start_time", "") for p in prov if p.get("start_time"))
    ends = sorted(p.get("end_time", "") for p in prov if p.get("end_time"))
    rows = [
        ("results directory", _e(os.path.abspath(results.directory))),
        ("sp version", _e(_distinct(r.attrs.get("sp_version", "") for r in reps))),
        ("git revision", _e(_distinct(r.attrs.get("git_revision", "") for r in reps))),
        ("sweeps", _e(_distinct(r.sweep for r in reps))),
        ("replicates", _e(f"{len(results.complete)} complete, {len(results.failed)} failed")),
        ("hosts", _e(_distinct(p.get("hostname", "") for p in prov))),
        ("devices", _e(_distinct(f'{p.get("device", "")} ({p.get("device_name", "")})'
                                 for p in prov))),
        ("LibTorch", _e(_distinct(p.get("libtorch_version", "") for p in prov))),
        ("HDF5", _e(_distinct(p.get("hdf5_version", "") for p in prov))),
        ("MPI", _e(_distinct(p.get("mpi_version", "") for p in prov))),
        ("deterministic", _e(_distinct(p.get("deterministic", "") for p in prov))),
        ("sweep seed", _e(_distinct(p.get("sweep_seed", "") for p in prov))),
        ("first start", _e(starts[0] if starts else "-")),
        ("last end", _e(ends[-1] if ends else "-")),
    ]
    s = results.summary
    if s is not None:
        rows.append(("summary.h5", _e(f'sp {s.attrs.get("sp_version", "?")}, '
                                      f'{s.attrs.get("git_revision", "?")}, '
                                      f'{s.attrs.get("replicates", "?")} replicates, '
                                      f'confidence {s.attrs.get("confidence", "?")}')))
    else:
        rows.append(("summary.h5", "absent: no statistics or comparisons (run sp_reduce)"))
    out = ["<h2 id=provenance>Provenance</h2>", _table(("", ""), rows, "kv")]
    if results.skipped:
        out.append("<p>Skipped files:</p><ul>" +
                   "".join(f"<li>{_e(x)}</li>" for x in results.skipped) + "</ul>")
    if results.failed:
        out.append("<h3>Failed replicates</h3>")
        out.append(_table(("replicate", "condition", "seed", "error"),
                          [(_e(r.replicate_id), _e(r.condition), _e(r.seed), _e(r.error))
                           for r in results.failed]))
    out.append("<h3>Configuration of one replicate per condition</h3>")
    for cond in results.conditions():
        reps_c = results.by_condition(cond, complete_only=False)
        if not reps_c:
            continue
        r = reps_c[0]
        out.append(f"<details><summary>{_e(cond)} &mdash; replicate {_e(r.replicate_id)}, "
                   f"seed {_e(r.seed)}, {_e(r.provenance.get('hostname', ''))}, "
                   f"{_e(r.provenance.get('start_time', ''))} to "
                   f"{_e(r.provenance.get('end_time', ''))}</summary>"
                   f"<pre>{_e(r.provenance.get('config_toml', ''))}</pre></details>")
    return "\n".join(out)


def conditions_section(results: Results) -> str:
    rows = []
    for cond in results.conditions():
        reps = results.by_condition(cond, complete_only=False)
        done = [r for r in reps if r.complete]
        rows.append((_e(cond), _e(results.strategy_of(cond)),
                     _e(_distinct(r.sweep for r in reps)), _e(len(done)),
                     _e(len(reps) - len(done)), _e(", ".join(str(r.seed) for r in done))))
    return ("<h2 id=conditions>Conditions</h2>" +
            _table(("condition", "strategy", "sweep", "complete", "failed", "seeds"), rows))


def summary_section(results: Results) -> str:
    s = results.summary
    if s is None:
        return ("<h2 id=summary>Summary</h2><p>No summary.h5 in the directory: run "
                "<code>sp_reduce DIR</code> for statistics and comparisons.</p>")
    conf = s.attrs.get("confidence", 0.95)
    out = ["<h2 id=summary>Summary across seeds</h2>",
           f"<p>Per condition: seeds with a value (n), mean, sample std, median, and the "
           f"{_e(fmt(float(conf) * 100, 3))}% Student-t and bootstrap intervals of the mean "
           f"(summary.h5 /summary).</p>"]
    for c, label in enumerate(s.labels):
        rows = []
        for m, metric in enumerate(s.metrics):
            st = {k: s.stats[k][c, m] for k in s.stats}
            rows.append((_e(metric), _e(int(st["n"])), fmt(float(st["mean"])),
                         fmt(float(st["std"])), fmt(float(st["median"])),
                         f'[{fmt(float(st["t_low"]))}, {fmt(float(st["t_high"]))}]',
                         f'[{fmt(float(st["bootstrap_low"]))}, '
                         f'{fmt(float(st["bootstrap_high"]))}]',
                         f'{fmt(float(st["min"]))} .. {fmt(float(st["max"]))}'))
        out.append(f"<h3>{_e(label)}</h3>")
        out.append(_table(("metric", "n", "mean", "std", "median", "t interval",
                           "bootstrap interval", "range"), rows, "num"))
    out.append("<h2 id=comparisons>Comparisons</h2>")
    if not len(s.comp_a):
        out.append("<p>No two conditions pair on shared seeds.</p>")
        return "\n".join(out)
    out.append("<p>Paired on shared seeds, difference = first &minus; second; p two-sided, "
               "Holm-corrected across the metrics of each comparison; marks from the Holm "
               "paired-t p (* &lt; 0.05, ** &lt; 0.01, *** &lt; 0.001). Effect sizes: Cohen's "
               "d<sub>z</sub> and Hedges' g (summary.h5 /comparisons).</p>")
    for p in range(len(s.comp_a)):
        a, b = int(s.comp_a[p]), int(s.comp_b[p])
        rows = []
        for m, metric in enumerate(s.metrics):
            g = {k: s.comp[k][p, m] for k in s.comp}
            holm = float(g["t_p_holm"])
            rows.append((_e(metric), _e(int(g["n"])), fmt(float(g["mean_difference"])),
                         fmt(float(g["t"])), fmt_p(float(g["t_p"])), fmt_p(holm),
                         fmt(float(g["w"])), fmt_p(float(g["w_p"])),
                         fmt_p(float(g["w_p_holm"])), fmt(float(g["cohens_dz"]), 3),
                         fmt(float(g["hedges_g"]), 3), _e(figures.stars(holm))))
        out.append(f"<h3>{_e(s.labels[a])} vs {_e(s.labels[b])} "
                   f"<small>({_e(s.comp_kind[p])})</small></h3>")
        out.append(_table(("metric", "n", "mean diff", "t", "p (t)", "p (t, Holm)", "W",
                           "p (W)", "p (W, Holm)", "d_z", "g", ""), rows, "num"))
    if s.failed:
        out.append("<p>Failed replicates recorded in summary.h5:</p><ul>" +
                   "".join(f"<li>{_e(x)}</li>" for x in s.failed) + "</ul>")
    return "\n".join(out)


FIGURES: List[tuple] = [
    ("tsne", "t-SNE maps per condition, same seed side by side", figures.tsne_maps),
    ("cosine", "Cosine-similarity histograms, strategy vs baseline, within and between class",
     figures.cosine_histograms),
    ("metrics", "Metrics across seeds with 95% intervals and significance marks",
     figures.metric_distributions),
    ("al", "Accuracy and metrics against the labelled-set size", figures.al_curves),
    ("queried", "Classes of the queried images per round", figures.queried_classes),
]

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;
color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
h3{font-size:1.05em}table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}th{background:#f3f3f3}
table.num td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
table.kv td:first-child{font-weight:600}figure{margin:1em 0}img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}pre{background:#f7f7f7;padding:.5em;font-size:.8em;
overflow:auto;max-height:30em}nav a{margin-right:1em}
"""


def build_html(results: Results, title: Optional[str] = None,
               log: Callable[[str], None] = lambda s: None) -> str:
    title = title or f"sp report: {os.path.basename(os.path.abspath(results.directory))}"
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
             f"<meta name=viewport content='width=device-width,initial-scale=1'>"
             f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f"<p>Generated {_e(_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))}"
             f" by sp_analysis from {_e(os.path.abspath(results.directory))}.</p>",
             "<nav><a href='#conditions'>Conditions</a><a href='#figures'>Figures</a>"
             "<a href='#summary'>Summary</a><a href='#comparisons'>Comparisons</a>"
             "<a href='#provenance'>Provenance</a></nav>",
             conditions_section(results), "<h2 id=figures>Figures</h2>"]
    for key, caption, make in FIGURES:
        log(f"figure: {key}")
        fig = make(results)
        if fig is None:
            parts.append(f"<p>{_e(caption)}: nothing to draw in these results.</p>")
        else:
            parts.append(f'<section id="fig-{key}">{_img(fig, caption)}</section>')
    parts.append(summary_section(results))
    parts.append(provenance_section(results))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via ``path.tmp``, fsync and rename."""
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description=(
        "Write a self-contained HTML report (tables, figures, provenance) of an sp results "
        "directory: its replicate files and summary.h5."))
    ap.add_argument("results_dir", metavar="RESULTS_DIR")
    ap.add_argument("-o", "--output", metavar="REPORT.html",
                    help="output file (default: RESULTS_DIR/report.html)")
    ap.add_argument("--title", help="page title")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    args = ap.parse_args(argv)
    log = (lambda s: None) if args.quiet else (lambda s: print(f"{PROG}: {s}", file=sys.stderr))
    try:
        results = load_results(args.results_dir)
    except ResultsError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    log(f"{len(results.replicates)} replicate files, "
        f"{'with' if results.summary else 'without'} summary.h5")
    out = args.output or os.path.join(args.results_dir, "report.html")
    text = build_html(results, args.title, log)
    try:
        write_atomic(out, text)
    except OSError as e:
        print(f"{PROG}: error: {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
