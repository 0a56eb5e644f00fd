// The deployment model IR and the .r2q file: round trips, validation, and a strict loader that names what is
// wrong in every tampered file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <string>

#include "core/deploy/codes.h"
#include "core/deploy/model.h"
#include "core/deploy/model_file.h"
#include "core/util/error.h"
#include "core/util/sha256.h"
#include "tests/support/deploy_test_models.h"

namespace r2q::deploy {
namespace {

using nlohmann::json;
using testing::all_test_models;

// Runs `f` and returns the InputError's message ("" and a test failure when nothing or something else is
// thrown).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an InputError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error";
  return "";
}

#define EXPECT_ERROR(statement, fragment)                        \
  do {                                                           \
    std::string message_ = error_of([&] { statement; });         \
    EXPECT_NE(message_.find(fragment), std::string::npos)        \
        << "expected \"" << (fragment) << "\" in: " << message_; \
  } while (0)

// A file taken apart into its header and its data region, and put back together with correct checksums:
// for crafting files that are well-formed but wrong in one chosen way.
struct FileParts {
  json header;
  std::string data;
};

uint64_t read_u64(const std::string& bytes, std::size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
  return v;
}

uint64_t data_start(const std::string& bytes) {
  return (16 + read_u64(bytes, 8) + 63) / 64 * 64;
}

FileParts split(const std::string& bytes) {
  const uint64_t length = read_u64(bytes, 8);
  const uint64_t start = data_start(bytes);
  return {json::parse(bytes.substr(16, length)), bytes.substr(start, bytes.size() - start - 64)};
}

std::string join_text(const std::string& header_text, const std::string& data) {
  std::string out = "R2QM";
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(i == 0 ? 1 : 0));
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((header_text.size() >> (8 * i)) & 0xff));
  out += header_text;
  out.resize((out.size() + 63) / 64 * 64, '\0');
  out += data;
  return out + sha256_hex(out);
}

// Section checksums are recomputed from the data unless told not to.
std::string join(FileParts parts, bool fix_section_checksums = true) {
  if (fix_section_checksums)
    for (json& s : parts.header["sections"])
      s["sha256"] = sha256_hex(
          std::string_view(parts.data).substr(s["offset"].get<std::size_t>(), s["size"].get<std::size_t>()));
  return join_text(parts.header.dump(), parts.data);
}

std::string edit(const std::string& bytes, const std::function<void(FileParts&)>& change,
                 bool fix_section_checksums = true) {
  FileParts parts = split(bytes);
  change(parts);
  return join(std::move(parts), fix_section_checksums);
}

TEST(DeployModel, EveryTestModelValidatesAndCoversEveryOp) {
  std::set<Op> ops;
  std::set<Activation> activations;
  std::set<WeightFormat> formats;
  std::set<ActKind> kinds;
  for (const Model& m : all_test_models()) {
    auto shapes = validate(m);
    EXPECT_EQ(shapes.at(m.output).h, 1);
    for (const Layer& l : m.layers) {
      ops.insert(l.op);
      activations.insert(l.activation);
      if (l.op == Op::Conv2d || l.op == Op::Linear) {
        formats.insert(l.conv.weights.format);
        kinds.insert(l.conv.input_quant.kind);
      }
    }
  }
  EXPECT_EQ(ops.size(), 10u);
  EXPECT_EQ(activations.size(), 3u);
  EXPECT_EQ(formats.size(), 3u);
  EXPECT_EQ(kinds.size(), 3u);
  // Shapes follow the attributes: the option-A block halves the resolution and doubles the channels.
  auto shapes = validate(testing::resnet_block_model());
  EXPECT_EQ(shapes.at(3), (Shape{8, 4, 4}));
  EXPECT_EQ(shapes.at(5), (Shape{8, 4, 4}));
  EXPECT_EQ(shapes.at(8), (Shape{10, 1, 1}));
  auto fire = validate(testing::fire_model());
  EXPECT_EQ(fire.at(1), (Shape{4, 3, 3}));  // ceil-mode max-pool 7 -> 3
  EXPECT_EQ(fire.at(5), (Shape{6, 3, 3}));  // concat
  EXPECT_EQ(fire.at(7), (Shape{5, 4, 4}));  // avg-pool k2 s1 p1
}

TEST(DeployModel, RoundTripKeepsEveryField) {
  for (const Model& m : all_test_models()) {
    std::string bytes = encode_model(m);
    Model back = decode_model(bytes, "t.r2q");
    EXPECT_TRUE(back == m) << m.layers[0].name;
    EXPECT_EQ(back.metadata, m.metadata);
    EXPECT_EQ(encode_model(back), bytes);  // canonical: the same model gives the same bytes
  }
}

TEST(DeployModel, WritesAtomicallyAndReadsBack) {
  auto dir = std::filesystem::temp_directory_path() / ("r2q-deploy-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Model m = testing::resnet_block_model();
  write_model(dir / "model.r2q", m);
  EXPECT_TRUE(read_model(dir / "model.r2q") == m);
  EXPECT_ERROR(read_model(dir / "missing.r2q"), "missing.r2q: no such file (a model file)");
  EXPECT_ERROR(read_model(dir), "is a directory, not a model file");
  std::filesystem::remove_all(dir);
}

TEST(DeployModel, LayoutIsMagicVersionHeaderAlignedDataChecksum) {
  std::string bytes = encode_model(testing::resnet_block_model());
  EXPECT_EQ(bytes.substr(0, 4), "R2QM");
  EXPECT_EQ(bytes[4], 1);
  EXPECT_EQ(data_start(bytes) % 64, 0u);
  FileParts parts = split(bytes);
  EXPECT_EQ(parts.header["data_length"].get<std::size_t>(), parts.data.size());
  EXPECT_EQ(bytes.substr(bytes.size() - 64),
            sha256_hex(std::string_view(bytes).substr(0, bytes.size() - 64)));
  // normalize: mean, inv_std; stem: weight, weight_scale, mul, bias; then conv1's weight.
  const json& conv1 = parts.header["sections"][6];
  EXPECT_EQ(conv1["field"], "weight");
  EXPECT_EQ(conv1["dtype"], "u64");
  EXPECT_EQ(conv1["shape"], json({8, 2, 1}));  // O, bits, words of K = 36
  EXPECT_EQ(conv1["offset"].get<std::size_t>() % 64, 0u);
  EXPECT_EQ(parts.header["graph"]["layers"][2]["op"], "conv2d");
  EXPECT_EQ(parts.header["metadata"]["run_key"], "abc123");
}

TEST(DeployModel, TruncatedFilesAreReportedAsTruncated) {
  std::string bytes = encode_model(testing::resnet_block_model());
  const std::size_t start = data_start(bytes);
  for (std::size_t cut :
       {std::size_t{1}, std::size_t{3}, std::size_t{4}, std::size_t{10}, std::size_t{16}, std::size_t{40},
        start - 1, start, start + 100, bytes.size() - 64, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    EXPECT_ERROR(decode_model(bytes.substr(0, cut), "t.r2q"), "t.r2q: truncated");
  }
  EXPECT_ERROR(decode_model(bytes + "x", "t.r2q"), "1 unexpected bytes after the end");
}

TEST(DeployModel, RejectsOtherFilesAndNewerVersions) {
  std::string bytes = encode_model(testing::resnet_block_model());
  EXPECT_ERROR(decode_model("", "t.r2q"), "t.r2q: not an r2q model file");
  EXPECT_ERROR(decode_model("PK\x03\x04 a zip file, not a model", "t.r2q"), "not an r2q model file");
  std::string other = bytes;
  other[1] = 'X';
  EXPECT_ERROR(decode_model(other, "t.r2q"), "not an r2q model file (it starts with \"RXQM\"");
  std::string newer = bytes;
  newer[4] = 3;
  EXPECT_ERROR(decode_model(newer, "t.r2q"),
               "t.r2q: written by a newer r2q: format version 3, this r2q reads up to 2");
  newer[4] = 0;
  newer[7] = 1;  // 2^24
  EXPECT_ERROR(decode_model(newer, "t.r2q"), "format version 16777216");
  std::string zero = bytes;
  zero[4] = 0;
  EXPECT_ERROR(decode_model(zero, "t.r2q"), "format version 0 is invalid");
}

TEST(DeployModel, AFlippedByteInASectionNamesTheSectionAndItsLayer) {
  for (const Model& m : all_test_models()) {
    std::string bytes = encode_model(m);
    FileParts parts = split(bytes);
    const std::size_t start = data_start(bytes);
    for (std::size_t i = 0; i < parts.header["sections"].size(); ++i) {
      const json& s = parts.header["sections"][i];
      const auto layer = s["layer"].get<std::size_t>();
      if (s["size"].get<std::size_t>() == 0) continue;
      std::string bad = bytes;
      bad[start + s["offset"].get<std::size_t>() + s["size"].get<std::size_t>() / 2] ^= 0x10;
      const std::string expected = "t.r2q: section " + std::to_string(i) + " (layer " +
                                   std::to_string(layer) + " '" + m.layers[layer].name + "', " +
                                   s["field"].get<std::string>() + "): checksum mismatch";
      EXPECT_ERROR(decode_model(bad, "t.r2q"), expected);
    }
  }
}

TEST(DeployModel, AFlippedByteOutsideTheSectionsFailsTheFileChecksum) {
  std::string bytes = encode_model(testing::resnet_block_model());
  std::string bad = bytes;
  const std::size_t name = bytes.find("\"block.conv1\"");
  ASSERT_NE(name, std::string::npos);
  bad[name + 1] = 'B';  // still valid JSON
  EXPECT_ERROR(decode_model(bad, "t.r2q"), "t.r2q: file checksum mismatch");
  // A damaged header that no longer makes sense: the error says what broke and that the file is damaged.
  bad = bytes;
  bad[bytes.find("\"data_length\"") + 3] = 'x';
  EXPECT_ERROR(decode_model(bad, "t.r2q"), "header.data_length: missing");
  EXPECT_ERROR(decode_model(bad, "t.r2q"), "(and the file checksum does not match: the file is damaged)");
  bad = bytes;
  bad[bytes.size() - 5] ^= 1;  // the trailing checksum itself
  EXPECT_ERROR(decode_model(bad, "t.r2q"), "file checksum mismatch");
  bad = bytes;
  const std::size_t header_end = 16 + read_u64(bytes, 8);
  if (header_end < data_start(bytes)) {
    bad[header_end] = 1;  // padding
    EXPECT_ERROR(decode_model(bad, "t.r2q"), "file checksum mismatch");
  }
}

TEST(DeployModel, MalformedHeaders) {
  std::string bytes = encode_model(testing::resnet_block_model());
  FileParts parts = split(bytes);
  std::string text = parts.header.dump();
  EXPECT_ERROR(decode_model(join_text(text.substr(0, text.size() / 2), parts.data), "t.r2q"),
               "t.r2q: header JSON is malformed");
  EXPECT_ERROR(decode_model(join_text("[1, 2]", parts.data), "t.r2q"),
               "header JSON is malformed: not an object");
  // Found by fuzz/fuzz_model_file: a number too large for a double is the parser's out_of_range, not a
  // parse_error; it too is a malformed header (exit 2), not an internal error.
  EXPECT_ERROR(decode_model(join_text("{\"data_length\": 0.12e7472}", parts.data), "t.r2q"),
               "t.r2q: header JSON is malformed");
  EXPECT_ERROR(decode_model(edit(bytes, [](FileParts& p) { p.header.erase("graph"); }), "t.r2q"),
               "header.graph: missing");
  EXPECT_ERROR(decode_model(edit(bytes, [](FileParts& p) { p.header["metadata"] = 3; }), "t.r2q"),
               "header.metadata");
  EXPECT_ERROR(decode_model(edit(
                                bytes, [](FileParts& p) { p.header["sections"][2].erase("sha256"); }, false),
                            "t.r2q"),
               "t.r2q: section 2 (layer 1 'stem', weight): sha256: missing");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][3]["kernel"] = "3x3"; }),
                   "t.r2q"),
      "t.r2q: layer 3 'block.conv2': kernel: expected an array of 2 integers");
  EXPECT_ERROR(decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][2].erase("groups"); }),
                            "t.r2q"),
               "layer 2 'block.conv1': groups: missing");
  // A newer optional field is ignored.
  Model m =
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][2]["dilation"] = 1; }), "t");
  EXPECT_TRUE(m == testing::resnet_block_model());
}

TEST(DeployModel, UnknownNamesListTheKnownOnes) {
  std::string bytes = encode_model(testing::resnet_block_model());
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][6]["op"] = "conv3d"; }),
                   "t.r2q"),
      "t.r2q: layer 6 'pool': op: unknown op \"conv3d\" (known: normalize, conv2d,");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][5]["activation"] = "gelu"; }),
                   "t.r2q"),
      "layer 5 'block.add': activation: unknown activation \"gelu\" (known: none, relu, relu6)");
  EXPECT_ERROR(
      decode_model(
          edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][2]["weights"]["format"] = "int4"; }),
          "t.r2q"),
      "layer 2 'block.conv1': weights.format: unknown weights format \"int4\"");
  EXPECT_ERROR(decode_model(edit(bytes,
                                 [](FileParts& p) {
                                   p.header["graph"]["layers"][2]["input_quant"]["kind"] = "ternary";
                                 }),
                            "t.r2q"),
               "layer 2 'block.conv1': input_quant.kind: unknown input_quant kind \"ternary\"");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["sections"][0]["dtype"] = "f16"; }), "t.r2q"),
      "section 0 (layer 0 'normalize', mean): dtype: unknown dtype \"f16\"");
}

TEST(DeployModel, GraphErrorsInTheFile) {
  std::string bytes = encode_model(testing::resnet_block_model());
  // A well-formed file (checksums intact) that is wrong: the message does not claim damage.
  std::string message = error_of([&] {
    decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][5]["inputs"] = {4, 99}; }), "t");
  });
  EXPECT_EQ(message.find("damaged"), std::string::npos) << message;
  EXPECT_ERROR(decode_model(edit(bytes,
                                 [](FileParts& p) {
                                   p.header["graph"]["layers"][5]["inputs"] = {4, 99};
                                 }),
                            "t.r2q"),
               "t.r2q: layer 5 'block.add': inputs: value 99 is used before it is defined");
  // Used before defined: layer 2 reads the value that layer 3 defines.
  EXPECT_ERROR(decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][2]["inputs"] = {4}; }),
                            "t.r2q"),
               "layer 2 'block.conv1': inputs: value 4 is used before it is defined");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][4]["output"] = 3; }), "t.r2q"),
      "layer 4 'block.shortcut': output: value 3 is already defined");
  EXPECT_ERROR(decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["output"] = 42; }), "t.r2q"),
               "output: value 42 is not defined");
  EXPECT_ERROR(decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["output"] = 6; }), "t.r2q"),
               "logits must be [classes, 1, 1]");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][4]["name"] = "stem"; }),
                   "t.r2q"),
      "layer 4 'stem': name: is used by an earlier layer too");
}

TEST(DeployModel, SectionTableErrors) {
  std::string bytes = encode_model(testing::resnet_block_model());
  const auto length = split(bytes).header["data_length"].get<uint64_t>();
  // Section 5 is the stem's bias, 4 floats; section 4 its mul.
  EXPECT_ERROR(
      decode_model(edit(bytes, [&](FileParts& p) { p.header["sections"][5]["offset"] = length - 8; }),
                   "t.r2q"),
      "t.r2q: section 5 (layer 1 'stem', bias): bytes [" + std::to_string(length - 8) +
          ", +16) lie outside the data region");
  EXPECT_ERROR(decode_model(edit(
                                bytes, [](FileParts& p) { p.header["sections"][5]["offset"] = -1; }, false),
                            "t.r2q"),
               "section 5: offset: -1 is negative");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["sections"][5]["shape"] = {5}; }), "t.r2q"),
      "section 5 (layer 1 'stem', bias): 16 bytes do not hold shape [5] of f32");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["sections"][5]["field"] = "mul"; }), "t.r2q"),
      "section 5 (layer 1 'stem', mul): the same tensor as section 4");
  EXPECT_ERROR(decode_model(edit(bytes, [](FileParts& p) { p.header["sections"].erase(5); }), "t.r2q"),
               "layer 1 'stem': bias: no section holds this tensor");
  const std::size_t count = split(bytes).header["sections"].size();
  EXPECT_ERROR(decode_model(edit(bytes,
                                 [](FileParts& p) {
                                   json extra = p.header["sections"][5];
                                   extra["layer"] = 6;
                                   p.header["sections"].push_back(extra);
                                 }),
                            "t.r2q"),
               "section " + std::to_string(count) +
                   " (layer 6 'pool', bias): layer 6 'pool' (global_avg_pool) has no tensor 'bias'");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["sections"][5]["layer"] = 60; }), "t.r2q"),
      "section 5 (layer 60, bias): there is no layer 60 (the graph has 8)");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["sections"][5]["dtype"] = "i8"; }), "t.r2q"),
      "16 bytes do not hold shape [4] of i8");
  EXPECT_ERROR(decode_model(edit(bytes,
                                 [](FileParts& p) {
                                   json& s = p.header["sections"][5];
                                   s["dtype"] = "i8";
                                   s["shape"] = {16};
                                 }),
                            "t.r2q"),
               "section 5 (layer 1 'stem', bias): dtype i8, the layer's attributes need f32");
}

TEST(DeployModel, ShapesInconsistentWithAttributes) {
  std::string bytes = encode_model(testing::resnet_block_model());
  // conv2's weight planes: 8 channels x 2 planes x 2 words (K = 72); 3 bits would need 3 planes.
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][3]["weights"]["bits"] = 3; }),
                   "t.r2q"),
      "section 10 (layer 3 'block.conv2', weight): shape [8, 2, 2] does not match [8, 3, 2] from the "
      "layer's attributes");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][1]["in_channels"] = 5; }),
                   "t.r2q"),
      "section 2 (layer 1 'stem', weight): shape [4, 27] does not match [4, 45]");
  // Consistent sections but an impossible graph: conv2 fed the stem's 4 channels.
  Model m = testing::resnet_block_model();
  m.layers[3].inputs = {2};
  EXPECT_ERROR(validate(m, "m"),
               "m: layer 3 'block.conv2': in_channels: 8, but input value 2 has shape [4, 8, 8]");
}

TEST(DeployModel, CodesOutOfRangeInTheData) {
  Model m = testing::resnet_block_model();
  std::string bytes = encode_model(m);
  // The stem's int8 weights hold 8-bit codes; declared as 4-bit, code -128 is impossible.
  Model four = m;
  four.layers[1].conv.weights.bits = 4;
  EXPECT_ERROR(validate(four, "m"), "m: layer 1 'stem': weights.codes: code ");
  EXPECT_ERROR(validate(four, "m"), "is outside [-8, 7] of 4-bit codes");
  EXPECT_ERROR(encode_model(four, "out.r2q"), "out.r2q: layer 1 'stem': weights.codes");
  EXPECT_ERROR(
      decode_model(edit(bytes, [](FileParts& p) { p.header["graph"]["layers"][1]["weights"]["bits"] = 4; }),
                   "t.r2q"),
      "t.r2q: layer 1 'stem': weights.codes: code");
  // A bit set past K in a bit-plane (K = 36 for conv1): corruption with a valid checksum.
  FileParts parts = split(bytes);
  const json& planes = parts.header["sections"][6];
  ASSERT_EQ(planes["dtype"], "u64");
  parts.data[planes["offset"].get<std::size_t>() + 7] |= static_cast<char>(0x80);  // bit 63 of the first word
  EXPECT_ERROR(
      decode_model(join(parts), "t.r2q"),
      "t.r2q: layer 2 'block.conv1': weights.planes: bit-planes: channel 0 plane 0 has bits set past K = 36");
}

TEST(DeployModel, ValidateChecksBitsScalesAndRanges) {
  const Model good = testing::resnet_block_model();
  auto with = [&](const std::function<void(Model&)>& change) {
    Model m = good;
    change(m);
    return m;
  };
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[2].conv.weights.bits = 9; })),
               "model: layer 2 'block.conv1': weights.bits: 9 is out of range [1, 8]");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[1].conv.weights.bits = 1; })),
               "weights.bits: 1 is out of range [2, 8]");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[2].conv.input_quant.bits = 0; })),
               "input_quant.bits: 0 is out of range for unsigned codes [1, 8]");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[2].conv.input_quant.scale = std::nanf(""); })),
               "layer 2 'block.conv1': input_quant.scale: nan is not a finite positive number");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[2].conv.input_quant.max_code = 4; })),
               "input_quant: codes [0, 4] must lie in [0, 3]");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[2].conv.weights.scale[1] = INFINITY; })),
               "weights.scale: element 1 is not finite");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[3].conv.mul.pop_back(); })),
               "layer 3 'block.conv2': mul: 7 values, expected 8 (out channels)");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[0].normalize.inv_std[2] = NAN; })),
               "layer 0 'normalize': inv_std: element 2 is not finite");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[3].conv.groups = 3; })), "groups: 3 does not divide");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[6].activation = Activation::Relu; })),
               "layer 6 'pool': activation: global_avg_pool has no fused activation");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[4].conv.mul = {1.0f}; })),
               "conv: set on a channel_pad_subsample");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[7].inputs = {6}; })),
               "linear needs [F, 1, 1] (add a flatten or global_avg_pool)");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[5].inputs = {4}; })), "add takes 2 or more");
  EXPECT_ERROR(validate(with([](Model& m) {
                 m.layers[5].inputs = {4, 2};
               })),
               "layer 5 'block.add': inputs: value 2 has shape [4, 8, 8], value 4 has [8, 4, 4]");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers.clear(); })), "the model has no layers");
  EXPECT_ERROR(validate(with([](Model& m) { m.metadata = json::array(); })),
               "metadata: must be a JSON object");
  EXPECT_ERROR(validate(with([](Model& m) { m.layers[1].name = ""; })), "layer 1: name: is empty");
  // Odd codes cannot be even by construction; packing rejects them.
  std::vector<int32_t> even = {1, 2, -3};
  EXPECT_ERROR(pack_odd_planes(even, 1, 3, 2), "code 2 at [0, 1] is not odd in [-3, 3]");
  // Accumulators that could overflow int32: 8-bit codes over a huge K.
  Model wide;
  wide.input = {4096, 1, 1};
  wide.layers.push_back(testing::conv_layer("fc", 0, 1,
                                            {.in = 4096,
                                             .out = 1,
                                             .format = WeightFormat::IntCodes,
                                             .weight_bits = 8,
                                             .kind = ActKind::Unsigned,
                                             .act_bits = 8,
                                             .linear = true},
                                            1));
  wide.output = 1;
  EXPECT_NO_THROW(validate(wide));  // 4096 * 128 * 255 < 2^31
  wide.input.c = wide.layers[0].conv.in_channels = 131072;
  wide.layers[0].conv.weights.codes.assign(131072, 0);
  EXPECT_ERROR(validate(wide), "layer 0 'fc': weights: an accumulator can reach 4278190080");
  wide.layers[0].conv.input_quant.bits = 9;
  EXPECT_ERROR(validate(wide), "input_quant.bits: 9");
}

TEST(DeployModel, PlanesRoundTripAndMatchTheDocumentedLayout) {
  // Codes 3, -1 (channel 0) and -3, 1 (channel 1), k = 2: u = (m + 3) / 2 = 3, 1 | 0, 2.
  std::vector<int32_t> codes = {3, -1, -3, 1};
  auto planes = pack_odd_planes(codes, 2, 2, 2);
  EXPECT_EQ(planes, (std::vector<uint64_t>{0b11, 0b01, 0b00, 0b10}));
  EXPECT_EQ(unpack_odd_planes(planes, 2, 2, 2), codes);
  // 1-bit codes are signs; K = 130 spans three words per plane.
  std::vector<int32_t> signs(2 * 130);
  for (std::size_t i = 0; i < signs.size(); ++i) signs[i] = (i * 7 % 3 == 0) ? 1 : -1;
  auto packed = pack_odd_planes(signs, 2, 130, 1);
  EXPECT_EQ(packed.size(), 6u);
  EXPECT_EQ(unpack_odd_planes(packed, 2, 130, 1), signs);
}

}  // namespace
}  // namespace r2q::deploy
