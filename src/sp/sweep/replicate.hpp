#pragma once
/// One replicate, end to end: data, model, training (with checkpoints and resume), embeddings of
/// the evaluation set, and the result file.
///
///     sp::RunContext ctx;  ctx.threads = 2;
///     sp::ReplicateOutcome o = sp::run_replicate(plan, plan.replicates[0], ctx);
///     // o.status: "complete" | "failed" | "skipped"; results in <output.dir>/<id>.h5

#include "sp/plan/plan.hpp"

#include <functional>
#include <string>

namespace sp {

/// What a rank provides to the replicates it runs.
struct RunContext {
    int threads = 1;    ///< LibTorch intra-op threads
    int local_rank = 0; ///< picks the GPU when there are several
    bool force = false; ///< delete an existing result and checkpoint first (sp_sweep --force)
    /// Polled after every epoch and round; true makes the replicate checkpoint and stop
    /// (sp_sweep wires SIGUSR1/SIGTERM to it).
    std::function<bool()> stop_requested;
};

/// How a replicate ended.
struct ReplicateOutcome {
    std::string id;
    std::string status;  ///< complete | failed | skipped | stopped
    double accuracy = 0; ///< evaluation accuracy (complete only)
    double seconds = 0;  ///< wall time of this run of it
    std::string message; ///< why it failed or was skipped
};

/// `<output.dir>/<id>.h5` and `<output.dir>/checkpoints/<id>.h5` of a replicate.
std::string result_path(const Replicate& r);
std::string checkpoint_path(const Replicate& r);

/// True when `path` holds a complete result that passes the schema.
bool result_is_complete(const std::string& path);

/// Runs replicate `r` of `plan`: skipped if its complete result file exists; resumed from its
/// checkpoint if one exists; otherwise from the start. A failure (bad data, diverged training)
/// is caught: a result file with status "failed" and the message is written and the outcome
/// says "failed". "baseline" trains once on the whole training set; every other strategy runs
/// active-learning rounds (initial pool, train, score the unlabelled pool, query, repeat; see
/// al/loop.hpp), checkpointing at epoch and round boundaries; both end with the replicate's
/// /metrics.
ReplicateOutcome run_replicate(const Plan& plan, const Replicate& r, const RunContext& ctx);

} // namespace sp
