#pragma once
/// The error a metric throws when it is undefined for the data it was given, as opposed to a
/// failure. The analysis (sp::analyze, analyze.hpp) records such a metric as NaN with the message
/// as its reason and goes on; every other exception from a metric fails the replicate: a bad
/// option (ConfigError), a broken invariant (InternalError, SP_CHECK), bad input (DataError: the
/// analysis validates its input first, so this is a bug too), and StopRequested passes through.
///
/// Thrown for (the complete list):
/// - silhouette, Davies-Bouldin: fewer than 2 or more than n - 1 classes present (scikit-learn's
///   ValueError);
/// - t-SNE: fewer than 2 points, perplexity >= n (scikit-learn's ValueError), a row whose
///   squared norm exceeds 1e36 (its float32 squared distances would overflow).
///
/// It is a DataError (exit code 2), so callers that catch DataError still catch it.

#include "sp/util/error.hpp"

#include <string>

namespace sp {

class UndefinedMetric : public DataError {
  public:
    explicit UndefinedMetric(const std::string& message) : DataError(message) {}
};

} // namespace sp
