"""Read an sp results directory (replicate files and summary.h5) into Python objects:
:class:`Replicate` per replicate file, :class:`Summary` (arrays) for summary.h5, both held by
:class:`Results`. The tidy tables made of them are in tables.py. Numbers hold exactly the values
stored in the files (float64 attributes are not rounded).

The layouts are results-schema/replicate.toml (versions 1, 2) and results-schema/summary.toml
(versions 1, 2: one Holm family per comparison, paired t and Wilcoxon; version 3: declared
primary endpoints, sign-flip tests, intervals on differences, equivalence, power, trajectories).
"""

from __future__ import annotations

import glob
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import h5py
import numpy as np

#: file_kind -> the schema_version values this reader understands.
KNOWN_SCHEMA_VERSIONS = {"replicate": (1, 2), "summary": (1, 2, 3)}

#: Statistics of summary.h5's /summary group, in column order.
SUMMARY_STATS = ("n", "mean", "std", "median", "min", "max", "t_low", "t_high",
                 "bootstrap_low", "bootstrap_high")
#: Statistics of /summary in summary schema version 3: those of 1 and 2, then the quartiles.
SUMMARY_STATS_V3 = SUMMARY_STATS + ("q25", "q75")
#: Per-metric datasets of summary.h5's /comparisons group (schema versions 1 and 2), in column
#: order.
COMPARISON_STATS = ("n", "mean_difference", "t", "t_p", "t_p_holm", "w", "w_p", "w_p_holm",
                    "cohens_dz", "hedges_g")
#: Per-metric [P, M] datasets of /comparisons in summary schema version 3, in column order.
COMPARISON_STATS_V3 = ("n", "role", "mean_difference", "sd_difference", "diff_t_low",
                       "diff_t_high", "diff_bca_low", "diff_bca_high", "t", "t_p", "signflip_p",
                       "p", "p_holm", "q_bh", "margin", "tost_p", "equivalent", "cohens_dz",
                       "hedges_gz", "cohens_dav", "mdd", "effect", "seeds_needed")
#: Integer-valued comparison statistics (Python ``int`` in the tables).
INT_COMPARISON_STATS = ("n", "role", "equivalent")
#: Per-comparison string datasets of /comparisons (version 3).
COMPARISON_LABELS_V3 = ("contrast", "factor", "level_a", "level_b")
#: A metric's role in one comparison (/comparisons/role, version 3).
ROLE_UNTESTED, ROLE_SECONDARY, ROLE_PRIMARY = 0, 1, 2
ROLE_NAMES = {ROLE_UNTESTED: "untested", ROLE_SECONDARY: "secondary", ROLE_PRIMARY: "primary"}
#: /comparisons/equivalent: TOST verdicts.
EQUIVALENT_YES, EQUIVALENT_NOT_SHOWN, EQUIVALENT_NO_TEST = 1, 0, -1
#: [R, T] tables of /trajectories (version 3), in column order.
TRAJECTORY_STATS = ("n", "mean", "std", "t_low", "t_high")


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
class Analysis:
    """One sweep's analysis plan (/analysis, summary schema version 3)."""
    sweep_name: str
    source: str        # "sweeps/<record>.toml" | "--analysis <file>" | "default (no record)"
    spec_toml: str     # the resolved [analysis] table
    alpha: float       # of the declared (Holm) family
    test: str          # the declared test: "sign_flip" | "t"
    power: float       # of the minimum detectable difference

    @property
    def primary(self) -> List[str]:
        """The declared endpoints, in the order the analysis table lists them (its ``primary``
        key); empty when spec_toml does not parse."""
        try:
            table = tomllib.loads(self.spec_toml).get("analysis", {})
        except tomllib.TOMLDecodeError:
            return []
        primary = table.get("primary", []) if isinstance(table, dict) else []
        return [str(x) for x in primary] if isinstance(primary, list) else []


@dataclass
class Trajectories:
    """/trajectories (summary schema version 3): per round of each AL condition, the
    labelled-set size and, per trajectory metric, the summary across seeds."""
    condition: np.ndarray              # [K] condition indices
    round_offsets: np.ndarray          # [K + 1]: entry k is rows offsets[k] .. offsets[k+1]-1
    labelled_size: np.ndarray          # [R]
    metrics: List[str]                 # [T]: "accuracy" first
    stats: Dict[str, np.ndarray]       # TRAJECTORY_STATS -> [R, T]

    def rows_of(self, condition: int) -> Optional[slice]:
        """The rows (rounds) of condition index ``condition``, or None when it has none."""
        for k, c in enumerate(self.condition):
            if int(c) == condition:
                return slice(int(self.round_offsets[k]), int(self.round_offsets[k + 1]))
        return None


@dataclass
class Summary:
    """summary.h5 as arrays: rows are conditions (C) or comparisons (P), columns metrics (M).

    ``schema_version`` says which statistics there are: ``stats`` has SUMMARY_STATS (1, 2) or
    SUMMARY_STATS_V3 (3); ``comp`` has COMPARISON_STATS (1, 2) or COMPARISON_STATS_V3 (3). The
    version-3 fields (contrasts, analysis plans, coordinates, trajectories) are empty before."""
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
    stats: Dict[str, np.ndarray]       # SUMMARY_STATS(_V3) -> [C, M]
    comp_a: np.ndarray
    comp_b: np.ndarray
    comp_kind: List[str]
    comp: Dict[str, np.ndarray]        # COMPARISON_STATS(_V3) -> [P, M]
    failed: List[str]
    schema_version: int = 1
    coordinates: List[str] = field(default_factory=list)      # per condition ("" or v1/v2)
    comp_contrast: List[str] = field(default_factory=list)    # per comparison, v3
    comp_factor: List[str] = field(default_factory=list)
    comp_level_a: List[str] = field(default_factory=list)
    comp_level_b: List[str] = field(default_factory=list)
    comp_family_size: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    comp_attrs: Dict[str, Any] = field(default_factory=dict)  # /comparisons attributes
    analysis: List[Analysis] = field(default_factory=list)    # per sweep name, v3
    trajectories: Optional[Trajectories] = None               # v3, when AL conditions exist

    @property
    def declared(self) -> bool:
        """The file has declared endpoints, roles and the v3 statistics (schema version 3)."""
        return self.schema_version >= 3

    def condition_of(self) -> Dict[str, int]:
        """replicate_id -> condition index."""
        return {rid: c for c, ids in enumerate(self.replicate_ids) for rid in ids}

    def analysis_of(self, sweep: str) -> Optional[Analysis]:
        """The analysis plan of sweep name ``sweep`` (None: a version 1/2 file, or not listed)."""
        return next((a for a in self.analysis if a.sweep_name == sweep), None)

    def role(self, p: int, m: int) -> int:
        """Role of metric ``m`` in comparison ``p`` (ROLE_*); version 1/2: every metric is
        tested in one Holm family per comparison, reported as ROLE_PRIMARY."""
        if self.declared:
            return int(self.comp["role"][p, m])
        return ROLE_PRIMARY

    def adjusted_p(self, p: int, m: int) -> float:
        """The multiplicity-adjusted p of metric ``m`` in comparison ``p``: version 3 the Holm p
        of a primary endpoint, the BH q-value of a secondary metric, NaN when untested;
        version 1/2 the Holm-corrected paired-t p (t_p_holm)."""
        if not self.declared:
            return float(self.comp["t_p_holm"][p, m])
        role = self.role(p, m)
        if role == ROLE_PRIMARY:
            return float(self.comp["p_holm"][p, m])
        if role == ROLE_SECONDARY:
            return float(self.comp["q_bh"][p, m])
        return float("nan")


def _need(path: str, f: h5py.File, name: str) -> h5py.Dataset:
    """Dataset ``name`` of a summary file; ResultsError naming file and dataset when absent."""
    if name not in f:
        version = int(f.attrs["schema_version"])
        raise ResultsError(path, f"no /{name} (summary schema_version {version} has it)")
    return f[name]


def _read_analysis(path: str, f: h5py.File) -> List[Analysis]:
    if "analysis" not in f:
        return []   # no sweep to analyse (the reduction writes /analysis when it has one)
    cols = {k: _need(path, f, "analysis/" + k)[()]
            for k in ("sweep_name", "source", "spec_toml", "alpha", "test", "power")}
    return [Analysis(sweep_name=_str(cols["sweep_name"][i]), source=_str(cols["source"][i]),
                     spec_toml=_str(cols["spec_toml"][i]), alpha=float(cols["alpha"][i]),
                     test=_str(cols["test"][i]), power=float(cols["power"][i]))
            for i in range(len(cols["sweep_name"]))]


def _read_trajectories(path: str, f: h5py.File, n_cond: int) -> Optional[Trajectories]:
    if "trajectories" not in f:
        return None
    t = Trajectories(
        condition=_need(path, f, "trajectories/condition")[()],
        round_offsets=_need(path, f, "trajectories/round_offsets")[()],
        labelled_size=_need(path, f, "trajectories/labelled_size")[()],
        metrics=_strings(_need(path, f, "trajectories/metrics")),
        stats={k: _need(path, f, "trajectories/" + k)[()] for k in TRAJECTORY_STATS})
    k, r = len(t.condition), len(t.labelled_size)
    if (len(t.round_offsets) != k + 1 or (k and int(t.round_offsets[-1]) != r)
            or any(int(c) < 0 or int(c) >= n_cond for c in t.condition)
            or any(v.shape != (r, len(t.metrics)) for v in t.stats.values())):
        raise ResultsError(path, "/trajectories: condition, round_offsets, labelled_size and the "
                                 "[rounds, metrics] tables disagree in size")
    return t


def read_summary(path: str) -> Summary:
    with _open_kind(path, "summary") as f:
        version = int(f.attrs["schema_version"])
        v3 = version >= 3
        offsets = f["conditions/seed_offsets"][()]
        seeds = f["conditions/seeds"][()]
        ids = _strings(f["conditions/replicate_ids"])
        n_cond = len(offsets) - 1
        comp = "comparisons" in f
        s = Summary(
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
            stats={k: _need(path, f, "summary/" + k)[()]
                   for k in (SUMMARY_STATS_V3 if v3 else SUMMARY_STATS)},
            comp_a=f["comparisons/a"][()] if comp else np.zeros(0, np.int64),
            comp_b=f["comparisons/b"][()] if comp else np.zeros(0, np.int64),
            comp_kind=_strings(f["comparisons/kind"]) if comp else [],
            comp={k: _need(path, f, "comparisons/" + k)[()]
                  for k in (COMPARISON_STATS_V3 if v3 else COMPARISON_STATS)} if comp else {},
            failed=_strings(f["failed"]) if "failed" in f else [],
            schema_version=version)
        if not v3:
            s.coordinates = [""] * n_cond
            return s
        s.coordinates = _strings(_need(path, f, "conditions/coordinates"))
        s.analysis = _read_analysis(path, f)
        s.trajectories = _read_trajectories(path, f, n_cond)
        if comp:
            s.comp_contrast, s.comp_factor, s.comp_level_a, s.comp_level_b = (
                _strings(_need(path, f, "comparisons/" + k)) for k in COMPARISON_LABELS_V3)
            s.comp_family_size = _need(path, f, "comparisons/family_size")[()]
            s.comp_attrs = {k: _scalar(v) for k, v in f["comparisons"].attrs.items()}
        return s


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
