// The JSON form of a model's graph (ops, names, values, attributes) and the list of tensors each layer
// stores in binary sections; used by model_file.cpp.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/deploy/model.h"

namespace r2q::deploy {

// The "graph" object: input shape, output value, layers with their attributes (tensors are sections).
nlohmann::json graph_to_json(const Model& model);
// The inverse; every tensor of the result is empty. Throws InputError naming `source`, the layer and the
// field for a missing key, a wrong type or an unknown name.
Model graph_from_json(const nlohmann::json& graph, const std::string& source);

// One entry of the header's "sections" table: where a tensor of a layer lies in the data region.
struct SectionEntry {
  uint64_t layer = 0;  // index into the graph's layers
  std::string field;   // the tensor, as for_each_tensor names it
  std::string dtype;   // f32, i8, u64
  std::vector<int64_t> shape;
  uint64_t offset = 0, size = 0;  // bytes, relative to the data region
  std::string sha256;             // of the section's bytes, lowercase hex
};

nlohmann::json sections_to_json(const std::vector<SectionEntry>& sections);
// Reads the "sections" table of `header`; checks keys and types only (bounds and checksums are the caller's).
std::vector<SectionEntry> sections_from_json(const nlohmann::json& header, const std::string& source);
// "section 3 (layer 1 'stem', weight)" for messages, with the layer's name looked up in the header's graph
// when it is there.
std::string describe_section(const nlohmann::json& header, std::size_t index, const SectionEntry& entry);

// Section dtypes: the element types of the tensors.
template <typename T>
constexpr std::string_view dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "f32";
  if constexpr (std::is_same_v<T, int8_t>) return "i8";
  if constexpr (std::is_same_v<T, uint64_t>) return "u64";
}
// Bytes per element of a dtype name; 0 for an unknown name.
std::size_t dtype_size(std::string_view dtype);

// Calls visit(field, shape, vector) for every tensor of `layer` (Layer or const Layer), in file order, with
// the shape its attributes give it.
template <typename L, typename Visit>
void for_each_tensor(L& layer, Visit&& visit) {
  using Shape1 = std::vector<int64_t>;
  if (layer.op == Op::Normalize) {
    const int64_t c = static_cast<int64_t>(layer.normalize.mean.size());
    visit("mean", Shape1{c}, layer.normalize.mean);
    visit("inv_std", Shape1{c}, layer.normalize.inv_std);
    return;
  }
  if (layer.op != Op::Conv2d && layer.op != Op::Linear) return;
  auto& conv = layer.conv;
  const int64_t o = conv.out_channels, k = conv.k();
  switch (conv.weights.format) {
    case WeightFormat::Float:
      visit("weight", Shape1{o, k}, conv.weights.values);
      break;
    case WeightFormat::OddPlanes:
      visit("weight", Shape1{o, conv.weights.bits, plane_words(k)}, conv.weights.planes);
      break;
    case WeightFormat::IntCodes:
      visit("weight", Shape1{o, k}, conv.weights.codes);
      break;
  }
  if (conv.weights.format != WeightFormat::Float) visit("weight_scale", Shape1{o}, conv.weights.scale);
  if (conv.input_affine.on) {
    visit("input_offset", Shape1{conv.in_channels}, conv.input_affine.offset);
    visit("input_mul", Shape1{conv.in_channels}, conv.input_affine.mul);
  }
  visit("mul", Shape1{o}, conv.mul);
  visit("bias", Shape1{o}, conv.bias);
}

}  // namespace r2q::deploy
