// File helpers: crash-safe replacement of a file's content.
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

namespace r2q {

// Writes `path` so that a crash at any moment leaves either the old file or the complete new one: `write`
// fills a temporary file beside `path`, which is fsync'ed and renamed over `path`; the directory is fsync'ed
// too.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const std::filesystem::path& tmp)>& write);

// Convenience form for in-memory content.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace r2q
