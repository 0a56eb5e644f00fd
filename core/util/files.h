// File helpers: crash-safe replacement of a file's content, and clean-up after a crash.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace r2q {

// Writes `path` so that a crash at any moment leaves either the old file or the complete new one: `write`
// fills a temporary file beside `path`, which is fsync'ed and renamed over `path`; the directory is fsync'ed
// too.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const std::filesystem::path& tmp)>& write);

// Convenience form for in-memory content.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// The whole content of a file a command reads. A missing file, a directory or a read error is an InputError
// that names `path` as `what` ("the model file"). (libstdc++'s file streams throw from a read of a
// directory.)
std::string read_input_file(const std::filesystem::path& path, std::string_view what);

// Removes the temporary files write_file_atomically leaves in `dir` when its process is killed between
// writing and renaming (".NAME.tmp.PID"), once they are older than `min_age` (a live writer on another host
// sharing the directory is not disturbed: no write takes that long). Returns how many were removed; a missing
// directory or a file that cannot be removed is skipped.
int remove_stale_temporaries(const std::filesystem::path& dir, std::chrono::seconds min_age);

}  // namespace r2q
