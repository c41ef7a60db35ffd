#pragma once
/// Wall-clock helpers: elapsed seconds, the UTC timestamp stamped into files, and durations for
/// progress lines. The one place sp reads a clock for anything but torch's own timing.
///
///     const auto t0 = std::chrono::steady_clock::now();
///     ...
///     log_info("done in " + sp::format_duration(sp::seconds_since(t0)));   // "3m05s"

#include <chrono>
#include <string>

namespace sp {

/// Seconds (monotonic clock) elapsed since `t0`, a steady_clock::now() taken earlier.
double seconds_since(std::chrono::steady_clock::time_point t0);

/// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ" (ISO 8601, whole seconds), as written into the
/// provenance of result files and caches.
std::string utc_now_iso8601();

/// A duration for humans, `seconds` (>= 0) rounded to whole seconds: "1h02m" from an hour up
/// (minutes truncated), "3m05s" from a minute up, "12s" below.
std::string format_duration(double seconds);

} // namespace sp
