"""The report's figures (matplotlib, Agg backend). Each function returns a Figure, or None when
the results hold nothing to draw; :func:`png` turns a Figure into PNG bytes."""

from __future__ import annotations

import io
import math
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .loaders import Replicate, Results, cosine_edges  # noqa: E402
from .tables import primary_table  # noqa: E402

#: Metrics drawn by :func:`metric_distributions` by default (those present in the results).
KEY_METRICS = (
    "accuracy", "cosine_all_mean", "cosine_within_mean", "cosine_between_mean",
    "silhouette_euclidean_tsne", "silhouette_euclidean_raw", "silhouette_cosine_raw",
    "davies_bouldin_tsne", "davies_bouldin_raw", "participation_ratio", "nc1",
    "within_between_ratio", "selectivity_mean", "classes_per_unit_mean",
    "feature_dimensionality_total", "dimensions_per_feature")

#: Per-round metrics drawn by :func:`al_curves` besides accuracy.
ROUND_METRICS = ("cosine_all_mean", "silhouette_euclidean_tsne", "davies_bouldin_tsne",
                 "participation_ratio", "nc1")

DPI = 90


def png(fig) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def stars(p: float) -> str:
    """Significance mark of a (Holm-corrected) p: *** < 0.001, ** < 0.01, * < 0.05, else ''."""
    if p is None or not math.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def short_label(condition: str) -> str:
    """A condition label without the ``key=`` prefixes and quotes, for axes."""
    parts = []
    for item in condition.split(","):
        _, _, value = item.partition("=")
        parts.append((value or item).strip().strip('"'))
    return ", ".join(parts)


def _class_colours(k: int):
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20" if k <= 20 else "turbo")
    if k <= 20:
        return [cmap(i) for i in range(k)]
    return [cmap(i / max(1, k - 1)) for i in range(k)]


def _grid(n: int, cols: int) -> Tuple[int, int]:
    cols = max(1, min(cols, n))
    return int(math.ceil(n / cols)), cols


def tsne_maps(results: Results, max_seeds: int = 3):
    """t-SNE maps (/metrics/tsne/embedding), coloured by class (/eval/labels): one column per
    condition, one row per seed, the same seed side by side."""
    conditions = [c for c in results.conditions() if results.by_condition(c)]
    seeds = sorted({r.seed for c in conditions for r in results.by_condition(c)})[:max_seeds]
    if not conditions or not seeds:
        return None
    names = results.class_names()
    fig, axes = plt.subplots(len(seeds), len(conditions), squeeze=False,
                             figsize=(3.2 * len(conditions), 3.0 * len(seeds)))
    drawn = 0
    k_max = 0
    for i, seed in enumerate(seeds):
        for j, cond in enumerate(conditions):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(short_label(cond), fontsize=9)
            if j == 0:
                ax.set_ylabel(f"seed {seed}", fontsize=9)
            rep = next((r for r in results.by_condition(cond) if r.seed == seed), None)
            emb = rep.tsne() if rep is not None else None
            if emb is None:
                ax.text(0.5, 0.5, "no map", ha="center", va="center", transform=ax.transAxes)
                continue
            labels = rep.labels()
            k = int(labels.max()) + 1 if labels.size else 0
            k_max = max(k_max, k, len(names))
            colours = _class_colours(max(k, len(names)))
            size = max(1.0, min(12.0, 4000.0 / max(1, len(labels))))
            ax.scatter(emb[:, 0], emb[:, 1], c=[colours[y] for y in labels], s=size,
                       linewidths=0, alpha=0.8, rasterized=True)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    if k_max <= 20:
        colours = _class_colours(k_max)
        handles = [plt.Line2D([], [], marker="o", ls="", color=colours[c],
                              label=names[c] if c < len(names) else f"class {c}")
                   for c in range(k_max)]
        fig.legend(handles=handles, loc="upper center", ncol=min(10, k_max), fontsize=8,
                   bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.suptitle("t-SNE maps of the evaluation embeddings, coloured by true class", fontsize=10)
    fig.tight_layout()
    return fig


def reference_of(results: Results, condition: str) -> Optional[str]:
    """The baseline condition a strategy condition is compared with: summary.h5's
    strategy_vs_baseline comparison, else the first baseline condition of the same sweep."""
    s = results.summary
    if s is not None and condition in s.labels:
        c = s.labels.index(condition)
        for p in range(len(s.comp_a)):
            if int(s.comp_a[p]) == c and s.comp_kind[p] == "strategy_vs_baseline":
                return s.labels[int(s.comp_b[p])]
    sweep = next((r.sweep for r in results.replicates if r.condition == condition), None)
    for c in results.conditions():
        reps = results.by_condition(c)
        if reps and reps[0].strategy == "baseline" and reps[0].sweep == sweep:
            return c
    return None


def _pooled_histograms(reps: Sequence[Replicate]) -> Tuple[Dict[str, np.ndarray], int]:
    total: Dict[str, np.ndarray] = {}
    bins = 0
    for r in reps:
        h = r.cosine_histograms()
        if not h:
            continue
        bins = r.cosine_bins()
        for name, counts in h.items():
            if name == "class_means":
                continue
            total[name] = total.get(name, 0) + counts.astype(np.float64)
    return total, bins


def cosine_histograms(results: Results):
    """Cosine-similarity histograms (/metrics/cosine/<set>/histogram over [-1, 1]), pooled over
    seeds and normalised to densities: for each strategy, overlaid on its baseline, within-class
    and between-class pairs."""
    pairs = []
    for cond in results.conditions():
        reps = results.by_condition(cond)
        if not reps or reps[0].strategy == "baseline":
            continue
        ref = reference_of(results, cond)
        if ref is not None:
            pairs.append((cond, ref))
    if not pairs:
        # No strategy: show each condition alone.
        pairs = [(c, None) for c in results.conditions() if results.by_condition(c)]
    if not pairs:
        return None
    fig, axes = plt.subplots(len(pairs), 2, squeeze=False, figsize=(9.0, 2.8 * len(pairs)))
    drawn = 0
    for i, (cond, ref) in enumerate(pairs):
        h_cond, bins = _pooled_histograms(results.by_condition(cond))
        h_ref, bins_ref = _pooled_histograms(results.by_condition(ref)) if ref else ({}, 0)
        for j, which in enumerate(("within", "between")):
            ax = axes[i][j]
            for h, b, label, colour in ((h_ref, bins_ref, ref, "tab:blue"),
                                        (h_cond, bins, cond, "tab:red")):
                if label is None or which not in h or not b:
                    continue
                counts = h[which]
                edges = cosine_edges(b)
                density = counts / max(1.0, counts.sum()) / np.diff(edges)
                ax.stairs(density, edges, fill=True, alpha=0.35, color=colour,
                          label=short_label(label))
                ax.stairs(density, edges, color=colour, lw=1.0)
                drawn += 1
            ax.set_xlim(-1, 1)
            ax.set_title(f"{which}-class pairs", fontsize=9)
            ax.set_xlabel("cosine similarity", fontsize=8)
            ax.set_ylabel("density", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=7, loc="upper left")
    if not drawn:
        plt.close(fig)
        return None
    fig.suptitle("Pairwise cosine similarity of the embeddings (all seeds pooled)", fontsize=10)
    fig.tight_layout()
    return fig


def metric_distributions(results: Results, metrics: Optional[Sequence[str]] = None,
                         cols: int = 4):
    """Each metric's values across seeds per condition (dots), with the mean and its 95%
    Student-t interval from summary.h5 (/summary/t_low, t_high; computed here when there is no
    summary) and significance brackets from the comparisons (* < 0.05, ** < 0.01,
    *** < 0.001) of the adjusted p (:meth:`Summary.adjusted_p`): summary schema 1/2 the
    Holm-corrected paired t p; 3 the Holm p of a primary endpoint, the BH q-value of a
    secondary metric (exploratory), no bracket for an untested metric. By default, summary
    schema 3 draws its primary endpoints first, then KEY_METRICS."""
    conditions = [c for c in results.conditions() if results.by_condition(c)]
    present = set()
    for r in results.complete:
        present.update(k for k, v in r.metrics.items())
    if metrics is None:
        first = []
        if results.summary is not None:
            first = list(dict.fromkeys(r["endpoint"] for r in primary_table(results.summary)))
        metrics = [m for m in dict.fromkeys(first + list(KEY_METRICS)) if m in present]
    else:
        metrics = [m for m in metrics if m in present]
    if not conditions or not metrics:
        return None
    s = results.summary
    rows, cols = _grid(len(metrics), cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(3.3 * cols, 3.0 * rows))
    x = np.arange(len(conditions))
    rng = np.random.default_rng(0)
    for idx, metric in enumerate(metrics):
        ax = axes[idx // cols][idx % cols]
        top = -np.inf
        bottom = np.inf
        for j, cond in enumerate(conditions):
            vals = np.array([r.metrics.get(metric, np.nan) for r in results.by_condition(cond)])
            vals = vals[np.isfinite(vals)]
            if vals.size:
                jitter = rng.uniform(-0.12, 0.12, vals.size)
                ax.plot(j + jitter, vals, "o", ms=3.5, color="0.45", alpha=0.8, zorder=2)
                top, bottom = max(top, vals.max()), min(bottom, vals.min())
            mean, lo, hi = _interval(results, cond, metric, vals)
            if math.isfinite(mean):
                ax.plot([j - 0.25, j + 0.25], [mean, mean], color="k", lw=1.5, zorder=3)
            if math.isfinite(lo) and math.isfinite(hi):
                ax.errorbar(j + 0.3, mean, yerr=[[mean - lo], [hi - mean]], fmt="none",
                            ecolor="tab:red", capsize=3, lw=1.2, zorder=3)
                top, bottom = max(top, hi), min(bottom, lo)
        if s is not None and metric in s.metrics and math.isfinite(top):
            m = s.metrics.index(metric)
            span = (top - bottom) if top > bottom else max(1e-12, abs(top)) or 1.0
            level = 0
            shown = [p for p in range(len(s.comp_a))
                     if s.labels[int(s.comp_a[p])] in conditions
                     and s.labels[int(s.comp_b[p])] in conditions
                     and math.isfinite(s.adjusted_p(p, m))]
            for p in shown:
                a, b = s.labels[int(s.comp_a[p])], s.labels[int(s.comp_b[p])]
                mark = stars(s.adjusted_p(p, m))
                if not mark and len(shown) > 6:
                    continue  # many comparisons: bracket only the significant ones
                mark = mark or "n.s."
                xa, xb = conditions.index(a), conditions.index(b)
                y = top + span * (0.08 + 0.14 * level)
                ax.plot([xa, xa, xb, xb], [y - span * 0.03, y, y, y - span * 0.03],
                        color="k", lw=0.8)
                ax.text((xa + xb) / 2, y, mark, ha="center", va="bottom",
                        fontsize=8 if mark == "n.s." else 10)
                level += 1
            if level:
                ax.set_ylim(bottom - span * 0.08, top + span * (0.12 + 0.14 * level))
        ax.set_xticks(x)
        ax.set_xticklabels([short_label(c) for c in conditions], rotation=30, ha="right",
                           fontsize=7)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlim(-0.6, len(conditions) - 0.4)
    for idx in range(len(metrics), rows * cols):
        axes[idx // cols][idx % cols].set_visible(False)
    if s is not None and s.declared:
        brackets = ("brackets: declared test, Holm p for primary endpoints, BH q for secondary "
                    "(exploratory) metrics")
    else:
        brackets = "brackets: paired t, Holm-corrected"
    fig.suptitle("Metrics across seeds: dots = seeds, bar = mean, red = 95% t interval; "
                 f"{brackets} (* < 0.05, ** < 0.01, *** < 0.001)", fontsize=9)
    fig.tight_layout()
    return fig


def _interval(results: Results, cond: str, metric: str, vals: np.ndarray):
    s = results.summary
    if s is not None and cond in s.labels and metric in s.metrics:
        c, m = s.labels.index(cond), s.metrics.index(metric)
        return (float(s.stats["mean"][c, m]), float(s.stats["t_low"][c, m]),
                float(s.stats["t_high"][c, m]))
    if vals.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(vals.mean())
    if vals.size < 2:
        return mean, math.nan, math.nan
    from scipy import stats  # optional: only without a summary.h5
    half = stats.t.ppf(0.975, vals.size - 1) * vals.std(ddof=1) / math.sqrt(vals.size)
    return mean, mean - half, mean + half


def al_curves(results: Results, metrics: Sequence[str] = ROUND_METRICS):
    """Accuracy, and the per-round metrics when recorded (al.round_metrics), against the
    labelled-set size (/al/labelled_size): thin lines = seeds, thick = mean over seeds; dashed
    horizontal lines = baseline conditions' mean (trained on every label)."""
    al_conditions = [c for c in results.conditions()
                     if any(r.rounds for r in results.by_condition(c))]
    if not al_conditions:
        return None
    present = set()
    for c in al_conditions:
        for r in results.by_condition(c):
            for rd in r.rounds:
                present.update(rd.metrics)
    panels = ["accuracy"] + [m for m in metrics if m in present]
    rows, cols = _grid(len(panels), 3)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(4.2 * cols, 3.2 * rows))
    colours = plt.get_cmap("tab10")
    baselines = [c for c in results.conditions()
                 if results.by_condition(c) and results.by_condition(c)[0].strategy == "baseline"]
    for idx, measure in enumerate(panels):
        ax = axes[idx // cols][idx % cols]
        for j, cond in enumerate(al_conditions):
            colour = colours(j % 10)
            by_size: Dict[int, List[float]] = {}
            for r in results.by_condition(cond):
                xs, ys = [], []
                for rd in r.rounds:
                    v = rd.accuracy if measure == "accuracy" else rd.metrics.get(measure)
                    if v is None or not math.isfinite(v):
                        continue
                    xs.append(rd.labelled_size)
                    ys.append(v)
                    by_size.setdefault(rd.labelled_size, []).append(v)
                if xs:
                    ax.plot(xs, ys, "-", color=colour, lw=0.6, alpha=0.45)
            if by_size:
                sizes = sorted(by_size)
                ax.plot(sizes, [np.mean(by_size[k]) for k in sizes], "o-", color=colour, lw=2,
                        ms=4, label=short_label(cond))
        for j, cond in enumerate(baselines):
            vals = [r.metrics.get(measure, np.nan) for r in results.by_condition(cond)]
            vals = [v for v in vals if math.isfinite(v)]
            if vals:
                ax.axhline(float(np.mean(vals)), color="k", ls="--", lw=1,
                           label=short_label(cond) + " (all labels)")
        ax.set_xlabel("labelled images", fontsize=8)
        ax.set_title(measure, fontsize=9)
        ax.tick_params(labelsize=7)
        if idx == 0:
            ax.legend(fontsize=7)
    for idx in range(len(panels), rows * cols):
        axes[idx // cols][idx % cols].set_visible(False)
    fig.suptitle("Active learning: accuracy and metrics against the labelled-set size", fontsize=10)
    fig.tight_layout()
    return fig


def trajectories(results: Results, metrics: Optional[Sequence[str]] = None, cols: int = 3):
    """The AL trajectories of summary.h5 (/trajectories, summary schema version 3): one panel per
    trajectory metric (accuracy first), x = labelled-set size, one line per AL condition = the
    mean over seeds, shaded = its 95% Student-t interval (t_low, t_high); dashed horizontal
    lines = the baseline conditions' mean of the metric (/summary, trained on every label).
    None without trajectories."""
    s = results.summary
    t = s.trajectories if s is not None else None
    if t is None or not len(t.condition):
        return None
    panels = list(t.metrics) if metrics is None else [m for m in metrics if m in t.metrics]
    panels = [m for m in panels if np.any(t.stats["n"][:, t.metrics.index(m)] > 0)]
    if not panels:
        return None
    rows, cols = _grid(len(panels), cols)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(4.2 * cols, 3.2 * rows))
    colours = plt.get_cmap("tab10")
    baselines = [c for c, strategy in enumerate(s.strategies) if strategy == "baseline"]
    al_sweeps = {s.sweeps[int(c)] for c in t.condition}
    for idx, metric in enumerate(panels):
        ax = axes[idx // cols][idx % cols]
        j = t.metrics.index(metric)
        for k, c in enumerate(t.condition):
            rows_k = slice(int(t.round_offsets[k]), int(t.round_offsets[k + 1]))
            x = t.labelled_size[rows_k].astype(np.float64)
            mean = t.stats["mean"][rows_k, j]
            lo, hi = t.stats["t_low"][rows_k, j], t.stats["t_high"][rows_k, j]
            ok = np.isfinite(mean)
            if not ok.any():
                continue
            colour = colours(k % 10)
            ax.plot(x[ok], mean[ok], "o-", color=colour, lw=1.8, ms=3.5,
                    label=short_label(s.labels[int(c)]))
            band = ok & np.isfinite(lo) & np.isfinite(hi)
            if band.any():
                ax.fill_between(x, np.where(band, lo, np.nan), np.where(band, hi, np.nan),
                                color=colour, alpha=0.2, linewidth=0)
        if metric in s.metrics:
            m = s.metrics.index(metric)
            for c in baselines:
                mean = float(s.stats["mean"][c, m])
                if s.sweeps[c] in al_sweeps and math.isfinite(mean):
                    ax.axhline(mean, color="k", ls="--", lw=1,
                               label=short_label(s.labels[c]) + " (all labels)")
        ax.set_xlabel("labelled images", fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(labelsize=7)
        if idx == 0:
            ax.legend(fontsize=7)
    for idx in range(len(panels), rows * cols):
        axes[idx // cols][idx % cols].set_visible(False)
    fig.suptitle("Active-learning trajectories: mean over seeds per condition, shaded = 95% "
                 "t interval; dashed = baseline (all labels)", fontsize=10)
    fig.tight_layout()
    return fig


def queried_classes(results: Results):
    """Class histogram of the images queried after each round (/al/round_NNN/
    queried_class_histogram), summed over seeds: one panel per AL condition, stacked by class."""
    names = results.class_names()
    panels = []
    for cond in results.conditions():
        totals: Dict[int, np.ndarray] = {}
        for r in results.by_condition(cond):
            for rd in r.rounds:
                h = rd.queried_class_histogram
                if h is None or rd.queried == 0 or h.sum() == 0:
                    continue
                totals[rd.index] = totals.get(rd.index, 0) + h.astype(np.int64)
        if totals:
            panels.append((cond, totals))
    if not panels:
        return None
    rows, cols = _grid(len(panels), 2)
    fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(5.0 * cols, 3.4 * rows))
    k = max(len(h) for _, t in panels for h in t.values())
    colours = _class_colours(k)
    for idx, (cond, totals) in enumerate(panels):
        ax = axes[idx // cols][idx % cols]
        rounds = sorted(totals)
        bottom = np.zeros(len(rounds))
        for c in range(k):
            heights = np.array([totals[r][c] if c < len(totals[r]) else 0 for r in rounds],
                               dtype=np.float64)
            ax.bar(rounds, heights, bottom=bottom, color=colours[c], width=0.8,
                   label=names[c] if c < len(names) else f"class {c}")
            bottom += heights
        ax.set_title(short_label(cond), fontsize=9)
        ax.set_xlabel("round", fontsize=8)
        ax.set_ylabel("queried images (all seeds)", fontsize=8)
        ax.set_xticks(rounds)
        ax.tick_params(labelsize=7)
    for idx in range(len(panels), rows * cols):
        axes[idx // cols][idx % cols].set_visible(False)
    if k <= 20:
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=min(10, k), fontsize=8,
                   bbox_to_anchor=(0.5, 0.0), frameon=False)
    fig.suptitle("True classes of the images queried after each round", fontsize=10)
    fig.tight_layout()
    return fig
