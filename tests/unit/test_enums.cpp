// config/enums.hpp: the closed sets of choices, their names, and their registry keys.
#include "sp/config/enums.hpp"
#include "sp/config/fields.hpp"
#include "sp/config/sweep.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

/// Checks enum E bound to `key` (read back from an Experiment by `get`).
template <class E> void check_enum(const std::string& key, E (*get)(const sp::Experiment&)) {
    SCOPED_TRACE(key);
    const std::vector<std::string> names = sp::enum_names<E>();
    ASSERT_FALSE(names.empty());

    // Rule: every name round-trips, names are distinct, and an unknown name has no value.
    std::set<std::string> seen;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const auto value = static_cast<E>(i);
        EXPECT_EQ(sp::enum_name(value), names[i]);
        EXPECT_EQ(sp::enum_from_name<E>(names[i]), value) << names[i];
        EXPECT_TRUE(seen.insert(names[i]).second) << names[i] << " is listed twice";
    }
    EXPECT_FALSE(sp::enum_from_name<E>("no-such-name").has_value());
    EXPECT_FALSE(sp::enum_from_name<E>("").has_value());

    // Rule: the registry's choices for the key are the enum's names, in the same order.
    const sp::Field* f = sp::find_field(key);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->kind, sp::Kind::choice);
    EXPECT_EQ(f->choices, names);

    // Rule: a TOML value parses into the enum, and the registry reads it back as its name.
    const auto dot = key.rfind('.');
    const std::string table = key.substr(0, dot);
    const std::string leaf = key.substr(dot + 1);
    for (const auto& name : names) {
        // model.dropout > 0 so that al.strategy = "bald" passes the cross-key rules.
        const std::string toml =
            "[model]\ndropout = 0.5\n[" + table + "]\n" + leaf + " = \"" + name + "\"\n";
        const sp::Sweep s = sp::parse_sweep(toml, "enums.toml");
        EXPECT_EQ(get(s.base), sp::enum_from_name<E>(name)) << name;
        EXPECT_EQ(sp::value_to_toml(f->get(s.base)), "\"" + name + "\"");
        sp::Experiment e;
        f->set(e, sp::Value{name});
        EXPECT_EQ(get(e), get(s.base)) << "Field::set agrees with the TOML reader";
    }
}

TEST(Enums, NamesRoundTripMatchTheRegistryAndParseFromToml) {
    check_enum<sp::Strategy>("al.strategy", [](const sp::Experiment& e) { return e.al.strategy; });
    check_enum<sp::InitialSampling>("al.initial_sampling",
                                    [](const sp::Experiment& e) { return e.al.initial_sampling; });
    check_enum<sp::StartMode>("al.start", [](const sp::Experiment& e) { return e.al.start; });
    check_enum<sp::Optimizer>("train.optimizer",
                              [](const sp::Experiment& e) { return e.train.optimizer; });
    check_enum<sp::Schedule>("train.schedule",
                             [](const sp::Experiment& e) { return e.train.schedule; });
    check_enum<sp::Precision>("train.precision",
                              [](const sp::Experiment& e) { return e.train.precision; });
    check_enum<sp::DeviceChoice>("train.device",
                                 [](const sp::Experiment& e) { return e.train.device; });
    check_enum<sp::TsneMethod>("metrics.tsne.method",
                               [](const sp::Experiment& e) { return e.metrics.tsne.method; });
}

// Rule: the defaults are the names the registry documented before the enums.
TEST(Enums, DefaultsKeepTheirNames) {
    const sp::Experiment e;
    EXPECT_EQ(sp::enum_name(e.al.strategy), "baseline");
    EXPECT_EQ(sp::enum_name(e.al.initial_sampling), "uniform");
    EXPECT_EQ(sp::enum_name(e.al.start), "warm");
    EXPECT_EQ(sp::enum_name(e.train.optimizer), "adam");
    EXPECT_EQ(sp::enum_name(e.train.schedule), "constant");
    EXPECT_EQ(sp::enum_name(e.train.precision), "fp32");
    EXPECT_EQ(sp::enum_name(e.train.device), "auto");
    EXPECT_EQ(sp::enum_name(e.metrics.tsne.method), "barnes_hut");
}

} // namespace
