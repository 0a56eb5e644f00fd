// The input affine of format version 2: the first layer on the pixels' 8-bit codes with the input
// normalisation folded in (core/deploy/input_affine.h), its semantics in the reference interpreter, its
// validation and its file format.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/deploy/codes.h"
#include "core/deploy/input_affine.h"
#include "core/deploy/model_file.h"
#include "core/deploy/model_json.h"
#include "core/deploy/reference.h"
#include "core/util/error.h"
#include "core/util/sha256.h"
#include "tests/support/deploy_test_models.h"
#include "tests/support/error_of.h"

namespace r2q::deploy {
namespace {

Model folded(Model m) {
  EXPECT_TRUE(fold_input_normalize(m));
  return m;
}

// n images of 8-bit pixels p / 255 (value 0's meaning), from a fixed seed.
FloatBatch pixels(const Shape& shape, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> p(0, 255);
  FloatBatch x(n, shape);
  for (float& v : x.data) v = static_cast<float>(p(rng)) / 255.0f;
  return x;
}

TEST(DeployInputAffine, PixelCodesGiveEveryPixelBack) {
  const InputQuant q = pixel_codes();
  for (int p = 0; p <= 255; ++p) EXPECT_EQ(quantize_activation(static_cast<float>(p) / 255.0f, q), p);
}

TEST(DeployInputAffine, FoldingReplacesTheNormalizeLayer) {
  const Model plain = testing::resnet_block_model();
  const Model m = folded(plain);
  ASSERT_EQ(m.layers.size(), plain.layers.size() - 1);
  const Layer& stem = m.layers[0];
  EXPECT_EQ(stem.name, "stem");
  EXPECT_EQ(stem.inputs, std::vector<int>{kInputValue});
  EXPECT_EQ(stem.conv.input_quant, pixel_codes());
  ASSERT_TRUE(stem.conv.input_affine.on);
  const NormalizeParams& n = plain.layers[0].normalize;
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(stem.conv.input_affine.offset[c], 255.0f * n.mean[c]);
    EXPECT_EQ(stem.conv.input_affine.mul[c], n.inv_std[c] / 255.0f);
  }
  validate(m);
  // Nothing to fold: already folded, or a normalize whose reader is not an integer-weight conv.
  Model again = m;
  EXPECT_FALSE(fold_input_normalize(again));
  EXPECT_TRUE(again == m);
  Model float_weights = testing::resnet_block_model();
  Weights& w = float_weights.layers[1].conv.weights;
  w = Weights{};
  w.values.assign(4 * 27, 0.5f);
  EXPECT_FALSE(fold_input_normalize(float_weights));
}

// The folded model is the same function: its logits match the unfolded model's to float tolerance (the
// roundings differ: normalised pixels in float32 against exact integer sums and one double epilogue).
TEST(DeployInputAffine, FoldedModelsComputeTheSameFunction) {
  // ResNet's 3x3 stem with padding, and the same stem 5x5 with stride 2.
  Model strided = testing::resnet_block_model();
  Conv& c = strided.layers[1].conv;
  c.kernel_h = c.kernel_w = 5;
  c.stride_h = c.stride_w = 2;
  c.pad_h = c.pad_w = 2;
  c.weights.codes.resize(static_cast<std::size_t>(4 * 3 * 25), int8_t{-77});
  strided.layers.resize(2);
  strided.layers.push_back(testing::simple_layer(Op::GlobalAvgPool, "pool", {2}, 3));
  strided.output = 3;
  strided.metadata["classes"] = 4;
  for (const Model& plain : {testing::resnet_block_model(), strided}) {
    const Model m = folded(plain);
    const FloatBatch x = pixels(m.input, 3, 5);
    const ReferenceResult a = run_reference(plain, x, {.keep_values = true});
    const ReferenceResult b = run_reference(m, x, {.keep_values = true});
    // The first layer's output, before any later quantizer can amplify a last-bit difference.
    const int stem_out = m.layers[0].output;
    const FloatBatch& want = a.values.at(stem_out);
    const FloatBatch& got = b.values.at(stem_out);
    ASSERT_EQ(got.data.size(), want.data.size());
    for (std::size_t i = 0; i < got.data.size(); ++i)
      EXPECT_NEAR(got.data[i], want.data[i], 1e-4 * std::max(1.0f, std::fabs(want.data[i]))) << i;
  }
}

// The documented formula written out with other loops: per input channel, the window's taps inside the image,
// sum_k W * code and sum_k W; then the two channel sums in double and the float epilogue.
TEST(DeployInputAffine, ReferenceFollowsTheDocumentedFormula) {
  const Model m = folded(testing::resnet_block_model());
  const Layer& stem = m.layers[0];
  const Conv& c = stem.conv;
  const FloatBatch x = pixels(m.input, 2, 11);
  const ReferenceResult r = run_reference(m, x, {.keep_accumulators = true, .keep_values = true});
  const FloatBatch& y = r.values.at(stem.output);
  const IntBatch& acc = r.accumulators.at(0);
  ASSERT_EQ(acc.shape, (Shape{3 * 4, 8, 8}));
  const std::vector<int32_t> w = weight_codes(c);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t o = 0; o < 4; ++o)
      for (int64_t oy = 0; oy < 8; ++oy)
        for (int64_t ox = 0; ox < 8; ++ox) {
          double scaled = 0, offsets = 0;
          for (int64_t ci = 0; ci < 3; ++ci) {
            int64_t sum = 0, wsum = 0;
            for (int64_t ky = 0; ky < 3; ++ky)
              for (int64_t kx = 0; kx < 3; ++kx) {
                const int64_t iy = oy + ky - 1, ix = ox + kx - 1;
                if (iy < 0 || iy >= 8 || ix < 0 || ix >= 8) continue;
                const int32_t wk = w[static_cast<std::size_t>(o * 27 + ci * 9 + ky * 3 + kx)];
                sum += wk * quantize_activation(x.at(b, ci, iy, ix), c.input_quant);
                wsum += wk;
              }
            EXPECT_EQ(acc.at(b, ci * 4 + o, oy, ox), sum);
            const auto ch = static_cast<std::size_t>(ci);
            scaled += static_cast<double>(c.input_affine.mul[ch]) * static_cast<double>(sum);
            offsets += static_cast<double>(c.input_affine.mul[ch]) *
                       (static_cast<double>(c.input_affine.offset[ch]) * static_cast<double>(wsum));
          }
          const float t = static_cast<float>(scaled - offsets);
          const float product = t * c.mul[static_cast<std::size_t>(o)];
          const float want = std::max(product + c.bias[static_cast<std::size_t>(o)], 0.0f);  // ReLU
          EXPECT_EQ(y.at(b, o, oy, ox), want) << b << " " << o << " " << oy << " " << ox;
        }
}

// Output rows with the same kernel rows inside the image share their offset terms: top, middle and bottom
// rows for 3x3 with padding 1; every row for a 7x7 stride-2 stem on 13 rows is one of four.
TEST(DeployInputAffine, OffsetTermsAreSharedByRowClass) {
  const Model m = folded(testing::resnet_block_model());
  const AffineOffsets offsets = affine_offsets(m.layers[0].conv, m.input);
  EXPECT_EQ(offsets.row_class, (std::vector<int64_t>{0, 1, 1, 1, 1, 1, 1, 2}));
  EXPECT_EQ(offsets.terms.size(), 3u * 8 * 4);
  Conv wide = m.layers[0].conv;
  wide.kernel_h = wide.kernel_w = 7;
  wide.stride_h = wide.stride_w = 2;
  wide.pad_h = wide.pad_w = 3;
  wide.weights.codes.assign(static_cast<std::size_t>(4 * 3 * 49), 1);
  const AffineOffsets seven = affine_offsets(wide, {3, 13, 13});
  EXPECT_EQ(seven.row_class, (std::vector<int64_t>{0, 1, 2, 2, 2, 3, 4}));
}

TEST(DeployInputAffine, ValidateNamesWhatIsWrong) {
  const Model good = folded(testing::resnet_block_model());
  auto bad = [&](auto change) {
    Model m = good;
    change(m.layers[0].conv);
    return r2q::testing::error_of([&] { validate(m, "m.r2q"); });
  };
  EXPECT_NE(bad([](Conv& c) { c.input_affine.offset.pop_back(); }).find("input_offset"), std::string::npos);
  EXPECT_NE(bad([](Conv& c) { c.input_affine.mul[1] = NAN; }).find("input_mul"), std::string::npos);
  EXPECT_NE(bad([](Conv& c) { c.input_affine.on = false; }).find("input_affine is off"), std::string::npos);
  EXPECT_NE(bad([](Conv& c) { c.input_quant = {}; }).find("needs integer input codes"), std::string::npos);
}

TEST(DeployInputAffine, FilesAreVersionTwoOnlyWhenTheyNeedIt) {
  const Model plain = testing::resnet_block_model();
  const Model m = folded(plain);
  const std::string v1 = encode_model(plain), v2 = encode_model(m);
  EXPECT_EQ(v1[4], 1);
  EXPECT_EQ(v2[4], 2);
  EXPECT_EQ(format_version_needed(m), 2u);
  const Model back = decode_model(v2, "m.r2q");
  EXPECT_TRUE(back == m);
  EXPECT_EQ(encode_model(back), v2);
  EXPECT_NE(v2.find("\"input_affine\":true"), std::string::npos);
  EXPECT_NE(v2.find("\"field\":\"input_offset\""), std::string::npos);
  // The same bytes labelled version 1 (checksum fixed): an older reader would ignore the affine, so refused.
  std::string relabelled = v2;
  relabelled[4] = 1;
  relabelled.resize(relabelled.size() - 64);
  relabelled += sha256_hex(relabelled);
  EXPECT_NE(r2q::testing::error_of([&] { decode_model(relabelled, "m.r2q"); }).find("version 1 cannot hold"),
            std::string::npos);
}

}  // namespace
}  // namespace r2q::deploy
