// Reading dataset files: whole-file reads, transparent gunzip, and a content fingerprint.
#pragma once

#include <filesystem>
#include <string>

namespace r2q::data {

// The file's bytes. A missing or unreadable file is an InputError naming it.
std::string read_file(const std::filesystem::path& path);

// Decompresses `bytes` if they start with the gzip magic, else returns them unchanged. Corrupt gzip data is
// an InputError naming `path`.
std::string gunzip_if_needed(std::string bytes, const std::filesystem::path& path);

}  // namespace r2q::data
