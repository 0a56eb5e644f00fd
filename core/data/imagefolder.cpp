// Scanning image folders and decoding their images on demand.
#include "core/data/imagefolder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <numeric>
#include <stdexcept>
#include <system_error>

#include "core/data/files.h"
#include "core/data/image_decode.h"
#include "core/data/image_transforms.h"
#include "core/util/error.h"
#include "core/util/rng.h"
#include "core/util/sha256.h"

namespace r2q::data {
namespace {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

fs::path require_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InputError(dir.string() + ": missing directory (expected <root>/train/<class>/<image> and " +
                     "<root>/val/<class>/<image>)");
  return dir;
}

std::vector<std::string> class_folders(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;  // a dangling link or a link loop: named, not a std::filesystem_error
    const bool is_dir = it->is_directory(entry_ec);
    if (entry_ec && it->is_symlink())
      throw InputError(it->path().string() + ": a symbolic link that leads nowhere: " + entry_ec.message());
    if (is_dir) names.push_back(it->path().filename().string());
  }
  if (ec) throw InputError(dir.string() + ": cannot list: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

// Images below one class folder, recursively (as torchvision does), sorted by path.
std::vector<fs::path> class_images(const fs::path& dir) {
  std::vector<fs::path> images;
  std::error_code ec;
  // Directory links are followed (as torchvision does); one that leads back into a directory being listed
  // would recurse until the path is too long, so the open directories are tracked by their real path.
  std::vector<fs::path> open = {fs::canonical(dir, ec)};
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
       !ec && it != end; it.increment(ec)) {
    open.resize(static_cast<std::size_t>(it.depth()) + 1);
    std::error_code entry_ec;
    const fs::file_status status = it->status(entry_ec);
    if (entry_ec && it->is_symlink()) {
      if (entry_ec == std::errc::too_many_symbolic_link_levels)
        throw InputError(it->path().string() + ": a symbolic link loop");
      continue;  // a dangling link is no image: skipped, like any other file that is not one
    }
    if (fs::is_directory(status)) {
      const fs::path real = fs::canonical(it->path(), entry_ec);
      if (!entry_ec && std::find(open.begin(), open.end(), real) != open.end())
        throw InputError(it->path().string() + ": a symbolic link loop (it leads back to " + real.string() +
                         ")");
      open.push_back(real);
    } else if (fs::is_regular_file(status) && is_image_file(it->path())) {
      images.push_back(it->path());
    }
  }
  if (ec) throw InputError(dir.string() + ": cannot list: " + ec.message());
  if (images.empty()) throw InputError(dir.string() + ": class folder without .jpg/.jpeg/.png images");
  std::sort(images.begin(), images.end());
  return images;
}

void add_class(const fs::path& dir, std::int64_t label, ImageFolderFiles& files) {
  for (auto& path : class_images(dir)) {
    std::error_code ec;
    std::uintmax_t size = fs::file_size(path, ec);
    if (ec) throw InputError(path.string() + ": cannot stat: " + ec.message());
    files.paths.push_back(std::move(path));
    files.labels.push_back(label);
    files.sizes.push_back(size);
  }
}

// Listing and sizes only: hashing the content of a million images would cost minutes per load.
std::string fingerprint(const fs::path& root, const ImageFolderScan& scan) {
  std::vector<std::string> lines;
  for (const auto* files : {&scan.train, &scan.val})
    for (size_t i = 0; i < files->paths.size(); ++i)
      lines.push_back(files->paths[i].lexically_relative(root).generic_string() + "\t" +
                      std::to_string(files->sizes[i]) + "\n");
  std::sort(lines.begin(), lines.end());
  std::string material;
  for (const auto& line : lines) material += line;
  return sha256_hex(material);
}

// Rows in a fixed shuffled order: the split takes validation from the end of train and limits from the
// start, which on class-sorted files would select whole classes.
Dataset make_dataset(const ImageFolderFiles& files, std::int64_t image_size, std::uint64_t order_seed) {
  const auto n = static_cast<std::int64_t>(files.paths.size());
  std::vector<std::int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(order_seed);
  for (std::int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[rng.below(static_cast<std::uint64_t>(i) + 1)]);
  Dataset d;
  d.indices = torch::tensor(order, torch::kInt64);
  d.labels = torch::empty({n}, torch::kInt64);
  auto* labels = d.labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    labels[i] = files.labels[static_cast<size_t>(order[static_cast<size_t>(i)])];
  d.source = std::make_shared<ImageFolderSource>(files.paths, image_size);
  return d;
}

}  // namespace

ImageFolderScan scan_image_folder(const fs::path& root) {
  const fs::path train_dir = require_dir(root / "train"), val_dir = require_dir(root / "val");
  ImageFolderScan scan;
  scan.classes = class_folders(train_dir);
  if (scan.classes.empty()) throw InputError(train_dir.string() + ": no class folders");
  std::map<std::string, std::int64_t> label_of;
  for (size_t i = 0; i < scan.classes.size(); ++i) {
    label_of[scan.classes[i]] = static_cast<std::int64_t>(i);
    add_class(train_dir / scan.classes[i], static_cast<std::int64_t>(i), scan.train);
  }
  const auto val_classes = class_folders(val_dir);
  if (val_classes.empty()) throw InputError(val_dir.string() + ": no class folders");
  for (const auto& name : val_classes) {
    auto it = label_of.find(name);
    if (it == label_of.end())
      throw InputError((val_dir / name).string() + ": class folder not in " + train_dir.string());
    add_class(val_dir / name, it->second, scan.val);
  }
  return scan;
}

ImageFolderSource::ImageFolderSource(std::vector<fs::path> paths, std::int64_t image_size)
    : paths_(std::move(paths)), image_size_(image_size) {}

const fs::path& ImageFolderSource::path(std::int64_t index) const {
  if (index < 0 || index >= size())
    throw std::out_of_range("image index " + std::to_string(index) + " of " + std::to_string(size()));
  return paths_[static_cast<size_t>(index)];
}

torch::Tensor ImageFolderSource::load(std::int64_t index, bool train, std::uint64_t seed) const {
  const fs::path& file = path(index);
  torch::Tensor image = decode_image(read_file(file), file);
  return train ? train_transform(image, image_size_, seed) : eval_transform(image, image_size_);
}

RawData load_image_folder(const fs::path& root, std::int64_t image_size) {
  if (image_size < 0) throw InputError("dataset.image_size: " + std::to_string(image_size) + " is negative");
  const std::int64_t size = image_size == 0 ? kDefaultImageSize : image_size;
  const ImageFolderScan scan = scan_image_folder(root);
  RawData raw;
  raw.train = make_dataset(scan.train, size, 0x1F0'7A1Eull);
  raw.test = make_dataset(scan.val, size, 0x7E57'0DE5ull);
  raw.info.name = "imagefolder";
  raw.info.channels = 3;
  raw.info.height = raw.info.width = static_cast<int>(size);
  raw.info.classes = static_cast<int>(scan.classes.size());
  raw.info.mean = {0.485, 0.456, 0.406};
  raw.info.std = {0.229, 0.224, 0.225};
  raw.info.fingerprint = fingerprint(root, scan);
  raw.info.root = root.string();
  return raw;
}

}  // namespace r2q::data
