// The run-config schema: every field of a run (DESIGN §3) with its type, default and bounds, declared once.
// Validation, defaults, the canonical form and the docs all come from this one table.
#pragma once

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace r2q::spec {

enum class FieldType { Int, Float, Bool, String, NullableString, Choice, FloatList };

struct Field {
  std::string path;  // dotted, e.g. "train.lr"
  FieldType type;
  nlohmann::json default_value;
  double min = -std::numeric_limits<double>::infinity();  // numbers and list elements, inclusive
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  bool max_exclusive = false;
  std::vector<std::string> choices;  // Choice only
  // Execution settings (threads, where the data lives) change how a run is executed, not what it computes:
  // they are kept out of the stored config and the run key, and recorded in the run's environment instead.
  bool execution_only = false;
  std::string help;
};

const std::vector<Field>& fields();
const Field* find_field(std::string_view path);
// True when `path` names an object of the schema ("train", "loss.lipschitz").
bool is_object_path(std::string_view path);
// Leaf paths of the schema, for suggestions in errors.
std::vector<std::string> field_paths();

// Sets root[a][b]... = value for the dotted path "a.b...", creating the objects on the way.
void set_dotted(nlohmann::json& root, const std::string& path, const nlohmann::json& value);

// The complete default run config (execution-only fields excluded).
nlohmann::json default_config();
// Defaults of the execution-only fields ({"threads": 0}).
nlohmann::json default_execution();

// Checks `value` against the field and returns it in canonical form: integers as int64, floats as double,
// float lists sorted and without duplicates. `where` names the value for the error message ("spec.json:
// base.train.lr").
nlohmann::json check_value(const Field& field, const nlohmann::json& value, const std::string& where);

// A human description of what the field accepts ("a number in (0, 100]").
std::string describe(const Field& field);

}  // namespace r2q::spec
