"""sp_analysis: read sp results directories into tidy tables, draw the figures, write a report.

    from sp_analysis import load_results, replicate_table, summary_table, primary_table
    res = load_results("results/quick")
    rows = replicate_table(res)          # list of dicts, one per replicate and metric
    lead = primary_table(res.summary)    # summary.h5 version 3: the declared endpoints

See analysis/README.md.
"""

from .loaders import (COMPARISON_LABELS_V3, COMPARISON_STATS, COMPARISON_STATS_V3,
                      EQUIVALENT_NO_TEST, EQUIVALENT_NOT_SHOWN, EQUIVALENT_YES,
                      INT_COMPARISON_STATS, KNOWN_SCHEMA_VERSIONS, ROLE_NAMES, ROLE_PRIMARY,
                      ROLE_SECONDARY, ROLE_UNTESTED, SUMMARY_STATS, SUMMARY_STATS_V3,
                      TRAJECTORY_STATS, Analysis, Replicate, Results, ResultsError, Round,
                      Summary, Trajectories, cosine_edges, load_results, read_replicate,
                      read_summary)
from .tables import (PRIMARY_COLUMNS, REPLICATE_COLUMNS, ROUND_COLUMNS, SECONDARY_COLUMNS,
                     TRAJECTORY_COLUMNS, column, comparison_table, primary_table,
                     replicate_table, round_table, secondary_table, select, summary_table,
                     to_structured, trajectory, trajectory_table)

__all__ = [
    "COMPARISON_LABELS_V3", "COMPARISON_STATS", "COMPARISON_STATS_V3", "EQUIVALENT_NO_TEST",
    "EQUIVALENT_NOT_SHOWN", "EQUIVALENT_YES", "INT_COMPARISON_STATS", "KNOWN_SCHEMA_VERSIONS",
    "PRIMARY_COLUMNS", "REPLICATE_COLUMNS", "ROLE_NAMES", "ROLE_PRIMARY", "ROLE_SECONDARY",
    "ROLE_UNTESTED", "ROUND_COLUMNS", "SECONDARY_COLUMNS", "SUMMARY_STATS", "SUMMARY_STATS_V3",
    "TRAJECTORY_COLUMNS", "TRAJECTORY_STATS", "Analysis", "Replicate", "Results", "ResultsError",
    "Round", "Summary", "Trajectories", "column", "comparison_table", "cosine_edges",
    "load_results", "primary_table", "read_replicate", "read_summary", "replicate_table",
    "round_table", "secondary_table", "select", "summary_table", "to_structured", "trajectory",
    "trajectory_table",
]
