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
    int ranks = 1;      ///< MPI world size of the job (recorded in provenance only)
    int local_rank = 0; ///< picks the GPU when there are several
    bool force = false; ///< delete an existing result and checkpoint first (sp_sweep --force)
    /// Resume a checkpoint written with another thread count, recording the change in the
    /// result file (sp_sweep --allow-thread-change); otherwise such a resume fails.
    bool allow_thread_change = false;
    /// Resume a checkpoint written by another sp version or build revision, recording the change
    /// (sp_sweep --allow-version-change); otherwise such a resume fails.
    bool allow_version_change = false;
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
    /// The exit code this outcome asks of sp_sweep: 0 unless "failed"; 2 (bad input) when the
    /// replicate was refused because what it would continue from does not match this run (a
    /// checkpoint of another thread count or sp build, a result file of another replicate at its
    /// path); 3 for any other failure (bad or missing data, diverged training, no CUDA device).
    int exit_code = 0;
};

/// `<output.dir>/<id>.h5` and `<output.dir>/checkpoints/<id>.h5` of a replicate.
std::string result_path(const Replicate& r);
std::string checkpoint_path(const Replicate& r);

/// True when `path` holds a complete result of replicate `id` that passes the schema. Throws
/// DataError, naming the file and both IDs, when it holds a valid result file of another
/// replicate: such a file is neither skipped as done nor overwritten.
bool result_is_complete(const std::string& path, const std::string& id);

/// Runs replicate `r` of `plan`: skipped if its complete result file exists; resumed from its
/// checkpoint if one exists; otherwise from the start. A failure (bad data, diverged training)
/// is caught: a result file with status "failed" and the message is written and the outcome
/// says "failed". A resume from a checkpoint written with another thread count or sp build fails
/// too (a ConfigError naming both and the flag) unless `ctx` allows it; an allowed change is
/// recorded in the result's provenance. A result file of another replicate at `r`'s path makes
/// the outcome "failed" without touching that file. "baseline" trains once on the whole training
/// set; every other strategy runs active-learning rounds (initial pool, train, score the unlabelled
/// pool, query, repeat; see al/loop.hpp), checkpointing at epoch and round boundaries; both end
/// with the replicate's /metrics.
ReplicateOutcome run_replicate(const Plan& plan, const Replicate& r, const RunContext& ctx);

} // namespace sp
