// Graph <-> JSON: every attribute of every layer, read strictly (missing keys, wrong types and unknown names
// are errors that name the layer and the field; unknown keys are ignored: they are newer optional fields).
#include "core/deploy/model_json.h"

#include <limits>
#include <tuple>
#include <utility>

#include "core/util/error.h"
#include "core/util/text.h"

namespace r2q::deploy {
namespace {

using nlohmann::json;

// A JSON value for a message, shortened.
std::string brief(const json& v) {
  std::string text = v.dump();
  return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

// Typed access to the keys of one JSON object; `where` prefixes every message ("f.r2q: layer 3 'stem'").
class Fields {
 public:
  Fields(const json& object, std::string where, std::string prefix = "")
      : object_(object), where_(std::move(where)), prefix_(std::move(prefix)) {
    if (!object_.is_object())
      throw InputError(where_ + ": " + (prefix_.empty() ? "" : prefix_.substr(0, prefix_.size() - 1) + ": ") +
                       "expected a JSON object, found " + brief(object_));
  }

  // "f.r2q: layer 3 'stem': input_quant.kind", for messages of the parsers of names.
  std::string path(const std::string& key) const { return where_ + ": " + prefix_ + key; }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw InputError(path(key) + ": " + what);
  }

  const json& at(const std::string& key) const {
    auto it = object_.find(key);
    if (it == object_.end()) fail(key, "missing");
    return *it;
  }
  int64_t integer(const std::string& key) const { return to_integer(key, at(key)); }
  int int32(const std::string& key) const { return narrow(key, integer(key)); }
  double number(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_number()) fail(key, "expected a number, found " + brief(v));
    return v.get<double>();
  }
  bool has(const std::string& key) const { return object_.contains(key); }
  bool boolean(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_boolean()) fail(key, "expected true or false, found " + brief(v));
    return v.get<bool>();
  }
  std::string string(const std::string& key) const {
    const json& v = at(key);
    if (!v.is_string()) fail(key, "expected a string, found " + brief(v));
    return v.get<std::string>();
  }
  std::vector<int64_t> integers(const std::string& key, std::size_t count = 0) const {
    const json& v = at(key);
    if (!v.is_array() || (count > 0 && v.size() != count))
      fail(key, "expected an array of " + (count > 0 ? std::to_string(count) + " " : "") +
                    "integers, found " + brief(v));
    std::vector<int64_t> out;
    for (const json& e : v) out.push_back(to_integer(key, e));
    return out;
  }
  std::pair<int64_t, int64_t> pair(const std::string& key) const {
    auto v = integers(key, 2);
    return {v[0], v[1]};
  }
  Fields object(const std::string& key) const { return Fields(at(key), where_, prefix_ + key + "."); }

  int narrow(const std::string& key, int64_t v) const {
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      fail(key, std::to_string(v) + " is out of range");
    return static_cast<int>(v);
  }

 private:
  int64_t to_integer(const std::string& key, const json& v) const {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(key, brief(v) + " is out of range");
    if (!v.is_number_integer()) fail(key, "expected an integer, found " + brief(v));
    return v.get<int64_t>();
  }

  const json& object_;
  std::string where_, prefix_;
};

json input_quant_to_json(const InputQuant& q) {
  json j = {{"kind", to_string(q.kind)}};
  if (q.kind == ActKind::None) return j;
  j["bits"] = q.bits;
  j["scale"] = static_cast<double>(q.scale);  // float -> double -> shortest round-trip text: exact
  j["min_code"] = q.min_code;
  j["max_code"] = q.max_code;
  return j;
}

InputQuant input_quant_from_json(const Fields& f) {
  InputQuant q;
  q.kind = parse_act_kind(f.string("kind"), f.path("kind"));
  if (q.kind == ActKind::None) return q;
  q.bits = f.int32("bits");
  q.scale = static_cast<float>(f.number("scale"));
  q.min_code = f.int32("min_code");
  q.max_code = f.int32("max_code");
  return q;
}

json pair_json(int64_t a, int64_t b) {
  return json::array({a, b});
}

json layer_to_json(const Layer& l) {
  json j = {{"op", to_string(l.op)}, {"name", l.name}, {"inputs", l.inputs}, {"output", l.output}};
  const Conv& c = l.conv;
  switch (l.op) {
    case Op::Conv2d:
      j["in_channels"] = c.in_channels;
      j["out_channels"] = c.out_channels;
      j["kernel"] = pair_json(c.kernel_h, c.kernel_w);
      j["stride"] = pair_json(c.stride_h, c.stride_w);
      j["padding"] = pair_json(c.pad_h, c.pad_w);
      j["groups"] = c.groups;
      [[fallthrough]];
    case Op::Linear:
      if (l.op == Op::Linear) {
        j["in_features"] = c.in_channels;
        j["out_features"] = c.out_channels;
      }
      j["activation"] = to_string(l.activation);
      j["input_quant"] = input_quant_to_json(c.input_quant);
      if (c.input_affine.on) j["input_affine"] = true;  // format version 2; input_offset, input_mul sections
      j["weights"] = {{"format", to_string(c.weights.format)}};
      if (c.weights.format != WeightFormat::Float) j["weights"]["bits"] = c.weights.bits;
      break;
    case Op::Add:
      j["activation"] = to_string(l.activation);
      break;
    case Op::MaxPool:
    case Op::AvgPool:
      j["kernel"] = pair_json(l.pool.kernel_h, l.pool.kernel_w);
      j["stride"] = pair_json(l.pool.stride_h, l.pool.stride_w);
      j["padding"] = pair_json(l.pool.pad_h, l.pool.pad_w);
      j["ceil_mode"] = l.pool.ceil_mode;
      if (l.op == Op::AvgPool) j["count_include_pad"] = l.pool.count_include_pad;
      break;
    case Op::ChannelPadSubsample:
      j["stride"] = l.shortcut.stride;
      j["pad_before"] = l.shortcut.pad_before;
      j["pad_after"] = l.shortcut.pad_after;
      break;
    case Op::Normalize:  // mean and inv_std are sections
    case Op::Concat:
    case Op::GlobalAvgPool:
    case Op::Flatten:
      break;
  }
  return j;
}

Layer layer_from_json(const json& j, const std::string& source, std::size_t index) {
  const std::string where = source + ": layer " + std::to_string(index);
  Layer l;
  l.name = Fields(j, where).string("name");
  Fields f(j, where + " '" + l.name + "'");
  l.op = parse_op(f.string("op"), f.path("op"));
  for (int64_t v : f.integers("inputs")) l.inputs.push_back(f.narrow("inputs", v));
  l.output = f.int32("output");
  auto activation = [&] { l.activation = parse_activation(f.string("activation"), f.path("activation")); };
  Conv& c = l.conv;
  switch (l.op) {
    case Op::Conv2d:
      c.in_channels = f.integer("in_channels");
      c.out_channels = f.integer("out_channels");
      std::tie(c.kernel_h, c.kernel_w) = f.pair("kernel");
      std::tie(c.stride_h, c.stride_w) = f.pair("stride");
      std::tie(c.pad_h, c.pad_w) = f.pair("padding");
      c.groups = f.integer("groups");
      [[fallthrough]];
    case Op::Linear: {
      if (l.op == Op::Linear) {
        c.in_channels = f.integer("in_features");
        c.out_channels = f.integer("out_features");
      }
      activation();
      c.input_quant = input_quant_from_json(f.object("input_quant"));
      c.input_affine.on = f.has("input_affine") && f.boolean("input_affine");
      Fields w = f.object("weights");
      c.weights.format = parse_weight_format(w.string("format"), w.path("format"));
      if (c.weights.format != WeightFormat::Float) c.weights.bits = w.int32("bits");
      break;
    }
    case Op::Add:
      activation();
      break;
    case Op::MaxPool:
    case Op::AvgPool:
      std::tie(l.pool.kernel_h, l.pool.kernel_w) = f.pair("kernel");
      std::tie(l.pool.stride_h, l.pool.stride_w) = f.pair("stride");
      std::tie(l.pool.pad_h, l.pool.pad_w) = f.pair("padding");
      l.pool.ceil_mode = f.boolean("ceil_mode");
      if (l.op == Op::AvgPool) l.pool.count_include_pad = f.boolean("count_include_pad");
      break;
    case Op::ChannelPadSubsample:
      l.shortcut.stride = f.integer("stride");
      l.shortcut.pad_before = f.integer("pad_before");
      l.shortcut.pad_after = f.integer("pad_after");
      break;
    case Op::Normalize:
    case Op::Concat:
    case Op::GlobalAvgPool:
    case Op::Flatten:
      break;
  }
  return l;
}

}  // namespace

json graph_to_json(const Model& model) {
  json layers = json::array();
  for (const Layer& l : model.layers) layers.push_back(layer_to_json(l));
  return {{"input_shape", {model.input.c, model.input.h, model.input.w}},
          {"output", model.output},
          {"layers", std::move(layers)}};
}

Model graph_from_json(const json& graph, const std::string& source) {
  Fields f(graph, source, "graph.");
  Model model;
  auto shape = f.integers("input_shape", 3);
  model.input = {shape[0], shape[1], shape[2]};
  model.output = f.int32("output");
  const json& layers = f.at("layers");
  if (!layers.is_array()) f.fail("layers", "expected an array, found " + layers.dump());
  for (std::size_t i = 0; i < layers.size(); ++i)
    model.layers.push_back(layer_from_json(layers[i], source, i));
  return model;
}

json sections_to_json(const std::vector<SectionEntry>& sections) {
  json out = json::array();
  for (const SectionEntry& s : sections)
    out.push_back({{"layer", s.layer},
                   {"field", s.field},
                   {"dtype", s.dtype},
                   {"shape", s.shape},
                   {"offset", s.offset},
                   {"size", s.size},
                   {"sha256", s.sha256}});
  return out;
}

std::string describe_section(const json& header, std::size_t index, const SectionEntry& entry) {
  std::string out = "section " + std::to_string(index) + " (layer " + std::to_string(entry.layer);
  // The header may be anything here: look the name up without assuming its structure.
  auto graph = header.find("graph");
  if (graph != header.end() && graph->is_object()) {
    auto layers = graph->find("layers");
    if (layers != graph->end() && layers->is_array() && entry.layer < layers->size()) {
      const json& layer = (*layers)[entry.layer];
      if (layer.is_object() && layer.contains("name") && layer["name"].is_string())
        out += " '" + layer["name"].get<std::string>() + "'";
    }
  }
  return out + ", " + (entry.field.empty() ? "?" : entry.field) + ")";
}

std::vector<SectionEntry> sections_from_json(const json& header, const std::string& source) {
  Fields top(header, source, "header.");
  const json& table = top.at("sections");
  if (!table.is_array()) top.fail("sections", "expected an array, found " + brief(table));
  std::vector<SectionEntry> out;
  for (std::size_t i = 0; i < table.size(); ++i) {
    Fields f(table[i], source + ": section " + std::to_string(i));
    SectionEntry s;
    auto unsigned_field = [&](const char* key) {
      int64_t v = f.integer(key);
      if (v < 0) f.fail(key, std::to_string(v) + " is negative");
      return static_cast<uint64_t>(v);
    };
    s.layer = unsigned_field("layer");
    s.field = f.string("field");
    Fields g(table[i], source + ": " + describe_section(header, i, s));
    s.dtype = g.string("dtype");
    if (dtype_size(s.dtype) == 0)
      g.fail("dtype", "unknown dtype " + quoted_value(s.dtype) + " (known: f32, i8, u64)");
    s.shape = g.integers("shape");
    for (int64_t d : s.shape)
      if (d < 0) g.fail("shape", "dimension " + std::to_string(d) + " is negative");
    s.offset = unsigned_field("offset");
    s.size = unsigned_field("size");
    s.sha256 = g.string("sha256");
    out.push_back(std::move(s));
  }
  return out;
}

std::size_t dtype_size(std::string_view dtype) {
  if (dtype == "f32") return 4;
  if (dtype == "i8") return 1;
  if (dtype == "u64") return 8;
  return 0;
}

}  // namespace r2q::deploy
