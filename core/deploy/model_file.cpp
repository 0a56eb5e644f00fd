// The .r2q container: prefix, JSON header, aligned sections, trailing checksum; strict decoding that checks
// cheap structure first, then integrity (section checksums, the whole-file checksum), then meaning.
#include "core/deploy/model_file.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <utility>

#include "core/deploy/model_json.h"
#include "core/util/error.h"
#include "core/util/files.h"
#include "core/util/sha256.h"
#include "core/util/text.h"

namespace r2q::deploy {
namespace {

using nlohmann::json;

// Tensors are copied as they lie in memory; the format is little-endian.
static_assert(std::endian::native == std::endian::little, "r2q model files need a little-endian host");

constexpr uint64_t kPrefixBytes = 16;    // magic, u32 version, u64 header length
constexpr uint64_t kAlignment = 64;      // of the data region and of each section in it
constexpr uint64_t kChecksumBytes = 64;  // trailing SHA-256 of everything before it, lowercase hex

uint64_t align(uint64_t n) {
  return (n + kAlignment - 1) / kAlignment * kAlignment;
}

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return value;
}

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw InputError(source + ": " + what);
}

// Errors that already say the file is damaged (its size or a checksum): no note about the file checksum.
class FileDamaged : public InputError {
 public:
  using InputError::InputError;
};

[[noreturn]] void fail_damaged(const std::string& source, const std::string& what) {
  throw FileDamaged(source + ": " + what);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// The bytes of a file's prefix for a message: printable ASCII as is, the rest as \xNN.
std::string printable(std::string_view bytes) {
  std::string out;
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += ch;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

// Checks the prefix and returns the header's length.
uint64_t check_prefix(std::string_view bytes, const std::string& source) {
  const std::string_view magic(kMagic, sizeof kMagic);
  if (bytes.size() < magic.size()) {
    if (magic.starts_with(bytes) && !bytes.empty())
      fail(source, "truncated: " + std::to_string(bytes.size()) + " bytes, not even the magic number");
    fail(source, "not an r2q model file (" + std::to_string(bytes.size()) + " bytes)");
  }
  if (bytes.substr(0, magic.size()) != magic)
    fail(source, "not an r2q model file (it starts with \"" + printable(bytes.substr(0, 4)) +
                     "\", model files start with \"R2QM\")");
  if (bytes.size() < kPrefixBytes)
    fail(source, "truncated: " + std::to_string(bytes.size()) + " bytes, the fixed prefix alone has " +
                     std::to_string(kPrefixBytes));
  const uint64_t version = get_le(bytes, 4, 4);
  if (version == 0) fail(source, "format version 0 is invalid (versions start at 1)");
  if (version > kFormatVersion)
    fail(source, "written by a newer r2q: format version " + std::to_string(version) +
                     ", this r2q reads up to " + std::to_string(kFormatVersion));
  const uint64_t header_length = get_le(bytes, 8, 8);
  if (header_length > bytes.size() - kPrefixBytes)
    fail(source, "truncated: " + std::to_string(bytes.size()) + " bytes, but the header alone needs " +
                     (header_length > (uint64_t{1} << 62) ? std::string("more")
                                                          : std::to_string(kPrefixBytes + header_length)));
  return header_length;
}

// Copies the section's bytes into `values` after checking that the section is what the layer expects.
template <typename T>
void fill(std::vector<T>& values, const SectionEntry& s, std::string_view bytes,
          const std::vector<int64_t>& shape, const std::string& where) {
  if (s.dtype != dtype_name<T>())
    throw InputError(where + ": dtype " + s.dtype + ", the layer's attributes need " +
                     std::string(dtype_name<T>()));
  if (s.shape != shape)
    throw InputError(where + ": shape " + shape_text(s.shape) + " does not match " + shape_text(shape) +
                     " from the layer's attributes");
  values.resize(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
}

// decode_model after the prefix.
Model decode_checked(std::string_view bytes, uint64_t header_length, uint64_t version,
                     const std::string& source) {
  // 1. Structure: header, sizes.
  json header;
  if (const int depth = json_depth(bytes.substr(kPrefixBytes, header_length)); depth > kMaxJsonDepth)
    fail(source, "header JSON is nested " + std::to_string(depth) + " levels deep; r2q accepts at most " +
                     std::to_string(kMaxJsonDepth));
  try {
    header = json::parse(bytes.substr(kPrefixBytes, header_length));
  } catch (const json::exception& e) {
    fail(source, std::string("header JSON is malformed: ") + e.what());
  }
  if (!header.is_object()) fail(source, "header JSON is malformed: not an object");
  auto length = header.find("data_length");
  if (length == header.end() || !length->is_number_unsigned())
    fail(source, "header.data_length: missing or not a non-negative integer");
  const uint64_t data_start = align(kPrefixBytes + header_length), data_length = length->get<uint64_t>();
  if (data_length > std::numeric_limits<uint64_t>::max() - data_start - kChecksumBytes ||
      bytes.size() < data_start + data_length + kChecksumBytes)
    fail_damaged(source, "truncated: " + std::to_string(bytes.size()) + " bytes, the header describes " +
                             (data_length > (uint64_t{1} << 62)
                                  ? std::string("more")
                                  : std::to_string(data_start + data_length + kChecksumBytes)));
  const uint64_t total = data_start + data_length + kChecksumBytes;
  if (bytes.size() > total)
    fail_damaged(source, std::to_string(bytes.size() - total) +
                             " unexpected bytes after the end of the model (" + std::to_string(total) +
                             " bytes)");
  const std::string_view data = bytes.substr(data_start, data_length);

  // 2. Integrity: every section's bounds and checksum (so that corruption names its section), then the whole
  // file (the header and the padding).
  std::vector<SectionEntry> sections = sections_from_json(header, source);
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const SectionEntry& s = sections[i];
    const std::string where = source + ": " + describe_section(header, i, s);
    if (s.offset > data_length || s.size > data_length - s.offset)
      throw InputError(where + ": bytes [" + std::to_string(s.offset) + ", +" + std::to_string(s.size) +
                       ") lie outside the data region of " + std::to_string(data_length) + " bytes");
    uint64_t elements = 1;
    for (int64_t d : s.shape) {
      if (d != 0 && elements > s.size / static_cast<uint64_t>(d)) {
        elements = s.size + 1;  // more than the bytes can hold
        break;
      }
      elements *= static_cast<uint64_t>(d);
    }
    if (elements > s.size || elements * dtype_size(s.dtype) != s.size)
      throw InputError(where + ": " + std::to_string(s.size) + " bytes do not hold shape " +
                       shape_text(s.shape) + " of " + s.dtype);
    if (sha256_hex(data.substr(s.offset, s.size)) != s.sha256)
      throw FileDamaged(where + ": checksum mismatch, the section's data is corrupt");
  }
  const std::string_view stored = bytes.substr(bytes.size() - kChecksumBytes);
  if (sha256_hex(bytes.substr(0, bytes.size() - kChecksumBytes)) != stored)
    fail_damaged(source,
                 "file checksum mismatch: the header, the padding or the trailing checksum is corrupt (every "
                 "section's own checksum is intact)");

  // 3. Meaning: the graph, each layer's tensors from its sections, then validate().
  auto graph = header.find("graph");
  if (graph == header.end()) fail(source, "header.graph: missing");
  Model model = graph_from_json(*graph, source);
  auto metadata = header.find("metadata");
  if (metadata == header.end() || !metadata->is_object())
    fail(source, "header.metadata: missing or not an object");
  model.metadata = *metadata;

  std::map<std::pair<uint64_t, std::string>, std::size_t> by_tensor;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const SectionEntry& s = sections[i];
    const std::string where = source + ": " + describe_section(header, i, s);
    if (s.layer >= model.layers.size())
      throw InputError(where + ": there is no layer " + std::to_string(s.layer) + " (the graph has " +
                       std::to_string(model.layers.size()) + ")");
    auto [it, inserted] = by_tensor.emplace(std::pair{s.layer, s.field}, i);
    if (!inserted) throw InputError(where + ": the same tensor as section " + std::to_string(it->second));
  }
  std::size_t used = 0;
  for (std::size_t l = 0; l < model.layers.size(); ++l) {
    Layer& layer = model.layers[l];
    if (layer.op == Op::Normalize) {
      // Its channel count is its input's, known after shape inference: take it from the mean section here,
      // validate() checks it against the input below.
      auto it = by_tensor.find({l, "mean"});
      if (it != by_tensor.end() && sections[it->second].shape.size() == 1)
        layer.normalize.mean.resize(static_cast<std::size_t>(sections[it->second].shape[0]));
    }
    for_each_tensor(layer, [&](std::string_view field, const std::vector<int64_t>& shape, auto& values) {
      auto it = by_tensor.find({l, std::string(field)});
      if (it == by_tensor.end())
        fail(source, describe_layer(model, l) + ": " + std::string(field) + ": no section holds this tensor");
      const SectionEntry& s = sections[it->second];
      fill(values, s, data.substr(s.offset, s.size), shape,
           source + ": " + describe_section(header, it->second, s));
      ++used;
    });
  }
  if (used != sections.size())
    for (std::size_t i = 0; i < sections.size(); ++i) {
      const SectionEntry& s = sections[i];
      bool wanted = false;
      for_each_tensor(model.layers[s.layer], [&](std::string_view field, const auto&, const auto&) {
        wanted = wanted || field == s.field;
      });
      if (!wanted)
        fail(source, describe_section(header, i, s) + ": " + describe_layer(model, s.layer) + " (" +
                         std::string(to_string(model.layers[s.layer].op)) + ") has no tensor '" + s.field +
                         "'");
    }
  validate(model, source);
  if (const uint32_t needed = format_version_needed(model); needed > version)
    fail(source, "format version " + std::to_string(version) + " cannot hold this model's input affine (" +
                     "version " + std::to_string(needed) + " can): the version field is wrong");
  return model;
}

}  // namespace

uint32_t format_version_needed(const Model& model) {
  for (const Layer& l : model.layers)
    if (l.conv.input_affine.on) return 2;
  return 1;
}

std::string encode_model(const Model& model, const std::string& source) {
  validate(model, source);
  std::string data;
  std::vector<SectionEntry> sections;
  for (std::size_t i = 0; i < model.layers.size(); ++i)
    for_each_tensor(
        model.layers[i], [&](std::string_view field, std::vector<int64_t> shape, const auto& values) {
          using T = typename std::decay_t<decltype(values)>::value_type;
          data.resize(align(data.size()), '\0');
          std::string_view bytes(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
          sections.push_back({i, std::string(field), std::string(dtype_name<T>()), std::move(shape),
                              data.size(), bytes.size(), sha256_hex(bytes)});
          data.append(bytes);
        });
  const json header = {{"metadata", model.metadata},
                       {"graph", graph_to_json(model)},
                       {"sections", sections_to_json(sections)},
                       {"data_length", data.size()}};
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // e.g. a name that is not valid UTF-8
    fail(source, std::string("cannot write the header: ") + e.what());
  }
  std::string out(kMagic, sizeof kMagic);
  put_le(out, format_version_needed(model), 4);
  put_le(out, text.size(), 8);
  out += text;
  out.resize(align(out.size()), '\0');
  out += data;
  out += sha256_hex(out);
  return out;
}

Model decode_model(std::string_view bytes, const std::string& source) {
  const uint64_t header_length = check_prefix(bytes, source);
  try {
    return decode_checked(bytes, header_length, get_le(bytes, 4, 4), source);
  } catch (const FileDamaged&) {
    throw;
  } catch (const InputError& e) {
    // A damaged header can look like any of the errors above: say so when the file checksum fails too.
    const std::string_view body =
        bytes.substr(0, bytes.size() - std::min<std::size_t>(bytes.size(), kChecksumBytes));
    if (bytes.size() >= kPrefixBytes + kChecksumBytes && sha256_hex(body) != bytes.substr(body.size()))
      throw InputError(std::string(e.what()) +
                       " (and the file checksum does not match: the file is damaged)");
    throw;
  }
}

void write_model(const std::filesystem::path& path, const Model& model) {
  write_file_atomically(path, encode_model(model, path.string()));
}

Model read_model(const std::filesystem::path& path) {
  return decode_model(read_input_file(path, "a model file"), path.string());
}

}  // namespace r2q::deploy
