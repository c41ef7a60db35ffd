"""One self-contained HTML report of an sp results directory.

With a summary.h5 of schema version 3 the page leads with the primary table (the declared
endpoints: difference [95% t CI], BCa interval, declared p with Holm, equivalence verdict,
minimum detectable difference), then the secondary metrics marked exploratory (BH q-values),
then conditions, figures (AL trajectories with intervals), statistics and provenance. Older
summary files give the report as before (conditions, figures, summary, comparisons).

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
from .loaders import (EQUIVALENT_NOT_SHOWN, EQUIVALENT_YES, ROLE_NAMES, ROLE_PRIMARY,
                      ROLE_SECONDARY, Results, ResultsError, Summary, load_results)
from .tables import primary_table, secondary_table

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
    s = results.summary
    coords = s is not None and s.declared and any(s.coordinates)
    rows = []
    for cond in results.conditions():
        reps = results.by_condition(cond, complete_only=False)
        done = [r for r in reps if r.complete]
        row = [_e(cond), _e(results.strategy_of(cond)), _e(_distinct(r.sweep for r in reps)),
               _e(len(done)), _e(len(reps) - len(done)),
               _e(", ".join(str(r.seed) for r in done))]
        if coords:
            row.insert(1, _e(s.coordinates[s.labels.index(cond)]))
        rows.append(row)
    header = ["condition", "strategy", "sweep", "complete", "failed", "seeds"]
    if coords:
        header.insert(1, "coordinates")
    return "<h2 id=conditions>Conditions</h2>" + _table(header, rows)


def summary_section(results: Results) -> str:
    s = results.summary
    if s is None:
        return ("<h2 id=summary>Summary</h2><p>No summary.h5 in the directory: run "
                "<code>sp_reduce DIR</code> for statistics and comparisons.</p>")
    conf = s.attrs.get("confidence", 0.95)
    iqr = s.declared
    out = ["<h2 id=summary>Summary across seeds</h2>",
           f"<p>Per condition: seeds with a value (n), mean, sample std, median"
           f"{' [interquartile range]' if iqr else ''}, and the "
           f"{_e(fmt(float(conf) * 100, 3))}% Student-t and bootstrap intervals of the mean "
           f"(summary.h5 /summary).</p>"]
    for c, label in enumerate(s.labels):
        rows = []
        for m, metric in enumerate(s.metrics):
            st = {k: s.stats[k][c, m] for k in s.stats}
            median = fmt(float(st["median"]))
            if iqr:
                median += f' {_interval(float(st["q25"]), float(st["q75"]))}'
            rows.append((_e(metric), _e(int(st["n"])), fmt(float(st["mean"])),
                         fmt(float(st["std"])), median,
                         f'[{fmt(float(st["t_low"]))}, {fmt(float(st["t_high"]))}]',
                         f'[{fmt(float(st["bootstrap_low"]))}, '
                         f'{fmt(float(st["bootstrap_high"]))}]',
                         f'{fmt(float(st["min"]))} .. {fmt(float(st["max"]))}'))
        coords = s.coordinates[c] if c < len(s.coordinates) else ""
        out.append(f"<h3>{_e(label)}" + (f" <small>({_e(coords)})</small>" if coords else "")
                   + "</h3>")
        out.append(_table(("metric", "n", "mean", "std", "median [IQR]" if iqr else "median",
                           "t interval",
                           "bootstrap interval", "range"), rows, "num"))
    out.append("<h2 id=comparisons>Comparisons</h2>")
    if not len(s.comp_a):
        out.append("<p>No two conditions pair on shared seeds.</p>")
        return "\n".join(out)
    if s.declared:
        out += _comparisons_v3(s)
        if s.failed:
            out.append("<p>Failed replicates recorded in summary.h5:</p><ul>" +
                       "".join(f"<li>{_e(x)}</li>" for x in s.failed) + "</ul>")
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


TEST_NAMES = {"sign_flip": "sign-flip", "t": "paired t"}


def _interval(lo: float, hi: float) -> str:
    return f"[{fmt(lo)}, {fmt(hi)}]"


def _diff_ci(d: float, lo: float, hi: float) -> str:
    return f"{fmt(d)} {_interval(lo, hi)}"


def _unique(values) -> List[Any]:
    return list(dict.fromkeys(values))


def equivalence_text(equivalent: int, margin: float, tost_p: float) -> str:
    """The TOST verdict: equivalent (1), not shown (0), or no test (-1: no margin declared)."""
    if equivalent == EQUIVALENT_YES:
        return f"equivalent within &plusmn;{_e(fmt(margin))} (TOST p {fmt_p(tost_p)})"
    if equivalent == EQUIVALENT_NOT_SHOWN:
        return f"not shown within &plusmn;{_e(fmt(margin))} (TOST p {fmt_p(tost_p)})"
    return "no margin declared" if not math.isfinite(margin) else "no test"


def seeds_text(seeds: float, effect: float) -> str:
    """Seeds needed to detect the declared effect, or '-' without one."""
    if not math.isfinite(effect) or not math.isfinite(seeds):
        return "-"
    n = int(seeds) if float(seeds).is_integer() else seeds
    return f"{_e(fmt(n))} for &Delta; = {_e(fmt(effect))}"


def _plans_paragraph(s: Summary) -> str:
    items = []
    for a in s.analysis:
        items.append(f"<li><b>{_e(a.sweep_name)}</b>: declared test "
                     f"{_e(TEST_NAMES.get(a.test, a.test))}, &alpha; = {_e(fmt(a.alpha))}, power "
                     f"{_e(fmt(a.power))}; from {_e(a.source)}"
                     f"<details><summary>analysis table</summary><pre>{_e(a.spec_toml)}</pre>"
                     f"</details></li>")
    return "<ul>" + "".join(items) + "</ul>" if items else ""


def primary_section(results: Results) -> str:
    """The declared endpoints of every comparison (summary.h5 version 3), first on the page."""
    s = results.summary
    rows = primary_table(s)
    out = ["<h2 id=primary>Primary endpoints</h2>"]
    conf = fmt(float(s.attrs.get("confidence", 0.95)) * 100, 3)
    nmax = s.comp_attrs.get("signflip_exact_max_n", "?")
    resamples = s.comp_attrs.get("permutation_resamples", "?")
    out.append(
        f"<p>The endpoints declared before the results (the sweep's <code>[analysis]</code> "
        f"table). Per contrast, pairs matched by seed, difference = first &minus; second "
        f"condition: the mean difference with its {_e(conf)}% t interval and BCa bootstrap "
        f"interval; p of the declared test (sign-flip permutation: exact over all 2<sup>n</sup> "
        f"flips up to n = {_e(nmax)}, {_e(resamples)} random flips above; or the paired t), "
        f"Holm-adjusted over the sweep's family of primary endpoints &times; contrasts "
        f"(<b>bold</b>: below &alpha;); equivalence by TOST against the declared margin; MDD: "
        f"the minimum detectable difference at the stated power with these n seeds; seeds: "
        f"those needed to detect the declared effect.</p>")
    out.append(_plans_paragraph(s))
    if not rows:
        out.append("<p>No comparison with a primary endpoint: no declared contrast pairs two "
                   "conditions on shared seeds in these results.</p>")
        return "\n".join(out)
    many_sweeps = len(_unique(r["sweep"] for r in rows)) > 1
    tests = _unique(r["test"] for r in rows)
    powers = _unique(r["power"] for r in rows)
    p_head = f"p ({TEST_NAMES.get(tests[0], tests[0])})" if len(tests) == 1 else "p (declared)"
    mdd_head = (f"MDD ({fmt(powers[0] * 100, 3)}%)" if len(powers) == 1
                and math.isfinite(powers[0]) else "MDD")
    header = ((["sweep"] if many_sweeps else []) +
              ["contrast", "comparison", "endpoint", "n", f"difference [{conf}% t]",
               f"BCa {conf}%", p_head, "p (Holm)", "equivalence", mdd_head, "seeds for effect"])
    body = []
    for r in rows:
        holm = fmt_p(r["p_holm"])
        if math.isfinite(r["p_holm"]) and r["p_holm"] < r["alpha"]:
            holm = f"<b>{holm}</b>"
        p_cell = fmt_p(r["p"]) if len(tests) == 1 else (
            f'{fmt_p(r["p"])} ({_e(TEST_NAMES.get(r["test"], r["test"]))})')
        body.append(([_e(r["sweep"])] if many_sweeps else []) + [
            _e(r["contrast"]), f'{_e(r["condition_a"])} vs {_e(r["condition_b"])}',
            _e(r["endpoint"]), _e(r["n"]), _diff_ci(r["difference"], r["t_low"], r["t_high"]),
            _interval(r["bca_low"], r["bca_high"]), p_cell, holm,
            equivalence_text(r["equivalent"], r["margin"], r["tost_p"]), fmt(r["mdd"]),
            seeds_text(r["seeds_needed"], r["effect"])])
    out.append(_table(header, body, "lead"))
    return "\n".join(out)


def secondary_section(results: Results) -> str:
    """The secondary metrics (summary.h5 version 3), marked exploratory, with BH q-values."""
    s = results.summary
    rows = [r for r in secondary_table(s) if r["n"] > 0]   # n = 0: no pair has the metric
    conf = fmt(float(s.attrs.get("confidence", 0.95)) * 100, 3)
    out = ["<h2 id=secondary>Secondary endpoints (exploratory)</h2>",
           "<p><b>Exploratory</b>: metrics not declared as endpoints, outside the Holm family. p "
           "of the declared test, with Benjamini-Hochberg q-values across every secondary test "
           "of the sweep; no claim rests on these. Duplicates and diagnostics are not tested "
           "(see the full comparison tables below).</p>"]
    if not rows:
        out.append("<p>No secondary metric was tested.</p>")
        return "\n".join(out)
    for p in _unique(r["comparison"] for r in rows):
        mine = [r for r in rows if r["comparison"] == p]
        r0 = mine[0]
        out.append(f'<h3>{_e(r0["contrast"])}: {_e(r0["condition_a"])} vs '
                   f'{_e(r0["condition_b"])} <small>(exploratory)</small></h3>')
        out.append(_table(("metric", "n", f"difference [{conf}% t]", "p", "q (BH)"),
                          [(_e(r["metric"]), _e(r["n"]),
                            _diff_ci(r["difference"], r["t_low"], r["t_high"]), fmt_p(r["p"]),
                            fmt_p(r["q_bh"])) for r in mine], "num"))
    return "\n".join(out)


def _comparisons_v3(s: Summary) -> List[str]:
    out = ["<p>Every metric of every comparison (summary.h5 /comparisons): paired on shared "
           "seeds, difference = first &minus; second; role: primary (declared, Holm), "
           "secondary (exploratory, BH q) or untested (duplicates and diagnostics: differences "
           "and intervals only). Effect sizes: Cohen's d<sub>z</sub>, Hedges' g<sub>z</sub> "
           "(d<sub>z</sub> with the small-sample factor) and Cohen's d<sub>av</sub>.</p>"]
    for p in range(len(s.comp_a)):
        a, b = int(s.comp_a[p]), int(s.comp_b[p])
        rows = []
        for m, metric in enumerate(s.metrics):
            g = {k: s.comp[k][p, m] for k in s.comp}
            role = int(g["role"])
            adj = ("Holm " + fmt_p(float(g["p_holm"])) if role == ROLE_PRIMARY else
                   "BH " + fmt_p(float(g["q_bh"])) if role == ROLE_SECONDARY else "-")
            rows.append((_e(metric), _e(ROLE_NAMES.get(role, role)), _e(int(g["n"])),
                         _diff_ci(float(g["mean_difference"]), float(g["diff_t_low"]),
                                  float(g["diff_t_high"])),
                         _interval(float(g["diff_bca_low"]), float(g["diff_bca_high"])),
                         fmt(float(g["sd_difference"])), fmt(float(g["t"])),
                         fmt_p(float(g["t_p"])), fmt_p(float(g["signflip_p"])),
                         fmt_p(float(g["p"])), adj,
                         equivalence_text(int(g["equivalent"]), float(g["margin"]),
                                          float(g["tost_p"])),
                         fmt(float(g["cohens_dz"]), 3), fmt(float(g["hedges_gz"]), 3),
                         fmt(float(g["cohens_dav"]), 3)))
        out.append(f"<h3>{_e(s.comp_contrast[p])}: {_e(s.labels[a])} vs {_e(s.labels[b])} "
                   f"<small>({_e(s.comp_kind[p])}; Holm family of "
                   f"{_e(int(s.comp_family_size[p]))})</small></h3>")
        out.append(_table(("metric", "role", "n", "difference [t]", "BCa", "sd of differences",
                           "t", "p (t)", "p (sign-flip)", "p (declared)", "adjusted",
                           "equivalence", "d_z", "Hedges' g_z", "d_av"), rows, "num"))
    return out


FIGURES: List[tuple] = [
    ("tsne", "t-SNE maps per condition, same seed side by side", figures.tsne_maps),
    ("cosine", "Cosine-similarity histograms, strategy vs baseline, within and between class",
     figures.cosine_histograms),
    ("metrics", "Metrics across seeds with 95% intervals and significance marks",
     figures.metric_distributions),
    ("al", "Accuracy and metrics against the labelled-set size", figures.al_curves),
    ("trajectories", "Active-learning trajectories against the labelled-set size: mean over "
     "seeds per condition with its 95% t interval (summary.h5 /trajectories)",
     figures.trajectories),
    ("queried", "Classes of the queried images per round", figures.queried_classes),
]

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;
color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
h3{font-size:1.05em}table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left}th{background:#f3f3f3}
table.num td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
table.kv td:first-child{font-weight:600}
table.lead td{vertical-align:top;font-variant-numeric:tabular-nums}
figure{margin:1em 0}img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}pre{background:#f7f7f7;padding:.5em;font-size:.8em;
overflow:auto;max-height:30em}nav a{margin-right:1em}
"""


def build_html(results: Results, title: Optional[str] = None,
               log: Callable[[str], None] = lambda s: None) -> str:
    title = title or f"sp report: {os.path.basename(os.path.abspath(results.directory))}"
    s = results.summary
    declared = s is not None and s.declared
    nav = ("<nav>" + ("<a href='#primary'>Primary endpoints</a><a href='#secondary'>Secondary"
                      "</a>" if declared else "") +
           "<a href='#conditions'>Conditions</a><a href='#figures'>Figures</a>"
           "<a href='#summary'>Summary</a><a href='#comparisons'>Comparisons</a>"
           "<a href='#provenance'>Provenance</a></nav>")
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
             f"<meta name=viewport content='width=device-width,initial-scale=1'>"
             f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1>",
             f"<p>Generated {_e(_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))}"
             f" by sp_analysis from {_e(os.path.abspath(results.directory))}.</p>",
             nav]
    if declared:
        parts += [primary_section(results), secondary_section(results)]
    parts += [conditions_section(results), "<h2 id=figures>Figures</h2>"]
    for key, caption, make in figure_list(results):
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


def figure_list(results: Results) -> List[tuple]:
    """The report's figures: (key, caption, function). The AL figure is the trajectories of
    summary.h5 when it has them (schema version 3), else the per-seed curves of the replicate
    files (versions 1, 2, or no summary)."""
    s = results.summary
    drop = "al" if s is not None and s.trajectories is not None else "trajectories"
    return [f for f in FIGURES if f[0] != drop]


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
