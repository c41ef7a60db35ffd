#pragma once
/// The inputs of a planned sweep, checked before any replicate runs: the dataset each replicate
/// reads (its source directory, or its cache where the source is absent), the pretrained weights
/// it starts from and the results directory it writes. A sweep with a missing input would only
/// fail replicate after replicate; sp_sweep refuses it instead, before writing anything.
///
///     const auto missing = sp::missing_inputs(plan);   // one entry per key and path
///     if (!missing.empty()) throw sp::DataError(sp::missing_inputs_text(missing));
///
/// The checks only look (stat, access): nothing is created, and a dry run may make them too.

#include "sp/plan/plan.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace sp {

/// One missing or unusable input, with every replicate that needs it.
struct MissingInput {
    std::string key;     ///< the key that names it: "dataset.root", "output.dir", ...
    std::string path;    ///< as configured (the default root when unset)
    std::string problem; ///< "no such directory", "is a directory, expected a file"
    std::string dataset; ///< the dataset's name for dataset keys, else ""
    std::vector<std::size_t> replicates; ///< plan indices (0-based), increasing
};

/// Every missing input of `plan`, each distinct (key, path, problem) once, in the order of the
/// first replicate that needs it. Per replicate:
/// - dataset.root: the source directory (dataset_root: dataset.root, else the dataset's default
///   location) must be a directory, unless dataset.cache names an existing file (a node with
///   only the cache). Synthetic datasets read no files. When neither is there, a set but absent
///   dataset.cache is listed too.
/// - dataset.cache, when set and present: a regular file (an absent one is a fallback to the
///   source, not an error).
/// - model.pretrained, when set: a readable regular file.
/// - output.dir: a writable directory if it exists; otherwise its nearest existing ancestor must
///   be a writable directory (so that the run can create it).
std::vector<MissingInput> missing_inputs(const Plan& plan);

/// One line per input: "dataset.root: data/cifar-10-batches-bin: no such directory (replicates
/// 1-20, cifar10)", after a heading that says nothing was run or written.
std::string missing_inputs_text(const std::vector<MissingInput>& missing);

/// Throws DataError (exit 2) with missing_inputs_text when `plan` misses any input.
void require_inputs(const Plan& plan);

} // namespace sp
