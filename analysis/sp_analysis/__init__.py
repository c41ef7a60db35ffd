"""sp_analysis: read sp results directories into tidy tables, draw the figures, write a report.

    from sp_analysis import load_results, replicate_table, summary_table
    res = load_results("results/quick")
    rows = replicate_table(res)          # list of dicts, one per replicate and metric

See analysis/README.md.
"""

from .loaders import (COMPARISON_STATS, KNOWN_SCHEMA_VERSIONS, REPLICATE_COLUMNS, ROUND_COLUMNS,
                      SUMMARY_STATS, Replicate, Results, ResultsError, Round, Summary, column,
                      comparison_table, cosine_edges, load_results, read_replicate, read_summary,
                      replicate_table, round_table, select, summary_table, to_structured)

__all__ = [
    "COMPARISON_STATS", "KNOWN_SCHEMA_VERSIONS", "REPLICATE_COLUMNS", "ROUND_COLUMNS",
    "SUMMARY_STATS", "Replicate", "Results", "ResultsError", "Round", "Summary", "column",
    "comparison_table", "cosine_edges", "load_results", "read_replicate", "read_summary",
    "replicate_table", "round_table", "select", "summary_table", "to_structured",
]
