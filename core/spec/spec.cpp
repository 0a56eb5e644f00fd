// Experiment specs: parsing with precise errors, grid / include / exclude expansion, normalisation, dedup.
#include "core/spec/spec.h"

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "core/spec/run_key.h"
#include "core/spec/schema.h"
#include "core/spec/teacher.h"
#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::spec {
namespace {

using nlohmann::json;
using ordered_json = nlohmann::ordered_json;

const std::set<std::string> kTopLevelKeys = {"name", "description", "base", "grid", "include", "exclude"};

std::string line_column(const std::string& text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

ordered_json parse_ordered(const std::string& text, const std::string& source) {
  // Duplicate keys are silently collapsed by most JSON parsers; here they are an error, since the first value
  // would otherwise be ignored without a word.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  ordered_json::parser_callback_t check = [&](int, ordered_json::parse_event_t event, ordered_json& parsed) {
    using E = ordered_json::parse_event_t;
    if (event == E::object_start) open_objects.emplace_back();
    if (event == E::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == E::key && !open_objects.empty() &&
        !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  if (const int depth = json_depth(text); depth > kMaxJsonDepth)
    throw InputError(source + ": JSON nested " + std::to_string(depth) +
                     " levels deep; r2q accepts at most " + std::to_string(kMaxJsonDepth));
  ordered_json j;
  try {
    j = ordered_json::parse(text, check);
  } catch (const ordered_json::parse_error& e) {
    std::string what = e.what();
    auto pos = what.find("syntax error");
    throw InputError(source + ":" + line_column(text, e.byte ? e.byte - 1 : 0) +
                     ": invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos)));
  } catch (const ordered_json::exception& e) {
    // e.g. a number too large for a double ("1e999")
    std::string what = e.what();
    auto pos = what.find("] ");
    throw InputError(source + ": invalid JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2)));
  }
  if (!duplicate.empty()) throw InputError(source + ": duplicate key " + quoted_value(duplicate));
  return j;
}

[[noreturn]] void unknown_path(const std::string& path, const std::string& where) {
  std::string hint = closest_match(path, field_paths());
  throw InputError(where + ": unknown field " + quoted_value(path) +
                   (hint.empty() ? "" : " (did you mean " + quoted_value(hint) + "?)"));
}

// Fields that have no effect under some settings are reset to one value, so that grid points that differ only
// in such a field resolve to the same run (and are run once).
void normalise(json& config) {
  if (config["quant"]["method"] == "fp32") {
    config["quant"]["weight_bits"] = 32;
    config["quant"]["act_bits"] = 32;
    config["quant"]["first_last_bits"] = 32;
  }
  auto reset = [&](const std::string& path) {
    const Field* f = find_field(path);
    set_dotted(config, path, check_value(*f, f->default_value, path));
  };
  json& loss = config["loss"];
  const bool adversarial = loss["adversarial"].get<double>() > 0;
  if (loss["kd"].get<double>() == 0) reset("loss.kd_temperature");
  if (loss["structural"].get<double>() == 0) reset("loss.structural_angle");
  if (!adversarial) {
    reset("loss.lipschitz.mode");
    reset("loss.n_critic");
    reset("loss.critic_lr");
  }
  if (!adversarial || loss["lipschitz"]["mode"] != "gp") reset("loss.lipschitz.weight");
  if (loss["perturbation"].get<double>() == 0) {
    reset("loss.train_eps");
    reset("loss.perturbation_delta");
  }
  if (loss["spectral"].get<double>() == 0 && !(adversarial && loss["lipschitz"]["mode"] == "spectral"))
    reset("loss.power_iterations");
  if (config["eval"]["pgd"]["eps"].empty()) {
    reset("eval.pgd.steps");
    reset("eval.pgd.step_size");
  }
  // "auto" and the explicit choice it stands for are one run.
  const bool teacher_terms =
      loss["kd"].get<double>() > 0 || loss["structural"].get<double>() > 0 || adversarial;
  const std::string init = config["train"]["init"];
  if (init == (teacher_terms ? "teacher" : "scratch")) reset("train.init");
}

// A value for a path in include/exclude: for a scalar field a list means "each of these"; for a list field a
// list of lists does. Returns the alternatives.
std::vector<json> alternatives(const std::string& path, const json& value) {
  const Field* field = find_field(path);
  bool list_field = field && field->type == FieldType::FloatList;
  bool several = value.is_array() && (!list_field || (!value.empty() && value[0].is_array()));
  if (!several) return {value};
  return std::vector<json>(value.begin(), value.end());
}

std::string label_of(const std::vector<std::pair<std::string, json>>& assignment) {
  std::vector<std::string> parts;
  for (const auto& [path, value] : assignment) parts.push_back(path + "=" + value.dump());
  return join(parts, " ");
}

// Cartesian product of (path, alternatives) axes, first axis slowest.
std::vector<std::vector<std::pair<std::string, json>>> product(
    const std::vector<std::pair<std::string, std::vector<json>>>& axes) {
  std::vector<std::vector<std::pair<std::string, json>>> points{{}};
  for (const auto& [path, values] : axes) {
    std::vector<std::vector<std::pair<std::string, json>>> next;
    next.reserve(points.size() * values.size());
    for (const auto& point : points)
      for (const auto& v : values) {
        auto p = point;
        p.emplace_back(path, v);
        next.push_back(std::move(p));
      }
    points = std::move(next);
  }
  return points;
}

}  // namespace

json parse_json_text(const std::string& text, const std::string& source) {
  return json::parse(parse_ordered(text, source).dump());
}

const json* find_path(const json& root, const std::string& path) {
  const json* node = &root;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object()) return nullptr;
    auto it = node->find(part);
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
}

void apply_override(json& config, json& execution, const std::string& path, const json& value,
                    const std::string& where) {
  if (const Field* field = find_field(path)) {
    json canonical = check_value(*field, value, where);
    set_dotted(field->execution_only ? execution : config, path, canonical);
    return;
  }
  if (is_object_path(path)) {
    if (!value.is_object()) throw InputError(where + ": expected an object, got " + value.dump());
    for (auto it = value.begin(); it != value.end(); ++it)
      apply_override(config, execution, path + "." + it.key(), it.value(), where + "." + it.key());
    return;
  }
  unknown_path(path, where);
}

RunSpec finish(json config, json execution, std::string label) {
  normalise(config);
  RunSpec run;
  run.key = run_key(config);
  if (auto teacher = teacher_config(config))
    run.teacher_key = finish(std::move(*teacher), json::object()).key;
  run.config = std::move(config);
  run.execution = std::move(execution);
  run.label = std::move(label);
  return run;
}

std::size_t add_teachers_and_dedupe(std::vector<RunSpec>& runs) {
  // Points that resolve to the same config are one run. A student's teacher runs before it: it is listed
  // just before its first student, unless the list has it earlier.
  std::vector<RunSpec> out;
  std::set<std::string> seen, added_teachers;
  std::size_t duplicates = 0;
  for (auto& run : runs) {
    if (!run.teacher_key.empty() && seen.insert(run.teacher_key).second) {
      added_teachers.insert(run.teacher_key);
      RunSpec teacher = finish(*teacher_config(run.config), run.execution,
                               "teacher of " + (run.label.empty() ? run.key.substr(0, 12) : run.label));
      teacher.is_teacher = true;
      out.push_back(std::move(teacher));
    }
    if (seen.insert(run.key).second)
      out.push_back(std::move(run));
    else if (!added_teachers.contains(run.key))
      ++duplicates;
  }
  runs = std::move(out);
  return duplicates;
}

RunSpec resolve(const json& partial, const std::string& where) {
  json config = default_config();
  json execution = default_execution();
  if (!partial.is_object()) throw InputError(where + ": expected an object, got " + partial.dump());
  for (auto it = partial.begin(); it != partial.end(); ++it)
    apply_override(config, execution, it.key(), it.value(), where + "." + it.key());
  return finish(std::move(config), std::move(execution));
}

Experiment parse_experiment(const std::string& text, const std::string& source,
                            const ExpandOptions& options) {
  ordered_json spec = parse_ordered(text, source);
  if (!spec.is_object()) throw InputError(source + ": a spec is a JSON object, got " + spec.dump());
  for (auto it = spec.begin(); it != spec.end(); ++it)
    if (!kTopLevelKeys.count(it.key())) {
      std::string hint = closest_match(it.key(), {kTopLevelKeys.begin(), kTopLevelKeys.end()});
      throw InputError(source + ": unknown top-level key " + quoted_value(it.key()) +
                       (hint.empty() ? "" : " (did you mean " + quoted_value(hint) + "?)"));
    }

  Experiment exp;
  exp.source = source;
  exp.spec = json::parse(spec.dump());
  if (!spec.contains("name") || !spec["name"].is_string())
    throw InputError(source + ": \"name\" is required and must be a string");
  exp.name = spec["name"].get<std::string>();
  static const std::regex kName("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  if (!std::regex_match(exp.name, kName))
    throw InputError(source + ": name: " + quoted_value(exp.name) +
                     " must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
  if (spec.contains("description") && !spec["description"].is_string())
    throw InputError(source + ": description: expected a string");

  json base = spec.contains("base") ? json::parse(spec["base"].dump()) : json::object();
  RunSpec resolved_base = resolve(base, source + ": base");

  // Grid axes, each value checked where it is written.
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  std::size_t count = 1;
  if (spec.contains("grid")) {
    const auto& grid = spec["grid"];
    if (!grid.is_object()) throw InputError(source + ": grid: expected an object of \"path\": [values]");
    for (auto it = grid.begin(); it != grid.end(); ++it) {
      std::string where = source + ": grid." + it.key();
      if (!it.value().is_array() || it.value().empty())
        throw InputError(where + ": expected a non-empty list of values, got " + it.value().dump());
      std::vector<json> values;
      for (std::size_t i = 0; i < it.value().size(); ++i) {
        json c = resolved_base.config, e = resolved_base.execution;
        apply_override(c, e, it.key(), json::parse(it.value()[i].dump()),
                       where + "[" + std::to_string(i) + "]");
        values.push_back(json::parse(it.value()[i].dump()));
      }
      count *= values.size();
      if (count > options.max_runs)
        throw InputError(source + ": grid expands to more than " + std::to_string(options.max_runs) +
                         " runs; narrow it or confirm with --yes");
      axes.emplace_back(it.key(), std::move(values));
    }
  }
  auto points = product(axes);

  // include: extra points, each applied to the base; list values expand into several points.
  if (spec.contains("include")) {
    const auto& include = spec["include"];
    if (!include.is_array()) throw InputError(source + ": include: expected a list of objects");
    for (std::size_t i = 0; i < include.size(); ++i) {
      std::string where = source + ": include[" + std::to_string(i) + "]";
      if (!include[i].is_object() || include[i].empty())
        throw InputError(where + ": expected a non-empty object of \"path\": value");
      std::vector<std::pair<std::string, std::vector<json>>> sub;
      for (auto it = include[i].begin(); it != include[i].end(); ++it) {
        auto values = alternatives(it.key(), json::parse(it.value().dump()));
        // An empty list would make the whole entry add nothing, silently (a grid refuses it too).
        if (values.empty())
          throw InputError(where + ": " + it.key() + ": expected a non-empty list of values, got []");
        sub.emplace_back(it.key(), std::move(values));
      }
      auto extra = product(sub);
      if (points.size() + extra.size() > options.max_runs)
        throw InputError(source + ": spec expands to more than " + std::to_string(options.max_runs) +
                         " runs; narrow it or confirm with --yes");
      points.insert(points.end(), extra.begin(), extra.end());
    }
  }

  // Apply every point to the base. Excludes match these values as written, before normalisation.
  struct Point {
    json config, execution;
    std::string label;
  };
  std::vector<Point> resolved;
  for (const auto& point : points) {
    Point p{resolved_base.config, resolved_base.execution, label_of(point)};
    for (const auto& [path, value] : point)
      apply_override(p.config, p.execution, path, value, source + ": " + p.label + ": " + path);
    resolved.push_back(std::move(p));
  }

  // exclude: drop points whose values match every path of an entry (a list means any of them).
  if (spec.contains("exclude")) {
    const auto& exclude = spec["exclude"];
    if (!exclude.is_array()) throw InputError(source + ": exclude: expected a list of objects");
    for (std::size_t i = 0; i < exclude.size(); ++i) {
      std::string where = source + ": exclude[" + std::to_string(i) + "]";
      if (!exclude[i].is_object() || exclude[i].empty())
        throw InputError(where + ": expected a non-empty object of \"path\": value");
      std::vector<std::pair<const Field*, std::vector<json>>> match;
      for (auto it = exclude[i].begin(); it != exclude[i].end(); ++it) {
        const Field* field = find_field(it.key());
        if (!field) unknown_path(it.key(), where);
        std::vector<json> values;
        for (const auto& v : alternatives(it.key(), json::parse(it.value().dump())))
          values.push_back(check_value(*field, v, where + "." + it.key()));
        match.emplace_back(field, std::move(values));
      }
      auto matches = [&](const Point& p) {
        for (const auto& [field, values] : match) {
          const json* v = find_path(field->execution_only ? p.execution : p.config, field->path);
          bool any = false;
          for (const auto& candidate : values) any = any || (v && *v == candidate);
          if (!any) return false;
        }
        return true;
      };
      std::size_t before = resolved.size();
      std::erase_if(resolved, matches);
      if (resolved.size() == before) exp.unused_excludes.push_back(exclude[i].dump());
    }
  }

  std::vector<RunSpec> runs;
  for (auto& p : resolved)
    runs.push_back(finish(std::move(p.config), std::move(p.execution), std::move(p.label)));

  exp.duplicates = add_teachers_and_dedupe(runs);
  exp.runs = std::move(runs);
  return exp;
}

Experiment load_experiment(const std::filesystem::path& file, const ExpandOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw InputError(file.string() + ": a directory, not a spec file");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    bool exists = std::filesystem::exists(file, ec);
    throw InputError(file.string() + (exists ? ": cannot be read" : ": no such file"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_experiment(buffer.str(), file.string(), options);
}

}  // namespace r2q::spec
