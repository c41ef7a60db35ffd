"""Load an sp results directory and plot one metric across seeds, per condition.

    PYTHONPATH=analysis /usr/bin/python3 analysis/examples/plot_metric.py RESULTS_DIR \
        [METRIC] [-o metric.png]

METRIC defaults to cosine_all_mean (the paper's mean pairwise cosine similarity).
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sp_analysis import load_results, replicate_table, select, summary_table  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("results_dir")
ap.add_argument("metric", nargs="?", default="cosine_all_mean")
ap.add_argument("-o", "--output", default="metric.png")
args = ap.parse_args()

res = load_results(args.results_dir)
rows = replicate_table(res)                     # replicate_id, sweep, condition, strategy, seed, metric, value
conditions = res.conditions()

fig, ax = plt.subplots(figsize=(5, 3.5))
for x, cond in enumerate(conditions):
    values = [r["value"] for r in select(rows, condition=cond, metric=args.metric)]
    ax.plot(np.full(len(values), x), values, "o", color="0.5")      # one dot per seed
    if res.summary is not None:                                     # mean and 95% t interval
        s = select(summary_table(res.summary), condition=cond, metric=args.metric)[0]
        ax.errorbar(x + 0.15, s["mean"], yerr=[[s["mean"] - s["t_low"]], [s["t_high"] - s["mean"]]],
                    fmt="s", color="tab:red", capsize=3)
ax.set_xticks(range(len(conditions)))
ax.set_xticklabels([res.strategy_of(c) for c in conditions])
ax.set_ylabel(args.metric)
fig.tight_layout()
fig.savefig(args.output, dpi=100)
print(f"wrote {args.output}")
