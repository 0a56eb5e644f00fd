// The .r2q model file: a versioned binary container (magic, JSON header, checksummed tensor sections, a
// whole-file checksum) for a deploy::Model. Byte layout and versioning rule: docs/EXPORT_FORMAT.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/deploy/model.h"

namespace r2q::deploy {

inline constexpr char kMagic[4] = {'R', '2', 'Q', 'M'};
// Bumped when a reader of the previous version would misread a file; new optional fields do not bump it.
// Version 2 added the input affine (a folded input normalisation, InputAffine); a model without one is still
// written as version 1, byte for byte what earlier r2q wrote.
inline constexpr uint32_t kFormatVersion = 2;

// The oldest format version that can hold `model`.
uint32_t format_version_needed(const Model& model);

// The file's bytes. Validates the model first; throws InputError naming `source` and what is wrong.
std::string encode_model(const Model& model, const std::string& source = "model");
// Parses and checks everything (magic, version, sizes, header, section bounds and checksums, the whole-file
// checksum, then validate()); throws InputError naming `source`, the section and the layer.
Model decode_model(std::string_view bytes, const std::string& source = "model");

// encode_model written atomically (a crash leaves the old file or the new one).
void write_model(const std::filesystem::path& path, const Model& model);
// decode_model of the file's content; a missing or unreadable file is an InputError too.
Model read_model(const std::filesystem::path& path);

}  // namespace r2q::deploy
