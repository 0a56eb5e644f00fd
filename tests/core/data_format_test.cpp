// The torch-free dataset decoders (IDX, CIFAR-10 binary, gzip) on good and damaged bytes: each damage is an
// InputError naming the file and what is wrong.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/cifar_format.h"
#include "core/data/files.h"
#include "core/data/idx_format.h"
#include "core/util/error.h"
#include "tests/support/dataset_files.h"
#include "tests/support/error_of.h"

namespace r2q::data {
namespace {

using r2q::testing::error_of;

#define EXPECT_ERROR(call, text) \
  EXPECT_NE(error_of([&] { call; }).find(text), std::string::npos) << error_of([&] { call; })

// An IDX header alone, for shapes whose data would be too large to write.
std::string idx_header(const std::vector<uint32_t>& shape) {
  std::string out = testing::idx_bytes(shape, {1});
  out.pop_back();
  return out;
}

TEST(IdxFormat, DecodesAnImagesFile) {
  std::string bytes = testing::idx_bytes({3, 28, 28});
  IdxArray a = parse_idx(bytes, "images.idx");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 28, 28}));
  ASSERT_EQ(a.data.size(), 3u * 28 * 28);
  EXPECT_EQ(a.data.data(), reinterpret_cast<const uint8_t*>(bytes.data()) + 16);  // a view, no copy
  EXPECT_EQ(a.data[8], 56);                                                       // (8 * 7) % 251
  EXPECT_EQ(a.data[2351], (2351 * 7) % 251);
}

TEST(IdxFormat, DecodesLabelsAndEmptyFiles) {
  std::string labels = testing::idx_bytes({4}, {0, 9, 3, 7});
  IdxArray a = parse_idx(labels, "labels.idx");
  EXPECT_EQ(a.shape, std::vector<int64_t>{4});
  EXPECT_EQ(std::vector<uint8_t>(a.data.begin(), a.data.end()), (std::vector<uint8_t>{0, 9, 3, 7}));
  std::string empty = idx_header({0, 28, 28});
  IdxArray e = parse_idx(empty, "empty.idx");
  EXPECT_EQ(e.shape, (std::vector<int64_t>{0, 28, 28}));
  EXPECT_TRUE(e.data.empty());
  IdxArray four = parse_idx(testing::idx_bytes({1, 2, 3, 4}), "4d.idx");
  EXPECT_EQ(four.data.size(), 24u);
}

TEST(IdxFormat, WrongMagicTypeAndRankNameTheFile) {
  std::string good = testing::idx_bytes({2, 3, 3});
  std::string bad = good;
  bad[1] = 8;
  EXPECT_ERROR(parse_idx(bad, "imgs.idx"), "imgs.idx: not an IDX file (wrong magic");
  bad = good;
  bad[2] = 0x0D;  // signed bytes
  EXPECT_ERROR(parse_idx(bad, "imgs.idx"), "imgs.idx: unsupported IDX element type 0x0d");
  bad = good;
  bad[3] = 0;
  EXPECT_ERROR(parse_idx(bad, "imgs.idx"), "imgs.idx: IDX header declares 0 dimensions (1-4 supported)");
  bad[3] = 5;
  EXPECT_ERROR(parse_idx(bad, "imgs.idx"), "IDX header declares 5 dimensions");
}

TEST(IdxFormat, TruncationAndTrailingBytesAreReported) {
  std::string good = testing::idx_bytes({2, 3, 3});
  EXPECT_ERROR(parse_idx("", "f.idx"), "f.idx: truncated IDX file (0 bytes)");
  EXPECT_ERROR(parse_idx(good.substr(0, 3), "f.idx"), "f.idx: truncated IDX file (3 bytes)");
  EXPECT_ERROR(parse_idx(good.substr(0, 15), "f.idx"), "f.idx: truncated IDX header");
  EXPECT_ERROR(parse_idx(good.substr(0, 16), "f.idx"),
               "f.idx: truncated: the header declares 18 bytes of data, the file has 0");
  EXPECT_ERROR(parse_idx(good.substr(0, good.size() - 1), "f.idx"),
               "declares 18 bytes of data, the file has 17");
  EXPECT_ERROR(parse_idx(good + "x", "f.idx"), "f.idx: 1 bytes after the data the header declares");
}

TEST(IdxFormat, DimensionsWhoseProductOverflowsAreRejected) {
  // 65536^4 = 2^64 wraps to 0 in 64 bits, which matched an empty data section.
  EXPECT_ERROR(parse_idx(idx_header({65536, 65536, 65536, 65536}), "big.idx"),
               "big.idx: IDX dimensions 65536 x 65536 x 65536 x 65536 are too large");
  // No elements, but a tensor of this shape would have a stride of 2^96.
  EXPECT_ERROR(parse_idx(idx_header({0, 0xffffffff, 0xffffffff, 0xffffffff}), "big.idx"), "are too large");
  // 2^63 is one past the largest int64; 2^62 is representable, and then merely truncated.
  EXPECT_ERROR(parse_idx(idx_header({0x80000000, 0x80000000, 2}), "big.idx"), "are too large");
  EXPECT_ERROR(parse_idx(idx_header({0x80000000, 0x80000000, 1}), "big.idx"),
               "big.idx: truncated: the header declares 4611686018427387904 bytes of data, the file has 0");
}

TEST(IdxFormat, PairChecksRanksCountsAndLabels) {
  std::string images_bytes = testing::idx_bytes({4, 2, 2});
  std::string labels_bytes = testing::idx_bytes({4}, {1, 9, 0, 9});
  IdxArray images = parse_idx(images_bytes, "i.idx"), labels = parse_idx(labels_bytes, "l.idx");
  EXPECT_EQ(error_of([&] { check_idx_pair(images, labels, 10, "i.idx", "l.idx"); }), "(no error)");
  EXPECT_ERROR(check_idx_pair(labels, labels, 10, "i.idx", "l.idx"),
               "i.idx: expected 3 dimensions (N, H, W), got 1");
  EXPECT_ERROR(check_idx_pair(images, images, 10, "i.idx", "l.idx"),
               "l.idx: expected 1 dimension (N), got 3");
  std::string three_bytes = testing::idx_bytes({3}, {0, 0, 0});
  EXPECT_ERROR(check_idx_pair(images, parse_idx(three_bytes, "l.idx"), 10, "i.idx", "l.idx"),
               "l.idx: 3 labels for 4 images in i.idx");
  // The largest label at its first index.
  EXPECT_ERROR(check_idx_pair(images, labels, 9, "i.idx", "l.idx"),
               "l.idx: label 9 at index 1 is out of range (expected 0-8)");
  std::string none_bytes = testing::idx_bytes({0}), no_images_bytes = idx_header({0, 28, 28});
  EXPECT_EQ(error_of([&] {
              check_idx_pair(parse_idx(no_images_bytes, "i"), parse_idx(none_bytes, "l"), 10, "i", "l");
            }),
            "(no error)");
}

TEST(Cifar10Format, DecodesRecords) {
  std::string bytes = testing::cifar_bytes({3, 9});
  Cifar10Records r = parse_cifar10(bytes, "b.bin");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r.label(0), 3);
  EXPECT_EQ(r.label(1), 9);
  ASSERT_EQ(r.pixels(1).size(), 3072u);
  EXPECT_EQ(r.pixels(1).data(), reinterpret_cast<const uint8_t*>(bytes.data()) + 3073 + 1);
  EXPECT_EQ(r.pixels(1)[0], 1);     // (record + pixel) % 256
  EXPECT_EQ(r.pixels(1)[3071], 0);  // (1 + 3071) % 256
}

TEST(Cifar10Format, SizeNotAPositiveMultipleOfTheRecord) {
  std::string two = testing::cifar_bytes({1, 2});
  for (size_t size : {size_t{0}, size_t{1}, size_t{3072}, size_t{5000}, size_t{3074}, 2 * size_t{3073} - 1})
    EXPECT_ERROR(
        parse_cifar10(std::string_view(two).substr(0, size), "b.bin"),
        "b.bin: not a CIFAR-10 binary batch (size " + std::to_string(size) + " is not a positive multiple");
  EXPECT_ERROR(parse_cifar10(two + "x", "b.bin"), "(size 6147 is not");
}

TEST(Cifar10Format, LabelOutOfRangeNamesTheRecord) {
  EXPECT_ERROR(parse_cifar10(testing::cifar_bytes({3, 10}), "b.bin"),
               "b.bin: record 1 has label 10 (expected 0-9)");
  EXPECT_ERROR(parse_cifar10(testing::cifar_bytes({255, 0}), "b.bin"), "record 0 has label 255");
}

TEST(Gzip, DecompressesGzipAndPassesOtherBytesThrough) {
  std::string raw = testing::idx_bytes({3, 28, 28});
  EXPECT_EQ(gunzip_if_needed(testing::gzip(raw), "f.gz"), raw);
  EXPECT_EQ(gunzip_if_needed(raw, "f"), raw);
  EXPECT_EQ(gunzip_if_needed("\x1f", "f"), "\x1f");
  std::string gz = testing::gzip(raw);
  EXPECT_ERROR(gunzip_if_needed(gz.substr(0, gz.size() / 2), "f.gz"), "f.gz: truncated gzip stream");
  gz[gz.size() - 5] ^= 1;  // the CRC in the trailer
  EXPECT_ERROR(gunzip_if_needed(gz, "f.gz"), "f.gz: ");
}

}  // namespace
}  // namespace r2q::data
