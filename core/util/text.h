// Small text helpers shared by the core modules: number formatting, joining, suggestions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace r2q {

// Shortest decimal that parses back to exactly `v` ("0.03", "0.1", "1e-05", "0"). Used in metric names.
std::string shortest_decimal(double v);

std::string join(const std::vector<std::string>& parts, std::string_view sep);
// The parts between separators ("a.b" -> {"a", "b"}; "" -> {""}).
std::vector<std::string> split(std::string_view text, char sep);

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a plausible typo.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// How deeply JSON text nests arrays and objects (strings skipped), counted without parsing. Every parser of
// untrusted JSON checks it against kMaxJsonDepth first: nlohmann's dump and comparisons recurse, and a
// 100,000-deep document overflows the stack.
int json_depth(std::string_view text);
inline constexpr int kMaxJsonDepth = 64;

// A duration for people: "42s", "3m05s", "2h07m"; "?" when unknown (negative or not finite).
std::string format_duration(double seconds);

// A value echoed in a message, in double quotes, escaped as a JSON string is (\", \\, \n, \t, \u0001, ...),
// so a value with a newline or a quote in it stays one unambiguous piece of one line.
std::string quoted_value(std::string_view value);

// Lowercase hex of raw bytes.
std::string to_hex(const unsigned char* data, size_t size);

}  // namespace r2q
