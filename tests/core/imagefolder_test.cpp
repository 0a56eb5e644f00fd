// The imagefolder dataset on small folders of real JPEG and PNG files: scanning and labels, decoding of every
// PNG colour type, the training and evaluation transforms, batching, and the errors for broken files and
// layouts.
#include <gtest/gtest.h>
#include <png.h>
#include <torch/torch.h>
#include <turbojpeg.h>

#include <set>

#include "core/data/image_decode.h"
#include "core/data/image_transforms.h"
#include "core/data/imagefolder.h"
#include "core/data/loader.h"
#include "core/data/registry.h"
#include "core/util/error.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace r2q::data {
namespace {

using r2q::testing::TempDir;

using r2q::testing::error_of;

// uint8 [H, W, C] with a pattern that differs between channels and seeds.
torch::Tensor pattern(int64_t height, int64_t width, int64_t channels, int seed) {
  auto y = torch::arange(height, torch::kInt64).view({height, 1, 1});
  auto x = torch::arange(width, torch::kInt64).view({1, width, 1});
  auto c = torch::arange(channels, torch::kInt64).view({1, 1, channels});
  return ((x * 7 + y * 13 + c * 50 + seed * 31) % 256).to(torch::kUInt8).contiguous();
}

torch::Tensor solid(int64_t height, int64_t width, std::vector<int64_t> colour) {
  auto c = torch::tensor(colour, torch::kInt64).to(torch::kUInt8).view({1, 1, -1});
  return c.expand({height, width, static_cast<int64_t>(colour.size())}).contiguous();
}

// Left half red, right half blue.
torch::Tensor red_blue(int64_t height, int64_t width) {
  auto img = torch::zeros({height, width, 3}, torch::kUInt8);
  img.slice(1, 0, width / 2).select(2, 0).fill_(255);
  img.slice(1, width / 2, width).select(2, 2).fill_(255);
  return img;
}

// JPEG of an [H, W, C] image: C = 3 (RGB), 1 (grey) or 4 (CMYK, stored as YCCK).
std::string jpeg(const torch::Tensor& hwc, int quality = 95) {
  const int channels = static_cast<int>(hwc.size(2));
  const int format = channels == 3 ? TJPF_RGB : channels == 1 ? TJPF_GRAY : TJPF_CMYK;
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  int rc = tjCompress2(handle, hwc.data_ptr<uint8_t>(), static_cast<int>(hwc.size(1)), 0,
                       static_cast<int>(hwc.size(0)), format, &buffer, &size,
                       channels == 1 ? TJSAMP_GRAY : TJSAMP_444, quality, 0);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(handle);
  std::string out(reinterpret_cast<char*>(buffer), size);
  tjFree(buffer);
  tjDestroy(handle);
  return out;
}

// PNG of an [H, W, C] image in a png_image format (PNG_FORMAT_GRAY/GA/RGB/RGBA, or a colour-mapped one).
std::string png(const torch::Tensor& hwc, png_uint_32 format, const std::vector<uint8_t>& colormap = {}) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(hwc.size(1));
  image.height = static_cast<png_uint_32>(hwc.size(0));
  image.format = format;
  image.colormap_entries = static_cast<png_uint_32>(colormap.size() / 3);
  const void* map = colormap.empty() ? nullptr : colormap.data();
  png_alloc_size_t size = 0;
  EXPECT_TRUE(png_image_write_get_memory_size(image, size, 0, hwc.data_ptr<uint8_t>(), 0, map))
      << image.message;
  std::string out(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&image, out.data(), &size, 0, hwc.data_ptr<uint8_t>(), 0, map))
      << image.message;
  out.resize(size);
  return out;
}

// [H, W, C] as the decoder returns it: [3, H, W].
torch::Tensor chw(const torch::Tensor& hwc) {
  return hwc.permute({2, 0, 1});
}

int max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kInt32) - b.to(torch::kInt32)).abs().max().item<int>();
}

// 3 classes, 4 training and 2 validation images each, in every supported encoding and several sizes; plus
// files that are not images.
std::filesystem::path write_folder(const TempDir& dir, const std::string& name = "if") {
  auto put = [&](const std::string& path, const std::string& bytes) { dir.write(name + "/" + path, bytes); };
  put("train/cat/a.jpg", jpeg(pattern(30, 40, 3, 1)));
  put("train/cat/b.PNG", png(pattern(50, 17, 3, 2), PNG_FORMAT_RGB));
  put("train/cat/c.jpeg", jpeg(pattern(20, 20, 1, 3)));
  put("train/cat/d.png", png(pattern(33, 21, 1, 4), PNG_FORMAT_GRAY));
  put("train/cat/notes.txt", "not an image");
  put("train/dog/a.png", png(pattern(30, 40, 4, 5), PNG_FORMAT_RGBA));
  put("train/dog/b.JPG", jpeg(pattern(64, 48, 3, 6)));
  put("train/dog/sub/c.jpg", jpeg(pattern(17, 50, 3, 7)));
  put("train/dog/d.png", png(pattern(25, 25, 2, 8), PNG_FORMAT_GA));
  put("train/emu/a.jpg", jpeg(pattern(40, 40, 3, 9)));
  put("train/emu/b.jpg", jpeg(pattern(31, 45, 3, 10)));
  put("train/emu/c.png", png(pattern(45, 31, 3, 11), PNG_FORMAT_RGB));
  put("train/emu/d.png", png(pattern(12, 80, 3, 12), PNG_FORMAT_RGB));
  put("train/README", "ignored: not a folder");
  for (const std::string cls : {"cat", "dog", "emu"}) {
    put("val/" + cls + "/v1.jpg", jpeg(pattern(36, 28, 3, 20 + cls[0])));
    put("val/" + cls + "/v2.png", png(pattern(28, 36, 3, 40 + cls[0]), PNG_FORMAT_RGB));
  }
  return dir / name;
}

// The class folder of a source's image: the path component after train/ or val/.
std::string class_of(const ImageSource& source, int64_t index) {
  std::string previous, cls;
  for (const auto& part : dynamic_cast<const ImageFolderSource&>(source).path(index)) {
    if (previous == "train" || previous == "val") cls = part.string();
    previous = part.string();
  }
  return cls;
}

TEST(ImageFolder, ScanListsClassesAndImagesInOrder) {
  TempDir dir;
  auto root = write_folder(dir);
  auto scan = scan_image_folder(root);
  EXPECT_EQ(scan.classes, (std::vector<std::string>{"cat", "dog", "emu"}));
  ASSERT_EQ(scan.train.paths.size(), 12u);
  ASSERT_EQ(scan.val.paths.size(), 6u);
  EXPECT_EQ(scan.train.labels, (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  EXPECT_EQ(scan.val.labels, (std::vector<int64_t>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(scan.train.paths[1].filename(), "b.PNG");
  EXPECT_EQ(scan.train.paths[7].lexically_relative(root), "train/dog/sub/c.jpg");
}

TEST(ImageFolder, DatasetHasLabelsSourcesAndInfo) {
  TempDir dir;
  auto root = write_folder(dir);
  auto raw = dataset_registry().get("imagefolder").load(root, {.image_size = 32});
  EXPECT_EQ(raw.info.classes, 3);
  EXPECT_EQ(raw.info.channels, 3);
  EXPECT_EQ(raw.info.height, 32);
  EXPECT_EQ(raw.info.width, 32);
  EXPECT_EQ(raw.info.mean, (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(raw.info.fingerprint.size(), 64u);
  EXPECT_EQ(raw.info.root, root.string());
  EXPECT_FALSE(raw.train.images.defined());
  ASSERT_EQ(raw.train.size(), 12);
  ASSERT_EQ(raw.test.size(), 6);
  ASSERT_TRUE(raw.train.source && raw.test.source);
  const std::vector<std::string> classes{"cat", "dog", "emu"};
  for (const auto* d : {&raw.train, &raw.test}) {
    std::set<int64_t> seen;
    for (int64_t i = 0; i < d->size(); ++i) {
      int64_t index = d->indices[i].item<int64_t>();
      seen.insert(index);
      EXPECT_EQ(classes[static_cast<size_t>(d->labels[i].item<int64_t>())], class_of(*d->source, index));
    }
    EXPECT_EQ(static_cast<int64_t>(seen.size()), d->size());  // a permutation of the files
  }
  // Same files, same fingerprint and order; the listing is part of the fingerprint.
  auto again = dataset_registry().get("imagefolder").load(root, {});
  EXPECT_EQ(again.info.height, 224);
  EXPECT_EQ(again.info.fingerprint, raw.info.fingerprint);
  EXPECT_TRUE(torch::equal(again.train.indices, raw.train.indices));
  dir.write("if/val/emu/v3.png", png(pattern(8, 8, 3, 0), PNG_FORMAT_RGB));
  EXPECT_NE(dataset_registry().get("imagefolder").load(root, {}).info.fingerprint, raw.info.fingerprint);
}

TEST(ImageFolder, DecodesEveryColourTypeToRgb) {
  auto rgb = pattern(30, 40, 3, 1);
  auto decoded = decode_image(png(rgb, PNG_FORMAT_RGB), "x.png");
  EXPECT_EQ(decoded.sizes(), torch::IntArrayRef({3, 30, 40}));
  EXPECT_TRUE(torch::equal(decoded, chw(rgb)));
  // JPEG is lossy: close, not equal.
  auto from_jpeg = decode_image(jpeg(rgb, 100), "x.jpg");
  EXPECT_EQ(from_jpeg.sizes(), torch::IntArrayRef({3, 30, 40}));
  EXPECT_LE(max_diff(from_jpeg, chw(rgb)), 8);
  auto grey = pattern(9, 11, 1, 2);
  EXPECT_TRUE(torch::equal(decode_image(png(grey, PNG_FORMAT_GRAY), "g.png"), chw(grey).expand({3, 9, 11})));
  EXPECT_LE(max_diff(decode_image(jpeg(grey, 100), "g.jpg"), chw(grey).expand({3, 9, 11})), 2);
  // Alpha is dropped, not composited: fully transparent pixels keep their colour.
  auto rgba = pattern(9, 11, 4, 3);
  rgba.select(2, 3).fill_(0);
  EXPECT_TRUE(torch::equal(decode_image(png(rgba, PNG_FORMAT_RGBA), "a.png"), chw(rgba).slice(0, 0, 3)));
  auto ga = pattern(9, 11, 2, 4);
  EXPECT_TRUE(torch::equal(decode_image(png(ga, PNG_FORMAT_GA), "ga.png"),
                           chw(ga).slice(0, 0, 1).expand({3, 9, 11})));
  // Palette image: indices into a 2-colour map.
  auto indices = (pattern(6, 7, 1, 5) % 2).contiguous();
  auto palette = decode_image(png(indices, PNG_FORMAT_RGB_COLORMAP, {10, 20, 30, 200, 150, 100}), "p.png");
  EXPECT_EQ(palette.sizes(), torch::IntArrayRef({3, 6, 7}));
  auto where_one = indices.squeeze(2).to(torch::kBool);
  EXPECT_TRUE(torch::equal(palette[0], torch::where(where_one, 200, 10).to(torch::kUInt8)));
  EXPECT_TRUE(torch::equal(palette[2], torch::where(where_one, 100, 30).to(torch::kUInt8)));
  // CMYK JPEG (inverted, as Adobe writes it): colour = value * K / 255.
  auto cmyk = solid(8, 8, {200, 100, 50, 128});
  auto from_cmyk = decode_image(jpeg(cmyk, 100), "cmyk.jpg");
  EXPECT_LE(max_diff(from_cmyk, chw(solid(8, 8, {100, 50, 25}))), 3);
}

TEST(ImageFolder, EvalTransformIsSizedCentredAndDeterministic) {
  EXPECT_EQ(eval_resize_side(224), 256);
  EXPECT_EQ(eval_resize_side(32), 37);
  TempDir dir;
  auto raw = load_image_folder(write_folder(dir), 24);
  for (int64_t i = 0; i < raw.train.size(); ++i) {
    auto a = raw.train.source->load(i, false, 1);
    EXPECT_EQ(a.sizes(), torch::IntArrayRef({3, 24, 24}));
    EXPECT_EQ(a.dtype(), torch::kUInt8);
    EXPECT_TRUE(torch::equal(a, raw.train.source->load(i, false, 99)));  // the seed is not used
  }
  // 300 wide x 200 high at 224: resized to 384 x 256, then the central 224 x 224.
  auto wide = chw(pattern(200, 300, 3, 0));
  EXPECT_EQ(eval_transform(wide, 224).sizes(), torch::IntArrayRef({3, 224, 224}));
  auto resized = resize_image(wide, 256, 384);
  EXPECT_TRUE(torch::equal(eval_transform(wide, 224), resized.slice(1, 16, 240).slice(2, 80, 304)));
}

TEST(ImageFolder, TrainTransformIsAFunctionOfTheSeed) {
  TempDir dir;
  auto raw = load_image_folder(write_folder(dir), 24);
  for (int64_t i = 0; i < raw.train.size(); ++i) {
    auto a = raw.train.source->load(i, true, 7);
    EXPECT_EQ(a.sizes(), torch::IntArrayRef({3, 24, 24}));
    EXPECT_TRUE(torch::equal(a, raw.train.source->load(i, true, 7)));
    bool differs = false;
    for (uint64_t seed = 8; seed < 12 && !differs; ++seed)
      differs = !torch::equal(a, raw.train.source->load(i, true, seed));
    EXPECT_TRUE(differs) << i;
  }
}

TEST(ImageFolder, RandomResizedCropBoxesFollowTorchvision) {
  double min_fraction = 1, max_fraction = 0;
  for (uint64_t seed = 0; seed < 500; ++seed) {
    Rng rng(seed);
    auto box = random_resized_crop_box(300, 400, rng);
    ASSERT_GE(box.top, 0);
    ASSERT_GE(box.left, 0);
    ASSERT_LE(box.top + box.height, 300);
    ASSERT_LE(box.left + box.width, 400);
    double fraction = static_cast<double>(box.height * box.width) / (300.0 * 400.0);
    double ratio = static_cast<double>(box.width) / static_cast<double>(box.height);
    EXPECT_GT(ratio, 0.73);
    EXPECT_LT(ratio, 1.36);
    min_fraction = std::min(min_fraction, fraction);
    max_fraction = std::max(max_fraction, fraction);
  }
  EXPECT_GT(min_fraction, 0.075);
  EXPECT_LT(min_fraction, 0.15);
  EXPECT_GT(max_fraction, 0.85);
  // No sampled box fits a 1000 x 10 strip: the central crop at the extreme ratio 4/3.
  Rng rng(1);
  auto box = random_resized_crop_box(10, 1000, rng);
  EXPECT_EQ(box.height, 10);
  EXPECT_EQ(box.width, 13);
  EXPECT_EQ(box.top, 0);
  EXPECT_EQ(box.left, (1000 - 13) / 2);
}

TEST(ImageFolder, SolidColourSurvivesBothTransforms) {
  TempDir dir;
  const std::vector<int64_t> colour{200, 30, 91};
  auto file = dir.write("s.png", png(solid(23, 37, colour), PNG_FORMAT_RGB));
  ImageFolderSource source({file}, 16);
  auto expected = chw(solid(16, 16, colour));
  EXPECT_LE(max_diff(source.load(0, false, 0), expected), 1);
  for (uint64_t seed = 0; seed < 20; ++seed) EXPECT_LE(max_diff(source.load(0, true, seed), expected), 1);
  // Upsampling too (a 5 x 3 image to 16 x 16).
  EXPECT_LE(max_diff(eval_transform(chw(solid(3, 5, colour)), 16), expected), 1);
}

TEST(ImageFolder, TwoColourImageKeepsItsSidesAndFlipsMirror) {
  TempDir dir;
  auto file = dir.write("rb.png", png(red_blue(48, 64), PNG_FORMAT_RGB));
  ImageFolderSource source({file}, 16);
  auto is_red = [](const torch::Tensor& column) {
    return column[0].min().item<int>() >= 250 && column[2].max().item<int>() <= 5;
  };
  auto is_blue = [](const torch::Tensor& column) {
    return column[2].min().item<int>() >= 250 && column[0].max().item<int>() <= 5;
  };
  auto eval = source.load(0, false, 0);
  EXPECT_TRUE(is_red(eval.select(2, 0)));
  EXPECT_TRUE(is_blue(eval.select(2, 15)));
  // Training: replay the transform's random draws to know the crop and whether it flipped.
  std::set<bool> flips_seen;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    Rng rng(seed);
    auto box = random_resized_crop_box(48, 64, rng);
    bool flipped = rng.uniform() < 0.5;
    auto out = source.load(0, true, seed);
    // The first and last output columns are clean only if the antialiasing filter (1.5 output pixels wide)
    // stays on one side of the colour boundary at x = 32.
    const double margin = 1.5 * std::max(1.0, static_cast<double>(box.width) / 16.0) + 1.0;
    if (32 - box.left < margin || box.left + box.width - 32 < margin) continue;
    flips_seen.insert(flipped);
    EXPECT_TRUE(is_red(out.select(2, flipped ? 15 : 0))) << seed;
    EXPECT_TRUE(is_blue(out.select(2, flipped ? 0 : 15))) << seed;
  }
  EXPECT_EQ(flips_seen.size(), 2u);
}

TEST(ImageFolder, BatchLoaderDecodesBatchesWithTheirLabels) {
  TempDir dir;
  auto root = write_folder(dir);
  auto s = load({.name = "imagefolder", .root = root.string(), .val_size = 3, .image_size = 20});
  EXPECT_EQ(s.train.size(), 9);
  EXPECT_EQ(s.val.size(), 3);
  EXPECT_EQ(s.test.size(), 6);
  EXPECT_EQ(s.info.height, 20);
  const std::vector<std::string> classes{"cat", "dog", "emu"};
  BatchLoader plain(s.val, {.batch_size = 2});
  ASSERT_EQ(plain.size(), 2);
  int64_t row = 0;
  for (int64_t b = 0; b < plain.size(); ++b) {
    auto batch = plain[b];
    EXPECT_EQ(batch.images.dtype(), torch::kFloat32);
    EXPECT_EQ(batch.images.size(0), batch.labels.size(0));
    for (int64_t i = 0; i < batch.labels.size(0); ++i, ++row) {
      int64_t index = s.val.indices[row].item<int64_t>();
      EXPECT_EQ(classes[static_cast<size_t>(batch.labels[i].item<int64_t>())],
                class_of(*s.val.source, index));
      EXPECT_TRUE(
          torch::allclose(batch.images[i], s.val.source->load(index, false, 0).to(torch::kFloat32) / 255));
    }
  }
  BatchLoader training(s.train,
                       {.batch_size = 4, .shuffle = true, .augment = true, .drop_last = true, .seed = 5});
  ASSERT_EQ(training.size(), 2);
  std::multiset<int64_t> labels;
  for (int64_t b = 0; b < training.size(); ++b) {
    auto batch = training[b];
    EXPECT_EQ(batch.images.sizes(), torch::IntArrayRef({4, 3, 20, 20}));
    EXPECT_GE(batch.images.min().item<float>(), 0.0f);
    EXPECT_LE(batch.images.max().item<float>(), 1.0f);
    EXPECT_TRUE(torch::equal(batch.images, training[b].images));  // augmentation is a function of the seed
    for (int64_t i = 0; i < 4; ++i) labels.insert(batch.labels[i].item<int64_t>());
  }
  // Every label drawn is one of train's (the shuffle permutes rows and their labels together).
  std::multiset<int64_t> all;
  for (int64_t i = 0; i < s.train.size(); ++i) all.insert(s.train.labels[i].item<int64_t>());
  for (auto label : labels) EXPECT_GE(all.count(label), labels.count(label));
}

TEST(ImageFolder, BrokenImagesNameTheFile) {
  TempDir dir;
  std::string good_jpeg = jpeg(pattern(30, 40, 3, 1)), good_png = png(pattern(30, 40, 3, 1), PNG_FORMAT_RGB);
  auto cut_jpeg = dir.write("cut.jpg", good_jpeg.substr(0, good_jpeg.size() / 2));
  auto cut_png = dir.write("cut.png", good_png.substr(0, good_png.size() / 2));
  auto text = dir.write("text.jpg", "hello");
  ImageFolderSource source({cut_jpeg, cut_png, text, dir / "gone.jpg"}, 16);
  auto jpeg_error = error_of([&] { source.load(0, false, 0); });
  EXPECT_NE(jpeg_error.find(cut_jpeg.string() + ": corrupt JPEG data: "), std::string::npos) << jpeg_error;
  EXPECT_NE(jpeg_error.find("Premature end of JPEG file"), std::string::npos) << jpeg_error;
  auto png_error = error_of([&] { source.load(1, true, 0); });
  EXPECT_NE(png_error.find(cut_png.string() + ": corrupt PNG data: "), std::string::npos) << png_error;
  EXPECT_NE(error_of([&] { source.load(2, false, 0); }).find(text.string() + ": neither a JPEG nor a PNG"),
            std::string::npos);
  EXPECT_NE(error_of([&] { source.load(3, false, 0); }).find("gone.jpg: cannot open"), std::string::npos);
  auto header = error_of([&] { decode_image(good_jpeg.substr(0, 20), "h.jpg"); });
  EXPECT_NE(header.find("h.jpg: corrupt JPEG header: "), std::string::npos) << header;
  // The error crosses the batch loader's parallel decoding intact.
  auto root = write_folder(dir);
  dir.write("if/val/dog/v2.png", good_png.substr(0, 100));
  auto raw = load_image_folder(root, 16);
  auto batch_error = error_of([&] { BatchLoader(raw.test, {.batch_size = 6})[0]; });
  EXPECT_NE(batch_error.find("val/dog/v2.png: corrupt PNG"), std::string::npos) << batch_error;
}

TEST(ImageFolder, LayoutErrorsNameThePath) {
  TempDir dir;
  auto root = write_folder(dir);
  const auto& entry = dataset_registry().get("imagefolder");
  std::filesystem::rename(root / "val", root / "valid");
  auto missing = error_of([&] { entry.load(root, {}); });
  EXPECT_NE(missing.find((root / "val").string() + ": missing directory"), std::string::npos) << missing;
  std::filesystem::rename(root / "valid", root / "val");
  dir.write("if/val/zebra/z.jpg", jpeg(pattern(8, 8, 3, 0)));
  auto stranger = error_of([&] { entry.load(root, {}); });
  EXPECT_NE(stranger.find((root / "val" / "zebra").string() + ": class folder not in"), std::string::npos)
      << stranger;
  std::filesystem::remove_all(root / "val" / "zebra");
  dir.write("if/train/fox/notes.txt", "no images here");
  auto empty = error_of([&] { entry.load(root, {}); });
  EXPECT_NE(empty.find((root / "train" / "fox").string() + ": class folder without"), std::string::npos)
      << empty;
  std::filesystem::remove_all(root / "train" / "fox");
  std::filesystem::remove_all(root / "train");
  EXPECT_NE(error_of([&] { entry.load(root, {}); }).find((root / "train").string() + ": missing directory"),
            std::string::npos);
  auto absent = error_of([] { load({.name = "imagefolder", .root = "/nonexistent/if"}); });
  EXPECT_NE(absent.find("<root>/train/<class>/"), std::string::npos) << absent;
}

// Issue 20: links that loop are bad input naming the link (exit 2), not a filesystem error (exit 1); a
// dangling link is skipped like any file that is not an image; a link to another folder is followed.
TEST(ImageFolder, SymbolicLinkLoopsAreNamedAndDanglingLinksSkipped) {
  TempDir dir;
  auto root = write_folder(dir);
  namespace fs = std::filesystem;
  fs::create_directory_symlink(root / "val" / "emu", root / "train" / "emu" / "more");  // followed: 2 more
  fs::create_symlink(root / "train" / "cat" / "gone.jpg", root / "train" / "cat" / "dangling.jpg");
  const auto& entry = dataset_registry().get("imagefolder");
  EXPECT_NO_THROW(entry.load(root, {})) << error_of([&] { entry.load(root, {}); });

  fs::create_directory_symlink(root / "train" / "dog", root / "train" / "dog" / "sub" / "back");
  auto loop = error_of([&] { entry.load(root, {}); });
  EXPECT_NE(loop.find((root / "train" / "dog" / "sub" / "back").string() + ": a symbolic link loop"),
            std::string::npos)
      << loop;
  fs::remove(root / "train" / "dog" / "sub" / "back");
  fs::create_symlink("self", root / "train" / "self");  // a link to itself: ELOOP on every stat
  auto self = error_of([&] { entry.load(root, {}); });
  EXPECT_NE(self.find((root / "train" / "self").string() + ": a symbolic link"), std::string::npos) << self;
}

}  // namespace
}  // namespace r2q::data
