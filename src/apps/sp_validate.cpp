// sp_validate: checks HDF5 result files against results-schema/.
//
//     sp_validate results/*.h5 [--schema PATH] [--quiet]
//
// Prints "FILE: ok" or one line per problem; exits 0 when every file is valid, 2 when any is
// invalid or unreadable (or the arguments are bad). A file of an older layout version its
// schema still lists (replicate files: 1 and 2) is checked as that version: it lacks only what
// later versions added; any other version is one error naming the versions this sp reads.
// HDF5 external links, virtual and externally stored datasets make a file invalid (the error
// names the object) unless --allow-external-links.
#include "sp/io/h5.hpp"
#include "sp/io/schema.hpp"
#include "sp/util/error.hpp"
#include "sp/util/main.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    CLI::App app{"Validate sp HDF5 result files against the results schema (results-schema/)."};
    std::vector<std::string> files;
    std::string schema_path;
    bool quiet = false;
    app.add_option("files", files, "HDF5 files to check")->required();
    app.add_option("--schema", schema_path,
                   "schema file (used for every file) or directory of <file_kind>.toml; default: "
                   "$SP_SCHEMA_DIR, else the source tree's results-schema/, else built in");
    app.add_flag("-q,--quiet", quiet, "print only errors: no 'ok' lines, no notes");
    bool allow_external = false;
    app.add_flag("--allow-external-links", allow_external,
                 "follow HDF5 external links and read virtual or externally stored datasets "
                 "(refused by default: they read files not named here)");
    return sp::guarded_main("sp_validate", [&] {
        try {
            app.parse(argc, argv);
            sp::h5::ReadPolicy policy;
            policy.allow_external = allow_external;
            sp::h5::set_read_policy(policy);
            sp::io::SchemaSet schemas(schema_path);
            bool all_valid = true;
            for (const std::string& file : files) {
                const sp::io::ValidationReport report = sp::io::validate(file, schemas);
                for (const std::string& line : report.lines(!quiet)) std::cout << line << '\n';
                if (report.valid() && !quiet) std::cout << file << ": ok\n";
                all_valid = all_valid && report.valid();
            }
            std::cout.flush();
            return static_cast<int>(all_valid ? sp::ExitCode::ok : sp::ExitCode::bad_input);
        } catch (const CLI::ParseError& e) {
            // --help exits 0; every argument error is "bad input" (2), not CLI11's own codes.
            return app.exit(e) == 0 ? 0 : static_cast<int>(sp::ExitCode::bad_input);
        }
    });
}
