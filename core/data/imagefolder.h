// ImageNet-style image folders (ROOT/train/<class>/<image>, ROOT/val/<class>/<image>), decoded on demand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace r2q::data {

inline constexpr std::int64_t kDefaultImageSize = 224;

// The images of one split in index order: class by class, sorted by path within a class.
struct ImageFolderFiles {
  std::vector<std::filesystem::path> paths;
  std::vector<std::int64_t> labels;
  std::vector<std::uintmax_t> sizes;  // bytes, for the fingerprint
};

struct ImageFolderScan {
  std::vector<std::string> classes;  // sorted subdirectory names of train/; the label is the position
  ImageFolderFiles train, val;
};

// Lists the images (.jpg, .jpeg, .png in any case; other files are ignored). A missing train/ or val/, an
// empty class folder or a val/ class that train/ lacks is an InputError naming the path.
ImageFolderScan scan_image_folder(const std::filesystem::path& root);

// Decodes image i of `paths` and applies the training or evaluation transform to image_size x image_size.
class ImageFolderSource : public ImageSource {
 public:
  ImageFolderSource(std::vector<std::filesystem::path> paths, std::int64_t image_size);
  torch::Tensor load(std::int64_t index, bool train, std::uint64_t seed) const override;
  std::int64_t size() const { return static_cast<std::int64_t>(paths_.size()); }
  const std::filesystem::path& path(std::int64_t index) const;

 private:
  std::vector<std::filesystem::path> paths_;
  std::int64_t image_size_;
};

// The dataset: train and test (= val/) with ImageFolderSources; image_size 0 means kDefaultImageSize. Rows
// are in a fixed pseudo-random order (the same on every machine) so that the validation split taken from the
// end of train, and the train/test limits, cover all classes.
RawData load_image_folder(const std::filesystem::path& root, std::int64_t image_size);

}  // namespace r2q::data
