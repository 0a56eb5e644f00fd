// Datasets in memory: uint8 images (N, C, H, W) with pixel values 0-255 and int64 labels. Models see pixels
// scaled to [0, 1]; the per-channel normalisation is the model's first layer (DESIGN §1.7).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace r2q::data {

// Images decoded on demand, for datasets too large to hold in memory (ImageNet-style folders).
class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // Image `index` as uint8 [C, H, W] at the dataset's output size. `train` selects the training transform
  // (random choices drawn from `seed`), otherwise the deterministic evaluation transform.
  virtual torch::Tensor load(std::int64_t index, bool train, std::uint64_t seed) const = 0;
};

struct Dataset {
  torch::Tensor images;  // uint8 [N, C, H, W]; undefined for on-demand datasets
  torch::Tensor labels;  // int64 [N]
  // On-demand datasets: row i is source->load(indices[i], ...).
  std::shared_ptr<const ImageSource> source{};
  torch::Tensor indices{};  // int64 [N]
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  // Rows [begin, end) as views.
  Dataset slice(std::int64_t begin, std::int64_t end) const;
};

struct DataInfo {
  std::string name;
  int channels = 0, height = 0, width = 0, classes = 0;
  std::vector<double> mean, std;  // per channel, on [0, 1] pixels
  std::string fingerprint;        // SHA-256 over the files read ("" for generated data)
  std::string root;               // where the files were read from
};

// Train and test sets as read from disk, before the validation split.
struct RawData {
  Dataset train, test;
  DataInfo info;
};

struct Splits {
  Dataset train, val, test;
  DataInfo info;
};

struct DataOptions {
  std::string name{};
  std::optional<std::string> root{};  // null: R2Q_DATA_DIR/<name>, else the dataset's default
  std::int64_t train_limit = 0;       // 0 = all
  std::int64_t test_limit = 0;
  std::int64_t val_size = 0;    // taken from the end of the training set
  std::int64_t image_size = 0;  // output side length of on-demand datasets (0 = the dataset's default)
};

// Loads and splits a dataset by name (see registry.h). Errors name the file and what is wrong with it.
Splits load(const DataOptions& options);

// Splits raw data per the options (validation from the end of train, then the limits).
Splits split(RawData raw, const DataOptions& options);

}  // namespace r2q::data
