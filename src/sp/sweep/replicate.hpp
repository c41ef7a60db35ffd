#pragma once
/// One replicate, end to end: data, model, training (with checkpoints and resume), embeddings of
/// the evaluation set, and the result file.
///
///     sp::RunContext ctx;  ctx.threads = 2;
///     sp::ReplicateOutcome o = sp::run_replicate(plan, plan.replicates[0], ctx);
///     // o.status: "complete" | "failed" | "skipped"; results in <output.dir>/<id>.h5

#include "sp/plan/plan.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace sp {

/// What a rank provides to the replicates it runs.
struct RunContext {
    int threads = 1;    ///< LibTorch intra-op threads
    int ranks = 1;      ///< MPI world size of the job (recorded in provenance only)
    int local_rank = 0; ///< picks the GPU when there are several
    /// Ranks of one node that share a GPU (sp_sweep --ranks-per-gpu): local rank r uses device
    /// (r / ranks_per_gpu) % device_count.
    int ranks_per_gpu = 1;
    bool force = false; ///< delete an existing result and checkpoint first (sp_sweep --force)
    /// Resume a checkpoint written with another thread count, recording the change in the
    /// result file (sp_sweep --allow-thread-change); otherwise such a resume fails.
    bool allow_thread_change = false;
    /// Resume a checkpoint written by another sp version or build revision, recording the change
    /// (sp_sweep --allow-version-change); otherwise such a resume fails.
    bool allow_version_change = false;
    /// Polled after every training batch and at the safe points of scoring and metrics; true
    /// makes the replicate checkpoint and stop (sp_sweep wires SIGUSR1/SIGTERM to it).
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
/// with the replicate's /metrics, and a baseline's result file keeps its final weights
/// (/model/state). A replicate with al.init = "baseline" first waits for its baseline's result
/// file (await_baseline), then starts from those weights and records which
/// (/provenance@baseline_id, @baseline_weights_sha256); its baseline's failure is its own, with
/// an error naming the baseline.
ReplicateOutcome run_replicate(const Plan& plan, const Replicate& r, const RunContext& ctx);

/// How long await_baseline sleeps between looks at the baseline's result file: 1 s at first,
/// doubling up to this bound (seconds).
inline constexpr double kBaselinePollMaxSeconds = 10.0;

/// Waits until the result file of `baseline` (the replicate `r` starts from) exists and is
/// complete and returns its path; nothing when ctx.stop_requested() says stop first. Logs that
/// `r` waits (when it starts waiting, then every 10 minutes). Throws DataError naming the
/// baseline when its result file records a failure or belongs to another replicate. It never
/// waits for a baseline nobody runs as long as the plan's run_order() is followed (the baseline
/// was handed out first) and stop signals reach every rank (mpirun and srun forward them).
std::optional<std::string> await_baseline(const Replicate& baseline, const Replicate& r,
                                          const RunContext& ctx);

/// Removes failed result files of the baselines that replicates of `plan` start from (each
/// failed replicate is rerun, and a dependent must not read an earlier run's failure as this
/// run's); with `force` (sp_sweep --force, which reruns everything) their complete ones too.
/// Files of other replicates are left alone. Call on one rank, before any replicate starts
/// (sp_sweep: before the work counter, whose construction is a barrier). Returns how many it
/// removed.
std::size_t clear_failed_baselines(const Plan& plan, bool force = false);

} // namespace sp
