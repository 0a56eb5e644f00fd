// Dataset readers on files generated in their real formats (good, truncated, wrong magic, bad labels), the
// validation split and limits, and the deterministic batch loader with augmentation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "core/data/cifar.h"
#include "core/data/idx.h"
#include "core/data/loader.h"
#include "core/data/registry.h"
#include "core/util/error.h"
#include "core/util/rng.h"
#include "tests/support/dataset_files.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace r2q::data {
namespace {

using r2q::testing::TempDir;

using r2q::testing::error_of;

std::vector<uint8_t> labels_for(uint32_t n, uint8_t classes = 10) {
  std::vector<uint8_t> l(n);
  for (uint32_t i = 0; i < n; ++i) l[i] = static_cast<uint8_t>(i % classes);
  return l;
}

// A Fashion-MNIST-shaped directory with n_train / n_test images of 28x28.
std::filesystem::path write_idx_dataset(const TempDir& dir, uint32_t n_train, uint32_t n_test,
                                        bool compress = true) {
  auto put = [&](const std::string& name, const std::string& raw) {
    dir.write("fm/" + name + (compress ? ".gz" : ""), compress ? testing::gzip(raw) : raw);
  };
  put("train-images-idx3-ubyte", testing::idx_bytes({n_train, 28, 28}));
  put("train-labels-idx1-ubyte", testing::idx_bytes({n_train}, labels_for(n_train)));
  put("t10k-images-idx3-ubyte", testing::idx_bytes({n_test, 28, 28}));
  put("t10k-labels-idx1-ubyte", testing::idx_bytes({n_test}, labels_for(n_test)));
  return dir / "fm";
}

TEST(Idx, DecodesShapeAndBytes) {
  auto t = decode_idx(testing::idx_bytes({3, 4, 5}), "x");
  EXPECT_EQ(t.sizes(), torch::IntArrayRef({3, 4, 5}));
  EXPECT_EQ(t.flatten()[8].item<int>(), 56);
}

TEST(Idx, ReadsGzipAndPlainFilesAlike) {
  TempDir dir;
  for (bool compress : {true, false}) {
    auto root = write_idx_dataset(dir, 20, 10, compress);
    auto raw = dataset_registry().get("fashion-mnist").load(root, {});
    EXPECT_EQ(raw.train.images.sizes(), torch::IntArrayRef({20, 1, 28, 28}));
    EXPECT_EQ(raw.test.labels.size(0), 10);
    EXPECT_EQ(raw.train.labels[13].item<int64_t>(), 3);
    EXPECT_EQ(raw.info.fingerprint.size(), 64u);
    std::filesystem::remove_all(root);
  }
}

TEST(Idx, WrongMagicTruncationAndTrailingBytesNameTheFile) {
  std::string good = testing::idx_bytes({2, 3, 3});
  std::string bad_magic = good;
  bad_magic[0] = 1;
  EXPECT_NE(error_of([&] { decode_idx(bad_magic, "imgs.idx"); }).find("imgs.idx: not an IDX file"),
            std::string::npos);
  std::string bad_type = good;
  bad_type[2] = 0x0D;
  EXPECT_NE(error_of([&] { decode_idx(bad_type, "f"); }).find("element type 0x0d"), std::string::npos);
  auto truncated = error_of([&] { decode_idx(good.substr(0, good.size() - 5), "imgs.idx"); });
  EXPECT_NE(truncated.find("imgs.idx: truncated: the header declares 18 bytes of data, the file has 13"),
            std::string::npos)
      << truncated;
  EXPECT_NE(error_of([&] { decode_idx(good + "xx", "f"); }).find("2 bytes after the data"),
            std::string::npos);
  EXPECT_NE(error_of([&] { decode_idx(good.substr(0, 9), "f"); }).find("truncated IDX header"),
            std::string::npos);
}

TEST(Idx, DimensionsWhoseProductOverflowsAreAnInputError) {
  // 65536^4 wrapped to 0 in 64 bits and matched the empty data; torch::empty then threw its own error.
  std::string header = testing::idx_bytes({65536, 65536, 65536, 65536}, {1});
  header.pop_back();
  EXPECT_NE(error_of([&] { decode_idx(header, "big.idx"); }).find("big.idx: IDX dimensions 65536 x 65536"),
            std::string::npos);
}

TEST(Idx, CorruptGzipAndMismatchedFilesAreReported) {
  TempDir dir;
  auto root = write_idx_dataset(dir, 20, 10);
  std::string gz = testing::read_text(root / "train-images-idx3-ubyte.gz");
  dir.write("fm/train-images-idx3-ubyte.gz", gz.substr(0, gz.size() / 2));
  EXPECT_NE(error_of([&] {
              dataset_registry().get("fashion-mnist").load(root, {});
            }).find("train-images-idx3-ubyte.gz: truncated gzip"),
            std::string::npos);
  dir.write("fm/train-images-idx3-ubyte.gz", testing::gzip(testing::idx_bytes({19, 28, 28})));
  EXPECT_NE(error_of([&] {
              dataset_registry().get("fashion-mnist").load(root, {});
            }).find("20 labels for 19 images"),
            std::string::npos);
  dir.write("fm/train-images-idx3-ubyte.gz", testing::gzip(testing::idx_bytes({20, 28, 28})));
  auto labels = labels_for(20);
  labels[7] = 12;
  dir.write("fm/train-labels-idx1-ubyte.gz", testing::gzip(testing::idx_bytes({20}, labels)));
  EXPECT_NE(error_of([&] {
              dataset_registry().get("fashion-mnist").load(root, {});
            }).find("label 12 at index 7 is out of range"),
            std::string::npos);
  dir.write("fm/train-labels-idx1-ubyte.gz", testing::gzip(testing::idx_bytes({20}, labels_for(20))));
  std::filesystem::remove(root / "t10k-images-idx3-ubyte.gz");
  EXPECT_NE(error_of([&] {
              dataset_registry().get("fashion-mnist").load(root, {});
            }).find("missing t10k-images-idx3-ubyte.gz"),
            std::string::npos);
}

TEST(Cifar, ReadsBatchesAndRejectsBadOnes) {
  TempDir dir;
  for (int i = 1; i <= 5; ++i)
    dir.write("c/cifar-10-batches-bin/data_batch_" + std::to_string(i) + ".bin",
              testing::cifar_bytes({1, 2, 3}));
  dir.write("c/cifar-10-batches-bin/test_batch.bin", testing::cifar_bytes({9, 0}));
  auto raw = dataset_registry().get("cifar10").load(dir / "c", {});
  EXPECT_EQ(raw.train.images.sizes(), torch::IntArrayRef({15, 3, 32, 32}));
  EXPECT_EQ(raw.test.labels[0].item<int64_t>(), 9);
  EXPECT_EQ(raw.train.images[1][0][0][1].item<int>(), 2);  // record 1, pixel 1: (1 + 1) % 256
  std::string bytes = testing::cifar_bytes({1, 2});
  EXPECT_NE(error_of([&] {
              decode_cifar10(bytes.substr(0, 5000), "b.bin");
            }).find("b.bin: not a CIFAR-10 binary batch"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              decode_cifar10(testing::cifar_bytes({3, 10}), "b.bin");
            }).find("record 1 has label 10"),
            std::string::npos);
}

TEST(Datasets, MissingDatasetSaysHowToGetIt) {
  auto message = error_of([] { load({.name = "fashion-mnist", .root = "/nonexistent/fm"}); });
  EXPECT_NE(message.find("no dataset at /nonexistent/fm"), std::string::npos) << message;
  EXPECT_NE(message.find("apt-get install dataset-fashion-mnist"), std::string::npos) << message;
  EXPECT_NE(error_of([] { load({.name = "imagenet-21k"}); }).find("unknown dataset \"imagenet-21k\""),
            std::string::npos);
}

TEST(Datasets, ValidationSplitAndLimits) {
  TempDir dir;
  auto root = write_idx_dataset(dir, 100, 40);
  auto s = load(
      {.name = "fashion-mnist", .root = root.string(), .train_limit = 30, .test_limit = 25, .val_size = 20});
  EXPECT_EQ(s.train.size(), 30);
  EXPECT_EQ(s.val.size(), 20);
  EXPECT_EQ(s.test.size(), 25);
  EXPECT_EQ(s.val.labels[0].item<int64_t>(), 80 % 10);  // validation is the end of the training file
  EXPECT_NE(error_of([&] {
              load({.name = "fashion-mnist", .root = root.string(), .val_size = 100});
            }).find("dataset.val_size: 100 leaves no training images"),
            std::string::npos);
}

TEST(Datasets, SyntheticIsFixedAndIndependentOfTheRunSeed) {
  auto a = load({.name = "synthetic"});
  auto b = load({.name = "synthetic"});
  EXPECT_TRUE(torch::equal(a.train.images, b.train.images));
  EXPECT_EQ(a.train.size(), 2000);
  EXPECT_EQ(load({.name = "synthetic-rgb"}).info.channels, 3);
}

TEST(Loader, ShuffleIsAPermutationDeterminedBySeedAndEpoch) {
  auto s = load({.name = "synthetic"});
  auto order = [&](uint64_t seed, int64_t epoch) {
    Dataset indexed{s.train.images, torch::arange(s.train.size(), torch::kInt64)};
    BatchLoader loader(indexed,
                       {.batch_size = 64, .shuffle = true, .drop_last = true, .seed = seed, .epoch = epoch});
    std::vector<int64_t> all;
    for (int64_t b = 0; b < loader.size(); ++b) {
      auto batch = loader[b];
      for (int64_t i = 0; i < batch.labels.size(0); ++i) all.push_back(batch.labels[i].item<int64_t>());
    }
    return all;
  };
  auto a = order(1, 1);
  EXPECT_EQ(a.size(), 2000u / 64 * 64);
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), a.size());
  EXPECT_EQ(a, order(1, 1));
  EXPECT_NE(a, order(1, 2));
  EXPECT_NE(a, order(2, 1));
}

TEST(Loader, PixelsAreScaledToUnitRange) {
  auto s = load({.name = "synthetic"});
  BatchLoader loader(s.test, {.batch_size = 100});
  auto batch = loader[0];
  EXPECT_EQ(batch.images.dtype(), torch::kFloat32);
  EXPECT_GE(batch.images.min().item<float>(), 0.0f);
  EXPECT_LE(batch.images.max().item<float>(), 1.0f);
  EXPECT_TRUE(torch::allclose(batch.images, s.test.images.slice(0, 0, 100).to(torch::kFloat32) / 255));
}

TEST(Augment, CropShiftsWithZeroPaddingAndFlipMirrors) {
  // One 1x4x4 image with distinct pixels; with pad 0 the only change can be a flip.
  auto img = torch::arange(1, 17, torch::kUInt8).view({1, 1, 4, 4});
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    auto out = augment_images(img, 0, seed);
    bool same = torch::equal(out, img), flipped = torch::equal(out, img.flip({3}));
    EXPECT_TRUE(same || flipped);
    seen.insert(same ? "same" : "flipped");
  }
  EXPECT_EQ(seen.size(), 2u);
  // With padding every output pixel is either zero or a pixel of the input, and the content is shifted
  // intact.
  for (uint64_t seed = 0; seed < 32; ++seed) {
    auto out = augment_images(img, 2, seed);
    auto nonzero = out.flatten().masked_select(out.flatten() > 0);
    for (int64_t i = 0; i < nonzero.size(0); ++i) EXPECT_LE(nonzero[i].item<int>(), 16);
    EXPECT_EQ(
        std::set<int>(nonzero.data_ptr<uint8_t>(), nonzero.data_ptr<uint8_t>() + nonzero.size(0)).size(),
        static_cast<size_t>(nonzero.size(0)));
  }
}

// Issue 17: augmentation is batched tensor work on the images' device. Its draws and results are those of the
// per-image loop it replaced (written out here), so runs and the nightly golden results are unchanged.
TEST(Augment, BatchedCropAndFlipEqualThePerImageLoop) {
  auto loop = [](const torch::Tensor& in, int pad, std::uint64_t seed) {
    const int64_t n = in.size(0), c = in.size(1), h = in.size(2), w = in.size(3);
    torch::Tensor out = torch::zeros_like(in);
    auto src = in.accessor<uint8_t, 4>();
    auto dst = out.accessor<uint8_t, 4>();
    Rng rng(seed);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t dy = static_cast<int64_t>(rng.below(2 * pad + 1)) - pad;
      const int64_t dx = static_cast<int64_t>(rng.below(2 * pad + 1)) - pad;
      const bool flip = rng.below(2) == 1;
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x) {
            const int64_t sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
            if (sy >= 0 && sy < h && sx >= 0 && sx < w) dst[i][ch][y][x] = src[i][ch][sy][sx];
          }
    }
    return out;
  };
  torch::manual_seed(3);
  for (const auto& shape : std::vector<std::vector<int64_t>>{{16, 1, 28, 28}, {5, 3, 32, 32}, {2, 3, 7, 5}})
    for (int pad : {0, 1, 4})
      for (std::uint64_t seed : {0ull, 7ull, 123456789ull}) {
        const torch::Tensor images = torch::randint(0, 256, shape, torch::kUInt8);
        EXPECT_TRUE(torch::equal(augment_images(images, pad, seed), loop(images, pad, seed)))
            << "pad " << pad << ", seed " << seed;
      }
}

}  // namespace
}  // namespace r2q::data
