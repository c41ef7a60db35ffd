"""Tidy tables of an sp results directory read by loaders.py: one dict per row.

A *table* is a plain list of dicts, one dict per row, all rows with the same keys;
``to_structured`` turns one into a NumPy structured array and ``pandas.DataFrame(rows)`` works
where pandas is installed. Values are exactly those stored in the files (no rounding), NaN where
the file has NaN.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np

from .loaders import (INT_COMPARISON_STATS, ROLE_PRIMARY, ROLE_SECONDARY, TRAJECTORY_STATS,
                      Results, Summary)

#: Columns of :func:`replicate_table`.
REPLICATE_COLUMNS = ("replicate_id", "sweep", "condition", "strategy", "seed", "metric", "value")
#: Columns of :func:`round_table`.
ROUND_COLUMNS = ("replicate_id", "sweep", "condition", "strategy", "seed", "round",
                 "labelled_size", "measure", "value")
#: Columns of :func:`primary_table`.
PRIMARY_COLUMNS = ("comparison", "sweep", "contrast", "kind", "condition_a", "condition_b",
                   "endpoint", "n", "difference", "t_low", "t_high", "bca_low", "bca_high",
                   "test", "p", "p_holm", "alpha", "family_size", "margin", "tost_p",
                   "equivalent", "mdd", "power", "effect", "seeds_needed")
#: Columns of :func:`secondary_table`.
SECONDARY_COLUMNS = ("comparison", "sweep", "contrast", "kind", "condition_a", "condition_b",
                     "metric", "n", "difference", "t_low", "t_high", "test", "p", "q_bh")
#: Columns of :func:`trajectory_table`.
TRAJECTORY_COLUMNS = ("condition_index", "condition", "sweep", "strategy", "round",
                      "labelled_size", "metric") + TRAJECTORY_STATS


# ---- tidy tables ----------------------------------------------------------------------------------

def replicate_table(results: Results) -> List[Dict[str, Any]]:
    """One row per complete replicate and metric: accuracy (/eval@accuracy) and every
    /metrics/scalars attribute, NaN included (an undefined metric is NaN, as in the file)."""
    rows = []
    for r in sorted(results.complete, key=lambda r: (r.condition, r.seed, r.replicate_id)):
        for metric in sorted(r.metrics, key=lambda m: (m != "accuracy", m)):
            rows.append({"replicate_id": r.replicate_id, "sweep": r.sweep,
                         "condition": r.condition, "strategy": r.strategy, "seed": r.seed,
                         "metric": metric, "value": r.metrics[metric]})
    return rows


def round_table(results: Results) -> List[Dict[str, Any]]:
    """One row per AL replicate, round and measure.

    Measures: ``accuracy``, ``seconds``, ``epochs``, ``queried`` (images queried after the round),
    ``queried_class:<class name>`` (its class histogram; ``class<k>`` without class names), and
    ``metric:<name>`` for each per-round scalar (al.round_metrics = true; for the last round these
    are /metrics/scalars, the final model's)."""
    rows = []
    for r in sorted(results.complete, key=lambda r: (r.condition, r.seed, r.replicate_id)):
        names = r.class_names
        for rd in r.rounds:
            base = {"replicate_id": r.replicate_id, "sweep": r.sweep, "condition": r.condition,
                    "strategy": r.strategy, "seed": r.seed, "round": rd.index,
                    "labelled_size": rd.labelled_size}
            measures: List[tuple] = [("accuracy", rd.accuracy), ("seconds", rd.seconds),
                                     ("epochs", rd.epochs), ("queried", rd.queried)]
            if rd.queried_class_histogram is not None:
                for k, count in enumerate(rd.queried_class_histogram):
                    name = names[k] if k < len(names) else f"class{k}"
                    measures.append((f"queried_class:{name}", int(count)))
            for m in sorted(rd.metrics):
                measures.append((f"metric:{m}", rd.metrics[m]))
            for measure, value in measures:
                rows.append(dict(base, measure=measure, value=value))
    return rows


def summary_table(summary: Summary) -> List[Dict[str, Any]]:
    """One row per condition and metric of summary.h5 (/summary/<stat>[c, m]); version 3 adds
    the columns ``coordinates`` (/conditions/coordinates), ``q25`` and ``q75``."""
    rows = []
    for c, label in enumerate(summary.labels):
        for m, metric in enumerate(summary.metrics):
            row = {"condition_index": c, "condition": label, "sweep": summary.sweeps[c],
                   "strategy": summary.strategies[c], "metric": metric}
            if summary.declared:
                row["coordinates"] = summary.coordinates[c]
            for k in summary.stats:
                v = summary.stats[k][c, m]
                row[k] = int(v) if k == "n" else float(v)
            rows.append(row)
    return rows


def _comparison_base(summary: Summary, p: int) -> Dict[str, Any]:
    a, b = int(summary.comp_a[p]), int(summary.comp_b[p])
    row: Dict[str, Any] = {"comparison": p, "kind": summary.comp_kind[p]}
    if summary.declared:
        row.update(contrast=summary.comp_contrast[p], factor=summary.comp_factor[p],
                   level_a=summary.comp_level_a[p], level_b=summary.comp_level_b[p],
                   family_size=int(summary.comp_family_size[p]))
    row.update(a=a, b=b, condition_a=summary.labels[a], condition_b=summary.labels[b],
               strategy_a=summary.strategies[a], strategy_b=summary.strategies[b])
    return row


def _comp_value(summary: Summary, k: str, p: int, m: int) -> Any:
    v = summary.comp[k][p, m]
    return int(v) if k in INT_COMPARISON_STATS else float(v)


def comparison_table(summary: Summary) -> List[Dict[str, Any]]:
    """One row per comparison and metric of summary.h5: a against b (the reference), difference
    a - b. Columns: ``comparison, kind``, (version 3: ``contrast, factor, level_a, level_b,
    family_size``), ``a, b, condition_a, condition_b, strategy_a, strategy_b, metric``, then
    every statistic of COMPARISON_STATS (versions 1, 2) or COMPARISON_STATS_V3 (version 3)."""
    rows = []
    for p in range(len(summary.comp_a)):
        base = _comparison_base(summary, p)
        for m, metric in enumerate(summary.metrics):
            row = dict(base, metric=metric)
            for k in summary.comp:
                row[k] = _comp_value(summary, k, p, m)
            rows.append(row)
    return rows


def _role_rows(summary: Summary, role: int):
    """(p, m, sweep, analysis) of every comparison and metric with the given role (version 3):
    by comparison, then the declared endpoints' order of the sweep's analysis, then /metrics."""
    if not summary.declared:
        return
    for p in range(len(summary.comp_a)):
        sweep = summary.sweeps[int(summary.comp_a[p])]
        plan = summary.analysis_of(sweep)
        declared = plan.primary if plan else []
        rank = {name: i for i, name in enumerate(declared)}
        order = sorted(range(len(summary.metrics)),
                       key=lambda m: (rank.get(summary.metrics[m], len(rank)), m))
        for m in order:
            if int(summary.comp["role"][p, m]) == role:
                yield p, m, sweep, plan


def primary_table(summary: Summary) -> List[Dict[str, Any]]:
    """The declared (primary) endpoints of every comparison: one row per comparison and primary
    endpoint (role 2), in comparison order, then in the order the analysis declares them.
    Columns PRIMARY_COLUMNS:
    ``difference`` (mean paired difference a - b) with its 95% t interval ``t_low, t_high`` and
    BCa bootstrap interval ``bca_low, bca_high``; ``test`` (the declared test of the sweep's
    /analysis), its ``p`` and Holm-adjusted ``p_holm`` over ``family_size`` tests at ``alpha``;
    TOST ``margin``, ``tost_p``, ``equivalent`` (1 yes, 0 not shown, -1 no test); ``mdd`` (minimum
    detectable difference at ``power``), ``effect`` and ``seeds_needed``.
    Empty for summary schema versions 1 and 2 (no declared endpoints)."""
    rows = []
    for p, m, sweep, plan in _role_rows(summary, ROLE_PRIMARY):
        c = summary.comp
        rows.append({
            "comparison": p, "sweep": sweep, "contrast": summary.comp_contrast[p],
            "kind": summary.comp_kind[p], "condition_a": summary.labels[int(summary.comp_a[p])],
            "condition_b": summary.labels[int(summary.comp_b[p])],
            "endpoint": summary.metrics[m], "n": int(c["n"][p, m]),
            "difference": float(c["mean_difference"][p, m]),
            "t_low": float(c["diff_t_low"][p, m]), "t_high": float(c["diff_t_high"][p, m]),
            "bca_low": float(c["diff_bca_low"][p, m]), "bca_high": float(c["diff_bca_high"][p, m]),
            "test": plan.test if plan else "", "p": float(c["p"][p, m]),
            "p_holm": float(c["p_holm"][p, m]), "alpha": plan.alpha if plan else float("nan"),
            "family_size": int(summary.comp_family_size[p]),
            "margin": float(c["margin"][p, m]), "tost_p": float(c["tost_p"][p, m]),
            "equivalent": int(c["equivalent"][p, m]), "mdd": float(c["mdd"][p, m]),
            "power": plan.power if plan else float("nan"), "effect": float(c["effect"][p, m]),
            "seeds_needed": float(c["seeds_needed"][p, m])})
    return rows


def secondary_table(summary: Summary) -> List[Dict[str, Any]]:
    """The secondary (exploratory) metrics of every comparison: one row per comparison and
    metric of role 1, columns SECONDARY_COLUMNS (``q_bh``: Benjamini-Hochberg q-value across the
    sweep's secondary tests). Empty for summary schema versions 1 and 2."""
    rows = []
    for p, m, sweep, plan in _role_rows(summary, ROLE_SECONDARY):
        c = summary.comp
        rows.append({
            "comparison": p, "sweep": sweep, "contrast": summary.comp_contrast[p],
            "kind": summary.comp_kind[p], "condition_a": summary.labels[int(summary.comp_a[p])],
            "condition_b": summary.labels[int(summary.comp_b[p])],
            "metric": summary.metrics[m], "n": int(c["n"][p, m]),
            "difference": float(c["mean_difference"][p, m]),
            "t_low": float(c["diff_t_low"][p, m]), "t_high": float(c["diff_t_high"][p, m]),
            "test": plan.test if plan else "", "p": float(c["p"][p, m]),
            "q_bh": float(c["q_bh"][p, m])})
    return rows


def trajectory_table(summary: Summary) -> List[Dict[str, Any]]:
    """The AL trajectories (/trajectories, version 3): one row per AL condition, round and
    trajectory metric with a value (n > 0), columns TRAJECTORY_COLUMNS: the round's
    ``labelled_size`` and the metric's n, mean, std and 95% t interval across seeds. Empty
    without trajectories (and for summary schema versions 1 and 2)."""
    t = summary.trajectories
    rows: List[Dict[str, Any]] = []
    if t is None:
        return rows
    for k, c in enumerate(t.condition):
        c = int(c)
        for i, r in enumerate(range(int(t.round_offsets[k]), int(t.round_offsets[k + 1]))):
            for j, metric in enumerate(t.metrics):
                n = int(t.stats["n"][r, j])
                if n == 0:
                    continue
                row = {"condition_index": c, "condition": summary.labels[c],
                       "sweep": summary.sweeps[c], "strategy": summary.strategies[c],
                       "round": i, "labelled_size": int(t.labelled_size[r]), "metric": metric,
                       "n": n}
                for s in TRAJECTORY_STATS[1:]:
                    row[s] = float(t.stats[s][r, j])
                rows.append(row)
    return rows


def trajectory(summary: Summary, condition: str) -> Optional[Dict[str, Any]]:
    """One condition's trajectory as arrays: ``{"labelled_size": [rounds], "<metric>": {"n",
    "mean", "std", "t_low", "t_high": [rounds]}}`` for every trajectory metric; None when the
    condition has no trajectory (or the file none)."""
    t = summary.trajectories
    if t is None or condition not in summary.labels:
        return None
    rows = t.rows_of(summary.labels.index(condition))
    if rows is None:
        return None
    out: Dict[str, Any] = {"labelled_size": t.labelled_size[rows]}
    for j, metric in enumerate(t.metrics):
        out[metric] = {s: t.stats[s][rows, j] for s in TRAJECTORY_STATS}
    return out


# ---- small helpers for tables ---------------------------------------------------------------------

def select(rows: Iterable[Dict[str, Any]], **where: Any) -> List[Dict[str, Any]]:
    """Rows whose columns equal the given values: ``select(t, metric="accuracy")``."""
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def column(rows: Iterable[Dict[str, Any]], name: str) -> np.ndarray:
    """One column as a NumPy array."""
    return np.array([r[name] for r in rows])


def to_structured(rows: Sequence[Dict[str, Any]],
                  columns: Optional[Sequence[str]] = None) -> np.ndarray:
    """A table as a NumPy structured array (strings as unicode, numbers as int64/float64)."""
    if columns is None:
        columns = list(rows[0].keys()) if rows else []
    dtype = []
    for name in columns:
        values = [r[name] for r in rows]
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            big = any(int(v) >= 2**63 for v in values)
            dtype.append((name, np.uint64 if big else np.int64))
        elif all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
            dtype.append((name, np.float64))
        else:
            width = max([len(str(v)) for v in values] + [1])
            dtype.append((name, f"U{width}"))
    out = np.empty(len(rows), dtype=dtype)
    for name in columns:
        out[name] = [r[name] for r in rows]
    return out
