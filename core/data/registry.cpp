// The built-in datasets and the dataset-level loading (root resolution, split, cache).
#include "core/data/registry.h"

#include <torch/torch.h>

#include <cstdlib>
#include <map>
#include <mutex>

#include "core/data/cifar.h"
#include "core/data/idx.h"
#include "core/data/imagefolder.h"
#include "core/data/synthetic.h"
#include "core/util/error.h"
#include "core/util/sha256.h"

namespace r2q::data {
namespace {

namespace fs = std::filesystem;

// The IDX files are published gzip-compressed; either form is accepted.
fs::path find_file(const fs::path& root, const std::string& stem) {
  for (const auto& candidate : {root / (stem + ".gz"), root / stem})
    if (fs::exists(candidate)) return candidate;
  throw InputError(root.string() + ": missing " + stem + ".gz (or " + stem + ")");
}

RawData load_idx_dataset(const fs::path& root, const std::string& name, std::vector<double> mean,
                         std::vector<double> std) {
  std::string material;
  auto train = read_idx_pair(find_file(root, "train-images-idx3-ubyte"),
                             find_file(root, "train-labels-idx1-ubyte"), 10, &material);
  auto test = read_idx_pair(find_file(root, "t10k-images-idx3-ubyte"),
                            find_file(root, "t10k-labels-idx1-ubyte"), 10, &material);
  if (train.images.sizes().slice(1) != test.images.sizes().slice(1))
    throw InputError(root.string() + ": train and test images have different shapes");
  RawData raw;
  raw.train = {train.images, train.labels};
  raw.test = {test.images, test.labels};
  raw.info.name = name;
  raw.info.channels = 1;
  raw.info.height = static_cast<int>(train.images.size(2));
  raw.info.width = static_cast<int>(train.images.size(3));
  raw.info.classes = 10;
  raw.info.mean = std::move(mean);
  raw.info.std = std::move(std);
  raw.info.fingerprint = sha256_hex(material);
  raw.info.root = root.string();
  return raw;
}

RawData load_cifar10(const fs::path& root) {
  fs::path dir = fs::exists(root / "cifar-10-batches-bin") ? root / "cifar-10-batches-bin" : root;
  std::vector<fs::path> train_files;
  for (int i = 1; i <= 5; ++i) {
    fs::path f = dir / ("data_batch_" + std::to_string(i) + ".bin");
    if (!fs::exists(f)) throw InputError(dir.string() + ": missing " + f.filename().string());
    train_files.push_back(f);
  }
  fs::path test_file = dir / "test_batch.bin";
  if (!fs::exists(test_file)) throw InputError(dir.string() + ": missing test_batch.bin");
  std::string material;
  RawData raw;
  raw.train = read_cifar10(train_files, &material);
  raw.test = read_cifar10({test_file}, &material);
  raw.info = {
      "cifar10",   3, 32, 32, 10, {0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}, sha256_hex(material),
      dir.string()};
  return raw;
}

}  // namespace

void register_builtins(Registry<DatasetEntry>& r) {
  r.add("fashion-mnist",
        {"Zalando Fashion-MNIST, 28x28 grey, 60k train / 10k test", "/usr/share/datasets/fashion-mnist",
         "install it with `sudo apt-get install dataset-fashion-mnist` (scripts/setup does)",
         [](const fs::path& root, const DataOptions&) {
           return load_idx_dataset(root, "fashion-mnist", {0.2860}, {0.3530});
         }});
  r.add("mnist", {"MNIST digits, 28x28 grey, 60k train / 10k test", "/usr/share/datasets/mnist",
                  "put the four IDX files (train-images-idx3-ubyte.gz, ...) there",
                  [](const fs::path& root, const DataOptions&) {
                    return load_idx_dataset(root, "mnist", {0.1307}, {0.3081});
                  }});
  r.add("cifar10",
        {"CIFAR-10, 32x32 RGB, 50k train / 10k test (binary version)", "/usr/share/datasets/cifar10",
         "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and extract it "
         "there",
         [](const fs::path& root, const DataOptions&) { return load_cifar10(root); }});
  r.add("imagefolder",
        {"ImageNet-style folders of JPEG/PNG images, decoded on demand at dataset.image_size (default 224)",
         "/usr/share/datasets/imagefolder",
         "lay the images out as <root>/train/<class>/<image>.jpg and <root>/val/<class>/<image>.jpg (one "
         "folder per class, the same class names in both; .jpg/.jpeg/.png)",
         [](const fs::path& root, const DataOptions& o) { return load_image_folder(root, o.image_size); },
         /*resizable=*/true});
  r.add("synthetic", {"generated: 10 classes of 1x28x28 prototypes + noise, 2000 train / 500 test",
                      {},
                      {},
                      [](const fs::path&, const DataOptions&) {
                        return make_synthetic("synthetic", {1, 28, 10, 2000, 500});
                      }});
  r.add("synthetic-rgb", {"generated: 10 classes of 3x32x32 prototypes + noise, 2000 train / 500 test",
                          {},
                          {},
                          [](const fs::path&, const DataOptions&) {
                            return make_synthetic("synthetic-rgb", {3, 32, 10, 2000, 500});
                          }});
}

Registry<DatasetEntry>& dataset_registry() {
  static Registry<DatasetEntry> registry = [] {
    Registry<DatasetEntry> r("dataset");
    register_builtins(r);
    return r;
  }();
  return registry;
}

fs::path resolve_root(const std::string& name, const std::optional<std::string>& root) {
  if (root) return *root;
  if (const char* dir = std::getenv("R2Q_DATA_DIR"); dir && *dir) return fs::path(dir) / name;
  return dataset_registry().get(name).default_root;
}

Dataset Dataset::slice(std::int64_t begin, std::int64_t end) const {
  Dataset d;
  if (images.defined()) d.images = images.slice(0, begin, end);
  d.labels = labels.slice(0, begin, end);
  d.source = source;
  if (indices.defined()) d.indices = indices.slice(0, begin, end);
  return d;
}

Splits split(RawData raw, const DataOptions& o) {
  int64_t n = raw.train.size();
  if (o.val_size >= n)
    throw InputError("dataset.val_size: " + std::to_string(o.val_size) + " leaves no training images (" +
                     raw.info.name + " has " + std::to_string(n) + " training images)");
  Splits s;
  s.info = raw.info;
  s.train = raw.train.slice(0, n - o.val_size);
  s.val = raw.train.slice(n - o.val_size, n);
  if (o.train_limit > 0 && o.train_limit < s.train.size()) s.train = s.train.slice(0, o.train_limit);
  s.test = raw.test;
  if (o.test_limit > 0 && o.test_limit < s.test.size()) s.test = s.test.slice(0, o.test_limit);
  return s;
}

Splits load(const DataOptions& o) {
  const DatasetEntry& entry = dataset_registry().get(o.name);
  // Generated datasets have no files: their root is ignored.
  fs::path root = entry.default_root.empty() ? fs::path() : resolve_root(o.name, o.root);
  if (!root.empty() && !fs::is_directory(root))
    throw InputError(o.name + ": no dataset at " + root.string() + "; " + entry.install_hint +
                     ", or point dataset.root / R2Q_DATA_DIR at it");
  // A sweep runs many configs over one dataset: decode it once per process. Tensors are read-only afterwards.
  // The image size is part of the key: an image folder's transforms and shape depend on it.
  static std::mutex mutex;
  static std::map<std::string, RawData> cache;
  std::string cache_key = o.name + "\n" + root.string() + "\n" + std::to_string(o.image_size);
  std::lock_guard lock(mutex);
  auto it = cache.find(cache_key);
  if (it == cache.end()) it = cache.emplace(cache_key, entry.load(root, o)).first;
  return split(it->second, o);
}

}  // namespace r2q::data
