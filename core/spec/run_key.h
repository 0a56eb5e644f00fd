// The run key: SHA-256 of a canonical JSON form of a resolved run config. Same config -> same key on every
// machine. The canonical form keeps only the fields that differ from their default, so adding a field with a
// default that preserves the old behaviour does not change any existing key (tests pin the defaults and
// keys).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace r2q::spec {

// Bumped when training semantics change so that old results stop matching new runs.
inline constexpr const char* kSemanticsVersion = "r2q-run/1";

// Sorted keys, no whitespace, numbers as the schema types them (int64 or shortest round-trip double).
std::string canonical_json(const nlohmann::json& value);

// The fields of `config` that differ from the defaults, as a nested object.
nlohmann::json sparse_config(const nlohmann::json& config);

std::string run_key(const nlohmann::json& config);

}  // namespace r2q::spec
