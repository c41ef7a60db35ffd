"""Read an sp results directory (replicate files and summary.h5) into tidy tables.

A *table* here is a plain list of dicts, one dict per row, all rows with the same keys (pandas is
not required; ``to_structured`` turns a table into a NumPy structured array, and
``pandas.DataFrame(rows)`` works where pandas is installed). Numbers are Python ``float``/``int``
holding exactly the values stored in the files (float64 attributes are not rounded).

The layouts are results-schema/replicate.toml and results-schema/summary.toml, version 1.
"""

from __future__ import annotations

import glob
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

import h5py
import numpy as np

#: file_kind -> the schema_version values this reader understands.
KNOWN_SCHEMA_VERSIONS = {"replicate": (1, 2), "summary": (1,)}

#: Columns of :func:`replicate_table`.
REPLICATE_COLUMNS = ("replicate_id", "sweep", "condition", "strategy", "seed", "metric", "value")
#: Columns of :func:`round_table`.
ROUND_COLUMNS = ("replicate_id", "sweep", "condition", "strategy", "seed", "round",
                 "labelled_size", "measure", "value")
#: Statistics of summary.h5's /summary group, in column order.
SUMMARY_STATS = ("n", "mean", "std", "median", "min", "max", "t_low", "t_high",
                 "bootstrap_low", "bootstrap_high")
#: Per-metric datasets of summary.h5's /comparisons group, in column order.
COMPARISON_STATS = ("n", "mean_difference", "t", "t_p", "t_p_holm", "w", "w_p", "w_p_holm",
                    "cohens_dz", "hedges_g")


class ResultsError(Exception):
    """A results directory or file that cannot be read; the message names the path."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


def _str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _str(value[()])
    return str(value)


def _strings(dataset: h5py.Dataset) -> List[str]:
    return [_str(v) for v in dataset[()]]


def _scalar(value: Any) -> Any:
    """A NumPy scalar attribute as the Python number of exactly the same value."""
    if isinstance(value, (bytes, str)):
        return _str(value)
    if isinstance(value, np.ndarray):
        if value.shape == ():
            value = value[()]
        else:
            return value
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (np.integer, np.bool_)):
        return int(value)
    return value


def check_file(path: str, f: h5py.File) -> str:
    """Return the file's file_kind; raise ResultsError for an unknown schema_version."""
    kind = _str(f.attrs["file_kind"]) if "file_kind" in f.attrs else ""
    if "schema_version" not in f.attrs:
        raise ResultsError(path, "no schema_version attribute: not an sp results file")
    version = int(f.attrs["schema_version"])
    if kind in KNOWN_SCHEMA_VERSIONS and version not in KNOWN_SCHEMA_VERSIONS[kind]:
        known = ", ".join(str(v) for v in KNOWN_SCHEMA_VERSIONS[kind])
        raise ResultsError(path, f"{kind} schema_version is {version}, this reader knows {known}")
    return kind


def _open(path: str) -> h5py.File:
    """The file, open read-only; ResultsError (naming the path) when it is not HDF5."""
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ResultsError(path, f"cannot open as HDF5 ({e})") from None


def _open_kind(path: str, expected: str) -> h5py.File:
    """The file, open read-only and checked (:func:`check_file`) to be of file_kind ``expected``."""
    f = _open(path)
    try:
        kind = check_file(path, f)
        if kind != expected:
            raise ResultsError(path, f"file_kind is {kind!r}, expected {expected!r}")
    except BaseException:
        f.close()
        raise
    return f


@dataclass
class Round:
    """One active-learning round of one replicate (/al/round_NNN)."""
    index: int
    labelled_size: int
    accuracy: float
    seconds: float
    epochs: int
    queried: int
    queried_class_histogram: Optional[np.ndarray]
    #: /al/round_NNN/metrics/scalars; for the last round, /metrics/scalars when the round has
    #: none (the final evaluation is the last round's model). Empty without al.round_metrics.
    metrics: Dict[str, float] = field(default_factory=dict)
    metrics_from_final: bool = False


@dataclass
class Replicate:
    """What the report needs from one replicate file (large arrays are read on demand)."""
    path: str
    replicate_id: str
    status: str
    error: str
    sweep: str
    strategy: str
    seed: int
    condition: str = ""
    attrs: Dict[str, Any] = field(default_factory=dict)       # root attributes
    provenance: Dict[str, Any] = field(default_factory=dict)  # /provenance attributes
    seeds: Dict[str, int] = field(default_factory=dict)       # /provenance/seeds
    metrics: Dict[str, float] = field(default_factory=dict)   # accuracy + /metrics/scalars
    undefined: Dict[str, str] = field(default_factory=dict)   # /metrics/undefined
    class_names: List[str] = field(default_factory=list)
    rounds: List[Round] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def open(self) -> h5py.File:
        """The file, open read-only (use as a context manager)."""
        return h5py.File(self.path, "r")

    def tsne(self) -> Optional[np.ndarray]:
        """/metrics/tsne/embedding (N x 2), or None when absent."""
        with self.open() as f:
            if "metrics/tsne/embedding" not in f:
                return None
            return f["metrics/tsne/embedding"][()]

    def labels(self) -> np.ndarray:
        with self.open() as f:
            return f["eval/labels"][()]

    def cosine_histograms(self) -> Dict[str, np.ndarray]:
        """{set: counts} of /metrics/cosine/<set>/histogram; bin edges: :func:`cosine_edges`."""
        out = {}
        with self.open() as f:
            if "metrics/cosine" not in f:
                return out
            for name, obj in f["metrics/cosine"].items():
                if isinstance(obj, h5py.Group) and "histogram" in obj:
                    out[name] = obj["histogram"][()]
        return out

    def cosine_bins(self) -> int:
        with self.open() as f:
            return int(f["metrics/cosine"].attrs["bins"])


def cosine_edges(bins: int) -> np.ndarray:
    """Bin edges of /metrics/cosine/<set>/histogram: ``bins`` equal bins over [-1, 1]."""
    return np.linspace(-1.0, 1.0, bins + 1)


def read_replicate(path: str) -> Replicate:
    """Read one replicate file's provenance, scalar metrics and AL rounds."""
    with _open_kind(path, "replicate") as f:
        attrs = {k: _scalar(v) for k, v in f.attrs.items()}
        prov = {k: _scalar(v) for k, v in f["provenance"].attrs.items()} if "provenance" in f else {}
        seeds = ({k: int(v) for k, v in f["provenance/seeds"].attrs.items()}
                 if "provenance/seeds" in f else {})
        strategy = _str(f["al"].attrs["strategy"]) if "al" in f else "baseline"
        if "al" not in f:
            # A failed AL replicate may have no /al group: its configuration says the strategy.
            strategy = _config_value(prov.get("config_toml", ""), "al.strategy") or strategy
        rep = Replicate(
            path=path,
            replicate_id=_str(attrs.get("replicate_id", os.path.basename(path)[:-3])),
            status=_str(attrs.get("status", "")),
            error=_str(attrs.get("error", "")),
            sweep=_str(prov.get("sweep_name", "")),
            strategy=strategy,
            seed=int(prov.get("replicate_seed", -1)),
            attrs=attrs, provenance=prov, seeds=seeds)
        if "eval" in f:
            if "accuracy" in f["eval"].attrs:
                rep.metrics["accuracy"] = float(f["eval"].attrs["accuracy"])
            if "class_names" in f["eval"]:
                rep.class_names = _strings(f["eval/class_names"])
        if "metrics/scalars" in f:
            for k, v in f["metrics/scalars"].attrs.items():
                rep.metrics[k] = float(v)
        if "metrics/undefined" in f:
            rep.undefined = {k: _str(v) for k, v in f["metrics/undefined"].attrs.items()}
        if "al" in f:
            rep.rounds = _read_rounds(f, rep.metrics)
    return rep


def _config_value(config_toml: str, dotted: str) -> Optional[str]:
    """A value of the resolved configuration (TOML text), or None when absent or unparsable."""
    try:
        node: Any = tomllib.loads(config_toml)
    except tomllib.TOMLDecodeError:
        return None
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return str(node)


def _read_rounds(f: h5py.File, final_metrics: Dict[str, float]) -> List[Round]:
    al = f["al"]
    sizes = al["labelled_size"][()] if "labelled_size" in al else np.zeros(0, np.int64)
    accs = al["accuracy"][()] if "accuracy" in al else np.zeros(0)
    last = int(al.attrs.get("round", len(sizes) - 1))
    names = sorted((k for k in al if k.startswith("round_")), key=lambda k: int(k[6:]))
    rounds = []
    for name in names:
        g = al[name]
        r = int(name[6:])
        size = int(g.attrs["labelled_size"]) if "labelled_size" in g.attrs else (
            int(sizes[r]) if r < len(sizes) else -1)
        acc = float(g.attrs["accuracy"]) if "accuracy" in g.attrs else (
            float(accs[r]) if r < len(accs) else float("nan"))
        hist = g["queried_class_histogram"][()] if "queried_class_histogram" in g else None
        queried = int(g["queried_indices"].shape[0]) if "queried_indices" in g else 0
        rd = Round(index=r, labelled_size=size, accuracy=acc,
                   seconds=float(g.attrs.get("seconds", float("nan"))),
                   epochs=int(g.attrs.get("epochs", 0)), queried=queried,
                   queried_class_histogram=hist)
        if "metrics/scalars" in g:
            rd.metrics = {k: float(v) for k, v in g["metrics/scalars"].attrs.items()}
        elif r == last and "al" in f and any(
                "metrics/scalars" in al[n] for n in names):
            # The last round's model is the final model: its metrics are /metrics/scalars.
            rd.metrics = {k: v for k, v in final_metrics.items() if k != "accuracy"}
            rd.metrics_from_final = True
        rounds.append(rd)
    return rounds


@dataclass
class Summary:
    """summary.h5 as arrays: rows are conditions (C) or comparisons (P), columns metrics (M)."""
    path: str
    attrs: Dict[str, Any]
    metrics: List[str]
    labels: List[str]
    sweeps: List[str]
    strategies: List[str]
    identities: List[str]
    replicates: np.ndarray
    seeds: List[np.ndarray]            # per condition, ascending
    replicate_ids: List[List[str]]     # per condition, aligned with seeds
    stats: Dict[str, np.ndarray]       # SUMMARY_STATS -> [C, M]
    comp_a: np.ndarray
    comp_b: np.ndarray
    comp_kind: List[str]
    comp: Dict[str, np.ndarray]        # COMPARISON_STATS -> [P, M]
    failed: List[str]

    def condition_of(self) -> Dict[str, int]:
        """replicate_id -> condition index."""
        return {rid: c for c, ids in enumerate(self.replicate_ids) for rid in ids}


def read_summary(path: str) -> Summary:
    with _open_kind(path, "summary") as f:
        offsets = f["conditions/seed_offsets"][()]
        seeds = f["conditions/seeds"][()]
        ids = _strings(f["conditions/replicate_ids"])
        n_cond = len(offsets) - 1
        comp = "comparisons" in f
        return Summary(
            path=path,
            attrs={k: _scalar(v) for k, v in f.attrs.items()},
            metrics=_strings(f["metrics"]),
            labels=_strings(f["conditions/label"]),
            sweeps=_strings(f["conditions/sweep_name"]),
            strategies=_strings(f["conditions/strategy"]),
            identities=_strings(f["conditions/identity"]),
            replicates=f["conditions/replicates"][()],
            seeds=[seeds[offsets[c]:offsets[c + 1]] for c in range(n_cond)],
            replicate_ids=[ids[offsets[c]:offsets[c + 1]] for c in range(n_cond)],
            stats={k: f["summary/" + k][()] for k in SUMMARY_STATS},
            comp_a=f["comparisons/a"][()] if comp else np.zeros(0, np.int64),
            comp_b=f["comparisons/b"][()] if comp else np.zeros(0, np.int64),
            comp_kind=_strings(f["comparisons/kind"]) if comp else [],
            comp={k: f["comparisons/" + k][()] for k in COMPARISON_STATS} if comp else {},
            failed=_strings(f["failed"]) if "failed" in f else [])


@dataclass
class Results:
    """A results directory: its replicate files and, when present, its summary.h5."""
    directory: str
    replicates: List[Replicate]
    summary: Optional[Summary]
    skipped: List[str] = field(default_factory=list)  # "path: why" of .h5 files not read

    @property
    def complete(self) -> List[Replicate]:
        return [r for r in self.replicates if r.complete]

    @property
    def failed(self) -> List[Replicate]:
        return [r for r in self.replicates if not r.complete]

    def conditions(self) -> List[str]:
        """Condition labels in summary.h5's order (else first-seen order)."""
        if self.summary is not None:
            return list(self.summary.labels)
        seen: List[str] = []
        for r in self.replicates:
            if r.condition not in seen:
                seen.append(r.condition)
        return seen

    def by_condition(self, condition: str, complete_only: bool = True) -> List[Replicate]:
        """The condition's replicates, by ascending seed."""
        reps = [r for r in self.replicates
                if r.condition == condition and (r.complete or not complete_only)]
        return sorted(reps, key=lambda r: r.seed)

    def strategy_of(self, condition: str) -> str:
        for r in self.replicates:
            if r.condition == condition:
                return r.strategy
        if self.summary is not None and condition in self.summary.labels:
            return self.summary.strategies[self.summary.labels.index(condition)]
        return ""

    def class_names(self) -> List[str]:
        for r in self.complete:
            if r.class_names:
                return r.class_names
        return []


def load_results(directory: str) -> Results:
    """Read every ``*.h5`` directly in ``directory`` (replicate files and summary.h5).

    Raises ResultsError (naming the path) for a missing directory, a directory with no replicate
    file, an unreadable .h5 file, or a file whose schema_version this reader does not know.
    Files of another file_kind (a dataset cache) are skipped and listed in ``Results.skipped``.
    Conditions come from summary.h5 (/conditions/replicate_ids); without it, each distinct
    (sweep, strategy) is a condition labelled ``al.strategy="<strategy>"``.
    """
    if not os.path.isdir(directory):
        raise ResultsError(directory, "no such results directory")
    paths = sorted(glob.glob(os.path.join(directory, "*.h5")))
    replicates: List[Replicate] = []
    summary: Optional[Summary] = None
    skipped: List[str] = []
    for path in paths:
        with _open(path) as f:
            kind = check_file(path, f)
        if kind == "replicate":
            replicates.append(read_replicate(path))
        elif kind == "summary":
            summary = read_summary(path)
        else:
            skipped.append(f"{path}: file_kind {kind!r} is not a result")
    if not replicates:
        raise ResultsError(directory, "no replicate files (*.h5 with file_kind 'replicate')"
                           if paths else "empty: no *.h5 result files")
    mapping = summary.condition_of() if summary is not None else {}
    for r in replicates:
        if r.replicate_id in mapping:
            r.condition = summary.labels[mapping[r.replicate_id]]
        else:
            r.condition = f'al.strategy="{r.strategy}"'
    return Results(directory=directory, replicates=replicates, summary=summary, skipped=skipped)


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
    """One row per condition and metric of summary.h5 (/summary/<stat>[c, m])."""
    rows = []
    for c, label in enumerate(summary.labels):
        for m, metric in enumerate(summary.metrics):
            row = {"condition_index": c, "condition": label, "sweep": summary.sweeps[c],
                   "strategy": summary.strategies[c], "metric": metric}
            for k in SUMMARY_STATS:
                v = summary.stats[k][c, m]
                row[k] = int(v) if k == "n" else float(v)
            rows.append(row)
    return rows


def comparison_table(summary: Summary) -> List[Dict[str, Any]]:
    """One row per comparison and metric of summary.h5: a (strategy) against b (reference)."""
    rows = []
    for p in range(len(summary.comp_a)):
        a, b = int(summary.comp_a[p]), int(summary.comp_b[p])
        for m, metric in enumerate(summary.metrics):
            row = {"comparison": p, "kind": summary.comp_kind[p], "a": a, "b": b,
                   "condition_a": summary.labels[a], "condition_b": summary.labels[b],
                   "strategy_a": summary.strategies[a], "strategy_b": summary.strategies[b],
                   "metric": metric}
            for k in COMPARISON_STATS:
                v = summary.comp[k][p, m]
                row[k] = int(v) if k == "n" else float(v)
            rows.append(row)
    return rows


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
