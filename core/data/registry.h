// Datasets by name: fashion-mnist, mnist, cifar10, imagefolder, synthetic, synthetic-rgb.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "core/data/dataset.h"
#include "core/util/registry.h"

namespace r2q::data {

struct DatasetEntry {
  std::string description;
  std::filesystem::path default_root;  // empty for generated datasets
  std::string install_hint;            // how to get the files, for the "missing dataset" error
  // The options are for datasets whose output depends on them (image_size of image folders); the split and
  // limits are applied afterwards by split().
  std::function<RawData(const std::filesystem::path& root, const DataOptions& options)> load;
  bool resizable = false;  // honours dataset.image_size
};

Registry<DatasetEntry>& dataset_registry();
void register_builtins(Registry<DatasetEntry>& registry);

// Where a dataset's files are looked for: the explicit root, else $R2Q_DATA_DIR/<name>, else its default.
std::filesystem::path resolve_root(const std::string& name, const std::optional<std::string>& root);

}  // namespace r2q::data
