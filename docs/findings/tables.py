#!/usr/bin/python3
"""The tables of a findings document, generated from a study's summary.h5.

usage: docs/findings/tables.py SUMMARY.h5                 print the generated section
       docs/findings/tables.py SUMMARY.h5 --update DOC.md  rewrite DOC.md's generated section
       docs/findings/tables.py SUMMARY.h5 --check DOC.md   exit 1 if DOC.md's section differs

The generated section of a document lies between the lines
``<!-- BEGIN GENERATED: docs/findings/tables.py -->`` and ``<!-- END GENERATED -->``; everything
else in the document is prose written by people, which cites these tables. Numbers come only from
the summary file (analysis/sp_analysis reads it), so the document states what the files hold.
Runs with Debian's /usr/bin/python3 (h5py, NumPy).
"""

import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "analysis"))

from sp_analysis import read_summary  # noqa: E402
from sp_analysis.tables import primary_table, secondary_table, summary_table  # noqa: E402

BEGIN = "<!-- BEGIN GENERATED: docs/findings/tables.py -->"
END = "<!-- END GENERATED -->"

#: The condition summaries shown (every metric is in summary.h5).
SHOWN = ("accuracy", "cosine_all_mean", "cosine_within_mean", "cosine_between_mean",
         "silhouette_euclidean_tsne", "davies_bouldin_tsne", "silhouette_euclidean_raw",
         "participation_ratio", "aubc_accuracy", "aubc_cosine_all_mean",
         "aubc_silhouette_euclidean_tsne", "aubc_davies_bouldin_tsne")


def num(v, digits=4):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{digits}g}"


def pval(p):
    if p is None or not math.isfinite(p):
        return "-"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.4f}"


def verdict(row):
    if not math.isfinite(row["margin"]):
        return "no margin"
    word = "equivalent" if row["equivalent"] == 1 else "not shown"
    return f"{word} (±{num(row['margin'], 3)}, p {pval(row['tost_p'])})"


def generate(path):
    s = read_summary(path)
    out = []
    prim = primary_table(s)
    if prim:
        r0 = prim[0]
        out.append(f"Declared family: {r0['family_size']} tests (primary endpoints x "
                   f"comparisons), Holm at alpha {num(r0['alpha'], 3)}; declared test: "
                   f"{r0['test']}. Differences are a - b over seeds paired by replicate seed.\n")
        out.append("| comparison (a vs b) | endpoint | n | difference [95% t] | BCa 95% | p | "
                   "p (Holm) | equivalence | MDD (80%) | seeds for effect |")
        out.append("|---|---|---:|---|---|---:|---:|---|---:|---:|")
        for r in prim:
            seeds = r["seeds_needed"]
            seeds = ("-" if not math.isfinite(seeds) else
                     "> 1e7" if seeds > 1e7 else str(int(seeds)))
            out.append(
                f"| {r['condition_a']} vs {r['condition_b']} | {r['endpoint']} | {r['n']} | "
                f"{num(r['difference'])} [{num(r['t_low'])}, {num(r['t_high'])}] | "
                f"[{num(r['bca_low'])}, {num(r['bca_high'])}] | {pval(r['p'])} | "
                f"{pval(r['p_holm'])} | {verdict(r)} | {num(r['mdd'], 3)} | {seeds} |")
        out.append("")
    sec = [r for r in secondary_table(s) if r["metric"].startswith("aubc_") and r["n"] > 0]
    if sec:
        out.append("Trajectories (secondary, exploratory; Benjamini-Hochberg q over the "
                   "sweep's secondary tests):\n")
        out.append("| comparison (a vs b) | metric | n | difference [95% t] | p | q (BH) |")
        out.append("|---|---|---:|---|---:|---:|")
        for r in sec:
            out.append(f"| {r['condition_a']} vs {r['condition_b']} | {r['metric']} | {r['n']} | "
                       f"{num(r['difference'])} [{num(r['t_low'])}, {num(r['t_high'])}] | "
                       f"{pval(r['p'])} | {pval(r['q_bh'])} |")
        out.append("")
    rows = [r for r in summary_table(s) if r["metric"] in SHOWN and r["n"] > 0]
    if rows:
        out.append("Per condition (mean ± sd, median [IQR], over seeds):\n")
        out.append("| condition | metric | n | mean ± sd | median [q25, q75] |")
        out.append("|---|---|---:|---|---|")
        order = {m: i for i, m in enumerate(SHOWN)}
        for r in sorted(rows, key=lambda r: (r["condition"], order[r["metric"]])):
            out.append(f"| {r['condition']} | {r['metric']} | {r['n']} | {num(r['mean'])} ± "
                       f"{num(r['std'], 2)} | {num(r['median'])} [{num(r['q25'])}, "
                       f"{num(r['q75'])}] |")
        out.append("")
    return "\n".join(out)


def section(text):
    return f"{BEGIN}\n\n{text}\n{END}"


def split(doc_text, doc):
    if doc_text.count(BEGIN) != 1 or doc_text.count(END) != 1:
        sys.exit(f"{doc}: needs exactly one '{BEGIN}' and one '{END}' line")
    a = doc_text.index(BEGIN)
    b = doc_text.index(END) + len(END)
    return doc_text[:a], doc_text[a:b], doc_text[b:]


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] not in ("--update", "--check")):
        sys.exit(__doc__)
    text = section(generate(argv[1]))
    if len(argv) == 2:
        print(text)
        return 0
    doc = argv[3]
    with open(doc, encoding="utf-8") as f:
        before, current, after = split(f.read(), doc)
    if argv[2] == "--check":
        if current != text:
            print(f"{doc}: the generated section differs from {argv[1]}; rerun "
                  f"docs/findings/tables.py {argv[1]} --update {doc}", file=sys.stderr)
            return 1
        print(f"{doc}: generated section matches {argv[1]}")
        return 0
    tmp = doc + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(before + text + after)
    os.replace(tmp, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
