"""Print the declared (primary) endpoints of a results directory and plot one trajectory.

    PYTHONPATH=analysis /usr/bin/python3 analysis/examples/primary_table.py RESULTS_DIR \
        [-o trajectory.png] [--metric accuracy]

Needs a summary.h5 of schema version 3 (sp_reduce of issue 15 and later): older files have no
declared endpoints and no trajectories.
"""
import argparse
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sp_analysis import (load_results, primary_table, secondary_table,  # noqa: E402
                         trajectory)

ap = argparse.ArgumentParser()
ap.add_argument("results_dir")
ap.add_argument("-o", "--output", default="trajectory.png")
ap.add_argument("--metric", default="accuracy", help="trajectory metric to plot")
args = ap.parse_args()

res = load_results(args.results_dir)
s = res.summary
if s is None or not s.declared:
    sys.exit(f"{args.results_dir}: needs summary.h5 schema version 3 (run sp_reduce)")

verdict = {1: "equivalent", 0: "not shown", -1: "-"}
for r in primary_table(s):      # one row per comparison and declared endpoint
    print(f'{r["contrast"]:32} {r["endpoint"]:28} n={r["n"]:<3} '
          f'{r["difference"]:+.4g} [{r["t_low"]:.4g}, {r["t_high"]:.4g}]  '
          f'p={r["p"]:.3g} ({r["test"]}) Holm={r["p_holm"]:.3g}  '
          f'TOST: {verdict[r["equivalent"]]}  MDD={r["mdd"]:.3g}')
hits = [r for r in secondary_table(s) if r["q_bh"] < 0.05]
print(f"{len(hits)} secondary (exploratory) tests with BH q < 0.05")

fig, ax = plt.subplots(figsize=(5, 3.5))
for label in s.labels:
    t = trajectory(s, label)    # None for a condition without AL rounds
    if t is None or args.metric not in t:
        continue
    m = t[args.metric]
    ax.plot(t["labelled_size"], m["mean"], "o-", label=label)
    ax.fill_between(t["labelled_size"], m["t_low"], m["t_high"], alpha=0.2)
ax.set_xlabel("labelled images")
ax.set_ylabel(args.metric)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(args.output, dpi=100)
print(f"wrote {args.output}")
