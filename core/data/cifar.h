// The CIFAR-10 "binary version": files of 3073-byte records (label byte, then 3x32x32 pixels, channel-major).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace r2q::data {

// Decodes one batch file's bytes (parse_cifar10 in cifar_format.h); `path` names it in errors (size not a
// multiple of 3073, label > 9).
Dataset decode_cifar10(const std::string& bytes, const std::filesystem::path& path);

// Reads and concatenates batch files.
Dataset read_cifar10(const std::vector<std::filesystem::path>& files,
                     std::string* fingerprint_material = nullptr);

}  // namespace r2q::data
