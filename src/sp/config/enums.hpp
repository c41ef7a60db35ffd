#pragma once
/// The closed sets of choices of a configuration, as enums. The TOML text and every file sp writes
/// use the names below; past the config boundary the code switches on the enum, so the compiler
/// finds a missing case.
///
///     sp::Strategy s = sp::enum_from_name<sp::Strategy>("bald").value();
///     std::string_view n = sp::enum_name(s);                      // "bald"
///     auto all = sp::enum_names<sp::Strategy>();   // for messages and the registry
///
/// The order of each name table is the order of the enum's values (checked at compile time
/// below) and the order in which `--list-keys` and error messages list the choices.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sp {

/// al.strategy: baseline trains once on all data; the others run active-learning rounds.
enum class Strategy { baseline, random, least_confidence, margin, entropy, bald, coreset, badge };
/// al.initial_sampling: how the initial labelled pool is drawn.
enum class InitialSampling { uniform, stratified };
/// al.start: warm (model and optimizer go on between rounds) | cold (re-initialised each round).
enum class StartMode { warm, cold };
/// al.init: where an active-learning replicate's model starts: the built weights (init seed and
/// model.pretrained) or the final weights of its seed-paired baseline replicate (plan/plan.hpp).
enum class AlInit { pretrained, baseline };
/// train.optimizer.
enum class Optimizer { adam, adamw, sgd };
/// train.schedule: the learning-rate schedule after warmup.
enum class Schedule { constant, step, cosine };
/// train.precision: autocast dtype on CUDA (CPU runs always train in fp32).
enum class Precision { fp32, bf16, fp16 };
/// train.device: auto picks the local rank's GPU when LibTorch sees one.
enum class DeviceChoice { automatic, cpu, cuda };
/// metrics.tsne.method: how t-SNE computes the repulsive forces each iteration.
enum class TsneMethod {
    barnes_hut, ///< quadtree, O(n log n), accuracy `theta`
    fft,        ///< FIt-SNE interpolation on a grid, O(n + grid); exact for small n
    exact,      ///< all pairs, O(n^2) per iteration (small n)
};

/// The names of an enum's values, in value order. Specialised below for each enum.
template <class E> struct EnumNames;

template <> struct EnumNames<Strategy> {
    static constexpr std::array<std::string_view, 8> names = {
        "baseline", "random", "least_confidence", "margin", "entropy", "bald", "coreset", "badge"};
};
template <> struct EnumNames<InitialSampling> {
    static constexpr std::array<std::string_view, 2> names = {"uniform", "stratified"};
};
template <> struct EnumNames<StartMode> {
    static constexpr std::array<std::string_view, 2> names = {"warm", "cold"};
};
template <> struct EnumNames<AlInit> {
    static constexpr std::array<std::string_view, 2> names = {"pretrained", "baseline"};
};
template <> struct EnumNames<Optimizer> {
    static constexpr std::array<std::string_view, 3> names = {"adam", "adamw", "sgd"};
};
template <> struct EnumNames<Schedule> {
    static constexpr std::array<std::string_view, 3> names = {"constant", "step", "cosine"};
};
template <> struct EnumNames<Precision> {
    static constexpr std::array<std::string_view, 3> names = {"fp32", "bf16", "fp16"};
};
template <> struct EnumNames<DeviceChoice> {
    static constexpr std::array<std::string_view, 3> names = {"auto", "cpu", "cuda"};
};
template <> struct EnumNames<TsneMethod> {
    static constexpr std::array<std::string_view, 3> names = {"barnes_hut", "fft", "exact"};
};

// Each table must name every value: the last enumerator's index is the table's last entry.
static_assert(EnumNames<Strategy>::names.size() == static_cast<std::size_t>(Strategy::badge) + 1);
static_assert(EnumNames<InitialSampling>::names.size() ==
              static_cast<std::size_t>(InitialSampling::stratified) + 1);
static_assert(EnumNames<StartMode>::names.size() == static_cast<std::size_t>(StartMode::cold) + 1);
static_assert(EnumNames<AlInit>::names.size() == static_cast<std::size_t>(AlInit::baseline) + 1);
static_assert(EnumNames<Optimizer>::names.size() == static_cast<std::size_t>(Optimizer::sgd) + 1);
static_assert(EnumNames<Schedule>::names.size() == static_cast<std::size_t>(Schedule::cosine) + 1);
static_assert(EnumNames<Precision>::names.size() == static_cast<std::size_t>(Precision::fp16) + 1);
static_assert(EnumNames<DeviceChoice>::names.size() ==
              static_cast<std::size_t>(DeviceChoice::cuda) + 1);
static_assert(EnumNames<TsneMethod>::names.size() ==
              static_cast<std::size_t>(TsneMethod::exact) + 1);

/// The name of `value` as written in TOML and in result files.
template <class E> constexpr std::string_view enum_name(E value) {
    return EnumNames<E>::names[static_cast<std::size_t>(value)];
}

/// The value named `name`, or nullopt when no value has that name (the config layer reports
/// unknown names with a did-you-mean before they get here).
template <class E> constexpr std::optional<E> enum_from_name(std::string_view name) {
    for (std::size_t i = 0; i < EnumNames<E>::names.size(); ++i) {
        if (EnumNames<E>::names[i] == name) return static_cast<E>(i);
    }
    return std::nullopt;
}

/// Every name of E, in value order (the allowed choices of its configuration key).
template <class E> std::vector<std::string> enum_names() {
    return {EnumNames<E>::names.begin(), EnumNames<E>::names.end()};
}

} // namespace sp
