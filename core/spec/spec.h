// Experiment specs (DESIGN §3): parse, validate, expand the grid into resolved run configs with their keys.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace r2q::spec {

// One fully resolved run: the validated config with every default filled, and its key.
struct RunSpec {
  nlohmann::json config;     // all run fields (execution-only fields excluded)
  nlohmann::json execution;  // execution-only fields ({"threads": N})
  std::string key;           // run_key(config)
  std::string label;         // the grid values that made this point, for messages ("seed=1 train.lr=0.05")
  std::string teacher_key;   // the FP32 teacher run this run needs (DESIGN §1.5); empty when none
  bool is_teacher = false;   // added to the experiment as some run's teacher, not a grid point
};

struct Experiment {
  std::string name;
  std::string source;                        // file name (or "<string>") used in messages
  nlohmann::json spec;                       // the spec as written
  std::vector<RunSpec> runs;                 // in grid order, duplicates removed
  std::size_t duplicates = 0;                // points that resolved to an already listed run
  std::vector<std::string> unused_excludes;  // exclude entries that matched nothing (likely typos)
};

struct ExpandOptions {
  // A spec expanding to more runs than this is refused (a typo can make a grid of millions).
  std::size_t max_runs = 10000;
};

// Reads and expands a spec file. Errors name the file, the dotted path and the bad value.
Experiment load_experiment(const std::filesystem::path& file, const ExpandOptions& options = {});
// Same for JSON text already in memory; `source` names it in messages.
Experiment parse_experiment(const std::string& text, const std::string& source,
                            const ExpandOptions& options = {});

// Parses JSON text, rejecting duplicate keys and reporting line:column on syntax errors.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);

// Applies `value` at the dotted `path` of a resolved config (objects merge leaf by leaf), validating it.
// `where` prefixes error messages. Used for grid points and for `r2q run --set`.
void apply_override(nlohmann::json& config, nlohmann::json& execution, const std::string& path,
                    const nlohmann::json& value, const std::string& where);

// Resolves a partial config (as in a spec's "base") against the defaults.
RunSpec resolve(const nlohmann::json& partial, const std::string& where);
// Recomputes normalisation and key after a config was changed with apply_override.
RunSpec finish(nlohmann::json config, nlohmann::json execution, std::string label = {});

// Makes runs with the same key one run and lists each run's teacher (DESIGN §1.5) just before its first
// student, unless the teacher is already listed earlier. Returns the number of duplicates removed.
std::size_t add_teachers_and_dedupe(std::vector<RunSpec>& runs);

// Value of a dotted path in a JSON object (nullptr json when absent).
const nlohmann::json* find_path(const nlohmann::json& root, const std::string& path);

}  // namespace r2q::spec
