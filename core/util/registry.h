// A registry of named components (datasets, models, quantizers, losses, backends). Entries are added
// explicitly by each folder's register_builtins(); duplicates are a programming error and an unknown name is
// an InputError that lists the known ones.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q {

template <class Entry>
class Registry {
 public:
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, Entry entry) {
    if (!entries_.emplace(name, std::move(entry)).second)
      throw std::logic_error(kind_ + " " + quoted_value(name) + " registered twice");
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  const Entry& get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string hint = closest_match(name, names());
      throw InputError("unknown " + kind_ + " " + quoted_value(name) +
                       (hint.empty() ? "" : " (did you mean " + quoted_value(hint) + "?)") +
                       "; known: " + join(names(), ", "));
    }
    return it->second;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, entry] : entries_) out.push_back(name);
    return out;
  }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace r2q
